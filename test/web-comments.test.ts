/**
 * Comments in the web app, in real headless Chromium against a real server: commenting on
 * a selection, a second user seeing the thread live and replying with a mention, resolve
 * and reopen, a commenter (comment level) who cannot type but can comment, a thread whose
 * text was deleted, the phone review layout, editing one's own comment (live to a colleague),
 * a workspace admin deleting someone else's comment (live to its author), and the phone
 * sheet closing with Escape with the focus back on its button.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Comment } from '../contract/api.js';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const web = { env: { WEB_APP: 'true' } };

const TEXT = 'The fee is due in 30 days.\nSigned by both parties.';

async function comments(api: ApiClient, s: Session, id: string): Promise<Comment[]> {
  const r = await api.get(`/api/v1/documents/${id}/comments`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.comments as Comment[];
}

/** Selects `phrase` in the editor's text as a user's drag would. */
async function select(p: Page, phrase: string): Promise<void> {
  await p.getByTestId('editor').evaluate((root, phrase) => {
    // The phrase may run over several text nodes (highlights split them).
    const nodes: { node: Text; at: number }[] = [];
    let text = '';
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      nodes.push({ node: n as Text, at: text.length });
      text += n.textContent;
    }
    const start = text.indexOf(phrase);
    if (start < 0) throw new Error(`"${phrase}" is not in the editor`);
    const end = start + phrase.length;
    // (No named functions in here: the page has no helper for them.)
    const first = nodes.find((x) => start >= x.at && start < x.at + x.node.length)!;
    const last = nodes.find((x) => end > x.at && end <= x.at + x.node.length)!;
    const range = document.createRange();
    range.setStart(first.node, start - first.at);
    range.setEnd(last.node, end - last.at);
    const sel = getSelection()!;
    sel.removeAllRanges();
    sel.addRange(range);
    root.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
  }, phrase);
}

async function open(p: Page, url: string, id: string): Promise<void> {
  await p.goto(`${url}/d/${id}`);
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
}

const panel = (p: Page) => p.getByTestId('comments-panel');
const thread = (p: Page, quote: string) =>
  panel(p)
    .getByTestId('comment-thread')
    .filter({ has: p.locator('.quote', { hasText: quote }) });
/** A posted comment (not a comment box still holding the text). */
const said = (p: Page, quote: string, text: string) => thread(p, quote).locator('.comment-body', { hasText: text });

async function named(api: ApiClient, s: Session, displayName: string): Promise<void> {
  assert.equal((await api.patch('/api/v1/me', { displayName }, s.accessToken)).status, 200);
}

