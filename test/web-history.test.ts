/**
 * Version history and the trash in the web app, in real headless Chromium against a real
 * server: saving a named version and opening it read-only, restoring a version while a
 * colleague has the document open (both editors converge without reloading), comparing a
 * version with the current document, "while you were away" (what others changed since the
 * user last left), the open list picking up a colleague's version, restoring a deleted
 * document from the trash, and the history sheet on a phone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { SinceSeen, Version } from '../contract/api.js';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const web = { env: { WEB_APP: 'true' } };

async function named(api: ApiClient, s: Session, displayName: string): Promise<void> {
  assert.equal((await api.patch('/api/v1/me', { displayName }, s.accessToken)).status, 200);
}

async function versions(api: ApiClient, s: Session, id: string): Promise<Version[]> {
  const r = await api.get(`/api/v1/documents/${id}/versions`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.versions as Version[];
}

/** "Saved", not "unsaved changes…" (a string `hasText` would match both). */
async function saved(p: Page): Promise<void> {
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
}

async function open(p: Page, url: string, id: string): Promise<void> {
  await p.goto(`${url}/d/${id}`);
  await saved(p);
}

async function moreAction(p: Page, name: string): Promise<void> {
  await p.getByRole('button', { name: 'More actions' }).click();
  await p.getByRole('menuitem', { name }).click();
}

/** Types at the end of the editor's text and waits until the server has it. */
async function typeAtEnd(p: Page, text: string): Promise<void> {
  const editor = p.locator('[data-testid=editor][contenteditable=true]');
  await editor.waitFor(WAIT);
  await editor.click();
  await p.keyboard.press('Control+End');
  await p.keyboard.type(text);
  await saved(p);
}

/** The editor's text, block by block (without collaborators' caret labels). */
const editorText = (p: Page) =>
  p.getByTestId('editor').evaluate((el) => {
    const copy = el.cloneNode(true) as HTMLElement;
    copy.querySelectorAll('.collaboration-carets__caret').forEach((c) => c.remove());
    return [...copy.children].map((b) => b.textContent).join('\n');
  });
const historyPanel = (p: Page) => p.getByTestId('history-panel');
const versionItem = (p: Page, title: string | RegExp) =>
  historyPanel(p)
    .getByTestId('version-item')
    .filter({ has: p.locator('.version-title', { hasText: title }) });

