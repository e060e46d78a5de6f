/**
 * Search across the documents the caller may read, in the caller's tenant.
 *
 * Pipeline: the query goes to the engines (full text, and the query's embedding to the
 * vector index) with the caller's tenant and reader filter; each page of candidates is
 * checked against live access in Postgres (one query per page: the document exists, is not
 * deleted, and the caller — as stored now, role and grants — may read it), because the
 * readers an engine stores follow a permission change only by the feed's latency. Pages
 * follow until `limit` readable hits are found or the engine has no more (at most
 * {@link MAX_CANDIDATE_PAGES} pages). Meaning search keeps passages at or above the
 * similarity floor; hybrid fuses both lists by reciprocal rank. Every search is logged for
 * the workspace's analytics.
 */

import type { SearchMode, SearchResult } from '../../contract/api.js';

import { withTenant, type AppDb } from '../../db/store.js';
import type { SearchHit } from '../../ml-workers/search/fulltext.js';
import { reciprocalRankFusion, SEMANTIC_MIN_SIMILARITY, semanticHit } from '../../ml-workers/search/ranking.js';
import type { VectorHit } from '../../ml-workers/search/vectors.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, badRequest } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import { readableSql, readsTemplates, roleConditions } from '../../core/access.js';
import { logSearch } from './search-analytics.js';

/**
 * Pages of candidates asked of one engine per search. A page is twice the limit (full-text)
 * or four times it (passages, several per document), so stale readers cost a second page
 * only when more than half a page lost access since it was indexed. @default 5
 */
export const MAX_CANDIDATE_PAGES = 5;

export async function search(svc: Services, principal: Principal, ip: string | null, props: { q: string; mode: SearchMode; limit: number }): Promise<SearchResult> {
  const started = performance.now();
  if (!svc.fulltext) throw new AppError(503, 'search_unavailable', 'Search is not configured on this server');
  if (props.mode !== 'fulltext' && !svc.semantic) {
    throw badRequest('mode_unavailable', `Search mode "${props.mode}" needs semantic search, which is off on this server; use mode=fulltext`);
  }
  // The query embedding (CPU in the embedding thread) does not depend on the caller's
  // role, so it runs while the caller is checked and the full-text engine answers.
  const vectorQuery = props.mode === 'fulltext' ? null : svc.semantic!.embedder().then((e) => e.embed([props.q]));
  vectorQuery?.catch(() => undefined); // awaited below; a failed caller check must not leave it unhandled
  const actor = await withTenant(svc.store.db, principal.tenantId, (tx) => loadActor(tx, principal, ip));
  const base = { tenantId: actor.tenantId, userId: actor.userId, tenantAdmin: isTenantAdmin(actor.role), member: readsTemplates(actor.role) };
  const readable = (ids: string[]) => readableNow(svc.store.db, actor, ids);

  const fulltext =
    props.mode === 'semantic'
      ? []
      : await collectReadable({
          limit: props.limit,
          pageSize: Math.min(100, props.limit * 2),
          // Hybrid takes only documents with every word: meaning search finds the partial
          // matches that belong (nDCG@10 of the scaled profile's hybrid 0.85 → 0.90, bench/RESULTS.md).
          page: (offset, size) => svc.fulltext!.search({ ...base, q: props.q, limit: size, offset, allWords: props.mode === 'hybrid' }),
          readable,
          toHit: (hit, title) => ({ ...hit, title }),
        });
  let hits = fulltext;
  if (vectorQuery) {
    const [vector] = await vectorQuery;
    const semantic = await collectReadable<VectorHit>({
      limit: props.limit,
      pageSize: Math.min(200, props.limit * 4),
      page: (offset, size) => svc.semantic!.vectors.search({ ...base, vector: vector!, limit: size, offset, minScore: SEMANTIC_MIN_SIMILARITY }),
      readable,
      toHit: (hit, title) => semanticHit(hit, title, props.q),
    });
    hits = props.mode === 'semantic' ? semantic : reciprocalRankFusion([fulltext, semantic]).slice(0, props.limit);
  }
  const searchId = await logSearch(svc, actor, { q: props.q, mode: props.mode, results: hits.length, tookMs: performance.now() - started });
  return { hits, mode: props.mode, searchId };
}

/**
 * Takes pages of an engine's candidates (documents, or passages ranked best first) until
 * `limit` documents the caller may read now are found, the engine has no more, or
 * {@link MAX_CANDIDATE_PAGES} pages were read. A document counts once, at its first (best)
 * candidate. Titles come from the live row, so a rename shows before the index has it.
 */
export async function collectReadable<C extends { documentId: string }>(opts: {
  limit: number;
  pageSize: number;
  page: (offset: number, size: number) => Promise<C[]>;
  readable: (ids: string[]) => Promise<Map<string, string>>;
  toHit: (candidate: C, title: string) => SearchHit;
}): Promise<SearchHit[]> {
  const out: SearchHit[] = [];
  const seen = new Set<string>();
  for (let n = 0, offset = 0; n < MAX_CANDIDATE_PAGES && out.length < opts.limit; n++) {
    const page = await opts.page(offset, opts.pageSize);
    offset += page.length;
    const fresh: C[] = [];
    for (const c of page) {
      if (seen.has(c.documentId)) continue;
      seen.add(c.documentId);
      fresh.push(c);
    }
    const titles = await opts.readable(fresh.map((c) => c.documentId));
    for (const c of fresh) {
      const title = titles.get(c.documentId);
      if (title !== undefined && out.length < opts.limit) out.push(opts.toHit(c, title));
    }
    if (page.length < opts.pageSize) break; // the engine has no more
  }
  return out;
}

/**
 * The documents among `ids` the actor may read at this moment, with their titles: one
 * query, deciding from the stored user (still active, current role) and the current grants.
 */
export async function readableNow(db: AppDb, actor: Actor, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await withTenant(db, actor.tenantId, (tx) =>
    tx
      .selectFrom('documents as d')
      .innerJoin('users as u', (j) => j.on('u.id', '=', actor.userId).on('u.disabled_at', 'is', null))
      .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').onRef('p.user_id', '=', 'u.id'))
      .select(['d.id', 'd.title'])
      .where('d.id', 'in', ids)
      .where('d.deleted_at', 'is', null)
      .where(readableSql({ document: 'd', grant: 'p', ...roleConditions('u') }))
      .execute(),
  );
  return new Map(rows.map((r) => [r.id, r.title]));
}
