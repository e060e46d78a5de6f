/**
 * The web app end to end in real headless Chromium against a real server: co-editing with
 * carets, sharing, read-only, offline editing (also across a reload served by the service
 * worker), search, and the phone review view.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

const web = { env: { WEB_APP: 'true' } };
const nameOf = (email: string) => email.split('@')[0]!;
const editor = (p: Page) => p.getByTestId('editor');
const status = (p: Page) => p.getByTestId('save-status');
/** The document's text as the editor shows it, without collaborators' caret labels. */
const editorText = (p: Page) =>
  editor(p).evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.collaboration-carets__label').forEach((n) => n.remove());
    return [...copy.querySelectorAll('p, h1, h2, h3, li, blockquote')].map((n) => n.textContent ?? '').join('\n');
  });

/** Waits until the editor shows `expected` (exactly, or containing it). */
async function editorShows(p: Page, expected: string, mode: 'exact' | 'contains' = 'contains'): Promise<void> {
  await eventually(
    async () => {
      const text = await editorText(p);
      assert.ok(mode === 'exact' ? text === expected : text.includes(expected), `editor shows ${JSON.stringify(text)}, want ${JSON.stringify(expected)}`);
    },
    { timeoutMs: WAIT.timeout, intervalMs: 100 },
  );
}

async function typeAtEnd(p: Page, text: string): Promise<void> {
  // The editor opens read-only until the caller's access is known (REST or the socket).
  await p.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  await editor(p).click();
  await p.keyboard.press('Control+End');
  await p.keyboard.type(text);
}

test('two users co-edit: sign-up, create, share through the dialog, each sees the other’s text and caret', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const ca = await browser.newContext();
  t.after(() => ca.close());
  const pa = await ca.newPage();
  await pa.goto(url);
  await pa.getByRole('tab', { name: 'Create workspace' }).click();
  const ownerEmail = `owner-${Date.now()}@example.test`;
  await pa.getByLabel('Workspace name').fill('E2E Co');
  await pa.getByLabel('Email').fill(ownerEmail);
  await pa.getByLabel('Password').fill('correct horse battery');
  await pa.getByRole('button', { name: 'Create workspace' }).click();
  await pa.getByRole('button', { name: 'New document' }).click(WAIT);
  await pa.waitForURL(/\/d\/[0-9a-f-]{36}$/, WAIT);
  const id = pa.url().split('/d/')[1]!;
  await status(pa)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await pa.getByLabel('Title', { exact: true }).fill('Team notes');
  await pa.getByLabel('Title', { exact: true }).press('Enter');
  await pa.getByRole('navigation', { name: 'Documents' }).getByText('Team notes').waitFor(WAIT);

  const owner = JSON.parse((await pa.evaluate(() => localStorage.getItem('quire.session')))!) as Session;

  // The owner adds a colleague on the People page.
  const memberEmail = `bea-${Date.now()}@example.test`;
  await pa.getByRole('link', { name: 'People' }).click();
  // The page also has the invitation form; this is the one that adds a person directly.
  const addForm = pa.getByRole('form', { name: 'Add a person' });
  await addForm.getByLabel('Email').fill(memberEmail);
  await addForm.getByLabel('Name (optional)').fill('Bea');
  await addForm.getByLabel('First password').fill('another good password');
  await addForm.getByLabel('Role').selectOption('member');
  await addForm.getByRole('button', { name: 'Add person' }).click();
  await pa.getByRole('listitem').filter({ hasText: memberEmail }).waitFor(WAIT);
  const member = { user: { email: memberEmail } };
  await pa.goBack();
  await pa.waitForURL(new RegExp(`/d/${id}$`));

  await pa.getByRole('button', { name: 'Share' }).click();
  const dialog = pa.getByRole('dialog');
  await dialog.getByLabel('Person').selectOption({ label: `Bea (${memberEmail})` }, WAIT);
  await dialog.getByLabel('Access', { exact: true }).selectOption('write');
  await dialog.getByRole('button', { name: 'Share' }).click();
  await dialog.getByRole('listitem').filter({ hasText: member.user.email }).waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Done' }).click();

  // The colleague signs in through the login form and opens the shared document from the list.
  const cb = await browser.newContext();
  t.after(() => cb.close());
  const pb = await cb.newPage();
  await pb.goto(url);
  await pb.getByLabel('Email').fill(member.user.email);
  await pb.getByLabel('Password').fill('another good password');
  await pb.getByRole('button', { name: 'Sign in' }).click();
  await pb.getByRole('link', { name: /Team notes/ }).click(WAIT);
  await status(pb)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);

  await typeAtEnd(pa, 'Alpha from A.');
  await editorShows(pb, 'Alpha from A.');
  await typeAtEnd(pb, ' Beta from B.');
  await editorShows(pa, 'Beta from B.');

  // People are shown by their display name where they have one (Bea), else by their
  // email's local part; the header names the workspace.
  await pb.locator('.who', { hasText: 'Bea' }).waitFor(WAIT);
  await pb.getByTestId('workspace-name').filter({ hasText: 'E2E Co' }).waitFor(WAIT);
  await pb.screenshot({ path: outputPath('workspace-header-display-name.png') });
  // Carets with names, and presence.
  await pa.locator('.collaboration-carets__label', { hasText: 'Bea' }).waitFor(WAIT);
  await pa.getByTestId('presence').filter({ hasText: 'Bea' }).waitFor(WAIT);
  await pb.locator('.collaboration-carets__label', { hasText: nameOf(ownerEmail) }).waitFor(WAIT);
  await pb
    .getByTestId('presence')
    .filter({ hasText: nameOf(ownerEmail) })
    .waitFor(WAIT);

  await status(pa)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await status(pb)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  const stored = (await api.get(`/api/v1/documents/${id}/content`, owner.accessToken)).text;
  assert.equal(stored, 'Alpha from A. Beta from B.');
  assert.equal(await editorText(pa), await editorText(pb));
});