test('history: save a named version, keep typing, the history lists it by name and opens it read-only with the older text', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  await named(api, owner, 'Olive Owner');
  const doc = (await api.post('/api/v1/documents', { title: 'Minutes' }, owner.accessToken)).body as { id: string };

  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await open(p, url, doc.id);
  await typeAtEnd(p, 'Agreed to ship on Friday.');

  // Save version… asks for a name (Save is off until there is one).
  await moreAction(p, 'Save version…');
  const dialog = p.getByRole('dialog', { name: 'Save version' });
  await dialog.waitFor(WAIT);
  assert.equal(await dialog.getByRole('button', { name: 'Save version' }).isDisabled(), true, 'no name, no version');
  assert.equal(await dialog.getByLabel('Version name').getAttribute('maxlength'), '200');
  await dialog.getByLabel('Version name').fill('Before review');
  await dialog.getByRole('button', { name: 'Save version' }).click();
  await p.getByTestId('toasts').filter({ hasText: 'Saved version “Before review”' }).waitFor(WAIT);
  const [first] = await versions(api, owner, doc.id);
  assert.deepEqual([first?.kind, first?.name], ['named', 'Before review']);

  await typeAtEnd(p, ' Moved to Monday after review.');
  await moreAction(p, 'Version history');
  await versionItem(p, 'Before review').waitFor(WAIT);
  const item = versionItem(p, 'Before review');
  assert.match(await item.innerText(), /just now/);
  assert.match(await item.innerText(), /Olive Owner/);
  assert.ok((await item.locator('time').getAttribute('title'))?.match(/\d/), 'the exact time is in the tooltip');
  assert.equal(await historyPanel(p).getByTestId('version-item').first().locator('.version-title').innerText(), 'Before review', 'newest first');
  await p.screenshot({ path: outputPath('history-panel.png') });

  // Open it: the older text, read-only, with the banner and its buttons.
  await item.click();
  const preview = p.getByTestId('version-preview');
  await preview.getByText(/^Viewing version of .+ — read-only$/).waitFor(WAIT);
  const text = preview.getByTestId('version-text');
  await text.getByText('Agreed to ship on Friday.').waitFor(WAIT);
  assert.doesNotMatch(await text.innerText(), /Monday/, 'not the newer text');
  assert.equal(await text.getAttribute('contenteditable'), 'false');
  assert.equal(await p.getByTestId('editor').isVisible(), false, 'the live text is out of the way');
  for (const name of ['Restore this version', 'Compare with current', 'Back to document']) await preview.getByRole('button', { name }).waitFor(WAIT);
  assert.equal(await item.getAttribute('aria-current'), 'true');
  await p.screenshot({ path: outputPath('history-version.png') });

  // Compare: the diff with the newer words added.
  await preview.getByRole('button', { name: 'Compare with current' }).click();
  await preview.getByTestId('version-diff').locator('ins.diff-run', { hasText: 'Moved to Monday after review.' }).waitFor(WAIT);
  await p.screenshot({ path: outputPath('history-compare.png') });
  await preview.getByRole('button', { name: 'Show this version' }).click();
  await text.waitFor(WAIT);

  // Back to the document: the live text, with the newer words, editable again.
  await preview.getByRole('button', { name: 'Back to document' }).click();
  await preview.waitFor({ state: 'detached', ...WAIT });
  await p.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  assert.match(await editorText(p), /Monday/);

  // The panel closes with its button; Ctrl+Alt+H shows it again.
  await historyPanel(p).getByRole('button', { name: 'Close version history' }).click();
  await historyPanel(p).waitFor({ state: 'detached', ...WAIT });
  await p.keyboard.press('Control+Alt+H');
  await versionItem(p, 'Before review').waitFor(WAIT);
});

test('history: restoring a version while a colleague has the document open changes both editors without reloading, and lists the restore', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, writer, 'Ed Writer');
  const doc = (await api.post('/api/v1/documents', { title: 'Plan', text: 'Launch in March.' }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);

  const ctxA = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  const ctxB = await signedInContext(browser, writer, { viewport: { width: 1280, height: 860 } });
  t.after(() => Promise.all([ctxA.close(), ctxB.close()]));
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await open(a, url, doc.id);
  await open(b, url, doc.id);

  // A named version of "Launch in March.", then the writer changes the text.
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Agreed plan' }, owner.accessToken)).status, 201);
  await typeAtEnd(b, ' Or maybe April.');
  await eventually(async () => assert.match(await editorText(a), /Or maybe April\./));
  await saved(a);
  // Neither page may reload: a reload would lose this.
  await a.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  await b.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

  await a.keyboard.press('Control+Alt+H');
  await versionItem(a, 'Agreed plan').click();
  const preview = a.getByTestId('version-preview');
  await preview.getByTestId('version-text').getByText('Launch in March.').waitFor(WAIT);
  await preview.getByRole('button', { name: 'Restore this version' }).click();
  const confirm = a.getByRole('dialog', { name: 'Restore this version?' });
  await confirm.getByText("Everyone's open copy changes to it; the restore is itself a version, so it can be undone.").waitFor(WAIT);
  await a.screenshot({ path: outputPath('history-restore-confirm.png') });
  await confirm.getByRole('button', { name: 'Restore' }).click();
  await a.getByTestId('toasts').getByText('Restored', { exact: true }).waitFor(WAIT);
  await preview.waitFor({ state: 'detached', ...WAIT });

  // Both editors converge on the restored text, live.
  for (const p of [a, b]) {
    await eventually(async () => assert.equal((await editorText(p)).trim(), 'Launch in March.'), { timeoutMs: WAIT.timeout, message: 'the editor shows the restored text' });
    assert.equal(await p.evaluate(() => (window as unknown as { stayed?: boolean }).stayed), true, 'the page was not reloaded');
  }
  await saved(b);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, owner.accessToken)).text, 'Launch in March.');

  // The history shows the restore at the top.
  const restoreItem = historyPanel(a).getByTestId('version-item').first();
  await eventually(async () => assert.equal(await restoreItem.getAttribute('data-kind'), 'restore'), { timeoutMs: WAIT.timeout, message: 'a restore entry tops the list' });
  assert.match(await restoreItem.innerText(), /Restored from Agreed plan/);
  assert.match(await restoreItem.innerText(), /Olive Owner/);
  await a.screenshot({ path: outputPath('history-restored.png') });

  // The colleague sees it in their history too, and may type on.
  await b.keyboard.press('Control+Alt+H');
  await versionItem(b, 'Restored from Agreed plan').waitFor(WAIT);
  await typeAtEnd(b, ' Confirmed.');
  await eventually(async () => assert.match(await editorText(a), /Launch in March\. Confirmed\./));
});

