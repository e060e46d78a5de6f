/**
 * The document store: Yjs updates appended to `document_updates` (the write path's
 * commit point) and a compacted snapshot per document in `document_snapshots`.
 *
 * Loading = snapshot + every log row still present. Compaction folds the snapshot and
 * the rows it read into a new snapshot through a Y.Doc, then deletes exactly the rows it
 * read — never "all rows ≤ seq", because a row with a lower seq may commit after a
 * higher one and would otherwise be lost.
 *
 * A stored row that cannot be applied (stored before updates were validated, see
 * `update-validation.ts`) does not make its document unloadable: a load skips it and reports
 * it, and compaction moves it, bytes intact, to `document_quarantine`.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';

import { inOneTransaction, inOneTrip, withTenant, type AppDb } from '../db/store.js';
import { foldStored, type BadRow } from './fold.js';
import { recordAuthorship } from './authorship.js';

export type { BadRow } from './fold.js';

/** Rows per INSERT statement when a group commit is large. */
const APPEND_CHUNK_ROWS = 1_000;
/**
 * Group commits up to this many bytes of updates go to the database in one round trip, the
 * updates written into the statement as hex literals (`inOneTrip`); larger ones go as
 * binary parameters in a transaction, where the doubled size of hex, encoded here and
 * decoded by Postgres, costs more than the round trips it saves: a 200 KB update took
 * 20–30 ms in one trip against 6–10 ms as a parameter in a transaction (loopback, busy
 * machine); at 64 KB the two were even.
 */
const ONE_TRIP_MAX_BYTES = 64 * 1024;
/**
 * Inserts of up to this many rows go as prepared statements (`TripOptions.prepare`): one
 * statement per row count, so a connection holds a few of them. A single writer commits one
 * row at a time, where parsing and planning were a quarter of Postgres' work per commit.
 */
const PREPARE_MAX_ROWS = 8;
/**
 * Log rows folded per compaction transaction. A chunk's transaction commits on its own, so
 * a process that is killed every few seconds still makes progress through a huge log (a
 * whole 44k-row log in one transaction never committed under such kills); 2,000 small rows
 * fold in well under a second on a slow machine, and each chunk re-reads the snapshot, so
 * much smaller chunks would cost more in total.
 */
export const COMPACT_CHUNK_ROWS = 2_000;

export interface AppendItem {
  tenantId: string;
  documentId: string;
  data: Uint8Array;
  userId: string | null;
  /** The `traceparent` of the span that received the update (tracing on only): stored with the row for the relay. */
  traceparent?: string;
}

export interface StoredDocument {
  snapshot: Uint8Array | null;
  updates: Uint8Array[];
  /** The log seq of each of `updates`, in the same order. */
  seqs: string[];
  /** Bytes of snapshot + log rows: the document's approximate stored size. */
  bytes: number;
}

/** What one compaction transaction did. */
export interface CompactResult {
  /** Log rows folded into the snapshot. */
  folded: number;
  /** Log rows moved to `document_quarantine` because they could not be applied. */
  quarantined: BadRow[];
  /** Bytes of the snapshot plus the log rows still present. */
  bytes: number;
  /** Log rows still present (not read by this chunk, or appended meanwhile). */
  remaining: number;
}