test('a user shared read-only sees the text but cannot change it', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Policy', text: 'Locked text' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);

  const ctx = await signedInContext(browser, reader);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.body.id}`);
  await editorShows(p, 'Locked text');
  await p.getByText('Read only', { exact: true }).first().waitFor(WAIT);
  assert.equal(await editor(p).getAttribute('contenteditable'), 'false');
  assert.equal(await p.getByLabel('Title', { exact: true }).count(), 0, 'no title field to rename');
  assert.equal(await p.getByRole('button', { name: 'Share' }).count(), 0);
  await editor(p).click();
  await p.keyboard.type('HACK');
  await p.keyboard.press('Backspace');
  // A control edit by the owner, made after the keystrokes, reaches this page: whatever they
  // did has been applied here and sent to the server before it.
  await api.put(`/api/v1/documents/${doc.body.id}/content`, { text: 'Control.', mode: 'append' }, owner.accessToken);
  await editorShows(p, 'Control.');
  assert.equal(await editorText(p), 'Locked text\nControl.');
  assert.equal((await api.get(`/api/v1/documents/${doc.body.id}/content`, owner.accessToken)).text, 'Locked text\nControl.');
});

test('offline: edits keep working, unsaved changes are shown, both sides converge on return, also after a reload served offline', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Trip plan', text: 'Start.' }, owner.accessToken);
  const id = doc.body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);

  const ca = await signedInContext(browser, owner);
  const cb = await signedInContext(browser, member);
  t.after(() => Promise.all([ca.close(), cb.close()]));
  const pa = await ca.newPage();
  const pb = await cb.newPage();
  await Promise.all([pa.goto(`${url}/d/${id}`), pb.goto(`${url}/d/${id}`)]);
  await status(pa)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await status(pb)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  // The service worker has cached the app shell once it is active.
  await pa.evaluate(() => navigator.serviceWorker.ready.then(() => true));

  await ca.setOffline(true);
  await pa.getByTestId('network-status').filter({ hasText: 'Offline' }).waitFor(WAIT);
  await typeAtEnd(pa, ' Offline A.');
  await status(pa).filter({ hasText: 'Offline · unsaved changes kept on this device' }).waitFor(WAIT);
  assert.ok(Number(await status(pa).getAttribute('data-pending')) > 0, "Number(await status(pa).getAttribute('data-pending')) > 0");
  assert.doesNotMatch((await status(pa).textContent()) ?? '', /\d/, 'no keystroke count is shown as a number of changes');
  // Meanwhile B edits online.
  await editor(pb).click();
  await pb.keyboard.press('Control+Home');
  await pb.keyboard.type('B first. ');
  await status(pb)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  assert.doesNotMatch(await editorText(pb), /Offline A/);

  await ca.setOffline(false);
  await status(pa)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  const expected = 'B first. Start. Offline A.';
  await editorShows(pa, expected, 'exact');
  await editorShows(pb, expected, 'exact');
  assert.equal((await api.get(`/api/v1/documents/${id}/content`, owner.accessToken)).text, expected);

  // Offline again, and the page is reloaded: the shell comes from the service worker, the
  // document from IndexedDB, and the edit made there still reaches the server.
  await ca.setOffline(true);
  await pa.reload();
  await editorShows(pa, expected);
  await pa.getByTestId('network-status').filter({ hasText: 'Offline' }).waitFor(WAIT);
  await typeAtEnd(pa, ' After reload.');
  await status(pa)
    .filter({ hasText: /unsaved changes/ })
    .waitFor(WAIT);
  await ca.setOffline(false);
  await status(pa)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await editorShows(pb, `${expected} After reload.`, 'exact');
  assert.equal((await api.get(`/api/v1/documents/${id}/content`, owner.accessToken)).text, `${expected} After reload.`);
});

test('search finds a phrase typed a moment ago and opens the hit', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'Recipes', text: '' }, owner.accessToken);
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.body.id}`);
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await typeAtEnd(p, 'Grandma’s zephyr marmalade needs bitter oranges.');
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);

  // Through the search box, as a user would; indexing follows the edit within moments.
  await eventually(
    async () => {
      await p.getByRole('searchbox', { name: 'Search documents' }).fill('marmalade');
      await p.getByRole('searchbox', { name: 'Search documents' }).press('Enter');
      await p.waitForURL(/\/search\?q=marmalade/);
      await p.reload();
      await p.getByTestId('search-hits').waitFor({ timeout: 2_000 });
    },
    { timeoutMs: 30_000, intervalMs: 300 },
  );
  const hit = p.getByTestId('search-hits').getByRole('listitem').first();
  assert.equal(await hit.locator('mark').first().innerText(), 'marmalade');
  // This server has no semantic search: the default (hybrid) falls back to exact words and says so.
  await p.getByText('Search by meaning is off').waitFor(WAIT);
  await hit.getByRole('link', { name: 'Recipes' }).click();
  await p.waitForURL(new RegExp(`/d/${doc.body.id}$`));
  await editorShows(p, 'zephyr marmalade');
});