test('history: compare a version with the current document, additions and removals by author with a legend', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, writer, 'Ed Writer');
  const paragraphs = ['Intro stays.', 'One stays.', 'Two stays.', 'Three stays.', 'The fee is 30 days.'];
  const doc = (await api.post('/api/v1/documents', { title: 'Terms', text: paragraphs.join('\n') }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Draft' }, owner.accessToken)).status, 201);

  const ctxB = await signedInContext(browser, writer, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctxB.close());
  const b = await ctxB.newPage();
  await open(b, url, doc.id);
  await typeAtEnd(b, ' Net 60 now.');

  const ctxA = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctxA.close());
  const a = await ctxA.newPage();
  await open(a, url, doc.id);
  await a.keyboard.press('Control+Alt+H');
  await versionItem(a, 'Draft').click();
  await a.getByTestId('version-preview').getByRole('button', { name: 'Compare with current' }).click();
  const diff = a.getByTestId('version-diff');
  const added = diff.locator('ins.diff-run', { hasText: 'Net 60 now.' });
  await added.waitFor(WAIT);
  assert.equal(await added.getAttribute('title'), 'Added by Ed Writer');
  await diff
    .getByTestId('diff-author')
    .filter({ hasText: 'Ed Writer' })
    .getByText(/\+\d+ added/)
    .waitFor(WAIT);
  await diff.getByRole('button', { name: /Show \d+ unchanged paragraphs/ }).waitFor(WAIT);
  await a.screenshot({ path: outputPath('history-compare-diff.png') });
});

/** The caller's "seen" of a document over REST (what the app asks when it opens it). */
async function sinceSeen(api: ApiClient, s: Session, id: string): Promise<SinceSeen> {
  const r = await api.get(`/api/v1/documents/${id}/since-seen`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body as SinceSeen;
}

/** Opens the document and waits until the page has its "since seen" answer (and the text is saved). */
async function openAndAsk(p: Page, url: string, id: string): Promise<SinceSeen> {
  const asked = p.waitForResponse((r) => r.url().endsWith(`/api/v1/documents/${id}/since-seen`), WAIT);
  await open(p, url, id);
  return (await (await asked).json()) as SinceSeen;
}

/** Leaves the document (the socket closes) and waits until the server has recorded a newer "seen". */
async function leave(p: Page, url: string, api: ApiClient, s: Session, id: string, before: string | null): Promise<string> {
  await p.goto(`${url}/`);
  return eventually(
    async () => {
      // Each ask is bounded, so one request that never answers is asked again (and a server
      // that stops answering fails here, at the deadline, instead of at the file's timeout).
      const { seenAt } = await Promise.race([sinceSeen(api, s, id), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('since-seen did not answer within 10 s')), 10_000).unref())]);
      assert.ok(seenAt && seenAt !== before, 'the server has recorded a newer "seen"');
      return seenAt;
    },
    { timeoutMs: WAIT.timeout, message: 'the server records that the user left' },
  );
}

