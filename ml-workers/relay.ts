/**
 * The relay: turns the outbox (the document update log and `document_events`) into
 * events on the bus. It reads only rows of finished transactions — those below the oldest
 * running transaction id (`pg_snapshot_xmin`) — so a row that commits after a later one
 * is never skipped, and it advances its cursor in the same transaction that published,
 * so a failed publish (NATS down) rolls the cursor back and the next poll retries.
 * Publishing is what keeps that transaction open, so events go out
 * `PUBLISH_PARALLELISM` at a time, each document's in order (`publishAll`): 5,000 events
 * one by one held it for 5,000 publish round trips.
 * Changes to one document within a poll coalesce into one `document.changed`. One relay
 * at a time per schema (transaction-scoped advisory lock); duplicates after a crash are
 * dropped by the bus' de-duplication window.
 *
 * Tracing on: each publish is a producer span, a child of the span that received the
 * update when its log row kept one (`trace_context`, migration 0027), and its context goes
 * with the message (`traceparent` header) to the workers.
 */
import { feedCursor, type FeedCursor } from './feed-cursor.js';
import { sql } from 'kysely';
import type { EventBus } from './bus/bus.js';
import { encodeEvent, messageIdFor, subjectFor, type FeedEvent, type FeedEventType } from '../contract/feed.js';
import type { Logger } from '../lib/log.js';
import { contextFromHeaders, failSpan, headersFor, SpanKind, startSpan, traceApi, tracingOn } from '../lib/tracing.js';
import type { AppDb } from '../db/store.js';
import type { FeedMetrics } from './feed-metrics.js';

export interface RelayOptions {
  db: AppDb;
  bus: EventBus;
  subjectPrefix: string;
  log: Logger;
  /** Poll period. @default 100 ms */
  intervalMs?: number;
  /** Rows read per source per poll. @default 5_000 */
  batch?: number;
  metrics?: FeedMetrics;
}

/** An outbox row as the feed functions return it. */
export interface Row {
  txid: string;
  seq: string;
  tenant_id: string;
  document_id: string;
  type?: FeedEventType;
  subject_id?: string | null;
  /** The `traceparent` kept with a log row (tracing on when it was written). */
  trace_context?: string | null;
}

type Cursor = FeedCursor;

export class Relay {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;

  constructor(private readonly opts: RelayOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pollOnce().then(
        (n) => {
          this.failures = 0;
          // Keep draining while there is a backlog.
          this.schedule(n > 0 ? 0 : (this.opts.intervalMs ?? 100));
        },
        (err: unknown) => {
          this.failures++;
          this.opts.metrics?.relayFailures.inc();
          const wait = Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
          this.opts.log.warn({ cat: 'feed', err: err instanceof Error ? err.message : String(err), retryInMs: wait }, 'relay poll failed');
          this.schedule(wait);
        },
      );
    }, delay);
  }

  /** One poll: publishes what is ready, advances the cursors; returns events published. */
  async pollOnce(): Promise<number> {
    const limit = this.opts.batch ?? 5_000;
    return this.opts.db.transaction().execute(async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtextextended('quire:relay:' || current_schema(), 0)) as ok`.execute(tx);
      if (!lock.rows[0]?.ok) {
        // Another instance's relay is the active one: this one is not behind.
        this.opts.metrics?.relayCaughtUp();
        return 0;
      }
      const horizon = (await sql<{ h: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as h`.execute(tx)).rows[0]!.h;
      let published = 0;
      let caughtUp = true;
      for (const source of ['changes', 'events'] as const) {
        const cursor = await feedCursor(tx, source);
        const fn = source === 'changes' ? sql`quire_feed_changes` : sql`quire_feed_events`;
        const rows = (
          await sql<Row>`select txid::text as txid, seq::text as seq, tenant_id, document_id${source === 'events' ? sql`, type, subject_id` : sql``}, trace_context
            from ${fn}(${cursor.txid}::xid8, ${cursor.seq}::bigint, ${horizon}::xid8, ${limit})`.execute(tx)
        ).rows;
        const traces = new Map<FeedEvent, string>();
        const events = source === 'changes' ? coalesce(rows, traces) : rows.map((r) => traced(toEvent(r, r.type!), r, traces));
        await publishAll(this.opts.bus, this.opts.subjectPrefix, events, (e) => traces.get(e));
        published += events.length;
        const last = rows[rows.length - 1];
        const next: Cursor = rows.length === limit && last ? { txid: last.txid, seq: last.seq } : { txid: horizon, seq: '0' };
        if (rows.length === limit) caughtUp = false;
        await sql`update feed_cursors set txid = ${next.txid}::xid8, seq = ${next.seq}::bigint, updated_at = now() where name = ${source}`.execute(tx);
      }
      this.opts.metrics?.published.inc(published);
      if (caughtUp) this.opts.metrics?.relayCaughtUp();
      return published;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

