/**
 * The document store: Yjs updates appended to `document_updates` (the write path's
 * commit point) and a compacted snapshot per document in `document_snapshots`.
 *
 * Loading = snapshot + every log row still present. Compaction folds the snapshot and
 * the rows it read into a new snapshot through a Y.Doc, then deletes exactly the rows it
 * read — never "all rows ≤ seq", because a row with a lower seq may commit after a
 * higher one and would otherwise be lost.
 */
import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import type { Database } from '../db/schema.js';
import { inOneTransaction, inOneTrip, withTenant } from '../db/store.js';

/** Rows per INSERT statement when a group commit is large. */
const APPEND_CHUNK_ROWS = 1_000;
/**
 * Group commits up to this many bytes of updates go to the database in one round trip, the
 * updates written into the statement as hex literals (`inOneTrip`); larger ones go as
 * binary parameters in a transaction, where the doubled size of hex would cost more than
 * the round trips it saves.
 */
const ONE_TRIP_MAX_BYTES = 256 * 1024;
/**
 * Inserts of up to this many rows go as prepared statements (`TripOptions.prepare`): one
 * statement per row count, so a connection holds a few of them. A single writer commits one
 * row at a time, where parsing and planning were a quarter of Postgres' work per commit.
 */
const PREPARE_MAX_ROWS = 8;

export interface AppendItem {
  tenantId: string;
  documentId: string;
  data: Uint8Array;
  userId: string | null;
}

export interface StoredDocument {
  snapshot: Uint8Array | null;
  updates: Uint8Array[];
  /** Bytes of snapshot + log rows: the document's approximate stored size. */
  bytes: number;
}

