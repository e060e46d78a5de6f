/**
 * Search analytics: every search is logged in its workspace (normalised query, mode, result
 * count, duration, who searched), a client reports which hit was opened, and workspace
 * owners and admins read aggregates — top queries and queries without results over a
 * period. Nobody reads another person's individual searches through the API, and rows
 * older than {@link SEARCH_LOG_RETENTION_DAYS} are deleted as new searches are logged.
 */
import { sql } from 'kysely';
import type { SearchAnalytics, SearchClickRequest, SearchMode, SearchQueryStats } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import type { Principal } from '../../core/tokens.js';
import { forbidden, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { effectiveLevel } from '../../core/access.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';

/** Days a logged search (and its clicks) is kept. @default 90 */
export const SEARCH_LOG_RETENTION_DAYS = 90;
/** Expired rows deleted per logged search: enough to keep up with any search rate, bounded work per request. @default 100 */
const EXPIRED_PER_SEARCH = 100;

/** The form queries are counted in: Unicode-normalised, trimmed, lower case, single spaces. */
export function normaliseQuery(q: string): string {
  return q.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ').slice(0, 500);
}

/**
 * Logs one search in the actor's workspace and deletes a bounded number of expired rows in
 * the same statement. A failure is logged and answered with null: the search itself stands.
 */
export async function logSearch(svc: Services, actor: Actor, props: { q: string; mode: SearchMode; results: number; tookMs: number }): Promise<string | null> {
  const query = normaliseQuery(props.q);
  if (!query) return null;
  try {
    return await withTenant(svc.store.db, actor.tenantId, async (tx) => {
      const r = await sql<{ id: string }>`
        with expired as (
          delete from search_queries where id in (
            select id from search_queries
            where created_at < now() - make_interval(days => ${SEARCH_LOG_RETENTION_DAYS})
            order by created_at limit ${EXPIRED_PER_SEARCH})
        )
        insert into search_queries (tenant_id, user_id, query, mode, results, took_ms)
        values (${actor.tenantId}, ${actor.userId}, ${query}, ${props.mode}, ${props.results}, ${Math.max(0, Math.round(props.tookMs))})
        returning id`.execute(tx);
      return r.rows[0]?.id ?? null;
    });
  } catch (e) {
    svc.log.warn({ cat: 'search', err: e }, 'search not logged');
    return null;
  }
}

/**
 * Records that the caller opened `documentId` from their search `searchId` (at 1-based
 * `position`). The search must be the caller's own and the document readable by them now;
 * otherwise 404. Recording the same hit twice counts once.
 */
export async function recordClick(svc: Services, principal: Principal, ip: string | null, props: SearchClickRequest): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const mine = await tx.selectFrom('search_queries').select('id').where('id', '=', props.searchId).where('user_id', '=', actor.userId).executeTakeFirst();
    if (!mine) throw notFound('search');
    if (!(await effectiveLevel(tx, actor, props.documentId))) throw notFound('document');
    await tx
      .insertInto('search_clicks')
      .values({ search_id: props.searchId, tenant_id: actor.tenantId, document_id: props.documentId, position: props.position })
      .onConflict((oc) => oc.columns(['search_id', 'document_id']).doNothing())
      .execute();
  });
}

/** Aggregates of the workspace's searches over the last `days` days; owners and admins only. */
export async function searchAnalytics(svc: Services, principal: Principal, ip: string | null, props: { days: number; limit: number }): Promise<SearchAnalytics> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only workspace owners and admins see search analytics');
    // now() is the transaction's start: one period for every statement below.
    const since = sql`now() - make_interval(days => ${props.days})`;
    const period = await sql<{ from: Date; to: Date }>`select ${since} as "from", now() as "to"`.execute(tx);
    const { from, to } = period.rows[0]!;
    // One row per search with whether a result was opened from it.
    const searches = sql`(
      select q.query, q.mode, q.results, q.created_at, exists (select 1 from search_clicks c where c.search_id = q.id) as clicked
      from search_queries q where q.created_at >= ${since}) s`;
    const totals = await sql<{ searches: number; no_results: number; clicked: number; fulltext: number; semantic: number; hybrid: number }>`
      select count(*)::int as searches,
        count(*) filter (where s.results = 0)::int as no_results,
        count(*) filter (where s.clicked)::int as clicked,
        count(*) filter (where s.mode = 'fulltext')::int as fulltext,
        count(*) filter (where s.mode = 'semantic')::int as semantic,
        count(*) filter (where s.mode = 'hybrid')::int as hybrid
      from ${searches}`.execute(tx);
    const grouped = (where: ReturnType<typeof sql>) => sql<{ query: string; searches: number; clicked: number; average: number; last: Date }>`
      select s.query, count(*)::int as searches, count(*) filter (where s.clicked)::int as clicked,
        avg(s.results)::float8 as average, max(s.created_at) as last
      from ${searches}
      where ${where}
      group by s.query
      order by searches desc, last desc, s.query
      limit ${props.limit}`;
    const top = await grouped(sql`true`).execute(tx);
    const empty = await grouped(sql`s.results = 0`).execute(tx);
    const t = totals.rows[0]!;
    const stats = (rows: { query: string; searches: number; clicked: number; average: number; last: Date }[]): SearchQueryStats[] =>
      rows.map((r) => ({
        query: r.query,
        searches: r.searches,
        clickedSearches: r.clicked,
        averageResults: Math.round(Number(r.average) * 10) / 10,
        lastSearchedAt: new Date(r.last).toISOString(),
      }));
    return {
      days: props.days,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      retentionDays: SEARCH_LOG_RETENTION_DAYS,
      totals: { searches: t.searches, noResults: t.no_results, clickedSearches: t.clicked, byMode: { fulltext: t.fulltext, semantic: t.semantic, hybrid: t.hybrid } },
      topQueries: stats(top.rows),
      noResultQueries: stats(empty.rows),
    };
  });
}
