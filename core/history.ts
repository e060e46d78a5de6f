/**
 * Version history: points in a document's life (`document_versions`, migration 0017) that
 * can be listed, read and restored.
 *
 * Storage is incremental: a version's `data` is either the document's full Yjs state or the
 * update from the previous version's state (its `base_id`) to its own — the structs added
 * since and the deletions made since (not the whole delete set, which Yjs' own diff repeats
 * every time). A full state is stored for a document's first version, once the diffs since
 * the latest full state would pass `CHAIN_BYTES_PER_FULL_STATE` times its size or
 * `MAX_CHAIN` versions, and whenever a diff would be more than half the full state (after a
 * large rewrite, say). Reading folds the nearest full state at or before the version and
 * every diff after it, in order, on the folding thread (`fold.ts`), from stored data alone.
 *
 * A version is always taken of the committed state (read from the document store, never
 * from a live copy that may hold updates still being committed). Versions of one document
 * are made one at a time across all instances (a transaction-scoped advisory lock), so each
 * diff starts from the state of the version before it.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import * as Y from 'yjs';
import type { VersionKind } from '../contract/api.js';
import { withTenant, type AppDb } from '../db/store.js';
import type { DocumentStore } from './document-store.js';
import { foldStored } from './fold.js';

/**
 * A new full state is stored once the diffs since the latest one would pass this many times
 * its size: reading a version then applies at most about that many states' worth of bytes.
 */
export const CHAIN_BYTES_PER_FULL_STATE = 2;
/** …and at least once per this many versions of a document. */
export const MAX_CHAIN = 128;

/** A Yjs delete set, as `Y.snapshot(doc).ds`. */
type DeleteSet = Y.Snapshot['ds'];

/** A delete set in the V1 update encoding (Yjs' own writer: a snapshot with an empty state vector is the delete set and one zero byte). */
function encodeDeleteSet(ds: DeleteSet): Uint8Array {
  const snap = Y.encodeSnapshot(Y.createSnapshot(ds, new Map()));
  return snap.subarray(0, snap.byteLength - 1);
}

/** What `a` deletes that `b` does not (both sorted and merged, as Yjs keeps them). */
function subtract(a: DeleteSet, b: DeleteSet): DeleteSet {
  const out = Y.createDeleteSet();
  for (const [client, items] of a.clients) {
    const minus = b.clients.get(client) ?? [];
    const kept: { clock: number; len: number }[] = [];
    let j = 0;
    for (const it of items) {
      let start = it.clock;
      const end = it.clock + it.len;
      while (j < minus.length && minus[j]!.clock + minus[j]!.len <= start) j++;
      for (let k = j; k < minus.length && minus[k]!.clock < end; k++) {
        const m = minus[k]!;
        if (m.clock > start) kept.push({ clock: start, len: m.clock - start });
        start = Math.max(start, m.clock + m.len);
      }
      if (start < end) kept.push({ clock: start, len: end - start });
    }
    if (kept.length > 0) out.clients.set(client, kept as (typeof items)[number][]);
  }
  return out;
}

/** A version's state from its chain (a full state and the diffs after it, in order), folded on the folding thread. */
async function foldChain(chain: Uint8Array[]): Promise<Uint8Array> {
  const [base, ...rest] = chain;
  const { state, bad } = await foldStored(
    base ?? null,
    rest.map((data, i) => ({ seq: String(i + 1), data })),
  );
  if (bad.length > 0) throw new Error(`a stored version could not be applied: ${bad[0]!.problem.code}`);
  return state;
}

/** A version's document from its chain. */
async function rebuild(chain: Uint8Array[]): Promise<Y.Doc> {
  const doc = new Y.Doc({ gc: false });
  Y.applyUpdate(doc, await foldChain(chain));
  return doc;
}

/**
 * The update from the previous version (its state vector `since`, its chain `chain`) to
 * `doc`: the structs since, and only the deletions made since. `Y.encodeStateAsUpdate`
 * repeats the document's whole delete set in every diff, which was most of history's bytes.
 * Falls back to that encoding if the delete set cannot be cut off it.
 */
async function diffSince(doc: Y.Doc, since: Uint8Array, chain: Uint8Array[]): Promise<Uint8Array> {
  const update = Y.encodeStateAsUpdate(doc, since);
  const now = Y.snapshot(doc).ds;
  const tail = encodeDeleteSet(now);
  const cut = update.byteLength - tail.byteLength;
  if (cut < 0 || !Buffer.from(update.buffer, update.byteOffset + cut, tail.byteLength).equals(Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength))) return update;
  const previous = await rebuild(chain);
  try {
    const fresh = encodeDeleteSet(subtract(now, Y.snapshot(previous).ds));
    const out = new Uint8Array(cut + fresh.byteLength);
    out.set(update.subarray(0, cut));
    out.set(fresh, cut);
    return out;
  } finally {
    previous.destroy();
  }
}