export class DocumentLoadError extends Error {
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

export class DocumentStore {
  constructor(private readonly db: Kysely<Database>) {}

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
        const snap = await tx.selectFrom('document_snapshots').select(['state']).where('document_id', '=', documentId).executeTakeFirst();
        const rows = await tx.selectFrom('document_updates').select(['data']).where('document_id', '=', documentId).orderBy('seq').execute();
        const updates = rows.map((r) => r.data);
        const bytes = (snap?.state.byteLength ?? 0) + updates.reduce((n, u) => n + u.byteLength, 0);
        return { snapshot: snap?.state ?? null, updates, bytes };
      },
      { isolation: 'repeatable read' },
    );
  }

  /**
   * Loads into `doc` (a fresh one by default). `onRead` sees the stored state between the
   * read and the integration. Any failure is a DocumentLoadError.
   */
  async loadInto(tenantId: string, documentId: string, doc: Y.Doc = new Y.Doc(), onRead?: (stored: StoredDocument) => void): Promise<{ doc: Y.Doc; bytes: number }> {
    let stored: StoredDocument;
    try {
      stored = await this.load(tenantId, documentId);
      onRead?.(stored);
      withoutUpdateEvents(doc, () =>
        doc.transact(() => {
          if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
          for (const u of stored.updates) Y.applyUpdate(doc, u);
        }, 'quire-load'),
      );
    } catch (e) {
      throw new DocumentLoadError(documentId, e);
    }
    return { doc, bytes: stored.bytes };
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
    const groups = [...byTenant].map(([tenantId, list]) => ({
      tenantId,
      queries: chunks(list.map((it) => ({ tenant_id: tenantId, document_id: it.documentId, data: it.data, user_id: it.userId }))).map((c) =>
        this.db.insertInto('document_updates').values(c),
      ),
    }));
    // Most commits are a few small updates: BEGIN, the setting, the INSERT and COMMIT would
    // be four round trips before the ack, where one does.
    const bytes = items.reduce((n, it) => n + it.data.byteLength, 0);
    if (bytes > ONE_TRIP_MAX_BYTES) await inOneTransaction(this.db, groups);
    else await inOneTrip(this.db, groups, { prepare: items.length <= PREPARE_MAX_ROWS });
  }

  /**
   * Folds the log into the snapshot. Runs at most once at a time per document across all
   * instances (a transaction-scoped advisory lock); returns null when another holds it.
   * `beforeTxid` optionally bounds which rows may be folded. Folding rows the relay has not
   * read yet is safe: the compaction writes a `document.changed` outbox event.
   */
  async compact(tenantId: string, documentId: string, opts: { beforeTxid?: string } = {}): Promise<{ folded: number; bytes: number; remaining: number } | null> {
    return withTenant(this.db, tenantId, async (tx) => {
      const lock = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtextextended(${`quire:compact:${documentId}`}, 0)) as ok`.execute(tx);
      if (!lock.rows[0]?.ok) return null;
      const snap = await tx.selectFrom('document_snapshots').select(['state', 'last_seq']).where('document_id', '=', documentId).executeTakeFirst();
      let q = tx.selectFrom('document_updates').select(['seq', 'data']).where('document_id', '=', documentId);
      if (opts.beforeTxid !== undefined) q = q.where(sql<boolean>`txid < ${opts.beforeTxid}::xid8`);
      const rows = await q.orderBy('seq').execute();
      const total = Number(
        (await tx.selectFrom('document_updates').select(sql<string>`count(*)`.as('n')).where('document_id', '=', documentId).executeTakeFirstOrThrow()).n,
      );
      if (rows.length === 0) return { folded: 0, bytes: snap?.state.byteLength ?? 0, remaining: total };
      const doc = new Y.Doc({ gc: true });
      doc.transact(() => {
        if (snap) Y.applyUpdate(doc, snap.state);
        for (const r of rows) Y.applyUpdate(doc, r.data);
      });
      const state = Y.encodeStateAsUpdate(doc);
      doc.destroy();
      const maxRead = rows.reduce((m, r) => (BigInt(r.seq) > BigInt(m) ? r.seq : m), snap?.last_seq ?? '0');
      await tx
        .insertInto('document_snapshots')
        .values({ document_id: documentId, tenant_id: tenantId, state, last_seq: maxRead })
        .onConflict((oc) => oc.column('document_id').doUpdateSet({ state, last_seq: maxRead, updated_at: sql`now()` }))
        .execute();
      await tx
        .deleteFrom('document_updates')
        .where('document_id', '=', documentId)
        .where('seq', '=', sql<string>`any(${rows.map((r) => r.seq)}::bigint[])`)
        .execute();
      // The folded rows leave the log, maybe before the relay read them: record the change in
      // the outbox in this transaction, so the change feed still sees it.
      await tx.insertInto('document_events').values({ tenant_id: tenantId, document_id: documentId, type: 'document.changed' }).execute();
      return { folded: rows.length, bytes: state.byteLength, remaining: total - rows.length };
    });
  }
}

const RETRY_DELAYS_MS = [50, 250, 1_000];

/** Constraint and data errors will not go away by retrying (e.g. the document was deleted). */
function isPermanent(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('23') || code.startsWith('22') || code === '42501';
}

interface Pending {
  item: AppendItem;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Resolves after the current event-loop turn's immediates. An append arrives from
 * Hocuspocus' `beforeSync`, before the update is applied; Hocuspocus then broadcasts it to
 * the document's readers from an immediate it schedules after that. Starting the commit
 * (compiling the INSERT, the write to the database socket) only after that broadcast keeps
 * it off the readers' latency, and appends from one turn's burst of socket reads share the
 * commit. An immediate queued from inside an immediate runs in the next turn's check
 * phase, after the current turn's: hence two.
 */
function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Group commit without a fixed wait: while one commit is in flight, appends queue up; when
 * it returns, the whole queue commits as the next batch. A single writer pays one commit
 * per update; many writers share commits.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: DocumentStore,
    private readonly onBatch?: (size: number, seconds: number, ok: boolean) => void,
  ) {}

  append(item: AppendItem): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    await afterThisTurn();
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const t0 = process.hrtime.bigint();
      try {
        await this.withRetries(() => this.store.appendBatch(batch.map((p) => p.item)));
        this.onBatch?.(batch.length, Number(process.hrtime.bigint() - t0) / 1e9, true);
        for (const p of batch) p.resolve();
      } catch (e) {
        this.onBatch?.(batch.length, Number(process.hrtime.bigint() - t0) / 1e9, false);
        for (const p of batch) p.reject(e);
      }
    }
    this.running = null;
  }

  /** Transient failures (a dropped connection, a failover) get a few quick retries. */
  private async withRetries(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= RETRY_DELAYS_MS.length || isPermanent(e)) throw e;
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  /** Resolves when everything appended so far has been committed (or failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }
}
