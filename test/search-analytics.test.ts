/**
 * Search analytics: searches are logged per workspace, a client reports the hit it opened,
 * and only the workspace's owners and admins read the aggregates (top queries, queries
 * without results). Old rows go after the retention period.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { QuireClient, unwrap } from '../clients/sdk/node.js';
import { SEARCH_LOG_RETENTION_DAYS } from '../server/commands/search-analytics.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('searches and clicks are counted per workspace; owners and admins read top and empty queries', async (t) => {
  // Embedded: its change feed does not wait on other tenants' transactions of a shared server.
  const srv = await startServer(t, { dialect: 'pglite' });
  const { api } = srv;
  const owner = await api.signup('Acme');
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member');
  const other = await api.signup('Other Co');
  const doc = await api.post('/api/v1/documents', { title: 'Zoo notes', text: 'The aardvark enclosure opens in May' }, owner.accessToken);
  const secret = await api.post('/api/v1/documents', { title: 'Aardvark budget', text: 'Costs of the aardvark enclosure' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  const search = (token: string, q: string) => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=fulltext`, token);
  // Waiting for the indexer searches (and logs) a word of its own.
  await eventually(async () => assert.equal((await search(member.accessToken, 'enclosure')).body.hits.length, 1), { timeoutMs: 60_000 });

  const memberSearch = await search(member.accessToken, 'Aardvark');
  assert.match(memberSearch.body.searchId, /^[0-9a-f-]{36}$/);
  await search(member.accessToken, '  aardvark  ');
  await search(owner.accessToken, 'aardvark enclosure');
  await search(owner.accessToken, 'zzzqqqxx');
  await search(member.accessToken, 'ZZZQQQXX');
  await search(other.accessToken, 'aardvark');

  // Clicks: only on one's own search, only on a document one may read now.
  const click = (token: string, body: unknown) => api.post('/api/v1/search/clicks', body, token);
  const mine = { searchId: memberSearch.body.searchId, documentId: doc.body.id, position: 1 };
  assert.equal((await click(member.accessToken, mine)).status, 204);
  assert.equal((await click(member.accessToken, mine)).status, 204, 'the same hit twice counts once');
  const notMine = await click(admin.accessToken, mine);
  assert.equal(notMine.status, 404);
  assert.equal(notMine.body.error.code, 'search_not_found');
  const unreadable = await click(member.accessToken, { ...mine, documentId: secret.body.id });
  assert.equal(unreadable.status, 404);
  assert.equal(unreadable.body.error.code, 'document_not_found');
  assert.equal((await click(other.accessToken, mine)).status, 404, 'another workspace cannot name this search');
  for (const bad of [{}, { ...mine, position: 0 }, { ...mine, position: 51 }, { ...mine, searchId: 'nope' }, { ...mine, extra: 1 }]) {
    assert.equal((await click(member.accessToken, bad)).status, 400, JSON.stringify(bad));
  }

  const analytics = (token: string, qs = '') => api.get(`/api/v1/search/analytics${qs}`, token);
  const forbidden = await analytics(member.accessToken);
  assert.equal(forbidden.status, 403);
  assert.equal(forbidden.body.error.code, 'forbidden');
  for (const token of [owner.accessToken, admin.accessToken]) {
    const r = await analytics(token, '?days=7&limit=10');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.days, 7);
    assert.equal(r.body.retentionDays, SEARCH_LOG_RETENTION_DAYS);
    const top = r.body.topQueries as { query: string; searches: number; clickedSearches: number; averageResults: number }[];
    const byQuery = new Map(top.map((q) => [q.query, q]));
    assert.deepEqual([...byQuery.keys()].sort(), ['aardvark', 'aardvark enclosure', 'enclosure', 'zzzqqqxx']);
    assert.deepEqual(byQuery.get('aardvark'), { ...byQuery.get('aardvark')!, searches: 2, clickedSearches: 1, averageResults: 1 });
    assert.deepEqual(byQuery.get('aardvark enclosure'), { ...byQuery.get('aardvark enclosure')!, searches: 1, clickedSearches: 0, averageResults: 2 });
    const empty = new Map((r.body.noResultQueries as { query: string; searches: number }[]).map((q) => [q.query, q.searches]));
    assert.equal(empty.get('zzzqqqxx'), 2);
    assert.equal(empty.has('aardvark'), false);
    assert.equal(
      r.body.totals.noResults,
      [...empty.values()].reduce((a, b) => a + b, 0),
    );
    assert.equal(
      r.body.totals.searches,
      top.reduce((a, q) => a + q.searches, 0),
    );
    assert.equal(r.body.totals.clickedSearches, 1);
    assert.equal(r.body.totals.byMode.fulltext, r.body.totals.searches);
    assert.ok(!JSON.stringify(r.body).includes(member.user.id), 'no individual is named');
  }
  const theirs = await analytics(other.accessToken);
  assert.deepEqual(
    theirs.body.topQueries.map((q: { query: string; searches: number }) => [q.query, q.searches]),
    [['aardvark', 1]],
  );
  for (const qs of ['?days=0', `?days=${SEARCH_LOG_RETENTION_DAYS + 1}`, '?limit=101', '?days=x', '?since=1']) {
    assert.equal((await analytics(owner.accessToken, qs)).status, 400, qs);
  }
  assert.equal((await api.get('/api/v1/search/analytics')).status, 401);

  // Retention: a search older than the bound is deleted when the workspace next searches.
  const tenantId = owner.user.tenantId;
  await sql`insert into search_queries (tenant_id, user_id, query, mode, results, took_ms, created_at)
    values (${tenantId}, ${owner.user.id}, 'ancient query', 'fulltext', 0, 1, now() - make_interval(days => ${SEARCH_LOG_RETENTION_DAYS + 1}))`.execute(srv.quire.store.owner);
  const count = async () => Number((await sql<{ n: string }>`select count(*) as n from search_queries where query = 'ancient query'`.execute(srv.quire.store.owner)).rows[0]!.n);
  assert.equal(await count(), 1);
  await search(owner.accessToken, 'aardvark');
  assert.equal(await count(), 0);
});

test('the SDK reports the opened hit and reads the analytics; members are refused them', async (t) => {
  const { url, api } = await startServer(t, { dialect: 'pglite' });
  const owner = await api.signup('Acme', 'sdk-owner@example.test');
  const quire = new QuireClient({ baseUrl: url });
  unwrap(await quire.login({ email: 'sdk-owner@example.test', password: 'correct horse battery' }));
  const doc = unwrap(await quire.createDocument({ title: 'Pelican survey', text: 'Pelicans nest on the island' }));
  const found = await eventually(
    async () => {
      const r = unwrap(await quire.search('pelican', { mode: 'fulltext' }));
      assert.equal(r.hits[0]?.documentId, doc.id);
      return r;
    },
    { timeoutMs: 60_000 },
  );
  assert.equal(found.hits[0]!.match.kind, 'exact');
  unwrap(await quire.recordSearchClick(found.searchId!, doc.id, 1));
  const stats = unwrap(await quire.searchAnalytics({ days: 1, limit: 5 }));
  assert.equal(stats.topQueries[0]!.query, 'pelican');
  assert.equal(stats.topQueries[0]!.clickedSearches, 1);
  assert.equal(stats.retentionDays, SEARCH_LOG_RETENTION_DAYS);

  const member = await api.addUser(owner, 'member');
  const memberClient = new QuireClient({ baseUrl: url });
  unwrap(await memberClient.login({ email: member.user.email, password: 'another good password' }));
  const refused = await memberClient.searchAnalytics();
  assert.equal(refused.ok, false);
  assert.equal(!refused.ok && refused.error.code, 'forbidden');
});
