/**
 * The audit log page in real headless Chromium: an owner's failed and successful sign-in on
 * the sign-in page and a role change on the People page show up as rows (in words, with the
 * person, the target and the IP); filtering by one action, by a group and by dates; "Load
 * more"; the NDJSON export downloads what the filters match; the phone layout; a member has
 * no link and is told the page is for owners and admins. Screenshots in test-output/audit-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { AuditEntry } from '../contract/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

const rowsOf = (p: Page) => p.getByTestId('audit-table').locator('tbody tr');
const actionsShown = (p: Page) => rowsOf(p).evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action') ?? ''));

test('an admin reads, filters, pages and exports the audit log; a member may not', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const email = `olive-${Math.random().toString(36).slice(2)}@example.test`;
  const password = 'correct horse battery';
  const owner = await api.signup('Audit Co', email, password);
  assert.equal((await api.patch('/api/v1/me', { displayName: 'Olive Owner' }, owner.accessToken)).status, 200);
  const member = await api.addUser(owner, 'member');
  const other = await api.addUser(owner, 'member');
  // Enough entries for more than one page (50): a member renaming themselves.
  for (let i = 0; i < 50; i++) {
    const r = await api.patch('/api/v1/me', { displayName: `Mia ${i % 2 ? 'Member' : 'M.'}` }, member.accessToken);
    assert.equal(r.status, 200, r.text);
  }

  // The owner signs in on the sign-in page: a wrong password first.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill('not my password');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('alert').filter({ hasText: 'do not match' }).waitFor(WAIT);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('button', { name: 'New document' }).waitFor(WAIT);

  // A role change on the People page.
  await p.getByRole('link', { name: 'People' }).click();
  await p.getByLabel(`Role of ${member.user.email}`).selectOption('admin');
  await eventually(async () => {
    const r = await api.get('/api/v1/users', owner.accessToken);
    assert.equal((r.body.users as { id: string; role: string }[]).find((u) => u.id === member.user.id)?.role, 'admin');
  });

  // The audit log, linked beside the other admin page.
  await p.getByRole('link', { name: 'Audit log' }).click();
  await p.waitForURL(/\/admin\/audit$/, WAIT);
  await p.getByRole('heading', { name: 'Audit log' }).waitFor(WAIT);
  assert.equal(await p.title(), 'Audit log · Quire');
  await rowsOf(p).first().waitFor(WAIT);
  const first = await actionsShown(p);
  assert.deepEqual(first.slice(0, 3), ['user.role_change', 'auth.login', 'auth.login_failed'], `newest first: ${first.slice(0, 5).join(', ')}`);
  assert.equal(first.length, 50, 'one page of 50');
  const cells = (i: number) => rowsOf(p).nth(i).getByRole('cell').allInnerTexts();
  const [time, who, action, target, ip] = await cells(0);
  assert.match(time!, /\d/, 'a time');
  assert.match(who!, /^Olive Owner\n/, `the owner by name: ${who}`);
  assert.ok(who!.includes(email), `and email: ${who}`);
  assert.match(action!, /^Changed a role\nmember → admin\nuser\.role_change$/, `the role change in words: ${action}`);
  assert.ok(target!.includes(member.user.email), `the target by email: ${target}`);
  assert.match(ip!, /\d|:/, `an IP address: ${ip}`);
  const failed = await cells(2);
  assert.match(failed[1]!, /Not signed in/, `a failed sign-in has no actor: ${failed[1]}`);
  assert.match(failed[2]!, /^Failed sign-in/, `the failed sign-in in words: ${failed[2]}`);
  assert.match(failed[3]!, /Olive Owner/, `the failed sign-in's target is the owner: ${failed[3]}`);
  await p.screenshot({ path: outputPath('audit-admin.png'), fullPage: false });

  // Load more: the rest, and the end is said.
  await p.getByRole('button', { name: 'Load more' }).click();
  await p.getByText('That is every matching entry.').waitFor(WAIT);
  const all = await actionsShown(p);
  assert.ok(all.length > 50, `more than one page (${all.length})`);
  assert.equal(all.filter((a) => a === 'user.display_name_change').length, 51, 'every rename, the owner’s and the member’s 50');
  assert.ok(all.includes('auth.signup') && all.includes('user.create'), 'the oldest entries are there');
  assert.equal(await p.getByRole('button', { name: 'Load more' }).count(), 0, 'no more to load');

  // One action.
  await p.getByLabel('Action').selectOption('auth.login_failed');
  await p.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => assert.deepEqual(await actionsShown(p), ['auth.login_failed']));
  // A group ("auth."): every sign-in event, the failed one included.
  await p.getByLabel('Action').selectOption('auth.');
  await p.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => {
    const shown = await actionsShown(p);
    assert.ok(shown.length >= 4 && shown.every((a) => a.startsWith('auth.')), `sign-in events only: ${shown.join(', ')}`);
    assert.ok(shown.includes('auth.login_failed') && shown.includes('auth.signup'), `both kinds: ${shown.join(', ')}`);
  });
  // One person: only the member's entries.
  await p.getByLabel('Action').selectOption('');
  await p.getByLabel('Person').selectOption(member.user.id);
  await p.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => {
    const shown = await actionsShown(p);
    assert.ok(shown.length > 0 && shown.every((a) => a === 'user.display_name_change' || a === 'auth.login'), `the member's entries: ${shown.join(', ')}`);
  });

  // The export: what the filters match (every sign-in event), as NDJSON.
  await p.getByLabel('Person').selectOption('');
  await p.getByLabel('Action').selectOption('auth.');
  await p.getByRole('button', { name: 'Apply filters' }).click();
  const [download] = await Promise.all([p.waitForEvent('download', WAIT), p.getByRole('button', { name: 'Export NDJSON' }).click()]);
  assert.match(download.suggestedFilename(), /^quire-audit-\d{4}-\d{2}-\d{2}\.ndjson$/);
  const file = outputPath('audit-export.ndjson');
  await download.saveAs(file);
  const exported = fs
    .readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditEntry);
  assert.ok(exported.length >= 4 && exported.every((e) => e.action.startsWith('auth.')), `the export has the sign-in events only: ${exported.map((e) => e.action).join(', ')}`);
  assert.ok(
    exported.some((e) => e.action === 'auth.login_failed'),
    'the failed sign-in is exported',
  );
  await p
    .getByTestId('audit-status')
    .filter({ hasText: `Exported ${exported.length} entries.` })
    .waitFor({ state: 'attached', ...WAIT });
  // The export itself is recorded.
  await p.getByLabel('Action').selectOption('audit.export');
  await p.getByRole('button', { name: 'Apply filters' }).click();
  await eventually(async () => assert.deepEqual(await actionsShown(p), ['audit.export']));

  // Dates: nothing from tomorrow on; the empty state offers to clear.
  const tomorrow = new Date(Date.now() + 86_400_000);
  const day = `${tomorrow.getFullYear()}-${String(tomorrow.getMonth() + 1).padStart(2, '0')}-${String(tomorrow.getDate()).padStart(2, '0')}`;
  await p.getByLabel('Action').selectOption('');
  await p.getByLabel('From').fill(day);
  await p.getByRole('button', { name: 'Apply filters' }).click();
  await p.getByTestId('audit-empty').filter({ hasText: 'No entries match these filters.' }).waitFor(WAIT);
  await p.screenshot({ path: outputPath('audit-empty.png') });
  await p.getByTestId('audit-empty').getByRole('button', { name: 'Clear filters' }).click();
  await rowsOf(p).first().waitFor(WAIT);
  assert.equal(await p.getByLabel('From').inputValue(), '', 'the filters are cleared');

  // On a phone: the link is in the menu, each entry a labelled card.
  const phone = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  t.after(() => phone.close());
  const pp = await phone.newPage();
  await pp.goto(url);
  await pp.getByRole('button', { name: 'Menu' }).click();
  await pp.getByRole('menuitem', { name: 'Audit log' }).click();
  await pp.waitForURL(/\/admin\/audit$/, WAIT);
  await rowsOf(pp).first().waitFor(WAIT);
  const box = await rowsOf(pp).first().boundingBox();
  assert.ok(box && box.width <= 390, `an entry fits the phone's width (${box?.width})`);
  await pp.screenshot({ path: outputPath('audit-phone.png') });

  // A member: no link, and the page says who may see it.
  const m = await signedInContext(browser, other, { viewport: { width: 1280, height: 800 } });
  t.after(() => m.close());
  const pm = await m.newPage();
  await pm.goto(`${url}/admin/audit`);
  await pm.getByRole('alert').filter({ hasText: 'Only workspace owners and admins can see the audit log.' }).waitFor(WAIT);
  assert.equal(await pm.getByRole('link', { name: 'Audit log' }).count(), 0, 'a member has no link to the audit log');
  assert.equal(await pm.getByTestId('audit-table').count(), 0, 'and no entries');
  await pm.screenshot({ path: outputPath('audit-member.png') });
  const r = await api.get('/api/v1/audit', other.accessToken);
  assert.equal(r.status, 403, 'the API refuses a member too');
});