export interface VersionRecord {
  id: string;
  seq: number;
  kind: VersionKind;
  name: string | null;
  createdBy: string | null;
  createdAt: Date;
  authors: string[];
  /** Whether `data` is a full state (else a diff from the previous version). */
  full: boolean;
  /** Bytes of `data`. */
  bytes: number;
}

export interface NewVersion {
  kind: VersionKind;
  name: string | null;
  createdBy: string | null;
  authors: string[];
  /** Automatic versions: not before this long after the latest version (any kind). */
  minIntervalMs?: number;
}

export type CreateVersionResult =
  | { created: VersionRecord }
  /** `unchanged`: the latest version already holds this state (automatic versions only). */
  | { skipped: 'unchanged' }
  /** `too_soon`: the latest version is younger than `minIntervalMs`; try again in `retryInMs`. */
  | { skipped: 'too_soon'; retryInMs: number }
  /** `stale`: a newer state was versioned meanwhile (automatic versions only). */
  | { skipped: 'stale' };

/** Identifies a document state: its state vector and its deletions (a deletion alone does not change the state vector). */
export function stateDigest(doc: Y.Doc): string {
  return crypto
    .createHash('sha256')
    .update(Y.encodeSnapshot(Y.snapshot(doc)))
    .digest('base64url');
}

/** Whether state vector `a` holds everything `b` does. */
function covers(a: Map<number, number>, b: Map<number, number>): boolean {
  for (const [client, clock] of b) if ((a.get(client) ?? 0) < clock) return false;
  return true;
}

const bytes = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

type Row = { id: string; seq: number; kind: VersionKind; name: string | null; created_by: string | null; created_at: Date; authors: string[]; base_id: string | null; bytes: number };

function record(r: Row): VersionRecord {
  return {
    id: r.id,
    seq: Number(r.seq),
    kind: r.kind,
    name: r.name,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at),
    authors: r.authors ?? [],
    full: r.base_id === null,
    bytes: Number(r.bytes),
  };
}

const COLUMNS = ['id', 'seq', 'kind', 'name', 'created_by', 'created_at', sql<string[]>`to_json(authors)`.as('authors'), 'base_id', sql<number>`octet_length(data)`.as('bytes')] as const;

export class VersionStore {
  constructor(
    private readonly db: AppDb,
    private readonly documents: DocumentStore,
  ) {}

  /**
   * Records a version of the document's committed state. Named and restore versions are
   * always recorded (the state is read again when a newer one was versioned while it was
   * read); automatic ones are skipped when nothing changed since the latest version.
   */
  async create(tenantId: string, documentId: string, v: NewVersion): Promise<CreateVersionResult> {
    for (let attempt = 0; ; attempt++) {
      const { doc } = await this.documents.loadInto(tenantId, documentId, new Y.Doc({ gc: false }));
      let result: CreateVersionResult | 'again';
      try {
        const full = Y.encodeStateAsUpdate(doc);
        const vector = Y.encodeStateVector(doc);
        const digest = stateDigest(doc);
        result = await withTenant(this.db, tenantId, async (tx) => {
          await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:versions:${documentId}`}, 0))`.execute(tx);
          const last = await tx
            .selectFrom('document_versions')
            .select(['id', 'seq', 'state_vector', 'digest', 'created_at'])
            .where('document_id', '=', documentId)
            .orderBy('seq', 'desc')
            .limit(1)
            .executeTakeFirst();
          let data: Uint8Array = full;
          let baseId: string | null = null;
          if (last) {
            if (v.kind === 'auto' && last.digest === digest) return { skipped: 'unchanged' as const };
            const age = Date.now() - new Date(last.created_at).getTime();
            if (v.minIntervalMs !== undefined && age < v.minIntervalMs) return { skipped: 'too_soon' as const, retryInMs: v.minIntervalMs - age };
            const lastVector = new Uint8Array(last.state_vector);
            if (!covers(Y.decodeStateVector(vector), Y.decodeStateVector(lastVector))) {
              if (v.kind === 'auto') return { skipped: 'stale' as const };
              return 'again' as const;
            }
            // The chain the next diff would join: the latest full state and the diffs after it.
            const chain = await tx
              .selectFrom('document_versions')
              .select('data')
              .where('document_id', '=', documentId)
              .where('seq', '>=', (eb) => eb.selectFrom('document_versions').select(eb.fn.max('seq').as('m')).where('document_id', '=', documentId).where('base_id', 'is', null))
              .orderBy('seq')
              .execute();
            const chainBytes = chain.reduce((n, r) => n + r.data.byteLength, 0);
            const diff = await diffSince(
              doc,
              lastVector,
              chain.map((r) => new Uint8Array(r.data)),
            );
            if (chain.length < MAX_CHAIN && chainBytes + diff.byteLength <= CHAIN_BYTES_PER_FULL_STATE * full.byteLength && diff.byteLength <= full.byteLength / 2) {
              data = diff;
              baseId = last.id;
            }
          }
          const authors = [...new Set(v.authors)];
          const row = await tx
            .insertInto('document_versions')
            .values({
              tenant_id: tenantId,
              document_id: documentId,
              seq: (last ? Number(last.seq) : 0) + 1,
              kind: v.kind,
              name: v.name,
              created_by: v.createdBy,
              authors: authors.length > 0 ? sql<string[]>`array[${sql.join(authors)}]::uuid[]` : sql<string[]>`'{}'::uuid[]`,
              state_vector: bytes(vector),
              digest,
              base_id: baseId,
              data: bytes(data),
            })
            .returning(COLUMNS)
            .executeTakeFirstOrThrow();
          return { created: record(row as Row) };
        });
      } finally {
        doc.destroy();
      }
      if (result !== 'again') return result;
      if (attempt >= 3) throw new Error(`document ${documentId}: the state kept changing while a version was taken`);
    }
  }