test('while you were away: reopening a document a colleague changed names them, shows their changes and dismisses; own changes alone say nothing', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const alice = await api.signup();
  const bob = await api.addUser(alice, 'member');
  await named(api, alice, 'Alice Author');
  await named(api, bob, 'Bob Reader');
  const doc = (await api.post('/api/v1/documents', { title: 'Roadmap', text: 'Ship the beta.\nHire two people.\nPlan the offsite.' }, alice.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: bob.user.id, level: 'write' }, alice.accessToken)).status, 200);

  const ctxB = await signedInContext(browser, bob, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctxB.close());
  const b = await ctxB.newPage();
  const notice = b.getByTestId('away-notice');

  // First visit: never here before, nothing to tell.
  assert.deepEqual(await openAndAsk(b, url, doc.id), { seenAt: null, diff: null });
  assert.equal(await notice.count(), 0);
  let seenAt = await leave(b, url, api, bob, doc.id, null);

  // Bob's own change made elsewhere (here over REST) is not news to him.
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Ship the beta.\nHire two people.\nPlan the offsite.\nBob was here.' }, bob.accessToken)).status, 204);
  const own = await openAndAsk(b, url, doc.id);
  assert.ok(own.diff, 'the server reports the change');
  assert.ok(
    own.diff.blocks.flatMap((x) => x.runs).every((r) => r.change === 'same' || r.by === bob.user.id),
    'only by Bob',
  );
  assert.equal(await notice.count(), 0, 'no notice for own changes');
  seenAt = await leave(b, url, api, bob, doc.id, seenAt);

  // Alice edits in her browser while Bob is away.
  const ctxA = await signedInContext(browser, alice, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctxA.close());
  const a = await ctxA.newPage();
  await open(a, url, doc.id);
  await typeAtEnd(a, ' Budget approved by finance.');

  // Bob comes back: the notice names Alice, above the text.
  const back = await openAndAsk(b, url, doc.id);
  assert.equal(back.seenAt, seenAt);
  await notice.waitFor(WAIT);
  assert.match(await notice.innerText(), /^Since you were here just now, Alice Author made changes/);
  assert.doesNotMatch(await notice.innerText(), /Bob Reader/);
  const [noticeBox, textBox] = [await notice.boundingBox(), await b.getByTestId('editor').boundingBox()];
  assert.ok(noticeBox && textBox && noticeBox.y + noticeBox.height <= textBox.y, 'the notice is above the text');
  await b.screenshot({ path: outputPath('history-since-seen.png') });

  // Show changes: the comparison, Alice's words added, in place of the text.
  await notice.getByRole('button', { name: 'Show changes' }).click();
  const changes = b.getByTestId('changes-since');
  await changes.getByText('Changes since you were here', { exact: true }).waitFor(WAIT);
  const added = changes.getByTestId('version-diff').locator('ins.diff-run', { hasText: 'Budget approved by finance.' });
  await added.waitFor(WAIT);
  assert.equal(await added.getAttribute('title'), 'Added by Alice Author');
  await changes.getByTestId('diff-author').filter({ hasText: 'Alice Author' }).waitFor(WAIT);
  assert.equal(await b.getByTestId('editor').isVisible(), false, 'the live text is out of the way');
  await b.screenshot({ path: outputPath('history-since-seen-changes.png') });

  // Back to the text, then Dismiss: gone.
  await changes.getByRole('button', { name: 'Back to document' }).click();
  await b.getByTestId('editor').getByText('Budget approved by finance.').waitFor(WAIT);
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await notice.waitFor({ state: 'detached', ...WAIT });
  assert.equal(await changes.count(), 0);

  // On a phone (Bob's other device; his first page is still open, so nothing newer is seen): it fits 390 px.
  const ctxP = await signedInContext(browser, bob, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.after(() => ctxP.close());
  const phone = await ctxP.newPage();
  await phone.goto(`${url}/d/${doc.id}`);
  await phone.getByTestId('review-view').waitFor(WAIT);
  await saved(phone);
  const phoneNotice = phone.getByTestId('away-notice');
  await phoneNotice.waitFor(WAIT);
  for (const el of [phoneNotice, phoneNotice.getByRole('button', { name: 'Show changes' }), phoneNotice.getByRole('button', { name: 'Dismiss' })]) {
    const box = await el.boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `within the screen (${JSON.stringify(box)})`);
  }
  assert.equal(await phone.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling');
  await phone.screenshot({ path: outputPath('history-since-seen-phone.png') });
  await phoneNotice.getByRole('button', { name: 'Show changes' }).click();
  await phone.getByTestId('changes-since').locator('ins.diff-run', { hasText: 'Budget approved by finance.' }).waitFor(WAIT);
  assert.equal(await phone.getByRole('button', { name: 'Edit', exact: true }).count(), 0, 'no editing while the changes are shown');
  await phone.screenshot({ path: outputPath('history-since-seen-phone-changes.png') });
});

