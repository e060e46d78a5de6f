/**
 * Last edited: advances `documents.updated_at` (`updatedAt`, the list's `recent` order) to
 * the time of each document's newest content edit, off the write path.
 *
 * An update's commit stays one INSERT into the log; nothing writes `documents` per update.
 * Every `intervalMs` (2 s) one worker reads the outbox after its own cursors — the log
 * (`document_updates`) and the `document.changed` events compaction writes when it folds
 * rows (which carry the newest folded row's time) — and sets each document it finds to its
 * newest edit's time in one UPDATE (`quire_advance_edit_times`, migration 0015). A burst of
 * typing is one write per document per run, whatever the number of updates.
 *
 * - *The edit's own time.* The time is the log row's (its transaction's start, within
 *   milliseconds of the commit that acknowledged it), not the time of the run: a worker
 *   that was down sets the times the edits had.
 * - *Exactly once, and never backwards.* Like the relay, a run reads only rows of finished
 *   transactions (below `pg_snapshot_xmin`) and advances its cursors in the transaction that
 *   wrote the times: a run that fails or a worker killed mid-run leaves both as they were,
 *   and the next run reads the same rows. The write is `greatest(updated_at, t)` in effect
 *   (rows already at or past `t` are not written at all), so reading rows again never moves
 *   a document back, and a rename (which sets `now()`) is never undone by an older edit.
 * - *One at a time.* A transaction-scoped advisory lock per schema: with several workers,
 *   one runs and the others skip that turn.
 * - *No bus.* It reads the outbox, not the event bus, so it works the same on NATS and on
 *   the in-process bus, and a bus outage does not hold it back.
 * - *Out of the write path's way.* Setting `updated_at` takes the row's `FOR NO KEY UPDATE`
 *   lock, which the log's foreign-key check (`FOR KEY SHARE`) does not wait for; waiting
 *   for a row a command holds ends after 250 ms and the run is retried.
 */
import { feedCursor, type FeedCursor } from './feed-cursor.js';
import { sql } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { AppDb } from '../db/store.js';
import type { Logger } from '../lib/log.js';

export interface LastEditedOptions {
  db: AppDb;
  log: Logger;
  /** Period between runs: the lag it adds to an edit. @default 2_000 ms */
  intervalMs?: number;
  /** Outbox rows read per source per run. @default 5_000 */
  batch?: number;
  /** Registers `quire_last_edited_runs_total`, `quire_last_edited_rows_total` and `quire_last_edited_writes_total`. */
  registry?: Registry;
}

/** What one run did; null when another worker holds the lock. */
export interface LastEditedRun {
  /** Log rows and compaction events read. */
  read: number;
  /** Documents whose `updated_at` moved. */
  written: number;
  /** A source returned a full batch: more is waiting. */
  more: boolean;
}

/** The sources, as `feed_cursors` names of their own (the relay's are `changes` and `events`). */
const SOURCES = [
  { name: 'last-edited:changes', source: 'changes' },
  { name: 'last-edited:events', source: 'events' },
] as const;

type Cursor = FeedCursor;

export class LastEdited {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  private readonly runs?: Counter;
  private readonly rows?: Counter;
  private readonly writes?: Counter;

  constructor(private readonly opts: LastEditedOptions) {
    if (opts.registry) {
      const registers = [opts.registry];
      this.runs = new Counter({ name: 'quire_last_edited_runs_total', help: 'Runs that advanced updated_at (each writes an edited document at most once)', registers });
      this.rows = new Counter({ name: 'quire_last_edited_rows_total', help: 'Outbox rows read to advance updated_at', registers });
      this.writes = new Counter({ name: 'quire_last_edited_writes_total', help: "Documents whose updated_at moved to a newer edit's time", registers });
    }
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().then(
        (run) => {
          this.failures = 0;
          // A backlog (a worker back after an outage) drains without waiting.
          this.schedule(run?.more ? 0 : (this.opts.intervalMs ?? 2_000));
        },
        (err: unknown) => {
          this.failures++;
          const wait = Math.min(10_000, 200 * 2 ** Math.min(this.failures, 6));
          this.opts.log.warn({ cat: 'feed', err: err instanceof Error ? err.message : String(err), retryInMs: wait }, 'advancing last-edited times failed');
          this.schedule(wait);
        },
      );
    }, delay);
  }

  /** One run over both sources, in one transaction. */
  async runOnce(): Promise<LastEditedRun | null> {
    const limit = this.opts.batch ?? 5_000;
    const run = await this.opts.db.transaction().execute(async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtextextended('quire:last-edited:' || current_schema(), 0)) as ok`.execute(tx);
      if (!lock.rows[0]?.ok) return null;
      const horizon = (await sql<{ h: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as h`.execute(tx)).rows[0]!.h;
      const total: LastEditedRun = { read: 0, written: 0, more: false };
      for (const { name, source } of SOURCES) {
        const cursor = await feedCursor(tx, name);
        const r = (
          await sql<{ to_txid: string | null; to_seq: string | null; rows_read: number; rows_written: number }>`
            select to_txid::text as to_txid, to_seq::text as to_seq, rows_read, rows_written
            from quire_advance_edit_times(${source}, ${cursor.txid}::xid8, ${cursor.seq}::bigint, ${horizon}::xid8, ${limit})`.execute(tx)
        ).rows[0]!;
        total.read += r.rows_read;
        total.written += r.rows_written;
        const full = r.rows_read === limit && r.to_txid !== null && r.to_seq !== null;
        if (full) total.more = true;
        const next: Cursor = full ? { txid: r.to_txid!, seq: r.to_seq! } : { txid: horizon, seq: '0' };
        await sql`update feed_cursors set txid = ${next.txid}::xid8, seq = ${next.seq}::bigint, updated_at = now() where name = ${name}`.execute(tx);
      }
      return total;
    });
    if (run) {
      this.runs?.inc();
      this.rows?.inc(run.read);
      this.writes?.inc(run.written);
      if (run.written > 0) this.opts.log.debug({ cat: 'feed', read: run.read, written: run.written }, 'last-edited times advanced');
    }
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
