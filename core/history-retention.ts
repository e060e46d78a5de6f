/**
 * Version retention: automatic versions older than `HISTORY_RETENTION_DAYS` are removed.
 *
 * What is kept: named and restore versions (a person made them), and each document's newest
 * version whatever its kind or age — it is where the next version's diff starts, what an
 * unchanged checkpoint is compared with, and it keeps `seq` from ever being reused.
 *
 * The chain stays readable. Versions are stored as a full state or a diff from the version
 * just before (core/history.ts). When a removed version is the base of a kept one, that kept
 * version is rewritten as its full state (`Y.encodeStateAsUpdate` of the version as
 * `VersionStore.read` rebuilds it) in the transaction that removes the base, so every
 * remaining version reads back exactly as before. A version's state never changes, only how
 * it is stored, so it is read before the transaction; the transaction then takes the
 * document's version lock (the one `VersionStore.create` takes), plans again from what is
 * stored now, and gives up on the document for this run when that plan needs a state it did
 * not read (another instance changed the versions meanwhile). A rebuilt state must match the
 * digest recorded when the version was taken, or the document is left as it is.
 *
 * Work is bounded: at most `maxDocuments` documents per run, each in a transaction of its own
 * that removes at most `maxVersionsPerDocument` versions and rewrites at most
 * `maxRewritesPerDocument` (each one full state in memory); `more` says a backlog remains.
 */
import { sql } from 'kysely';
import * as Y from 'yjs';
import type { VersionKind } from '../contract/api.js';
import { withTenant, type AppDb, type Tx } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import { stateDigest, type VersionStore } from './history.js';

export interface ExpireVersionsOptions {
  /** Automatic versions created before this are removed. */
  before: Date;
  /** Documents handled per run. @default 50 */
  maxDocuments?: number;
  /** Versions removed per document per transaction. @default 500 */
  maxVersionsPerDocument?: number;
  /** Versions rewritten as a full state per document per transaction. @default 10 */
  maxRewritesPerDocument?: number;
  /** Documents not to handle this run (they failed recently). */
  avoid?: ReadonlySet<string>;
  /** Checked between documents: the run ends early when it answers true (shutdown). */
  shouldStop?: () => boolean;
  log?: Logger;
}

export interface ExpireVersionsRun {
  /** Documents that lost versions. */
  documents: number;
  /** Versions removed. */
  removed: number;
  /** Kept versions rewritten as full states. */
  rewritten: number;
  /** Documents left for the next run: their versions changed while they were read. */
  skipped: number;
  /** Documents that failed (logged). */
  failed: string[];
  /** More is due than this run handled. */
  more: boolean;
}

export interface VersionMeta {
  id: string;
  seq: number;
  kind: VersionKind;
  base_id: string | null;
  created_at: Date;
  digest: string;
}

export interface ExpiryPlan {
  /** Versions to remove, in `seq` order. */
  remove: string[];
  /** Kept versions whose base is removed: to store as full states. */
  rewrite: VersionMeta[];
  /** Removable versions remain past the limits. */
  more: boolean;
}

/**
 * Which versions of one document to remove (`rows` all its versions in `seq` order): the
 * oldest automatic ones created before `before`, never the newest version, within the
 * limits; and which kept versions that leaves without their base.
 */
export function planExpiry(rows: readonly VersionMeta[], before: Date, limits: { maxRemove: number; maxRewrite: number }): ExpiryPlan {
  const maxRewrite = Math.max(1, limits.maxRewrite);
  const remove = new Set<string>();
  let rewrites = 0;
  let more = false;
  for (let i = 0; i < rows.length - 1; i++) {
    const r = rows[i]!;
    if (r.kind !== 'auto' || new Date(r.created_at).getTime() >= before.getTime()) continue;
    if (remove.size >= limits.maxRemove) {
      more = true;
      break;
    }
    // Removing r: the version after it needs a full state if it is a diff from r, and r
    // itself no longer does if it was one from a removed version.
    const prev = i > 0 ? rows[i - 1]! : null;
    const delta = (rows[i + 1]!.base_id === r.id ? 1 : 0) - (prev && r.base_id === prev.id && remove.has(prev.id) ? 1 : 0);
    if (rewrites + delta > maxRewrite) {
      more = true;
      break;
    }
    remove.add(r.id);
    rewrites += delta;
  }
  return {
    remove: rows.filter((r) => remove.has(r.id)).map((r) => r.id),
    rewrite: rows.filter((r) => !remove.has(r.id) && r.base_id !== null && remove.has(r.base_id)),
    more,
  };
}