test('history: the open panel lists a version a colleague saved (read again every 30 s while shown), and reopening it reads the list again', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  await named(api, writer, 'Ed Writer');
  const doc = (await api.post('/api/v1/documents', { title: 'Plan', text: 'Launch in March.' }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'First' }, owner.accessToken)).status, 201);

  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await open(p, url, doc.id);
  await p.keyboard.press('Control+Alt+H');
  await versionItem(p, 'First').waitFor(WAIT);

  // The colleague saves a version elsewhere: the open list shows it within the refresh interval.
  const savedAt = Date.now();
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Ed’s checkpoint' }, writer.accessToken)).status, 201);
  await versionItem(p, 'Ed’s checkpoint').waitFor({ timeout: 45_000 });
  assert.ok(Date.now() - savedAt > 1_000, 'read again later, not at once');
  assert.equal(await historyPanel(p).getByTestId('version-item').first().locator('.version-title').innerText(), 'Ed’s checkpoint', 'on top');

  // Closed, another version saved, opened again: listed at once.
  await p.keyboard.press('Control+Alt+H');
  await historyPanel(p).waitFor({ state: 'detached', ...WAIT });
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Second look' }, writer.accessToken)).status, 201);
  await p.keyboard.press('Control+Alt+H');
  await versionItem(p, 'Second look').waitFor({ timeout: 5_000 });
});