test('comments: comment on a selection, live to a second user who replies with a mention, resolve and reopen, highlights, a detached thread', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, writer, 'Ed Writer');
  const doc = (await api.post('/api/v1/documents', { title: 'Contract', text: TEXT }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);

  const ctxA = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  const ctxB = await signedInContext(browser, writer, { viewport: { width: 1280, height: 860 } });
  t.after(() => Promise.all([ctxA.close(), ctxB.close()]));
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await open(a, url, doc.id);
  await open(b, url, doc.id);
  // Without comments the document opens without the panel; the toggle shows it.
  await a.getByRole('button', { name: '0 open comments' }).waitFor(WAIT);
  assert.equal(await panel(a).count(), 0, 'no panel on a document without comments');
  await a.getByRole('button', { name: '0 open comments' }).click();
  await panel(a).getByText('No comments yet').waitFor(WAIT);

  // The owner selects "30 days" and comments from the bubble.
  await a.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  await select(a, '30 days');
  const comment = a.getByTestId('bubble-menu').getByRole('button', { name: 'Comment' });
  await comment.waitFor(WAIT);
  assert.match((await comment.getAttribute('title')) ?? '', /Comment \(Ctrl\+Alt\+M\)/);
  await comment.click();
  const draft = a.getByLabel('Comment on the selected text');
  await draft.waitFor(WAIT);
  assert.ok(await draft.evaluate((el) => el === document.activeElement), 'the comment box has the focus');
  await draft.fill('Should this be 60?');
  await a.getByTestId('comment-draft').getByRole('button', { name: 'Comment' }).click();
  await said(a, '30 days', 'Should this be 60?').waitFor(WAIT);
  await a.locator('.comment-mark', { hasText: '30 days' }).waitFor(WAIT);
  assert.equal(await a.getByTestId('bubble-menu').isVisible(), false, 'the bubble leaves with the selection');
  assert.equal(await a.getByRole('button', { name: '1 open comments' }).count(), 1);
  const [first] = await comments(api, owner, doc.id);
  assert.equal(first?.anchor?.quote, '30 days');

  // The writer sees it without reloading, and replies mentioning the owner.
  await said(b, '30 days', 'Should this be 60?').waitFor(WAIT);
  await b.locator('.comment-mark', { hasText: '30 days' }).waitFor(WAIT);
  const reply = thread(b, '30 days').getByRole('combobox', { name: /Reply to/ });
  await reply.click();
  await reply.pressSequentially('Agreed, @Oli');
  await b.getByRole('option', { name: /Olive Owner/ }).waitFor(WAIT);
  await reply.press('Enter');
  await reply.pressSequentially('please change it.');
  assert.equal(await reply.inputValue(), `Agreed, @[Olive Owner](user:${owner.user.id}) please change it.`);
  await thread(b, '30 days').getByRole('button', { name: 'Reply' }).click();
  await thread(a, '30 days').locator('.mention', { hasText: '@Olive Owner' }).waitFor(WAIT);
  assert.equal(await thread(a, '30 days').getByText('user:').count(), 0, 'the markup is not shown');
  const replyStored = (await comments(api, owner, doc.id)).find((c) => c.parentId === first!.id);
  assert.deepEqual(replyStored?.mentions, [owner.user.id]);
  await a.screenshot({ path: outputPath('comments-desktop.png') });

  // Clicking the highlight focuses its thread; choosing the thread marks its text.
  await b.locator('.comment-mark', { hasText: '30 days' }).click();
  await thread(b, '30 days').and(b.locator('.thread.active')).waitFor(WAIT);
  await b.locator('.comment-mark.active', { hasText: '30 days' }).waitFor(WAIT);

  // Resolve: gone from Open (and from the text), under Resolved; reopen brings it back.
  await thread(a, '30 days').getByRole('button', { name: 'Resolve' }).click();
  await panel(a).getByText('No open comments.').waitFor(WAIT);
  await b.locator('.comment-mark').waitFor({ state: 'detached', ...WAIT });
  await panel(a).getByRole('button', { name: 'Resolved (1)' }).click();
  await thread(a, '30 days').getByText('Resolved by Olive Owner').waitFor(WAIT);
  await thread(a, '30 days').getByRole('button', { name: 'Reopen' }).click();
  await panel(a).getByText('No resolved comments.').waitFor(WAIT);
  await panel(a).getByRole('button', { name: 'Open (1)' }).click();
  await thread(a, '30 days').waitFor(WAIT);
  assert.equal((await comments(api, owner, doc.id)).find((c) => c.id === first!.id)?.resolvedAt, null);

  // A comment on the whole document, by the keyboard (Ctrl+Enter posts).
  const whole = panel(b).getByRole('combobox', { name: 'Comment on the whole document' });
  await whole.fill('Looks good overall.');
  await whole.press('Control+Enter');
  await panel(a).getByTestId('comment-thread').filter({ hasText: 'On the whole document' }).getByText('Looks good overall.').waitFor(WAIT);

  // A thread on "both parties" (by the shortcut), then that text deleted: it shows detached, last.
  await select(b, 'both parties');
  // The bubble shows once the editor has taken the selection (the DOM selection reaches it a
  // moment later); the shortcut before that would act on the previous, empty selection.
  await b.getByTestId('bubble-menu').getByRole('button', { name: 'Comment' }).waitFor(WAIT);
  await b.keyboard.press('Control+Alt+M');
  await b.getByLabel('Comment on the selected text').fill('Who signs?');
  await b.getByLabel('Comment on the selected text').press('Control+Enter');
  await thread(a, 'both parties').waitFor(WAIT);
  await select(a, 'Signed by both parties.');
  await a.keyboard.press('Backspace');
  await thread(a, 'both parties').getByText('The text this was on was deleted').waitFor(WAIT);
  await thread(b, 'both parties').getByText('The text this was on was deleted').waitFor(WAIT);
  await eventually(async () => assert.equal((await comments(api, owner, doc.id)).find((c) => c.anchor?.quote === 'both parties')?.anchor?.detached, true));
  const quotes = await panel(a)
    .getByTestId('comment-thread')
    .evaluateAll((els) => els.map((e) => e.querySelector('.quote')?.textContent ?? '(document)'));
  assert.deepEqual(quotes, ['(document)', '30 days', 'both parties']);
  await thread(a, 'both parties').scrollIntoViewIfNeeded();
  await a.screenshot({ path: outputPath('comments-detached.png') });

  // Delete (own) asks first.
  await thread(b, 'both parties').getByRole('button', { name: 'Delete thread' }).click();
  await b.getByRole('dialog', { name: 'Delete this thread?' }).getByRole('button', { name: 'Delete' }).click();
  await thread(a, 'both parties').waitFor({ state: 'detached', ...WAIT });
});

