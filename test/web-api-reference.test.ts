/**
 * The API reference page (/developers/api) in real headless Chromium: reached from the
 * account page's API keys section, it lists the server's operations grouped by tag, opens
 * one with its parameters, body and example, and filters by a word. Screenshots in
 * test-output/api-reference*.png.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

test('the API reference lists, opens and filters the documented operations', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { dialect: 'pglite', env: { WEB_APP: 'true' } });
  const owner = await api.signup('Reference Co');
  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 1000 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/account`);
  await p.getByTestId('api-keys').getByRole('link', { name: 'API reference' }).click();
  await p.waitForURL(/\/developers\/api$/, WAIT);
  await p.getByRole('heading', { name: 'API reference' }).waitFor(WAIT);

  const ops = p.getByTestId('api-operation');
  await ops.first().waitFor(WAIT);
  assert.ok((await ops.count()) > 100, 'every operation is listed');
  for (const tag of ['Auth', 'Documents', 'Comments', 'Uploads', 'Notifications']) {
    assert.ok(await p.getByRole('heading', { name: tag, exact: true }).isVisible(), `the ${tag} group is shown`);
  }
  const create = ops.filter({ hasText: 'Create a document' });
  assert.equal(await create.count(), 1, 'POST /api/v1/documents is listed once');
  assert.match(await create.locator(':scope > summary').innerText(), /POST\s+\/api\/v1\/documents\s+Create a document/, 'method, path and summary are shown');
  await create.locator(':scope > summary').click();
  const body = create.locator('.op-body');
  await body.getByRole('heading', { name: 'Request body' }).waitFor(WAIT);
  assert.match(await body.innerText(), /title\s*required[\s\S]*collectionId/i, 'the body fields are listed');
  assert.match(await body.innerText(), /"title": "Meeting notes"/, 'the example request is shown');
  assert.match(await body.innerText(), /201[\s\S]*DocumentMeta/, 'the answer and its schema are shown');
  await p.screenshot({ path: outputPath('api-reference.png'), fullPage: false });

  // A list: its query parameters, and the page it answers with the items one click deeper.
  const list = ops.filter({ hasText: 'List the documents the caller can read' });
  await list.locator(':scope > summary').click();
  await list.getByRole('heading', { name: 'Parameters' }).waitFor(WAIT);
  assert.match(await list.innerText(), /cursor\s*query[\s\S]*limit\s*query[\s\S]*sort/i, 'the query parameters are listed');
  await list.locator('details.nested > summary', { hasText: 'DocumentMeta' }).first().click();
  assert.match(await list.innerText(), /linkAccess/, 'the items of the page open below');
  await list.scrollIntoViewIfNeeded();
  await p.screenshot({ path: outputPath('api-reference-list.png'), fullPage: false });

  // The sections list jumps to a tag and keeps it in the address.
  await p
    .getByRole('navigation', { name: 'API sections' })
    .getByRole('link', { name: /^Comments/ })
    .click();
  await p.waitForURL(/#tag-Comments$/, WAIT);
  assert.ok(await p.getByRole('heading', { name: 'Comments', exact: true }).isVisible(), 'the Comments section is shown');
  assert.equal(
    await p.getByRole('heading', { name: 'Comments', exact: true }).evaluate((h) => {
      const r = h.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight;
    }),
    true,
    'the Comments heading is scrolled into view',
  );
  // A link to one operation opens it.
  await p.goto(`${url}/developers/api#getApiV1Me`);
  const me = p.locator('#getApiV1Me');
  await me.getByRole('heading', { name: 'Responses' }).waitFor(WAIT);
  assert.equal(await me.evaluate((d) => (d as HTMLDetailsElement).open), true, 'the linked operation is open');

  await p.getByLabel('Filter operations').fill('upload');
  await p.getByText(/^\d+ of \d+$/).waitFor(WAIT);
  const shown = await ops.count();
  assert.ok(shown >= 4 && shown < 20, `the filter keeps the upload operations (${shown})`);
  assert.ok(await p.getByRole('heading', { name: 'Uploads', exact: true }).isVisible(), 'the Uploads group stays');
  assert.equal(await p.getByRole('heading', { name: 'Comments', exact: true }).count(), 0, 'groups without a match are hidden');
  const tus = ops.filter({ hasText: 'Start a resumable upload' });
  await tus.locator(':scope > summary').click();
  assert.match(await tus.innerText(), /application\/offset\+octet-stream/, 'a binary body shows its media type');
  await p.screenshot({ path: outputPath('api-reference-filtered.png'), fullPage: false });

  // A phone: one column, the operations still readable.
  await p.setViewportSize({ width: 390, height: 844 });
  await p.getByLabel('Filter operations').fill('notifications stream');
  const sse = ops.filter({ hasText: 'Server-Sent Events' });
  await sse.waitFor(WAIT);
  await sse.locator(':scope > summary').click();
  assert.match(await sse.innerText(), /text\/event-stream/, 'the event stream shows its media type');
  await p.screenshot({ path: outputPath('api-reference-phone.png'), fullPage: false });
});