test('trash: a deleted document is listed with its purge date, restored from there, and back in the list', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const doc = (await api.post('/api/v1/documents', { title: 'Quarterly report', text: 'Numbers.' }, owner.accessToken)).body as { id: string };
  const keep = (await api.post('/api/v1/documents', { title: 'Kept notes' }, owner.accessToken)).body as { id: string };

  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  const sidebar = p.getByRole('navigation', { name: 'Documents' });
  const listed = (title: string) => sidebar.locator('.doc-list .title', { hasText: title });

  // Empty at first.
  await p.goto(`${url}/`);
  await listed('Quarterly report').waitFor(WAIT);
  await sidebar.getByRole('link', { name: 'Trash' }).click();
  await p.waitForURL(`${url}/trash`, WAIT);
  await p.getByTestId('trash-view').getByText('Trash is empty').waitFor(WAIT);
  await p.screenshot({ path: outputPath('trash-empty.png') });

  // Delete from the document.
  await listed('Quarterly report').click();
  await saved(p);
  await moreAction(p, 'Delete');
  await p.getByRole('dialog', { name: 'Delete this document?' }).getByRole('button', { name: 'Delete' }).click();
  await listed('Quarterly report').waitFor({ state: 'detached', ...WAIT });

  await sidebar.getByRole('link', { name: 'Trash' }).click();
  const item = p.getByTestId('trash-item').filter({ hasText: 'Quarterly report' });
  await item.waitFor(WAIT);
  assert.equal(await p.getByTestId('trash-item').count(), 1, 'only the deleted document');
  const trash = (await api.get('/api/v1/trash', owner.accessToken)).body.documents as { id: string; purgeAt: string }[];
  // As the page writes dates (its locale).
  const purge = await p.evaluate((iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' }), trash[0]!.purgeAt);
  assert.match(await item.innerText(), new RegExp(`Deleted just now · Deleted for good on ${purge}`));
  assert.equal(await sidebar.getByRole('link', { name: 'Trash' }).getAttribute('aria-current'), 'page');
  await p.screenshot({ path: outputPath('trash-list.png') });

  await item.getByRole('button', { name: 'Restore Quarterly report' }).click();
  await p.getByTestId('toasts').filter({ hasText: 'Restored “Quarterly report”' }).waitFor(WAIT);
  await p.getByTestId('trash-view').getByText('Trash is empty').waitFor(WAIT);
  await listed('Quarterly report').waitFor(WAIT);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${keep.id}`, owner.accessToken)).status, 200);

  // The toast opens it; choosing a view leaves the trash.
  await p.getByTestId('toasts').getByRole('button', { name: 'Open' }).click();
  await p.waitForURL(`${url}/d/${doc.id}`, WAIT);
  await saved(p);
  assert.equal((await editorText(p)).trim(), 'Numbers.');
  await sidebar.getByRole('link', { name: 'Trash' }).click();
  await sidebar.getByRole('button', { name: 'Starred' }).click();
  await p.waitForURL(`${url}/`, WAIT);
});

test('history on a phone: the sheet fills the screen, lists the versions and opens one', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  await named(api, owner, 'Olive Owner');
  const doc = (await api.post('/api/v1/documents', { title: 'On the go', text: 'First words.' }, owner.accessToken)).body as { id: string };
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'First draft' }, owner.accessToken)).status, 201);
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'First words. Then more of them.' }, owner.accessToken)).status, 204);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Second draft with a rather long name to see how it wraps' }, owner.accessToken)).status, 201);

  const ctx = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.id}`);
  await p.getByTestId('review-view').waitFor(WAIT);
  await saved(p);
  await moreAction(p, 'Version history');
  const sheet = historyPanel(p);
  await versionItem(p, 'First draft').waitFor(WAIT);
  await versionItem(p, /^Second draft/).waitFor(WAIT);
  const box = await sheet.boundingBox();
  assert.ok(box && box.width >= 389 && box.height >= 843, `the sheet fills the screen (${JSON.stringify(box)})`);
  assert.ok(await sheet.getByRole('button', { name: 'Close version history' }).evaluate((el) => el === document.activeElement), 'the sheet takes the focus');
  await p.screenshot({ path: outputPath('history-phone-sheet.png') });

  // A version opens in the sheet's place; Back returns to the text.
  await versionItem(p, 'First draft').click();
  const preview = p.getByTestId('version-preview');
  await preview.getByTestId('version-text').getByText('First words.').waitFor(WAIT);
  assert.doesNotMatch(await preview.getByTestId('version-text').innerText(), /Then more/);
  await sheet.waitFor({ state: 'detached', ...WAIT });
  await p.screenshot({ path: outputPath('history-phone-version.png') });
  assert.equal(await p.getByRole('button', { name: 'Edit', exact: true }).count(), 0, 'no editing while a version is shown');
  await preview.getByRole('button', { name: 'Back to document' }).click();
  await p.getByTestId('editor').getByText('Then more of them.').waitFor(WAIT);

  // The trash on a phone: reached from the list's views, a way back, Restore within reach.
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
  await p.goto(`${url}/`);
  await p.getByRole('navigation', { name: 'Documents' }).getByRole('link', { name: 'Trash' }).click();
  const item = p.getByTestId('trash-item').filter({ hasText: 'On the go' });
  await item.waitFor(WAIT);
  const restore = await item.getByRole('button', { name: /^Restore/ }).boundingBox();
  assert.ok(restore && restore.x + restore.width <= 390, `Restore is on the screen (${JSON.stringify(restore)})`);
  await p.screenshot({ path: outputPath('trash-phone.png') });
  await p.getByRole('button', { name: '‹ Documents' }).click();
  await p.waitForURL(`${url}/`, WAIT);
});