async function versionsOf(tx: Tx, documentId: string): Promise<VersionMeta[]> {
  const rows = await tx.selectFrom('document_versions').select(['id', 'seq', 'kind', 'base_id', 'created_at', 'digest']).where('document_id', '=', documentId).orderBy('seq').execute();
  return rows.map((r) => ({ ...r, seq: Number(r.seq), created_at: new Date(r.created_at) }));
}

const bytes = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Removes one document's expired automatic versions (one batch). Resolves to what it did;
 * `'changed'` when the versions changed while their states were read (try again later).
 */
export async function expireDocumentVersions(
  db: AppDb,
  versions: VersionStore,
  tenantId: string,
  documentId: string,
  opts: Omit<ExpireVersionsOptions, 'maxDocuments' | 'avoid' | 'shouldStop' | 'log'>,
): Promise<{ removed: number; rewritten: number; more: boolean } | 'changed'> {
  const limits = { maxRemove: opts.maxVersionsPerDocument ?? 500, maxRewrite: opts.maxRewritesPerDocument ?? 10 };
  const planned = planExpiry(await withTenant(db, tenantId, (tx) => versionsOf(tx, documentId)), opts.before, limits);
  if (planned.remove.length === 0) return { removed: 0, rewritten: 0, more: false };
  // The kept versions that lose their base, as full states, read the way any reader does.
  const states = new Map<string, Uint8Array>();
  for (const v of planned.rewrite) {
    const found = await versions.read(tenantId, documentId, v.id);
    if (!found) return 'changed';
    try {
      if (stateDigest(found.doc) !== v.digest) throw new Error(`version ${v.id} of document ${documentId} does not rebuild to the state it recorded; its versions are left as they are`);
      states.set(v.id, Y.encodeStateAsUpdate(found.doc));
    } finally {
      found.doc.destroy();
    }
  }
  return withTenant(db, tenantId, async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:versions:${documentId}`}, 0))`.execute(tx);
    const plan = planExpiry(await versionsOf(tx, documentId), opts.before, limits);
    if (plan.rewrite.some((v) => !states.has(v.id))) return 'changed' as const;
    for (const v of plan.rewrite) {
      await tx
        .updateTable('document_versions')
        .set({ data: bytes(states.get(v.id)!), base_id: null })
        .where('document_id', '=', documentId)
        .where('id', '=', v.id)
        .execute();
    }
    if (plan.remove.length > 0) {
      await tx.deleteFrom('document_versions').where('document_id', '=', documentId).where('kind', '=', 'auto').where('id', 'in', plan.remove).execute();
    }
    return { removed: plan.remove.length, rewritten: plan.rewrite.length, more: plan.more };
  });
}

/**
 * One run: the documents with the oldest expired automatic versions (across tenants, ids
 * only: `quire_versions_due`), each in a transaction of its own. A document that fails is
 * logged and reported (`failed`), so the caller can leave it out of the next runs
 * (`avoid`) and it does not hold up the documents behind it.
 */
export async function expireVersions(db: AppDb, versions: VersionStore, opts: ExpireVersionsOptions): Promise<ExpireVersionsRun> {
  const maxDocuments = opts.maxDocuments ?? 50;
  const avoid = opts.avoid ?? new Set<string>();
  const { rows } = await sql<{ tenant_id: string; document_id: string }>`
    select tenant_id, document_id from quire_versions_due(${opts.before.toISOString()}::timestamptz, ${maxDocuments + avoid.size}::int)`.execute(db);
  const due = rows.filter((r) => !avoid.has(r.document_id)).slice(0, maxDocuments);
  const run: ExpireVersionsRun = { documents: 0, removed: 0, rewritten: 0, skipped: 0, failed: [], more: due.length === maxDocuments };
  for (const { tenant_id: tenantId, document_id: documentId } of due) {
    if (opts.shouldStop?.()) {
      run.more = true;
      break;
    }
    try {
      const r = await expireDocumentVersions(db, versions, tenantId, documentId, opts);
      if (r === 'changed') {
        run.skipped++;
        continue;
      }
      if (r.removed > 0) run.documents++;
      run.removed += r.removed;
      run.rewritten += r.rewritten;
      if (r.more) run.more = true;
    } catch (err) {
      run.failed.push(documentId);
      opts.log?.error({ cat: 'worker', tenantId, documentId, err: err instanceof Error ? err.message : String(err) }, 'expiring versions failed; the document is left as it is for now');
    }
  }
  return run;
}
