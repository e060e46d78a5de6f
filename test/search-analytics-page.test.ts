/**
 * The search analytics page in real headless Chromium: an admin sees the workspace's top
 * queries and the searches that found nothing (opening a hit from the search page counts
 * as a click); a member is told the page is for owners and admins. Screenshot in
 * test-output/search-analytics.png.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { Browser } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

test('an admin reads top queries and searches that found nothing; a member may not', BROWSER_TEST, async (t) => {
  const { url, api, quire } = await startServer(t, { dialect: 'pglite', env: { WEB_APP: 'true' } });
  const owner = await api.signup('Analytics Co');
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member');
  const texts: [string, string][] = [
    ['Q3 financial results', 'Quarterly revenue reached 4.2 million, up 12 percent.'],
    ['Travel and expense policy', 'Keep every receipt; hotels up to 150 euros a night.'],
    ['Onboarding checklist', 'Your buddy walks you through the product on day one.'],
  ];
  for (const [title, text] of texts) {
    const d = await api.post('/api/v1/documents', { title, text }, owner.accessToken);
    await api.put(`/api/v1/documents/${d.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  }
  const search = (token: string, q: string) => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=fulltext`, token);
  // Indexed (waiting by searching would add searches of its own to the figures).
  await eventually(
    async () => {
      const r = await sql<{ n: number }>`select count(*)::int as n from search_documents where tenant_id = ${owner.user.tenantId}`.execute(quire.store.owner);
      assert.equal(r.rows[0]!.n, texts.length);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  for (const [q, times] of [
    ['revenue', 4],
    ['expense policy', 3],
    ['hotel receipt', 2],
    ['parking permit', 3],
    ['gym membership', 1],
  ] as const) {
    for (let i = 0; i < times; i++) await search(i % 2 ? owner.accessToken : member.accessToken, q);
  }

  // The admin searches in the app and opens a hit: a click on "revenue".
  const ctx = await signedInContext(browser, admin, { viewport: { width: 1280, height: 1000 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/search?q=revenue&mode=fulltext`);
  const hit = p.getByTestId('search-hits').getByRole('listitem').first();
  await hit.waitFor(WAIT);
  assert.equal(await hit.getByTestId('hit-match').innerText(), 'Exact words');
  await hit.getByRole('link', { name: 'Q3 financial results' }).click();
  await p.waitForURL(/\/d\/[0-9a-f-]{36}$/, WAIT);

  await p.getByRole('link', { name: 'Search analytics' }).click();
  await p.waitForURL(/\/admin\/search$/, WAIT);
  await p.getByRole('heading', { name: 'Search analytics' }).waitFor(WAIT);
  const top = p.getByRole('table', { name: 'Top queries' });
  await top.waitFor(WAIT);
  const firstRow = top.getByRole('row').nth(1);
  // "revenue": four searches from the API, the admin's one in the app; one opened a result.
  assert.deepEqual(
    await firstRow
      .getByRole('cell')
      .allInnerTexts()
      .then((c) => c.slice(0, 3)),
    ['revenue', '5', '20 %'],
  );
  const empty = p.getByRole('table', { name: 'Searches that found nothing' });
  const emptyQueries = await empty.locator('td.query').allInnerTexts();
  assert.deepEqual(emptyQueries, ['parking permit', 'gym membership']);
  const totals = await p.getByTestId('search-totals').innerText();
  assert.match(totals, /Searches\s+14/);
  assert.match(totals, /Found nothing\s+4/);
  await p.screenshot({ path: outputPath('search-analytics.png'), fullPage: true });

  // A query links to its search.
  await empty.getByRole('link', { name: 'parking permit' }).click();
  await p.waitForURL(/\/search\?q=parking%20permit/, WAIT);

  // Members have no link, and the page says who may see it.
  const mctx = await signedInContext(browser, member);
  t.after(() => mctx.close());
  const pm = await mctx.newPage();
  await pm.goto(`${url}/admin/search`);
  await pm.getByRole('alert').filter({ hasText: 'Only workspace owners and admins can see search analytics.' }).waitFor(WAIT);
  assert.equal(await pm.getByRole('link', { name: 'Search analytics' }).count(), 0);
});