export class DocumentLoadError extends Error {
  readonly code = 'document_load_failed';
  constructor(
    readonly documentId: string,
    cause: unknown,
  ) {
    super(`Document ${documentId} could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'DocumentLoadError';
  }
}

/**
 * Runs `fn` (the integration of a stored state) with the document's `update` listeners
 * detached. Loading is not a change: Hocuspocus' Document listens from its constructor
 * and would broadcast the whole loaded state to the connections that are about to sync
 * it anyway (each fresh client received the document twice), and Yjs would encode the
 * whole state once more just to emit that event.
 */
export function withoutUpdateEvents(doc: Y.Doc, fn: () => void): void {
  // lib0's Observable keeps its listeners in `_observers` (name → set of handlers).
  const observers = (doc as unknown as { _observers: Map<string, Set<unknown>> })._observers;
  const update = observers.get('update');
  observers.delete('update');
  try {
    fn();
  } finally {
    if (update) observers.set('update', update);
  }
}

/**
 * A bytea column read as base64 text. Postgres sends bytea as hex text (twice the bytes),
 * which the driver then decodes on the event loop: reading a 12 MB snapshot cost ~400 ms of
 * CPU, in blocks of up to 60 ms; as base64 (`fromBase64`) ~150 ms. (The driver's binary
 * result format would send the bytes as they are, but node-postgres 8 decodes binary
 * fields as UTF-8 text, which corrupts bytea.)
 */
function bytesOf<C extends 'state' | 'data'>(column: C) {
  return sql<string>`encode(${sql.ref(column)}, 'base64')`.as(column);
}

/** Decodes `bytesOf`: Postgres breaks base64 lines every 76 characters, which Node's decoder skips. */
function fromBase64(text: string): Uint8Array {
  return Buffer.from(text, 'base64');
}

export class DocumentStore {
  constructor(private readonly db: AppDb) {}

  /**
   * Snapshot and log tail from one database snapshot (REPEATABLE READ): read with two
   * statements under READ COMMITTED, a compaction committing in between would show the
   * old snapshot and the emptied log — a document that looks empty.
   */
  async load(tenantId: string, documentId: string): Promise<StoredDocument> {
    return withTenant(
      this.db,
      tenantId,
      async (tx) => {
        const snap = await tx
          .selectFrom('document_snapshots')
          .select([bytesOf('state')])
          .where('document_id', '=', documentId)
          .executeTakeFirst();
        const rows = await tx
          .selectFrom('document_updates')
          .select(['seq', bytesOf('data')])
          .where('document_id', '=', documentId)
          .orderBy('seq')
          .execute();
        const updates = rows.map((r) => fromBase64(r.data));
        const snapshot = snap ? fromBase64(snap.state) : null;
        const bytes = (snapshot?.byteLength ?? 0) + updates.reduce((n, u) => n + u.byteLength, 0);
        return { snapshot, updates, seqs: rows.map((r) => r.seq), bytes };
      },
      { isolation: 'repeatable read' },
    );
  }

  /**
   * Loads into `doc` (a fresh one by default). `onRead` sees the stored state between the
   * read and the integration. The snapshot and log rows are folded on the folding thread
   * (`fold.ts`) and `doc` integrates the fold, so what the rows cost to integrate is not
   * paid on the event loop. A log row that throws is left out and returned in `skipped`.
   * Failing to read, or a snapshot that throws, is a DocumentLoadError.
   */
  async loadInto(tenantId: string, documentId: string, doc: Y.Doc = new Y.Doc(), onRead?: (stored: StoredDocument) => void): Promise<{ doc: Y.Doc; bytes: number; skipped: BadRow[] }> {
    let stored: StoredDocument;
    let skipped: BadRow[] = [];
    try {
      stored = await this.load(tenantId, documentId);
      onRead?.(stored);
      if (!stored.snapshot && stored.updates.length === 0) return { doc, bytes: 0, skipped };
      const { state, bad } = await foldStored(
        stored.snapshot,
        stored.updates.map((data, i) => ({ seq: stored.seqs[i]!, data })),
      );
      skipped = bad;
      withoutUpdateEvents(doc, () => Y.applyUpdate(doc, state, 'quire-load'));
    } catch (e) {
      throw new DocumentLoadError(documentId, e);
    }
    return { doc, bytes: stored.bytes, skipped };
  }

  /** Appends a batch in one transaction (grouped by tenant so RLS applies to each row). */
  async appendBatch(items: AppendItem[]): Promise<void> {
    if (items.length === 0) return;
    const byTenant = new Map<string, AppendItem[]>();
    for (const it of items) {
      const list = byTenant.get(it.tenantId) ?? [];
      list.push(it);
      byTenant.set(it.tenantId, list);
    }
    // Stay far below Postgres' 65,535 bind parameters per statement.
    const chunks = <T>(list: T[]) => Array.from({ length: Math.ceil(list.length / APPEND_CHUNK_ROWS) }, (_, i) => list.slice(i * APPEND_CHUNK_ROWS, (i + 1) * APPEND_CHUNK_ROWS));
    // The trace context column is named only when a row has one (tracing on), so the
    // statement's shape, and what is prepared, stays as it was with tracing off.
    const traced = items.some((it) => it.traceparent !== undefined);
    const row = (tenantId: string, it: AppendItem) =>
      traced
        ? { tenant_id: tenantId, document_id: it.documentId, data: it.data, user_id: it.userId, trace_context: it.traceparent ?? null }
        : { tenant_id: tenantId, document_id: it.documentId, data: it.data, user_id: it.userId };
    const groups = [...byTenant].map(([tenantId, list]) => ({
      tenantId,
      queries: chunks(list.map((it) => row(tenantId, it))).map((c) => this.db.insertInto('document_updates').values(c)),
    }));
    // Most commits are a few small updates: BEGIN, the setting, the INSERT and COMMIT would
    // be four round trips before the ack, where one does.
    const bytes = items.reduce((n, it) => n + it.data.byteLength, 0);
    if (bytes > ONE_TRIP_MAX_BYTES) await inOneTransaction(this.db, groups);
    else await inOneTrip(this.db, groups, { prepare: items.length <= PREPARE_MAX_ROWS });
  }

  /**
   * Folds (up to `maxRows` of) the log into the snapshot, in one transaction. Runs at most
   * once at a time per document across all instances (a transaction-scoped advisory lock);
   * returns null when another holds it. Folding rows the relay has not read yet is safe:
   * the compaction writes a `document.changed` outbox event. Rows that cannot be applied
   * move to `document_quarantine` in the same transaction (see `foldRows` in `fold.ts`).
   */
  async compact(tenantId: string, documentId: string, opts: { maxRows?: number } = {}): Promise<CompactResult | null> {
    const maxRows = opts.maxRows ?? COMPACT_CHUNK_ROWS;
    return withTenant(this.db, tenantId, async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtextextended(${`quire:compact:${documentId}`}, 0)) as ok`.execute(tx);
      if (!lock.rows[0]?.ok) return null;
      const snapRow = await tx
        .selectFrom('document_snapshots')
        .select([bytesOf('state'), 'last_seq'])
        .where('document_id', '=', documentId)
        .executeTakeFirst();
      const snap = snapRow && { state: fromBase64(snapRow.state), last_seq: snapRow.last_seq };
      const read = await tx
        .selectFrom('document_updates')
        .select(['seq', bytesOf('data'), 'user_id'])
        .where('document_id', '=', documentId)
        .orderBy('seq')
        .limit(maxRows)
        .execute();
      const rows = read.map((r) => ({ seq: r.seq, data: fromBase64(r.data), userId: r.user_id }));
      const all = await tx
        .selectFrom('document_updates')
        .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(octet_length(data)), 0)`.as('bytes')])
        .where('document_id', '=', documentId)
        .executeTakeFirstOrThrow();
      const total = Number(all.n);
      const readBytes = rows.reduce((n, r) => n + r.data.byteLength, 0);
      const logBytes = Number(all.bytes) - readBytes;
      if (rows.length === 0) return { folded: 0, quarantined: [], bytes: (snap?.state.byteLength ?? 0) + logBytes, remaining: total };
      const { state, bad, authorship } = await foldStored(snap?.state ?? null, rows, { authorship: true });
      await recordAuthorship(tx, tenantId, documentId, authorship ?? []);
      for (const b of bad) {
        await sql`
          insert into document_quarantine (tenant_id, document_id, seq, data, user_id, created_at, code, detail)
          select tenant_id, document_id, seq, data, user_id, created_at, ${b.problem.code}, ${b.problem.detail.slice(0, 1_000)}
          from document_updates where document_id = ${documentId} and seq = ${b.seq}
          on conflict do nothing`.execute(tx);
      }
      const maxRead = rows.reduce((m, r) => (BigInt(r.seq) > BigInt(m) ? r.seq : m), snap?.last_seq ?? '0');
      await tx
        .insertInto('document_snapshots')
        .values({ document_id: documentId, tenant_id: tenantId, state, last_seq: maxRead })
        .onConflict((oc) => oc.column('document_id').doUpdateSet({ state, last_seq: maxRead, updated_at: sql`now()` }))
        .execute();
      // The folded rows leave the log, maybe before the relay read them: record the change in
      // the outbox in this transaction, so the change feed still sees it. It carries the newest
      // row's time, the document's last edit (`ml-workers/last-edited.ts`).
      await sql`
        with folded as (
          delete from document_updates where document_id = ${documentId} and seq = any(${rows.map((r) => r.seq)}::bigint[]) returning created_at, seq, trace_context)
        insert into document_events (tenant_id, document_id, type, changed_at, trace_context)
        select ${tenantId}::uuid, ${documentId}::uuid, 'document.changed', max(created_at),
          (select f.trace_context from folded f where f.trace_context is not null order by f.seq desc limit 1)
        from folded`.execute(tx);
      return { folded: rows.length - bad.length, quarantined: bad, bytes: state.byteLength + logBytes, remaining: total - rows.length };
    });
  }

  /**
   * Compacts chunk by chunk (`compact` with `maxRows`) until the log is folded, nothing
   * more can be read, or `shouldStop` says so. Each chunk commits on its own, so progress
   * survives a crash. Returns null when another compaction of the document holds the lock
   * at the start; a lock lost between chunks ends the loop (the holder carries on).
   */
  async compactAll(tenantId: string, documentId: string, opts: { maxRows?: number; shouldStop?: () => boolean } = {}): Promise<(CompactResult & { chunks: number }) | null> {
    const total = { folded: 0, quarantined: [] as BadRow[], bytes: 0, remaining: 0, chunks: 0 };
    for (;;) {
      const res = await this.compact(tenantId, documentId, opts);
      if (!res) return total.chunks > 0 ? total : null;
      total.folded += res.folded;
      total.quarantined.push(...res.quarantined);
      total.bytes = res.bytes;
      total.remaining = res.remaining;
      total.chunks++;
      if (res.remaining === 0 || res.folded + res.quarantined.length === 0 || opts.shouldStop?.()) return total;
    }
  }

  /** Rows moved to quarantine for a document, oldest first (without their bytes). */
  async quarantined(tenantId: string, documentId: string): Promise<{ seq: string; code: string; detail: string; quarantinedAt: Date }[]> {
    return withTenant(this.db, tenantId, async (tx) => {
      const rows = await tx.selectFrom('document_quarantine').select(['seq', 'code', 'detail', 'quarantined_at']).where('document_id', '=', documentId).orderBy('seq').execute();
      return rows.map((r) => ({ seq: r.seq, code: r.code, detail: r.detail, quarantinedAt: r.quarantined_at }));
    });
  }
}