test('comments: a commenter sees "Can comment", cannot type, but comments on a selection; sharing offers the comment level', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const commenter = await api.addUser(owner, 'member');
  await named(api, commenter, 'Cora Commenter');
  const doc = (await api.post('/api/v1/documents', { title: 'Proposal', text: TEXT }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: commenter.user.id, level: 'comment' }, owner.accessToken)).status, 200);

  const ctx = await signedInContext(browser, commenter, { viewport: { width: 1280, height: 860 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await open(p, url, doc.id);
  await p.locator('.doc-tools .pill', { hasText: 'Can comment' }).waitFor(WAIT);
  assert.equal(await p.locator('.doc-tools .pill', { hasText: 'Read only' }).count(), 0);
  await p.getByRole('navigation', { name: 'Documents' }).locator('.meta', { hasText: 'Can comment' }).waitFor(WAIT);
  assert.equal(await p.getByTestId('editor').getAttribute('contenteditable'), 'false');
  await p.getByTestId('editor').click();
  await p.keyboard.type('typed');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, owner.accessToken)).text, TEXT);

  await select(p, 'due in 30 days');
  await p.getByTestId('comment-bubble').getByRole('button', { name: 'Comment' }).click();
  await p.getByLabel('Comment on the selected text').fill('Can we pay sooner?');
  await p.getByTestId('comment-draft').getByRole('button', { name: 'Comment' }).click();
  await said(p, 'due in 30 days', 'Can we pay sooner?').waitFor(WAIT);
  await p.locator('.comment-mark', { hasText: 'due in 30 days' }).waitFor(WAIT);
  const [c] = await comments(api, owner, doc.id);
  assert.deepEqual([c?.author.name, c?.anchor?.quote], ['Cora Commenter', 'due in 30 days']);
  await p.screenshot({ path: outputPath('comments-commenter.png') });

  // The owner's share dialog and link selector offer the comment level.
  const octx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  t.after(() => octx.close());
  const o = await octx.newPage();
  await open(o, url, doc.id);
  await o.getByRole('button', { name: 'Share' }).click();
  const dialog = o.getByRole('dialog');
  assert.deepEqual(await dialog.locator('#share-level option').allTextContents(), ['Can read', 'Can comment', 'Can edit', 'Can edit and share']);
  assert.equal(await dialog.getByLabel(/^Access for member-/).inputValue(), 'comment');
  await dialog.locator('#link-access').selectOption('comment');
  await eventually(async () => assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).body.linkAccess, 'comment'));
  assert.match((await dialog.locator('#link-access option:checked').textContent()) ?? '', /with the link can comment/);
});

