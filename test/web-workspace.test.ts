/**
 * Organising a workspace in real headless Chromium against a real server: collections with
 * nesting, moving documents, stars, recently viewed, filter and order, duplicates,
 * templates, and delete with a confirmation and an undo; then the defects a user met
 * (a deleted document lingering, unknown addresses, a stale search box, a stale message
 * when adding a person).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const web = { env: { WEB_APP: 'true' } };

const sidebar = (p: Page) => p.getByRole('navigation', { name: 'Documents' });
const listed = (p: Page) => sidebar(p).locator('.doc-list .title');
async function listShows(p: Page, titles: string[]): Promise<void> {
  await eventually(async () => assert.deepEqual(await listed(p).allTextContents(), titles), { timeoutMs: WAIT.timeout, message: 'the sidebar lists' });
}
async function moreAction(p: Page, name: string): Promise<void> {
  await p.getByRole('button', { name: 'More actions' }).click();
  await p.getByRole('menuitem', { name }).click();
}

test('organise: nested collections, move, star, recently viewed, filter and order, duplicate, templates, delete with confirmation and undo', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  for (const title of ['Beta notes', 'Alpha plan', 'Gamma']) await api.post('/api/v1/documents', { title, text: `${title} body.` }, owner.accessToken);
  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  await listShows(p, ['Gamma', 'Alpha plan', 'Beta notes']);

  // Order and filter.
  assert.equal(await p.getByLabel('Order').inputValue(), 'recent', 'last edited first by default');
  await p.getByLabel('Order').selectOption('title');
  await listShows(p, ['Alpha plan', 'Beta notes', 'Gamma']);
  await p.getByLabel('Filter by title').fill('PLAN');
  await listShows(p, ['Alpha plan']);
  await p.getByLabel('Filter by title').fill('');
  await listShows(p, ['Alpha plan', 'Beta notes', 'Gamma']);

  // A collection, and one inside it.
  await p.getByRole('button', { name: 'New collection' }).click();
  await p.getByRole('dialog', { name: 'New collection' }).getByLabel('Name').fill('Projects');
  await p.getByRole('button', { name: 'Create' }).click();
  await sidebar(p).getByText('This collection is empty.').waitFor(WAIT);
  await p.getByRole('button', { name: 'Actions for Projects' }).click();
  await p.getByRole('menuitem', { name: 'New collection inside' }).click();
  await p.getByRole('dialog', { name: 'New collection' }).getByLabel('Name').fill('2027');
  await p.getByRole('button', { name: 'Create' }).click();
  await p.getByRole('treeitem', { name: /2027/ }).waitFor(WAIT);

  // Move a document into the inner collection.
  await p.getByRole('button', { name: 'All documents' }).click();
  await sidebar(p)
    .getByRole('link', { name: /Alpha plan/ })
    .click();
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await moreAction(p, 'Move to collection…');
  await p.getByRole('dialog', { name: 'Move to collection' }).getByLabel('Collection').selectOption({ label: 'Projects / 2027' });
  await p.getByRole('button', { name: 'Move', exact: true }).click();
  await p.getByTestId('toasts').filter({ hasText: 'Moved to Projects / 2027' }).waitFor(WAIT);
  await sidebar(p).getByRole('button', { name: '2027', exact: true }).click();
  await listShows(p, ['Alpha plan']);
  await sidebar(p).getByRole('button', { name: 'Projects', exact: true }).click();
  await sidebar(p).getByText('This collection is empty.').waitFor(WAIT);

  // Star it; the starred view and recently viewed have it.
  await p.getByRole('button', { name: 'Star', exact: true }).click();
  await p.getByRole('button', { name: 'Star', exact: true, pressed: true }).waitFor(WAIT);
  await sidebar(p).getByRole('button', { name: 'Starred' }).click();
  await listShows(p, ['Alpha plan']);
  await sidebar(p).getByRole('button', { name: 'Recently viewed' }).click();
  await listShows(p, ['Alpha plan']);
  await p.screenshot({ path: outputPath('workspace-organised.png') });

  // Duplicate: a copy with the same content, opened.
  await moreAction(p, 'Duplicate');
  await p.getByLabel('Title', { exact: true }).and(p.locator('textarea')).filter({ hasText: 'Copy of Alpha plan' }).waitFor(WAIT);
  const copyId = /\/d\/([0-9a-f-]{36})/.exec(p.url())![1]!;
  assert.equal((await api.get(`/api/v1/documents/${copyId}/content`, owner.accessToken)).text, 'Alpha plan body.');

  // Save as template; a new document from the template.
  await moreAction(p, 'Save as template');
  await sidebar(p).getByRole('button', { name: 'Templates', exact: true }).and(p.locator('[aria-current=true]')).waitFor(WAIT);
  await listShows(p, ['Copy of Alpha plan']);
  const templateUrl = p.url();
  await moreAction(p, 'New document from this template');
  await p.getByTestId('toasts').filter({ hasText: 'Created “Copy of Alpha plan” from the template' }).waitFor(WAIT);
  await p.waitForURL((u) => u.href !== templateUrl, WAIT);
  const fromTemplate = /\/d\/([0-9a-f-]{36})/.exec(p.url())![1]!;
  const made = await api.get(`/api/v1/documents/${fromTemplate}`, owner.accessToken);
  assert.equal(made.body.kind, 'document');
  assert.equal((await api.get(`/api/v1/documents/${fromTemplate}/content`, owner.accessToken)).text, 'Alpha plan body.');

  // Delete asks first; Cancel keeps it; Delete removes it with an Undo that brings it back.
  await p.getByRole('button', { name: 'All documents' }).click();
  await sidebar(p).getByRole('link', { name: /Gamma/ }).click();
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  const gammaId = /\/d\/([0-9a-f-]{36})/.exec(p.url())![1]!;
  await moreAction(p, 'Delete');
  const confirm = p.getByRole('dialog', { name: 'Delete this document?' });
  await confirm.waitFor(WAIT);
  await p.screenshot({ path: outputPath('workspace-delete-confirm.png') });
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await api.get(`/api/v1/documents/${gammaId}`, owner.accessToken)).status, 200);
  await moreAction(p, 'Delete');
  await confirm.getByRole('button', { name: 'Delete' }).click();
  const toast = p.getByTestId('toasts').filter({ hasText: 'Deleted “Gamma”' });
  await toast.waitFor(WAIT);
  await eventually(async () => assert.equal((await api.get(`/api/v1/documents/${gammaId}`, owner.accessToken)).status, 404));
  assert.equal(await sidebar(p).getByRole('link', { name: /Gamma/ }).count(), 0);
  await p.screenshot({ path: outputPath('workspace-deleted-undo.png') });
  await toast.getByRole('button', { name: 'Undo' }).click();
  await p.waitForURL(`${url}/d/${gammaId}`, WAIT);
  await sidebar(p).getByRole('link', { name: /Gamma/ }).waitFor(WAIT);
  assert.equal((await api.get(`/api/v1/documents/${gammaId}/content`, owner.accessToken)).text, 'Gamma body.');
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);

  // "Last edited" puts the document edited last first (the server follows edits within seconds).
  await sidebar(p)
    .getByRole('link', { name: /Beta notes/ })
    .click();
  await p.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  await p.getByTestId('editor').click();
  await p.keyboard.press('Control+End');
  await p.keyboard.type(' Edited.');
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await eventually(
    async () => {
      await p.getByLabel('Order').selectOption('title');
      await p.getByLabel('Order').selectOption('recent');
      await eventually(async () => assert.equal((await listed(p).allTextContents())[0], 'Beta notes'), { timeoutMs: 2000 });
    },
    { timeoutMs: WAIT.timeout, message: 'the edited document comes first under Last edited' },
  );
});

test(
  'a document deleted elsewhere leaves the sidebar, disables Share and is no longer polled; unknown addresses show a not-found page; the search box empties after opening a hit',
  BROWSER_TEST,
  async (t) => {
    const { url, api } = await startServer(t, web);
    const owner = await api.signup();
    const doc = await api.post('/api/v1/documents', { title: 'Short lived', text: 'Soon gone.' }, owner.accessToken);
    await api.post('/api/v1/documents', { title: 'Stays', text: 'Findable marmalade.' }, owner.accessToken);
    const ctx = await signedInContext(browser, owner);
    t.after(() => ctx.close());
    const p = await ctx.newPage();
    const classificationAsks: string[] = [];
    p.on('request', (r) => {
      if (r.url().includes(`/documents/${doc.body.id}/classification`)) classificationAsks.push(r.url());
    });
    await p.goto(`${url}/d/${doc.body.id}`);
    await p
      .getByTestId('save-status')
      .filter({ hasText: /^Saved$/ })
      .waitFor(WAIT);
    // A new document is "not classified yet" (no 404 in the console).
    await p.getByTestId('classification').filter({ hasText: 'Not classified yet' }).waitFor(WAIT);
    await api.del(`/api/v1/documents/${doc.body.id}`, owner.accessToken);
    await p.getByText('This document was deleted').first().waitFor(WAIT);
    await eventually(async () =>
      assert.equal(
        await sidebar(p)
          .getByRole('link', { name: /Short lived/ })
          .count(),
        0,
      ),
    );
    assert.ok(await p.getByRole('button', { name: 'Share' }).isDisabled(), 'Share is disabled');
    const asked = classificationAsks.length;
    await quietFor(3500, 'the badge polls a new document every 3 s', { check: () => assert.equal(classificationAsks.length, asked, 'no more classification requests') });

    for (const path of ['/nowhere', '/d/not-a-document-id', '/d/12345678-1234-1234-1234-1234567890ab/extra']) {
      await p.goto(`${url}${path}`);
      await p.getByTestId('not-found').getByRole('heading', { name: 'Page not found' }).waitFor(WAIT);
    }
    await p.screenshot({ path: outputPath('workspace-not-found.png') });
    await p.getByRole('button', { name: 'Go to your documents' }).click();
    await p.waitForURL(`${url}/`, WAIT);

    const box = p.getByRole('searchbox', { name: 'Search documents' });
    await box.fill('marmalade');
    await box.press('Enter');
    await p.getByRole('link', { name: 'Stays' }).first().click();
    await p.waitForURL(/\/d\//, WAIT);
    await eventually(async () => assert.equal(await box.inputValue(), ''));
  },
);

test('adding a person who already has an account says so, without the last success message', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/people`);
  const form = p.getByRole('form', { name: 'Add a person' });
  const add = async (email: string) => {
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('First password').fill('violet tractor umbrella 42');
    await form.getByRole('button', { name: /Add/ }).click();
  };
  await add('dana@example.test');
  await p.getByText('dana@example.test can now sign in').waitFor(WAIT);
  await add('dana@example.test');
  await p.getByText('dana@example.test already has an account').waitFor(WAIT);
  assert.equal(await p.getByText('can now sign in').count(), 0, 'the old success message is gone');
  assert.equal(await p.getByText('Sign in instead').count(), 0);
});

test('the account page: display name, a password change with a strength check, and signing out everywhere', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const other = await api.post('/api/v1/auth/login', { email: owner.user.email, password: 'correct horse battery' });
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  await p.locator('a.who').click();
  await p.waitForURL(`${url}/account`, WAIT);

  // The name others see; the header follows.
  await p.getByLabel('Display name').fill('Dana Scully');
  await p.getByRole('button', { name: 'Save name' }).click();
  await p.getByText('Others now see you as Dana Scully.').waitFor(WAIT);
  await p.locator('a.who').filter({ hasText: 'Dana Scully' }).waitFor(WAIT);
  assert.equal((await api.get('/api/v1/me', owner.accessToken)).body.displayName, 'Dana Scully');

  // A weak password is refused before it is sent; a wrong current password is said plainly.
  await p.getByLabel('Current password').fill('correct horse battery');
  await p.getByLabel('New password').fill('aaaaaaaaaa');
  await p.getByTestId('password-strength').filter({ hasText: 'choose a stronger password' }).waitFor(WAIT);
  assert.ok(await p.getByRole('button', { name: 'Change password' }).isDisabled(), "await p.getByRole('button', { name: 'Change password' }).isDisabled()");
  await p.screenshot({ path: outputPath('account-weak-password.png') });
  await p.getByLabel('Current password').fill('not my password at all');
  await p.getByLabel('New password').fill('purple walrus juggles lanterns');
  await p
    .getByTestId('password-strength')
    .filter({ hasText: /strong$/i })
    .waitFor(WAIT);
  await p.getByRole('button', { name: 'Change password' }).click();
  await p.getByText('Your current password is not right.').waitFor(WAIT);
  await p.getByLabel('Current password').fill('correct horse battery');
  await p.getByRole('button', { name: 'Change password' }).click();
  await p.getByText('Password changed.').waitFor(WAIT);
  // The other session is over; this one goes on; the new password works.
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: other.body.refreshToken })).status, 401);
  assert.equal((await api.post('/api/v1/auth/login', { email: owner.user.email, password: 'purple walrus juggles lanterns' })).status, 200);
  await p.locator('a.who').click();
  await p.getByLabel('Display name').waitFor(WAIT);

  // Sign out everywhere asks, then ends this session too.
  await p.getByRole('button', { name: 'Sign out everywhere' }).click();
  await p.screenshot({ path: outputPath('account-sign-out-everywhere.png') });
  await p.getByRole('dialog', { name: 'Sign out everywhere?' }).getByRole('button', { name: 'Sign out everywhere' }).click();
  await p.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
  assert.equal(await p.evaluate(() => localStorage.getItem('quire.session')), null);
});

test('presence shows readers too, each person with initials on a colour of their own', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  await api.patch('/api/v1/me', { displayName: 'Rita Reyes' }, reader.accessToken);
  await api.patch('/api/v1/me', { displayName: 'Olive Owner' }, owner.accessToken);
  const doc = await api.post('/api/v1/documents', { title: 'Handbook', text: 'Read me.' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  const [co, cr] = await Promise.all([signedInContext(browser, owner), signedInContext(browser, reader)]);
  t.after(() => Promise.all([co.close(), cr.close()]));
  const [o, r] = await Promise.all([co.newPage(), cr.newPage()]);
  await o.goto(`${url}/d/${doc.body.id}`);
  await r.goto(`${url}/d/${doc.body.id}`);
  const presence = o.getByTestId('presence');
  await presence
    .filter({ hasText: 'Also here: Rita Reyes (reading)' })
    .waitFor(WAIT)
    .catch(async (e) => {
      throw new Error(`${e.message}; presence shows: ${await presence.textContent()}`);
    });
  const badge = presence.getByRole('img', { name: 'Rita Reyes (reading)' });
  assert.equal(await badge.textContent(), 'RR');
  const theirs = r.getByTestId('presence');
  await theirs
    .filter({ hasText: 'Also here: Olive Owner' })
    .waitFor(WAIT)
    .catch(async (e) => {
      throw new Error(`${e.message}; the reader's presence shows: ${await theirs.textContent()}`);
    });
  // The same person has the same colour on both screens and in the header.
  const colourOn = (p: Page, name: string) =>
    p
      .getByTestId('presence')
      .getByRole('img', { name })
      .evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(await colourOn(o, 'Olive Owner (you)'), await colourOn(r, 'Olive Owner'));
  await o.screenshot({ path: outputPath('presence-readers.png') });
});

test('share links: anyone in the workspace with the link reads it; a public read-only link works without an account until it is turned off or public links are disabled', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup('Northwind');
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Roadmap', text: 'Next: the public beta.' }, owner.accessToken);
  const [co, cm, anon] = await Promise.all([signedInContext(browser, owner), signedInContext(browser, member), browser.newContext()]);
  t.after(() => Promise.all([co.close(), cm.close(), anon.close()]));
  const [o, m, a] = await Promise.all([co.newPage(), cm.newPage(), anon.newPage()]);

  // Workspace link, read.
  await o.goto(`${url}/d/${doc.body.id}`);
  await o
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await o.getByRole('button', { name: 'Share' }).click();
  const dialog = o.getByRole('dialog', { name: 'Share “Roadmap”' });
  await dialog.getByLabel('Who can open the link').selectOption('read');
  await eventually(async () => assert.equal((await api.get(`/api/v1/documents/${doc.body.id}`, owner.accessToken)).body.linkAccess, 'read'));
  await m.goto(url);
  await m.getByRole('button', { name: 'New document' }).waitFor(WAIT);
  assert.equal(
    await sidebar(m)
      .getByRole('link', { name: /Roadmap/ })
      .count(),
    0,
    'not listed: it takes the link',
  );
  await m.goto(`${url}/d/${doc.body.id}`);
  await m.getByTestId('editor').filter({ hasText: 'Next: the public beta.' }).waitFor(WAIT);
  await m.getByText('Read only', { exact: true }).first().waitFor(WAIT);
  assert.equal(await m.getByTestId('editor').getAttribute('contenteditable'), 'false');
  await sidebar(m).getByRole('button', { name: 'Recently viewed' }).click();
  await listShows(m, ['Roadmap']);

  // Public link: shown once, readable without an account.
  await dialog.getByRole('button', { name: 'Create a public read-only link' }).click();
  const field = dialog.getByLabel('Public link', { exact: true });
  await field.waitFor(WAIT);
  const publicUrl = await field.inputValue();
  assert.match(publicUrl, new RegExp(`^${url}/p/`));
  await o.screenshot({ path: outputPath('share-dialog-links.png') });
  await a.goto(publicUrl);
  await a.getByTestId('public-document').filter({ hasText: 'Next: the public beta.' }).waitFor(WAIT);
  await a.getByRole('heading', { name: 'Roadmap' }).waitFor(WAIT);
  assert.equal(await a.getByTestId('public-document').getAttribute('contenteditable'), 'false');
  await a.getByText('Shared publicly by Northwind').waitFor(WAIT);
  await a.screenshot({ path: outputPath('public-page.png') });

  // An admin turns public links off for the workspace: the page stops working at once.
  const admin = await co.newPage();
  await admin.goto(`${url}/people`);
  await admin.getByRole('heading', { name: 'Workspace' }).waitFor(WAIT);
  await admin.screenshot({ path: outputPath('workspace-settings.png') });
  await admin.getByLabel(/Allow public read-only links/).click();
  await admin
    .getByText('Public links are off')
    .waitFor(WAIT)
    .catch(async (e) => {
      await admin.screenshot({ path: outputPath('workspace-settings-failed.png') });
      throw e;
    });
  await a.reload();
  await a.getByTestId('public-error').waitFor(WAIT);
  await admin.getByLabel(/Allow public read-only links/).click();
  await admin.getByText('Public links work again').waitFor(WAIT);
  await a.reload();
  await a.getByTestId('public-document').waitFor(WAIT);
  // The owner turns the link off.
  await dialog.getByRole('button', { name: 'Turn off the public link' }).click();
  await dialog.getByRole('button', { name: 'Create a public read-only link' }).waitFor(WAIT);
  await a.reload();
  await a.getByTestId('public-error').filter({ hasText: 'does not work any more' }).waitFor(WAIT);
});