test('on a phone (390×844) a document opens in the review view: who is editing, edit on demand, previous/next', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const editorUser = await api.addUser(owner, 'member');
  const first = await api.post('/api/v1/documents', { title: 'Quarterly review', text: 'Revenue grew in every region.' }, owner.accessToken);
  const second = await api.post('/api/v1/documents', { title: 'Hiring plan', text: 'Two engineers in Q3.' }, owner.accessToken);
  await api.put(`/api/v1/documents/${second.body.id}/permissions`, { userId: editorUser.user.id, level: 'write' }, owner.accessToken);

  // A colleague is editing the newest document on a desktop.
  const desk = await signedInContext(browser, editorUser);
  const phone = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  t.after(() => Promise.all([desk.close(), phone.close()]));
  const pd = await desk.newPage();
  await pd.goto(`${url}/d/${second.body.id}`);
  await typeAtEnd(pd, ' Maybe three.');

  const pm = await phone.newPage();
  await pm.goto(url);
  // The list first, then a document in the review layout.
  await pm.getByRole('link', { name: /Hiring plan/ }).click(WAIT);
  const review = pm.getByTestId('review-view');
  await review.waitFor(WAIT);
  await editorShows(pm, 'Maybe three.');
  await pm
    .getByTestId('presence')
    .filter({ hasText: nameOf(editorUser.user.email) })
    .waitFor(WAIT);
  assert.equal(await editor(pm).getAttribute('contenteditable'), 'false', 'reading first');
  await pm.screenshot({ path: outputPath('review-view-390x844.png') });

  const overflow = await pm.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (overflow ${overflow}px)`);

  await pm.getByRole('button', { name: 'Edit' }).tap();
  assert.equal(await editor(pm).getAttribute('contenteditable'), 'true');
  await pm.getByRole('button', { name: 'Done' }).tap();

  await pm.getByRole('button', { name: 'Next ›' }).tap();
  await pm.waitForURL(new RegExp(`/d/${first.body.id}$`));
  await editorShows(pm, 'Revenue grew');
  await pm.getByRole('button', { name: '‹ Previous' }).tap();
  await pm.waitForURL(new RegExp(`/d/${second.body.id}$`));

  // 360 px wide: still no layout break.
  await pm.setViewportSize({ width: 360, height: 740 });
  const overflow360 = await pm.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow360 <= 0, `no horizontal scrolling at 360 px (overflow ${overflow360}px)`);
  await pm.screenshot({ path: outputPath('review-view-360.png') });
});

test('keyboard only: sign in, reach "New document" with Tab, create and write', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup('Keys', `keys-${Date.now()}@example.test`);
  const ctx = await browser.newContext();
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  const focused = () => p.evaluate(() => (document.activeElement as HTMLElement | null)?.getAttribute('name') ?? document.activeElement?.textContent ?? '');
  // From the top of the page: the two tabs, then the form.
  for (let i = 0; i < 8 && (await focused()) !== 'email'; i++) await p.keyboard.press('Tab');
  assert.equal(await focused(), 'email');
  await p.keyboard.type(owner.user.email);
  await p.keyboard.press('Tab');
  await p.keyboard.type('correct horse battery');
  await p.keyboard.press('Enter');
  await p.getByRole('button', { name: 'New document' }).waitFor(WAIT);
  for (let i = 0; i < 15 && (await focused()) !== 'New document'; i++) await p.keyboard.press('Tab');
  assert.equal(await focused(), 'New document');
  await p.keyboard.press('Enter');
  await p.waitForURL(/\/d\/[0-9a-f-]{36}$/, WAIT);
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  // The editor opens read-only until the caller's access is known.
  await p.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  for (let i = 0; i < 20 && (await p.evaluate(() => document.activeElement?.getAttribute('data-testid'))) !== 'editor'; i++) await p.keyboard.press('Tab');
  await p.keyboard.type('Typed without a mouse.');
  await editorShows(p, 'Typed without a mouse.', 'exact');
});

test('embedded profile (PGlite, semantic search on): the badge shows the label, search by meaning finds a paraphrase', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { dialect: 'pglite', env: { WEB_APP: 'true', SEMANTIC_SEARCH: 'true' } });
  const owner = await api.signup();
  const doc = await api.post(
    '/api/v1/documents',
    {
      title: 'Quarterly earnings',
      text: 'The company reported higher revenue and profit this quarter. Investors bought shares as the stock price rose, and the bank raised its interest rate outlook.',
    },
    owner.accessToken,
  );
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.body.id}`);
  const badge = p.getByTestId('classification');
  // 25 words: below the labelling floor, so the badge says so instead of guessing a genre.
  await eventually(async () => assert.equal((await badge.innerText()) ?? '', 'Too short to label'), { timeoutMs: 60_000, intervalMs: 500 });

  await eventually(
    async () => {
      // No word in common with the document: only its meaning matches (cosine 0.39, above the 0.35 floor).
      await p.goto(`${url}/search?q=${encodeURIComponent('the firm made more money')}&mode=semantic`);
      await p.getByTestId('search-hits').getByRole('link', { name: 'Quarterly earnings' }).waitFor({ timeout: 3_000 });
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await p.getByRole('radio', { name: 'Best match' }).click();
  await p.getByTestId('search-hits').getByRole('link', { name: 'Quarterly earnings' }).waitFor(WAIT);
  assert.equal(await p.getByText('Search by meaning is off').count(), 0);
});

