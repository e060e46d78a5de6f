/**
 * Every main screen in light, dark and phone layouts, in real headless Chromium: a
 * screenshot of each in test-output/ (screen-<screen>-<layout>.png), and axe-core run on
 * each with no serious or critical accessibility violation allowed.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const LAYOUTS: Record<string, BrowserContextOptions> = {
  light: { viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  dark: { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
};

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[];
}

/** axe-core's serious and critical findings on the page as it is now. */
async function seriousViolations(p: Page): Promise<string[]> {
  // Evaluated through the debugging protocol: the app's Content-Security-Policy (rightly) blocks inline scripts.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() => (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<AxeResult> } }).axe.run(document, { resultTypes: ['violations'] }));
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.failureSummary ?? ''}`).join(' | ')}`);
}

test('every main screen in light, dark and phone layouts: screenshots, and no serious or critical axe violation', { ...BROWSER_TEST, timeout: 600_000 }, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const owner = await api.signup('Acme Research');
  await api.patch('/api/v1/me', { displayName: 'Olive Owner' }, owner.accessToken);
  const doc = await api.post('/api/v1/documents', { title: 'Quarterly plan', text: '' }, owner.accessToken);
  await api.put(
    `/api/v1/documents/${doc.body.id}/content`,
    {
      json: {
        type: 'doc',
        content: [
          { type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Goals' }] },
          {
            type: 'paragraph',
            content: [
              { type: 'text', text: 'Ship the editor and ' },
              { type: 'text', text: 'measure', marks: [{ type: 'bold' }] },
              { type: 'text', text: ' what users see.' },
            ],
          },
          {
            type: 'taskList',
            content: [
              { type: 'taskItem', attrs: { checked: true }, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Tables' }] }] },
              { type: 'taskItem', attrs: { checked: false }, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Dark theme' }] }] },
            ],
          },
          { type: 'codeBlock', attrs: { language: 'js' }, content: [{ type: 'text', text: 'const ready = true; // ship it' }] },
        ],
      },
    },
    owner.accessToken,
  );
  await api.post('/api/v1/documents', { title: 'Meeting notes', text: 'Notes about the quarterly plan.' }, owner.accessToken);
  // A comment thread with a reply mentioning someone, for the comments panel.
  const plain: string = (await api.get(`/api/v1/documents/${doc.body.id}/content?format=text`, owner.accessToken)).text;
  const at = plain.indexOf('measure');
  const thread = await api.post(`/api/v1/documents/${doc.body.id}/comments`, { body: 'Which numbers do we measure first?', anchor: { from: at, to: at + 7 } }, owner.accessToken);
  await api.post(`/api/v1/documents/${doc.body.id}/comments`, { body: `Load time, @[Olive Owner](user:${owner.user.id}).`, parentId: thread.body.id }, owner.accessToken);

  const screens: { name: string; open: (p: Page) => Promise<void> }[] = [
    { name: 'home', open: async (p) => (await p.goto(url), await p.getByRole('button', { name: 'New document' }).waitFor(WAIT)) },
    {
      name: 'document',
      open: async (p) => {
        await p.goto(`${url}/d/${doc.body.id}`);
        await p.locator('[data-testid=editor] pre code .hljs-keyword').waitFor(WAIT);
        await p
          .getByTestId('save-status')
          .filter({ hasText: /^Saved$/ })
          .waitFor(WAIT);
      },
    },
    {
      name: 'comments',
      open: async (p) => {
        await p.goto(`${url}/d/${doc.body.id}`);
        await p.locator('.comment-mark').waitFor(WAIT);
        // On a phone the comments are a sheet; on a desktop, the thread of a clicked highlight is in focus.
        if (await p.getByTestId('review-view').count()) await p.getByRole('button', { name: /open comments$/ }).click();
        else await p.locator('.comment-mark').click();
        await p.locator('.comments-panel .mention').waitFor(WAIT);
      },
    },
    {
      name: 'search',
      open: async (p) => (
        await p.goto(`${url}/search?q=quarterly&mode=fulltext`),
        await p
          .getByRole('link', { name: /Quarterly plan|Meeting notes/ })
          .first()
          .waitFor(WAIT)
      ),
    },
    { name: 'people', open: async (p) => (await p.goto(`${url}/people`), await p.getByRole('heading', { name: 'People', exact: true }).waitFor(WAIT)) },
    { name: 'account', open: async (p) => (await p.goto(`${url}/account`), await p.getByLabel('Display name').waitFor(WAIT)) },
    { name: 'audit', open: async (p) => (await p.goto(`${url}/admin/audit`), await p.getByTestId('audit-table').waitFor(WAIT)) },
    { name: 'not-found', open: async (p) => (await p.goto(`${url}/no-such-page`), await p.getByTestId('not-found').waitFor(WAIT)) },
  ];
  const problems: string[] = [];
  for (const [layout, options] of Object.entries(LAYOUTS)) {
    // Signed out first: the sign-in page.
    const guest = await browser.newContext(options);
    const g = await guest.newPage();
    await g.goto(url);
    await g.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
    await g.screenshot({ path: outputPath(`screen-sign-in-${layout}.png`) });
    problems.push(...(await seriousViolations(g)).map((v) => `sign-in/${layout}: ${v}`));
    await guest.close();

    const ctx = await signedInContext(browser, owner, options);
    const p = await ctx.newPage();
    for (const s of screens) {
      await s.open(p);
      await p.screenshot({ path: outputPath(`screen-${s.name}-${layout}.png`) });
      problems.push(...(await seriousViolations(p)).map((v) => `${s.name}/${layout}: ${v}`));
    }
    if (layout === 'phone') {
      // One row of header on a phone, every control within reach.
      const header = await p.locator('header.topbar').boundingBox();
      assert.ok(header && header.height <= 64, `the phone header is one row (height ${header?.height})`);
    }
    await ctx.close();
  }
  assert.deepEqual(problems, []);
});