  /** One page of versions, newest first: those numbered below `beforeSeq` when given. */
  async list(tenantId: string, documentId: string, opts: { beforeSeq?: number; limit: number }): Promise<VersionRecord[]> {
    return withTenant(this.db, tenantId, async (tx) => {
      let q = tx.selectFrom('document_versions').select(COLUMNS).where('document_id', '=', documentId);
      if (opts.beforeSeq !== undefined) q = q.where('seq', '<', opts.beforeSeq);
      const rows = await q.orderBy('seq', 'desc').limit(opts.limit).execute();
      return rows.map((r) => record(r as Row));
    });
  }

  /** The latest version's id and state digest (`stateDigest`); null when the document has none. */
  async latest(tenantId: string, documentId: string): Promise<{ id: string; digest: string } | null> {
    return withTenant(this.db, tenantId, async (tx) => {
      const row = await tx.selectFrom('document_versions').select(['id', 'digest']).where('document_id', '=', documentId).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      return row ?? null;
    });
  }

  /** One version's record; null when the document has no such version. */
  async get(tenantId: string, documentId: string, versionId: string): Promise<VersionRecord | null> {
    return withTenant(this.db, tenantId, async (tx) => {
      const row = await tx.selectFrom('document_versions').select(COLUMNS).where('document_id', '=', documentId).where('id', '=', versionId).executeTakeFirst();
      return row ? record(row as Row) : null;
    });
  }

  /**
   * The document as it was at a version, rebuilt from storage: the nearest full state at or
   * before it and the diffs after that, in order. Null when the document has no such version.
   * The caller destroys the returned document.
   */
  async read(tenantId: string, documentId: string, versionId: string): Promise<{ doc: Y.Doc; version: VersionRecord } | null> {
    const found = await this.readState(tenantId, documentId, versionId);
    if (!found) return null;
    const doc = new Y.Doc({ gc: false });
    Y.applyUpdate(doc, found.state);
    return { doc, version: found.version };
  }

  /** The document's state at a version as one update (folded on the folding thread), without integrating it. Null when the document has no such version. */
  async readState(tenantId: string, documentId: string, versionId: string): Promise<{ state: Uint8Array; version: VersionRecord } | null> {
    const found = await withTenant(
      this.db,
      tenantId,
      async (tx) => {
        const target = await tx.selectFrom('document_versions').select(COLUMNS).where('document_id', '=', documentId).where('id', '=', versionId).executeTakeFirst();
        if (!target) return null;
        const rows = await tx
          .selectFrom('document_versions')
          .select(['id', 'seq', 'base_id', 'data'])
          .where('document_id', '=', documentId)
          .where('seq', '<=', target.seq)
          .where('seq', '>=', (eb) =>
            eb.selectFrom('document_versions').select(eb.fn.max('seq').as('m')).where('document_id', '=', documentId).where('base_id', 'is', null).where('seq', '<=', target.seq),
          )
          .orderBy('seq')
          .execute();
        return { target: record(target as Row), rows };
      },
      { isolation: 'repeatable read' },
    );
    if (!found) return null;
    const { target, rows } = found;
    rows.forEach((r, i) => {
      const expected = i === 0 ? null : rows[i - 1]!.id;
      if (r.base_id !== expected) throw new Error(`version ${r.id} of document ${documentId} does not follow the version before it`);
    });
    return { state: await foldChain(rows.map((r) => new Uint8Array(r.data))), version: target };
  }

  /** Bytes stored for a document's versions, and how many there are. */
  async size(tenantId: string, documentId: string): Promise<{ versions: number; bytes: number }> {
    return withTenant(this.db, tenantId, async (tx) => {
      const r = await tx
        .selectFrom('document_versions')
        .select([sql<string>`count(*)`.as('n'), sql<string>`coalesce(sum(octet_length(data) + octet_length(state_vector)), 0)`.as('bytes')])
        .where('document_id', '=', documentId)
        .executeTakeFirstOrThrow();
      return { versions: Number(r.n), bytes: Number(r.bytes) };
    });
  }
}