test('the service worker keeps the real app shell: opening a file or JSON in a tab does not replace what loads offline', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  await p.getByRole('button', { name: 'New document' }).waitFor(WAIT);
  await p.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await p.goto(`${url}/icon.svg`);
  await p.goto(`${url}/.well-known/jwks.json`);
  await ctx.setOffline(true);
  await p.goto(`${url}/`);
  await p.getByRole('button', { name: 'New document' }).waitFor(WAIT);
  await p.getByTestId('network-status').filter({ hasText: 'Offline' }).waitFor(WAIT);
});

test('a token refresh in another tab does not reopen the document being edited', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'Tabs', text: 'one' }, owner.accessToken);
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p1 = await ctx.newPage();
  await p1.goto(`${url}/d/${doc.body.id}`);
  await status(p1)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await p1.evaluate(() => {
    (window as unknown as { editorBefore: Element | null }).editorBefore = document.querySelector('[data-testid=editor]');
    const w = window as unknown as { storageEvents: number };
    w.storageEvents = 0;
    addEventListener('storage', () => w.storageEvents++);
  });
  // Another tab stores a rotated session for the same user (what its refresh does).
  const again = await api.post('/api/v1/auth/login', { email: owner.user.email, password: 'correct horse battery' });
  const p2 = await ctx.newPage();
  await p2.goto(`${url}/`);
  await p2.evaluate((s) => localStorage.setItem('quire.session', s), JSON.stringify(again.body));
  // The first tab has heard of it (the app's own listener, added at load, ran before this one)…
  await eventually(
    async () =>
      assert.ok(
        await p1.evaluate(() => (window as unknown as { storageEvents: number }).storageEvents > 0),
        'await p1.evaluate(() => (window as unknown as { storageEvents: number }).storageEvents > 0)',
      ),
    { message: 'the first tab gets the storage event' },
  );
  // …and a re-render that reopened the document would replace the editor within moments.
  const sameEditor = () => p1.evaluate(() => (window as unknown as { editorBefore: Element | null }).editorBefore === document.querySelector('[data-testid=editor]'));
  await quietFor(500, 'a reopened document would have replaced the editor', {
    check: async () => assert.ok(await sameEditor(), 'the editor (and its undo history and focus) survived'),
    intervalMs: 100,
  });
  await typeAtEnd(p1, ' two');
  await status(p1)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  assert.equal((await api.get(`/api/v1/documents/${doc.body.id}/content`, owner.accessToken)).text, 'one two');
});

