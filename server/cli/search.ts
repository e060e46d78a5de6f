/**
 * `quire search reindex [--workspace=<id or name>]`: rebuilds the search indexes from
 * Postgres — full text (Meilisearch or Postgres), and vectors and labels when semantic
 * search is on — through the worker's own indexer (ml-workers/indexer.ts), one document
 * at a time, forced past its "already indexed" checks. Deleted documents are removed from
 * the indexes. For an index that was wiped, moved to a new engine, or indexed by an older
 * version. Servers keep serving meanwhile; edits made during the run are indexed by the
 * workers as usual.
 */
import { sql } from 'kysely';

import { DocumentStore } from '../../core/document-store.js';
import { Indexer, type SemanticOptions } from '../../ml-workers/indexer.js';
import { openBlobStore } from '../../lib/storage/open.js';
import { createLogger } from '../../lib/log.js';
import type { Config } from '../../lib/config.js';
import type { Store } from '../../db/store.js';
import { withOperatorStore } from '../operator-store.js';
import { openFullTextIndex, openVectorIndex } from '../search-indexes.js';
import { flag, type CliContext, type CliGroup } from './command.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Documents read per page while walking the store. */
const PAGE = 500;
/** Documents indexed at once. */
const PARALLEL = 4;

/** The workspace named by id or by a name no other workspace has; an error message otherwise. */
export async function resolveWorkspace(store: Store, ref: string): Promise<{ id: string; name: string } | string> {
  const rows = UUID.test(ref)
    ? (await sql<{ id: string; name: string }>`select id, name from tenants where id = ${ref}`.execute(store.owner)).rows
    : (await sql<{ id: string; name: string }>`select id, name from tenants where name = ${ref} order by id`.execute(store.owner)).rows;
  if (rows.length === 0) return `no workspace ${JSON.stringify(ref)}`;
  if (rows.length > 1) return `${rows.length} workspaces are named ${JSON.stringify(ref)}: name one by its id (${rows.map((r) => r.id).join(', ')})`;
  return rows[0]!;
}

/** The vector index and sentence encoder when semantic search is on and has an index (as in server/roles/search.ts). */
async function openSemantic(config: Config, store: Store): Promise<(SemanticOptions & { close: () => Promise<void> }) | null> {
  if (!config.search.semantic) return null;
  const vectors = await openVectorIndex(config, store);
  if (!vectors) return null;
  const { createUseEmbedder } = await import('../../ml-workers/embeddings/use-embedder.js');
  const { loadClassifierModel } = await import('../../ml-workers/classifier/model.js');
  const embedder = await createUseEmbedder({ threads: config.search.embeddingThreads });
  const model = await loadClassifierModel(new URL('../../ml-workers/classifier/default-model.json', import.meta.url));
  const index = vectors;
  return {
    embedder,
    vectors: index,
    classifier: { name: 'default', model },
    close: async () => {
      await embedder.destroy();
      await index.destroy();
    },
  };
}

async function reindex(ctx: CliContext): Promise<number> {
  const { config } = ctx;
  const ref = flag(ctx, 'workspace');
  return withOperatorStore(config, 'reindex', async (store) => {
    let tenantId: string | null = null;
    if (ref !== undefined) {
      const ws = await resolveWorkspace(store, ref);
      if (typeof ws === 'string') {
        ctx.err(`${ws} (quire workspace list shows them)`);
        return 1;
      }
      tenantId = ws.id;
    }
    const fulltext = await openFullTextIndex(config, store);
    const semantic = await openSemantic(config, store);
    const blobs = openBlobStore(config.files, config.dataDir);
    const log = createLogger(config.logLevel === 'silent' ? 'silent' : 'warn', process.stderr);
    const indexer = new Indexer({ db: store.db, store: new DocumentStore(store.db), fulltext, log, semantic: semantic ?? undefined, blobs });
    const counts = { indexed: 0, removed: 0, unchanged: 0, skipped: 0, failed: 0 };
    try {
      ctx.err(`reindexing ${tenantId ? `workspace ${tenantId}` : 'every workspace'} into ${fulltext.name}${semantic ? ' and the vector index' : ''} …`);
      let after = '00000000-0000-0000-0000-000000000000';
      for (;;) {
        const page = (
          await sql<{ id: string; tenant_id: string }>`select id, tenant_id from documents
            where id > ${after}::uuid ${tenantId ? sql`and tenant_id = ${tenantId}::uuid` : sql``}
            order by id limit ${PAGE}`.execute(store.owner)
        ).rows;
        if (page.length === 0) break;
        after = page[page.length - 1]!.id;
        let next = 0;
        const work = async () => {
          while (next < page.length) {
            const d = page[next++]!;
            try {
              counts[await indexer.reindex(d.tenant_id, d.id)]++;
            } catch (e) {
              counts.failed++;
              ctx.err(`document ${d.id}: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        };
        await Promise.all(Array.from({ length: PARALLEL }, work));
        ctx.err(`… ${counts.indexed + counts.removed + counts.unchanged + counts.failed} documents`);
      }
    } finally {
      await indexer.close();
      await semantic?.close();
      await fulltext.destroy();
      await blobs.close();
    }
    ctx.out(`reindexed: ${counts.indexed} documents indexed, ${counts.removed} deleted ones removed, ${counts.failed} failed`);
    return counts.failed > 0 ? 1 : 0;
  });
}

export const group: CliGroup = {
  summary: 'the search indexes (full text, vectors, labels)',
  commands: {
    reindex: { usage: '[--workspace=<id or name>]  rebuild the search indexes from the database', run: reindex },
  },
};