/** Publishes in flight at once per poll. */
export const PUBLISH_PARALLELISM = 32;

/**
 * Publishes `events` with at most `PUBLISH_PARALLELISM` in flight; a document's events go
 * one after another, in their order (a consumer must not see a document deleted before it
 * was created). The first failure stops the rest and rejects.
 */
export async function publishAll(bus: EventBus, subjectPrefix: string, events: readonly FeedEvent[], traceOf?: (e: FeedEvent) => string | undefined): Promise<void> {
  const byDocument = new Map<string, FeedEvent[]>();
  for (const e of events) {
    const list = byDocument.get(e.documentId);
    if (list) list.push(e);
    else byDocument.set(e.documentId, [e]);
  }
  const queues = [...byDocument.values()];
  let next = 0;
  let failed = false;
  const drain = async () => {
    while (!failed && next < queues.length) {
      for (const e of queues[next++]!) {
        if (failed) return;
        try {
          if (tracingOn()) await publishTraced(bus, subjectPrefix, e, traceOf?.(e));
          else await bus.publish(subjectFor(subjectPrefix, e), encodeEvent(e), messageIdFor(e));
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_PARALLELISM, queues.length) }, drain));
}

/** One publish as a producer span, its context sent with the message. */
async function publishTraced(bus: EventBus, subjectPrefix: string, e: FeedEvent, traceparent: string | undefined): Promise<void> {
  const subject = subjectFor(subjectPrefix, e);
  const msgId = messageIdFor(e);
  const parent = contextFromHeaders(traceparent ? { traceparent } : undefined);
  const span = startSpan(`publish ${e.type}`, {
    kind: SpanKind.PRODUCER,
    parent,
    attributes: () => ({
      'messaging.operation.type': 'send',
      'messaging.destination.name': subject,
      'messaging.message.id': msgId,
      'quire.document_id': e.documentId,
    }),
  });
  try {
    await bus.publish(subject, encodeEvent(e), msgId, headersFor(traceApi.setSpan(parent, span)));
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

export function toEvent(r: Row, type: FeedEventType): FeedEvent {
  const e: FeedEvent = { type, tenantId: r.tenant_id, documentId: r.document_id, txid: r.txid, seq: r.seq, at: new Date().toISOString() };
  if (r.subject_id) e.subjectId = r.subject_id;
  return e;
}

/** One `document.changed` per document: the newest row stands for all of them (and its trace context, into `traces`). */
function coalesce(rows: Row[], traces: Map<FeedEvent, string>): FeedEvent[] {
  const byDoc = new Map<string, Row>();
  for (const r of rows) byDoc.set(r.document_id, r);
  return [...byDoc.values()].map((r) => {
    return traced(toEvent(r, 'document.changed'), r, traces);
  });
}

/** Notes the row's stored trace context for its event. */
function traced(e: FeedEvent, r: Row, traces: Map<FeedEvent, string>): FeedEvent {
  if (r.trace_context) traces.set(e, r.trace_context);
  return e;
}