test('comments on a phone: the review layout opens comments in a sheet, replies, resolves and comments on a selection', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  await named(api, owner, 'Olive Owner');
  const doc = (await api.post('/api/v1/documents', { title: 'On the go', text: TEXT }, owner.accessToken)).body as { id: string };
  const from = TEXT.indexOf('30 days');
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Check this.', anchor: { from, to: from + 7 } }, owner.accessToken)).status, 201);

  const ctx = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.id}`);
  await p.getByTestId('review-view').waitFor(WAIT);
  await p.locator('.comment-mark', { hasText: '30 days' }).waitFor(WAIT);
  await p.getByRole('button', { name: '1 open comments' }).click();
  const sheet = panel(p);
  await said(p, '30 days', 'Check this.').waitFor(WAIT);
  const box = await sheet.boundingBox();
  assert.ok(box && box.width >= 389 && box.height >= 843, `the sheet fills the screen (${JSON.stringify(box)})`);
  await thread(p, '30 days')
    .getByRole('combobox', { name: /Reply to/ })
    .fill('Done.');
  await thread(p, '30 days').getByRole('button', { name: 'Reply' }).click();
  await said(p, '30 days', 'Done.').waitFor(WAIT);
  await p.screenshot({ path: outputPath('comments-phone-sheet.png') });
  await thread(p, '30 days').getByRole('button', { name: 'Resolve' }).click();
  await sheet.getByText('No open comments.').waitFor(WAIT);
  await sheet.getByRole('button', { name: 'Close comments' }).click();
  await sheet.waitFor({ state: 'detached', ...WAIT });

  // Reading (not editing) on the phone: select, Comment, the sheet opens with the box.
  await select(p, 'both parties');
  await p.getByTestId('comment-bubble').getByRole('button', { name: 'Comment' }).click();
  await p.getByLabel('Comment on the selected text').fill('Names?');
  await p.screenshot({ path: outputPath('comments-phone-draft.png') });
  await p.getByTestId('comment-draft').getByRole('button', { name: 'Comment' }).click();
  await said(p, 'both parties', 'Names?').waitFor(WAIT);
  const all = await comments(api, owner, doc.id);
  assert.deepEqual(all.map((c) => c.body).sort(), ['Check this.', 'Done.', 'Names?']);
  assert.ok(all.find((c) => c.body === 'Check this.')?.resolvedAt, "all.find((c) => c.body === 'Check this.')?.resolvedAt");
});

test('comments: editing your own comment shows the new text in a colleague’s open panel, live', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, writer, 'Ed Writer');
  const doc = (await api.post('/api/v1/documents', { title: 'Contract', text: TEXT }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
  const from = TEXT.indexOf('30 days');
  const posted = await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Shoud this be 60?', anchor: { from, to: from + 7 } }, writer.accessToken);
  assert.equal(posted.status, 201, posted.text);

  const ctxA = await signedInContext(browser, owner, { viewport: { width: 1280, height: 860 } });
  const ctxB = await signedInContext(browser, writer, { viewport: { width: 1280, height: 860 } });
  t.after(() => Promise.all([ctxA.close(), ctxB.close()]));
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await open(a, url, doc.id);
  await open(b, url, doc.id);
  // The panel opens by itself on a document with an open thread.
  await said(a, '30 days', 'Shoud this be 60?').waitFor(WAIT);
  await said(b, '30 days', 'Shoud this be 60?').waitFor(WAIT);

  // Only the author may edit: the owner has no Edit on it.
  assert.equal(await thread(a, '30 days').getByRole('button', { name: 'Edit comment' }).count(), 0, 'no Edit on a colleague’s comment');

  // The writer fixes the typo: the box starts with the old text.
  await thread(b, '30 days').getByRole('button', { name: 'Edit comment' }).click();
  const box = thread(b, '30 days').getByRole('combobox', { name: 'Edit comment' });
  await box.waitFor(WAIT);
  assert.equal(await box.inputValue(), 'Shoud this be 60?');
  assert.ok(await box.evaluate((el) => el === document.activeElement), 'the edit box has the focus');
  await box.fill('Should this be 60, @Oli');
  await b.getByRole('option', { name: /Olive Owner/ }).waitFor(WAIT);
  await box.press('Enter');
  await box.pressSequentially('?');
  await thread(b, '30 days').getByRole('button', { name: 'Save' }).click();
  await box.waitFor({ state: 'detached', ...WAIT });
  await said(b, '30 days', 'Should this be 60').waitFor(WAIT);

  // The owner sees the new text (with the mention as a chip) and "edited", without reloading.
  await said(a, '30 days', 'Should this be 60').waitFor(WAIT);
  await thread(a, '30 days').locator('.mention', { hasText: '@Olive Owner' }).waitFor(WAIT);
  assert.equal(await said(a, '30 days', 'Shoud this').count(), 0, 'the old text is gone');
  await thread(a, '30 days').locator('time', { hasText: 'edited' }).waitFor(WAIT);
  const [c] = await comments(api, owner, doc.id);
  assert.equal(c?.body, `Should this be 60, @[Olive Owner](user:${owner.user.id}) ?`);
  assert.ok(c?.editedAt, 'c?.editedAt is set');
  assert.deepEqual(c?.mentions, [owner.user.id]);
  await a.screenshot({ path: outputPath('comments-edited.png') });

  // Cancel (Escape) leaves the text as it was.
  await thread(b, '30 days').getByRole('button', { name: 'Edit comment' }).click();
  await thread(b, '30 days').getByRole('combobox', { name: 'Edit comment' }).fill('Never mind');
  await thread(b, '30 days').getByRole('combobox', { name: 'Edit comment' }).press('Escape');
  await thread(b, '30 days')
    .getByRole('combobox', { name: 'Edit comment' })
    .waitFor({ state: 'detached', ...WAIT });
  await said(b, '30 days', 'Should this be 60').waitFor(WAIT);
  assert.equal((await comments(api, owner, doc.id))[0]?.body, c?.body);
});

test('comments: a workspace admin deletes a colleague’s comment and it disappears for its author live; others see no Delete on comments not theirs', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const admin = await api.addUser(owner, 'admin');
  const writer = await api.addUser(owner, 'member');
  await named(api, admin, 'Ada Admin');
  await named(api, writer, 'Ed Writer');
  const doc = (await api.post('/api/v1/documents', { title: 'Contract', text: TEXT }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
  const from = TEXT.indexOf('30 days');
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Off-topic remark.', anchor: { from, to: from + 7 } }, writer.accessToken)).status, 201);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Please keep comments on the terms.' }, admin.accessToken)).status, 201);

  const ctxA = await signedInContext(browser, admin, { viewport: { width: 1280, height: 860 } });
  const ctxW = await signedInContext(browser, writer, { viewport: { width: 1280, height: 860 } });
  t.after(() => Promise.all([ctxA.close(), ctxW.close()]));
  const a = await ctxA.newPage();
  const w = await ctxW.newPage();
  await open(a, url, doc.id);
  await open(w, url, doc.id);
  const adminsNote = (p: Page) => panel(p).getByTestId('comment-thread').filter({ hasText: 'Please keep comments on the terms.' });
  await said(w, '30 days', 'Off-topic remark.').waitFor(WAIT);
  await adminsNote(w).waitFor(WAIT);
  await said(a, '30 days', 'Off-topic remark.').waitFor(WAIT);

  // The writer (not an admin) may delete and edit their own thread, not the admin's.
  await thread(w, '30 days').getByRole('button', { name: 'Delete thread' }).waitFor(WAIT);
  await thread(w, '30 days').getByRole('button', { name: 'Edit comment' }).waitFor(WAIT);
  assert.equal(
    await adminsNote(w)
      .getByRole('button', { name: /^Delete/ })
      .count(),
    0,
    'no Delete on a comment not theirs',
  );
  assert.equal(await adminsNote(w).getByRole('button', { name: 'Edit comment' }).count(), 0);
  // The admin may delete the writer's thread, but not edit it.
  assert.equal(await thread(a, '30 days').getByRole('button', { name: 'Edit comment' }).count(), 0, 'an admin does not edit others’ words');

  await thread(a, '30 days').getByRole('button', { name: 'Delete thread' }).click();
  const confirm = a.getByRole('dialog', { name: 'Delete this thread?' });
  await confirm.getByText('The comment and all its replies will be removed for everyone.').waitFor(WAIT);
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await thread(a, '30 days').waitFor({ state: 'detached', ...WAIT });

  // Gone for its author without reloading: the thread and its highlight; the admin's note stays.
  await thread(w, '30 days').waitFor({ state: 'detached', ...WAIT });
  await w.locator('.comment-mark', { hasText: '30 days' }).waitFor({ state: 'detached', ...WAIT });
  await adminsNote(w).waitFor(WAIT);
  await w.getByRole('button', { name: '1 open comments' }).waitFor(WAIT);
  assert.deepEqual(
    (await comments(api, owner, doc.id)).map((c) => c.body),
    ['Please keep comments on the terms.'],
  );
  await w.screenshot({ path: outputPath('comments-deleted-by-admin.png') });
});

test('comments on a phone: Escape closes the comments sheet and gives the focus back to the button that opened it', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const doc = (await api.post('/api/v1/documents', { title: 'On the go', text: TEXT }, owner.accessToken)).body as { id: string };
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Check this.' }, owner.accessToken)).status, 201);

  const ctx = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/d/${doc.id}`);
  await p.getByTestId('review-view').waitFor(WAIT);
  const toggle = p.getByRole('button', { name: '1 open comments' });
  await toggle.waitFor(WAIT);
  assert.equal(await panel(p).count(), 0, 'on a phone the sheet waits to be asked for');

  for (let round = 0; round < 2; round++) {
    await toggle.focus();
    await p.keyboard.press('Enter');
    const sheet = panel(p);
    await sheet.getByText('Check this.').waitFor(WAIT);
    assert.equal(await sheet.getAttribute('role'), 'dialog');
    assert.ok(await sheet.getByRole('button', { name: 'Close comments' }).evaluate((el) => el === document.activeElement), 'the sheet takes the focus');
    // Escape from the close button the first time, from the comment box the second.
    if (round === 1) await sheet.getByRole('combobox', { name: 'Comment on the whole document' }).focus();
    await p.keyboard.press('Escape');
    await sheet.waitFor({ state: 'detached', ...WAIT });
    assert.ok(await toggle.evaluate((el) => el === document.activeElement), `the focus is back on the comments button (round ${round + 1})`);
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  }
});
