/** Search across the documents the caller may read, in the caller's tenant. */
import { withTenant } from '../../db/store.js';
import { escapeHtml, type SearchHit } from '../../ml-workers/search/fulltext.js';
import type { VectorHit } from '../../ml-workers/search/vectors.js';
import type { Principal } from '../auth/tokens.js';
import { AppError, badRequest } from '../errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor } from './actor.js';

export type SearchMode = 'fulltext' | 'semantic' | 'hybrid';

export async function search(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { q: string; mode: SearchMode; limit: number },
): Promise<{ hits: SearchHit[]; mode: SearchMode }> {
  if (!svc.fulltext) throw new AppError(503, 'search_unavailable', 'Search is not configured on this server');
  if (props.mode !== 'fulltext' && !svc.semantic) {
    throw badRequest('mode_unavailable', `Search mode "${props.mode}" needs semantic search, which is off on this server; use mode=fulltext`);
  }
  // The query embedding (CPU in the embedding thread) does not depend on the caller's
  // role, so it runs while the caller is checked and the full-text engine answers.
  const vectorQuery = props.mode === 'fulltext' ? null : svc.semantic!.embedder().then((e) => e.embed([props.q]));
  vectorQuery?.catch(() => undefined); // awaited below; a failed caller check must not leave it unhandled
  const actor = await withTenant(svc.store.db, principal.tenantId, (tx) => loadActor(tx, principal, ip));
  const base = { tenantId: actor.tenantId, userId: actor.userId, tenantAdmin: isTenantAdmin(actor.role) };
  const fulltext = props.mode === 'semantic' ? [] : await svc.fulltext.search({ ...base, q: props.q, limit: props.limit * 2 });
  if (props.mode === 'fulltext' || !vectorQuery) return { hits: fulltext.slice(0, props.limit), mode: props.mode };
  const [vector] = await vectorQuery;
  const chunkHits = await svc.semantic!.vectors.search({ ...base, vector: vector!, limit: props.limit * 4 });
  const semantic = bestChunkPerDocument(chunkHits);
  if (props.mode === 'semantic') return { hits: (await withTitles(svc, actor.tenantId, semantic)).slice(0, props.limit), mode: props.mode };
  return { hits: reciprocalRankFusion([fulltext, await withTitles(svc, actor.tenantId, semantic)]).slice(0, props.limit), mode: props.mode };
}

/** Semantic hits arrive per chunk; a document ranks by its best chunk. */
function bestChunkPerDocument(hits: VectorHit[]): VectorHit[] {
  const best = new Map<string, VectorHit>();
  for (const h of hits) if (!best.has(h.documentId) || best.get(h.documentId)!.score < h.score) best.set(h.documentId, h);
  return [...best.values()].sort((a, b) => b.score - a.score);
}

async function withTitles(svc: Services, tenantId: string, hits: VectorHit[]): Promise<SearchHit[]> {
  if (hits.length === 0) return [];
  const rows = await withTenant(svc.store.db, tenantId, (tx) =>
    tx.selectFrom('documents').select(['id', 'title']).where('id', 'in', hits.map((h) => h.documentId)).where('deleted_at', 'is', null).execute(),
  );
  const titles = new Map(rows.map((r) => [r.id, r.title]));
  return hits
    .filter((h) => titles.has(h.documentId))
    .map((h) => ({ documentId: h.documentId, title: titles.get(h.documentId)!, snippet: escapeHtml(h.text.slice(0, 240)), score: h.score }));
}

/** Reciprocal-rank fusion (k = 60): a document's score is the sum of 1/(k + rank) over the lists. */
export function reciprocalRankFusion(lists: SearchHit[][], k = 60): SearchHit[] {
  const fused = new Map<string, SearchHit>();
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const prev = fused.get(hit.documentId);
      const add = 1 / (k + rank + 1);
      // Keep the first snippet seen (full-text snippets carry highlights).
      fused.set(hit.documentId, prev ? { ...prev, score: prev.score + add } : { ...hit, score: add });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