test('losing access removes the offline copy; signing out with unsaved changes asks first, and declining keeps them', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const shared = await api.post('/api/v1/documents', { title: 'Shared for now', text: 'Soon gone.' }, owner.accessToken);
  const kept = await api.post('/api/v1/documents', { title: 'Kept', text: 'Draft.' }, owner.accessToken);
  for (const d of [shared, kept]) await api.put(`/api/v1/documents/${d.body.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);

  const ctx = await signedInContext(browser, member);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  const copies = () => p.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? ''));
  const copyOf = (id: string) => `quire:${member.user.id}/${id}`;

  // Opening a document keeps a copy on the device; losing access removes it.
  await p.goto(`${url}/d/${shared.body.id}`);
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await eventually(async () => assert.ok((await copies()).includes(copyOf(shared.body.id)), 'the copy exists'));
  await api.put(`/api/v1/documents/${shared.body.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  await p.getByText('You no longer have access').first().waitFor(WAIT);
  await eventually(async () => assert.ok(!(await copies()).includes(copyOf(shared.body.id)), 'the copy is removed'));

  // Offline edits waiting: "Sign out" asks; declining keeps the session and the edits.
  await p.goto(`${url}/d/${kept.body.id}`);
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await ctx.setOffline(true);
  await p.getByTestId('network-status').filter({ hasText: 'Offline' }).waitFor(WAIT);
  await typeAtEnd(p, ' Not yet sent.');
  await status(p)
    .filter({ hasText: /unsaved changes/ })
    .waitFor(WAIT);
  const asked: string[] = [];
  p.once('dialog', (d) => {
    asked.push(d.message());
    void d.dismiss();
  });
  await p.getByRole('button', { name: 'Sign out' }).click();
  await eventually(() => assert.equal(asked.length, 1));
  assert.match(asked[0]!, /not reached the server yet and will be lost/);
  await editorShows(p, 'Draft. Not yet sent.');
  assert.ok((await copies()).includes(copyOf(kept.body.id)), 'still signed in, the copy is kept');
  // Back online the edit is stored; signing out then asks nothing and removes the copy.
  await ctx.setOffline(false);
  await status(p)
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  assert.equal((await api.get(`/api/v1/documents/${kept.body.id}/content`, owner.accessToken)).text, 'Draft. Not yet sent.');
  p.once('dialog', (d) => {
    asked.push(d.message());
    void d.dismiss();
  });
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
  assert.equal(asked.length, 1, 'no question when nothing is waiting');
  await eventually(async () => assert.ok(!(await copies()).includes(copyOf(kept.body.id)), 'copies are removed at sign-out'));
});

test('a removed account: reloading shows the sign-in page, not the offline copy, and the device keeps nothing', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Payroll', text: 'Confidential figures.' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);

  const ctx = await signedInContext(browser, member);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  const copies = () => p.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? '').filter((n) => n.startsWith('quire:')));
  await p.goto(`${url}/d/${doc.body.id}`);
  await editorShows(p, 'Confidential figures.');
  await eventually(async () => assert.equal((await copies()).length, 1, 'the copy exists'));

  const removed = await api.request('DELETE', `/api/v1/users/${member.user.id}`, { token: owner.accessToken });
  assert.ok(removed.status < 300, removed.text);
  await p.reload();
  await p.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
  await p.getByText('Your session ended').first().waitFor(WAIT);
  await p.screenshot({ path: outputPath('removed-account-after-reload.png') });
  await eventually(async () => assert.deepEqual(await copies(), [], 'offline copies are wiped'), { timeoutMs: 30_000 });
  assert.equal(await p.evaluate(() => localStorage.getItem('quire.session')), null);
  assert.equal(await p.getByText('Confidential figures.').count(), 0);
});
