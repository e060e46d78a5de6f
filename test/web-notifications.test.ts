/**
 * Notifications and review workflows in the web app, in real headless Chromium against one
 * real server: the bell's count rising live when someone mentions the user (no reload), the
 * list and its link into the comment; the task inbox (approve), the review state in the
 * document's header and every decision in its Reviews panel, requesting a review from the
 * document; the phone layout (the open task one tap away, approved in two more); the
 * notification settings grid saving, the workspace defaults and the workflow editor.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Review, Workflow } from '../contract/api.js';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

// One server for the file: each test signs up a workspace of its own.
let server: TestServer;
const stops: (() => Promise<void> | void)[] = [];
before(async () => {
  const holder = { after: (fn: () => Promise<void> | void) => void stops.push(fn) } as unknown as TestContext;
  server = await startServer(holder, { env: { WEB_APP: 'true' } });
});
after(async () => {
  for (const stop of stops.reverse()) await stop();
});

const WIDE = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function named(api: ApiClient, s: Session, displayName: string): Promise<void> {
  const r = await api.patch('/api/v1/me', { displayName }, s.accessToken);
  assert.equal(r.status, 200, r.text);
}

async function share(api: ApiClient, owner: Session, docId: string, user: Session, level: 'read' | 'comment' | 'write'): Promise<void> {
  const r = await api.put(`/api/v1/documents/${docId}/permissions`, { userId: user.user.id, level }, owner.accessToken);
  assert.equal(r.status, 200, r.text);
}

async function unreadOf(api: ApiClient, s: Session): Promise<number> {
  const r = await api.get('/api/v1/notifications', s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.unread as number;
}

async function workflow(api: ApiClient, admin: Session, body: unknown): Promise<Workflow> {
  const r = await api.post('/api/v1/workflows', body, admin.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Workflow;
}

async function requestReview(api: ApiClient, s: Session, docId: string, workflowId: string): Promise<Review> {
  const r = await api.post(`/api/v1/documents/${docId}/reviews`, { workflowId }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Review;
}

async function openTaskIds(api: ApiClient, s: Session): Promise<string[]> {
  const r = await api.get('/api/v1/tasks?status=open', s.accessToken);
  assert.equal(r.status, 200, r.text);
  return (r.body.tasks as { id: string }[]).map((x) => x.id);
}

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Fails on axe-core's serious and critical findings on the page as it is now. */
async function accessible(p: Page, what: string): Promise<void> {
  // Evaluated through the debugging protocol: the app's Content-Security-Policy blocks inline scripts.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe.run(
      document,
      {
        resultTypes: ['violations'],
      },
    ),
  );
  const serious = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(' | ')}`);
  assert.deepEqual(serious, [], `${what}: no serious or critical accessibility problem`);
}

const badge = (p: Page) => p.getByTestId('notification-count');

test('bell: a mention raises the count live, the list shows it, choosing it opens the comment and marks it read', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const ann = await api.signup('Bell Co');
  const bea = await api.addUser(ann, 'member');
  await named(api, ann, 'Ann Author');
  await named(api, bea, 'Bea Reader');
  const doc = (await api.post('/api/v1/documents', { title: 'Launch plan', text: 'We launch on Monday.' }, ann.accessToken)).body as { id: string };
  await share(api, ann, doc.id, bea, 'comment');
  // Sharing tells Bea once; wait for it so the count she starts with is known.
  await eventually(async () => assert.equal(await unreadOf(api, bea), 1, 'the share notification is there'), { timeoutMs: 20_000 });

  const ctx = await signedInContext(browser, bea, WIDE);
  t.after(() => ctx.close());
  const b = await ctx.newPage();
  await b.goto(`${url}/`);
  // The count comes from the live stream (the list is not read until the bell is opened).
  await badge(b).filter({ hasText: /^1$/ }).waitFor(WAIT);

  const c = await api.post(`/api/v1/documents/${doc.id}/comments`, { body: `Can you check the date, @[Bea Reader](user:${bea.user.id})?` }, ann.accessToken);
  assert.equal(c.status, 201, c.text);
  const commentId = (c.body as { id: string }).id;
  await badge(b).filter({ hasText: /^2$/ }).waitFor(WAIT);
  assert.equal(b.url(), `${url}/`, 'the page was not reloaded');
  assert.equal(await b.getByTestId('notification-bell').getAttribute('aria-label'), 'Notifications, 2 unread', 'the bell names its count');

  await b.getByTestId('notification-bell').click();
  const list = b.getByTestId('notification-panel');
  await list.waitFor(WAIT);
  const items = list.getByTestId('notification-item');
  await eventually(async () => assert.equal(await items.count(), 2, 'two notifications listed'), { timeoutMs: 20_000 });
  assert.equal(await items.first().getAttribute('data-kind'), 'mention', 'newest first: the mention');
  assert.equal(await items.first().getAttribute('data-unread'), 'true', 'the mention is unread');
  assert.match((await items.first().textContent()) ?? '', /Ann Author mentioned you in “Launch plan”/);
  assert.equal(await items.nth(1).getAttribute('data-kind'), 'share', 'then the share');
  await b.screenshot({ path: outputPath('notifications-bell-open.png') });
  await accessible(b, 'the open notification list');

  await items.first().click();
  await b.waitForURL(`${url}/d/${doc.id}?comment=${commentId}`, WAIT);
  await b.getByTestId('comments-panel').waitFor(WAIT);
  await b.locator('.thread.active .comment-body', { hasText: 'Can you check the date' }).waitFor(WAIT);
  await badge(b).filter({ hasText: /^1$/ }).waitFor(WAIT);
  await eventually(async () => assert.equal(await unreadOf(api, bea), 1, 'the mention is read on the server'), { timeoutMs: 20_000 });

  // Mark all read empties the count; the list says nothing is unread.
  await b.getByTestId('notification-bell').click();
  await list.getByRole('button', { name: 'Mark all read' }).click();
  await badge(b).waitFor({ state: 'detached', ...WAIT });
  assert.equal(await list.locator('[data-unread="true"]').count(), 0, 'nothing is shown unread');
  await b.keyboard.press('Escape');
  await list.waitFor({ state: 'detached', ...WAIT });
  assert.equal(await b.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'notification-bell', 'Escape gives the focus back to the bell');
  assert.equal(await unreadOf(api, bea), 0, 'all read on the server');

  // Many at once: the count follows live, the list shows a page and loads the rest on request.
  for (let i = 1; i <= 21; i++) {
    const r = await api.post(`/api/v1/documents/${doc.id}/comments`, { body: `Point ${i}, @[Bea Reader](user:${bea.user.id})` }, ann.accessToken);
    assert.equal(r.status, 201, r.text);
  }
  await badge(b).filter({ hasText: /^21$/ }).waitFor(WAIT);
  await b.getByTestId('notification-bell').click();
  await eventually(async () => assert.equal(await items.count(), 20, 'one page of 20'), { timeoutMs: 20_000 });
  await list.getByRole('button', { name: 'Load more' }).click();
  await eventually(async () => assert.equal(await items.count(), 23, 'all 23 after loading more'), { timeoutMs: 20_000 });
  assert.equal(await list.locator('[data-unread="true"]').count(), 21, 'the 21 new ones are unread');
  await list.getByRole('button', { name: 'Load more' }).waitFor({ state: 'detached', ...WAIT });
});

test('task inbox: the assignee approves, the document shows the review state and every decision, and a review is requested from the document', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Review Co');
  const ann = await api.addUser(owner, 'member');
  const bea = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, ann, 'Ann Author');
  await named(api, bea, 'Bea Legal');
  const wf = await workflow(api, owner, {
    name: 'Contract sign-off',
    steps: [
      { name: 'Legal review', assignees: { users: [bea.user.id] }, slaSeconds: 48 * 3600 },
      { name: 'Final sign-off', assignees: { users: [owner.user.id] } },
    ],
  });
  const doc = (await api.post('/api/v1/documents', { title: 'Supplier contract', text: 'The fee is due in 30 days.' }, ann.accessToken)).body as { id: string };
  await share(api, ann, doc.id, bea, 'comment');
  await share(api, ann, doc.id, owner, 'write');
  await requestReview(api, ann, doc.id, wf.id);
  await eventually(async () => assert.equal((await openTaskIds(api, bea)).length, 1, 'Bea has the task'), { timeoutMs: 20_000 });

  const ctx = await signedInContext(browser, bea, WIDE);
  t.after(() => ctx.close());
  const b = await ctx.newPage();
  await b.goto(`${url}/`);
  await b.getByTestId('tasks-link').filter({ hasText: '1' }).waitFor(WAIT);
  // The review request in the bell leads to the task.
  const [taskId] = await openTaskIds(api, bea);
  await b.getByTestId('notification-bell').click();
  await b.getByTestId('notification-item').filter({ hasText: 'Ann Author asked you to review “Supplier contract” — Legal review' }).click();
  await b.waitForURL(`${url}/tasks?task=${taskId}`, WAIT);
  const card = b.getByTestId('task-card');
  await card.waitFor(WAIT);
  assert.match((await card.textContent()) ?? '', /Supplier contract.*Contract sign-off · Legal review.*Due in (48 h|2 d)/s);
  await b.screenshot({ path: outputPath('notifications-task-inbox.png') });
  await accessible(b, 'the task inbox');

  await card.getByRole('button', { name: 'Approve' }).click();
  await b.getByText('No reviews waiting for you.').waitFor(WAIT);
  await b.getByTestId('tasks-link').filter({ hasNotText: '1' }).waitFor(WAIT);
  await b.getByRole('button', { name: 'Decided' }).click();
  await b.getByTestId('decided-task').filter({ hasText: 'Approved' }).waitFor(WAIT);

  // The document: in review at the second step, Bea's approval in the history.
  await b.getByTestId('decided-task').getByRole('link', { name: 'Supplier contract' }).click();
  await b.waitForURL(`${url}/d/${doc.id}?panel=reviews`, WAIT);
  await b.getByTestId('review-badge').filter({ hasText: 'In review · Final sign-off' }).waitFor(WAIT);
  const reviews = b.getByTestId('reviews-panel');
  await reviews.getByTestId('review-event').filter({ hasText: 'Bea Legal approved' }).waitFor(WAIT);

  // The owner asks for changes (over the API); the document says so, with the comment.
  const ownerTask = await eventually(async () => {
    const ids = await openTaskIds(api, owner);
    assert.equal(ids.length, 1, 'the owner has the second step');
    return ids[0]!;
  });
  const d = await api.post(`/api/v1/tasks/${ownerTask}/decision`, { decision: 'request_changes', comment: 'Make the fee due in 45 days.' }, owner.accessToken);
  assert.equal(d.status, 200, d.text);
  await b.reload();
  await b.getByTestId('review-badge').filter({ hasText: 'Changes requested' }).waitFor(WAIT);
  const events = reviews.getByTestId('review-event');
  await events.filter({ hasText: 'Olive Owner requested changes' }).filter({ hasText: 'Make the fee due in 45 days.' }).waitFor(WAIT);
  const types = await events.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
  assert.ok(types.includes('requested') && types.includes('approved') && types.includes('changes_requested'), `every decision is listed (${types.join(', ')})`);
  await b.screenshot({ path: outputPath('notifications-reviews-panel.png') });
  await accessible(b, 'the reviews panel');

  // Ann requests the next review from the document itself.
  const actx = await signedInContext(browser, ann, WIDE);
  t.after(() => actx.close());
  const a = await actx.newPage();
  await a.goto(`${url}/d/${doc.id}`);
  await a.getByTestId('review-badge').filter({ hasText: 'Changes requested' }).waitFor(WAIT);
  await a.getByRole('button', { name: 'More actions' }).click();
  await a.getByRole('menuitem', { name: 'Request review…' }).click();
  const dialog = a.getByTestId('request-review-dialog');
  await dialog.getByLabel('Workflow').waitFor(WAIT);
  await dialog.getByText('2 steps: Legal review → Final sign-off').waitFor(WAIT);
  await dialog.getByRole('button', { name: 'Request review' }).click();
  await a.getByTestId('review-badge').filter({ hasText: 'In review · Legal review' }).waitFor(WAIT);
  await eventually(async () => assert.equal((await openTaskIds(api, bea)).length, 1, 'Bea has the new task'), { timeoutMs: 20_000 });
});

test('phone: the open task is one tap away and approved in two more', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Phone Co');
  const bea = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, bea, 'Bea Mobile');
  const wf = await workflow(api, owner, { name: 'Quick check', steps: [{ name: 'Approve copy', assignees: { users: [bea.user.id] }, slaSeconds: 3 * 3600 }] });
  const doc = (await api.post('/api/v1/documents', { title: 'Press release', text: 'Quire ships notifications.' }, owner.accessToken)).body as { id: string };
  await share(api, owner, doc.id, bea, 'read');
  await requestReview(api, owner, doc.id, wf.id);
  await eventually(async () => assert.equal((await openTaskIds(api, bea)).length, 1, 'Bea has the task'), { timeoutMs: 20_000 });

  const ctx = await signedInContext(browser, bea, PHONE);
  t.after(() => ctx.close());
  const b = await ctx.newPage();
  await b.goto(`${url}/`);
  const tasksButton = b.getByRole('button', { name: 'Review tasks, 1 open' });
  await tasksButton.waitFor(WAIT);
  let taps = 0;
  await tasksButton.tap();
  taps++;
  const card = b.getByTestId('task-card');
  await card.waitFor(WAIT);
  assert.equal(taps, 1, 'the open task is reached in one tap');
  await card.getByRole('button', { name: /Press release/ }).tap();
  taps++;
  const approve = card.getByRole('button', { name: 'Approve', exact: true });
  await approve.waitFor(WAIT);
  const box = await approve.boundingBox();
  assert.ok(box && box.height >= 43 && box.x >= 0 && box.x + box.width <= 390, `Approve is a full-size touch target on screen (${JSON.stringify(box)})`);
  await b.screenshot({ path: outputPath('notifications-phone-task.png') });
  await accessible(b, 'the task inbox on a phone');
  await approve.tap();
  taps++;
  await b.getByText('No reviews waiting for you.').waitFor(WAIT);
  assert.equal(taps - 1, 2, 'approved in two taps from the inbox');
  await b.screenshot({ path: outputPath('notifications-phone-approved.png') });
  await eventually(async () => {
    const r = await api.get(`/api/v1/documents/${doc.id}/reviews`, owner.accessToken);
    assert.equal((r.body.reviews as Review[])[0]?.status, 'approved', 'the review is approved');
  });

  // The document on a phone: the state in its header, the reviews as a full-screen sheet.
  await b.goto(`${url}/d/${doc.id}?panel=reviews`);
  const reviews = b.getByTestId('reviews-panel');
  await reviews.getByTestId('review-event').filter({ hasText: 'Bea Mobile approved' }).waitFor(WAIT);
  await b.screenshot({ path: outputPath('notifications-phone-reviews.png') });
  await reviews.getByRole('button', { name: 'Close reviews' }).tap();
  await b.getByTestId('review-badge').filter({ hasText: 'Approved' }).waitFor(WAIT);
  await b.screenshot({ path: outputPath('notifications-phone-document.png') });

  // The bell on a phone opens as a full-screen sheet.
  await b.getByTestId('notification-bell').tap();
  const sheet = b.getByTestId('notification-panel');
  await sheet.getByTestId('notification-item').first().waitFor(WAIT);
  const sbox = await sheet.boundingBox();
  assert.ok(sbox && sbox.width >= 389 && sbox.height >= 843, `the list fills the screen (${JSON.stringify(sbox)})`);
  await b.screenshot({ path: outputPath('notifications-phone-bell.png') });
});

test('settings: the notification grid saves (a reload shows it), the workspace defaults, and the workflow editor', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Settings Co');
  const bea = await api.addUser(owner, 'member');
  await named(api, owner, 'Olive Owner');
  await named(api, bea, 'Bea Member');

  const ctx = await signedInContext(browser, bea, { viewport: { width: 1280, height: 1300 } });
  t.after(() => ctx.close());
  const b = await ctx.newPage();
  await b.goto(`${url}/account#notifications`);
  const grid = b.getByTestId('notification-preferences');
  const mentionEmail = grid.getByRole('checkbox', { name: 'Mentions: Email' });
  const deadlinePush = grid.getByRole('checkbox', { name: 'Review deadlines: Push' });
  await mentionEmail.waitFor(WAIT);
  const before = { mentionEmail: await mentionEmail.isChecked(), deadlinePush: await deadlinePush.isChecked() };
  await mentionEmail.click();
  await b.getByText(/^Saved: mentions/).waitFor(WAIT);
  await deadlinePush.click();
  await b.getByText(/^Saved: review deadlines/).waitFor(WAIT);
  // Push on this device: the browser's push service may or may not answer a headless
  // browser; either way the page says what happened instead of failing silently.
  await ctx.grantPermissions(['notifications'], { origin: url });
  await b.getByRole('button', { name: 'Enable push on this device' }).click();
  const outcome = b.getByTestId('push-device').locator('[role="status"], [role="alert"]');
  await outcome.first().waitFor(WAIT);
  const said = (await outcome.first().textContent()) ?? '';
  if (said.includes('Push is on')) {
    await b.getByRole('button', { name: 'Turn off on this device' }).click();
    await b.getByText('Push is off for this device.').waitFor(WAIT);
  } else {
    assert.match(said, /could not turn on push|not set up on this server|background worker/, 'a refusal is explained');
  }
  await b.locator('#notifications').screenshot({ path: outputPath('notifications-account-grid.png') });
  await accessible(b, 'the account page with the notification settings');
  await b.reload();
  await mentionEmail.waitFor(WAIT);
  assert.equal(await mentionEmail.isChecked(), !before.mentionEmail, 'mention emails stay as chosen after a reload');
  assert.equal(await deadlinePush.isChecked(), !before.deadlinePush, 'deadline pushes stay as chosen after a reload');
  const saved = await api.get('/api/v1/me/notification-preferences', bea.accessToken);
  assert.equal(saved.body.preferences.mention.email, !before.mentionEmail, 'the server has the mention email choice');

  // The owner: the workspace defaults grid, and a workflow made in the editor.
  const octx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 1500 }, colorScheme: 'dark' });
  t.after(() => octx.close());
  const o = await octx.newPage();
  await o.goto(`${url}/people`);
  const defaults = o.getByTestId('notification-defaults');
  const replyPush = defaults.getByRole('checkbox', { name: 'Replies: Push' });
  await replyPush.waitFor(WAIT);
  const replyPushBefore = await replyPush.isChecked();
  await replyPush.click();
  await o.getByText(/^Saved: replies .* for people who have not chosen otherwise/).waitFor(WAIT);
  const d = await api.get('/api/v1/workspace/notification-defaults', owner.accessToken);
  assert.equal(d.body.defaults.reply.push, !replyPushBefore, 'the workspace default changed');

  const section = o.getByTestId('workflows');
  await section.getByRole('button', { name: 'New workflow' }).click();
  const editor = o.getByTestId('workflow-editor');
  await editor.getByLabel('Workflow name').fill('Policy approval');
  const steps = editor.getByTestId('step-editor');
  await steps.nth(0).getByLabel('Step name').fill('Team lead');
  await steps.nth(0).getByRole('group', { name: 'Who decides' }).getByLabel('Bea Member').check();
  await steps.nth(0).getByRole('group', { name: 'Who decides' }).getByLabel('Olive Owner').check();
  await steps.nth(0).getByLabel('Approvals needed').fill('2');
  await steps.nth(0).getByLabel('Hours').fill('24');
  await steps.nth(0).getByRole('group', { name: 'When the deadline passes, tell' }).getByLabel('Olive Owner').check();
  await editor.getByRole('button', { name: 'Add step' }).click();
  await steps.nth(1).getByLabel('Step name').fill('Members');
  await steps.nth(1).getByLabel('…and/or everyone with the role').selectOption('member');
  await steps.nth(1).getByLabel('Minutes').fill('30');
  await editor.getByRole('heading', { name: 'New workflow' }).scrollIntoViewIfNeeded();
  await o.screenshot({ path: outputPath('notifications-workflow-editor.png') });
  await accessible(o, 'the workflow editor and the notification defaults');
  await editor.getByRole('button', { name: 'Create workflow' }).click();
  await Promise.race([
    section.getByTestId('workflow-row').filter({ hasText: 'Policy approval' }).waitFor(WAIT),
    editor
      .getByRole('alert')
      .waitFor(WAIT)
      .then(async () => assert.fail(`the editor refused: ${await editor.getByRole('alert').textContent()}`)),
  ]);
  const list = await api.get('/api/v1/workflows', owner.accessToken);
  const made = (list.body.workflows as Workflow[]).find((w) => w.name === 'Policy approval');
  assert.ok(made, 'the workflow was created');
  assert.deepEqual(
    made.steps.map((s) => [s.name, s.assignees, s.approvals, s.slaSeconds, s.escalateTo]),
    [
      ['Team lead', { users: [bea.user.id, owner.user.id] }, 2, 24 * 3600, { users: [owner.user.id] }],
      ['Members', { role: 'member' }, 1, 30 * 60, {}],
    ],
  );

  // Edit: rename, then archive.
  await section.getByRole('button', { name: 'Edit Policy approval' }).click();
  await editor.getByLabel('Workflow name').fill('Policy approval v2');
  await editor.getByRole('button', { name: 'Save workflow' }).click();
  await section.getByTestId('workflow-row').filter({ hasText: 'Policy approval v2' }).waitFor(WAIT);
  await section.getByRole('button', { name: 'Archive Policy approval v2' }).click();
  await section.getByTestId('workflow-row').filter({ hasText: 'Archived' }).waitFor(WAIT);
  await section.screenshot({ path: outputPath('notifications-workflows.png') });
});
