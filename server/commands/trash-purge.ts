/**
 * Emptying the trash: documents deleted more than `TRASH_RETENTION_DAYS` ago are deleted
 * for good — the `purgeAt` that `GET /api/v1/trash` shows.
 *
 * Deleting the `documents` row takes everything keyed by the document with it (foreign keys
 * `on delete cascade`: log, snapshot, quarantine, versions, comments and mentions,
 * permissions, stars and views, public link, labels, classifications, the Postgres search
 * row, index state, pgvector chunks, search clicks). What lives outside Postgres
 * (Meilisearch, Qdrant) follows the change feed: each purged document gets a
 * `document.deleted` outbox event in the transaction that deletes it, and the indexer,
 * finding no document, removes it from every index. The outbox and the audit log keep the
 * id (neither references the document).
 *
 * Several workers may purge at once. The documents due are listed across tenants by
 * `quire_trash_due` (ids only, migration 0019); each tenant's are then deleted under its
 * row-level security with `for update skip locked` and `returning`: a document another
 * purger is deleting is skipped, one it deleted is gone, so each purged document is deleted,
 * announced and audited exactly once. A document brought back (undeleted) meanwhile no
 * longer matches and stays.
 */
import { sql } from 'kysely';
import { withTenant, type AppDb } from '../../db/store.js';
import type { Logger } from '../../lib/log.js';
import { audit } from './audit.js';
import { feedEvent } from './feed.js';

export interface PurgeTrashOptions {
  /** Documents deleted before this are purged. */
  before: Date;
  /** Documents listed per run. @default 500 */
  limit?: number;
  /** Documents deleted per transaction (each takes its rows in every table with it). @default 20 */
  batch?: number;
  /** Documents not to purge this run (they failed recently). */
  avoid?: ReadonlySet<string>;
  /** Checked between transactions: the run ends early when it answers true (shutdown). */
  shouldStop?: () => boolean;
  log?: Logger;
}

export interface PurgeTrashRun {
  /** Documents this run deleted for good. */
  purged: string[];
  /** Documents whose purge failed (logged); the others went on. */
  failed: string[];
  /** More may be due than this run listed. */
  more: boolean;
}

/** Deletes those of `ids` (one tenant's) still deleted before `before`, with their feed events and audit rows; answers the ids it deleted. */
async function purgeBatch(db: AppDb, tenantId: string, ids: string[], before: Date): Promise<string[]> {
  return withTenant(db, tenantId, async (tx) => {
    const rows = await tx
      .deleteFrom('documents')
      .where('id', 'in', (eb) => eb.selectFrom('documents').select('id').where('id', 'in', ids).where('deleted_at', 'is not', null).where('deleted_at', '<', before).forUpdate().skipLocked())
      .returning(['id', 'deleted_at'])
      .execute();
    for (const r of rows) {
      await feedEvent(tx, tenantId, r.id, 'document.deleted');
      await audit(tx, {
        tenantId,
        actorId: null,
        action: 'document.purge',
        targetType: 'document',
        targetId: r.id,
        detail: { deletedAt: new Date(r.deleted_at!).toISOString() },
      });
    }
    return rows.map((r) => r.id);
  });
}

/**
 * One run: at most `limit` documents, oldest deletion first, `batch` per transaction. A batch
 * that fails is tried one document at a time, so one document that cannot be purged (logged,
 * reported in `failed`) does not hold up the others.
 */
export async function purgeTrash(db: AppDb, opts: PurgeTrashOptions): Promise<PurgeTrashRun> {
  const limit = opts.limit ?? 500;
  const batch = Math.max(1, opts.batch ?? 20);
  const avoid = opts.avoid ?? new Set<string>();
  const { rows } = await sql<{ tenant_id: string; document_id: string }>`
    select tenant_id, document_id from quire_trash_due(${opts.before.toISOString()}::timestamptz, ${limit + avoid.size}::int)`.execute(db);
  const due = rows.filter((r) => !avoid.has(r.document_id)).slice(0, limit);
  const byTenant = new Map<string, string[]>();
  for (const r of due) {
    const ids = byTenant.get(r.tenant_id) ?? [];
    ids.push(r.document_id);
    byTenant.set(r.tenant_id, ids);
  }
  const run: PurgeTrashRun = { purged: [], failed: [], more: due.length === limit };
  for (const [tenantId, ids] of byTenant) {
    for (let i = 0; i < ids.length; i += batch) {
      if (opts.shouldStop?.()) return { ...run, more: true };
      const chunk = ids.slice(i, i + batch);
      try {
        run.purged.push(...(await purgeBatch(db, tenantId, chunk, opts.before)));
      } catch {
        for (const id of chunk) {
          try {
            run.purged.push(...(await purgeBatch(db, tenantId, [id], opts.before)));
          } catch (err) {
            run.failed.push(id);
            opts.log?.error({ cat: 'worker', tenantId, documentId: id, err: err instanceof Error ? err.message : String(err) }, 'purging a deleted document failed; it stays in the trash for now');
          }
        }
      }
    }
  }
  return run;
}
