/**
 * Invitations and password reset in real headless Chromium against a server without SMTP:
 * an admin invites from the People page and copies the link; a second browser opens it,
 * sees the workspace and email, chooses a password (with the strength meter) and lands
 * signed in. Then the admin makes a reset link for that person, a third browser sets a new
 * password with it and is sent back to sign in with a notice; and "Forgot password?" answers
 * the same for any address.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now (evaluated over the debugging protocol: the app's CSP blocks inline scripts). */
async function seriousViolations(p: Page): Promise<string[]> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe.run(
      document,
      {
        resultTypes: ['violations'],
      },
    ),
  );
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(' | ')}`);
}

/** The link as the server made it (PUBLIC_URL's origin), opened on the test server. */
const onServer = (link: string, url: string) => {
  const u = new URL(link);
  return `${url}${u.pathname}${u.hash}`;
};

test('an admin invites (no SMTP: copies the link); the invitee sets a password and lands signed in; reset link; forgot password', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const owner = await api.signup('Northwind');
  const admin = await api.addUser(owner, 'admin');
  const email = `newcomer-${Math.random().toString(36).slice(2)}@example.test`;

  // The admin invites from the People page.
  const adminCtx = await signedInContext(browser, admin, { viewport: { width: 1280, height: 900 } });
  t.after(() => adminCtx.close());
  const a = await adminCtx.newPage();
  await a.goto(`${url}/people`);
  const form = a.getByRole('form', { name: 'Invite people' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Role').selectOption('member');
  await form.getByRole('button', { name: 'Invite' }).click();
  const copy = a.getByTestId('copy-link');
  await copy.waitFor(WAIT);
  const link = await copy.inputValue();
  assert.match(link, /\/invite#token=qin_/, 'the link to pass on');
  await a.getByRole('list', { name: 'Pending invitations' }).getByText(email).waitFor(WAIT);
  await a.screenshot({ path: outputPath('invitations-people.png'), fullPage: true });
  assert.deepEqual(await seriousViolations(a), [], 'the People page with an invitation link: no serious axe finding');

  // A second browser opens the link.
  const inviteeCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => inviteeCtx.close());
  const b = await inviteeCtx.newPage();
  await b.goto(onServer(link, url));
  await b.getByRole('heading', { name: 'Join Northwind' }).waitFor(WAIT);
  assert.equal(await b.getByLabel('Email').inputValue(), email, 'the invited email');
  assert.ok(!b.url().includes('token='), `the token left the address bar: ${b.url()}`);
  await b.getByLabel('Your name (optional)').fill('Nia Newcomer');
  await b.getByLabel('Password', { exact: true }).fill('password123');
  await b.getByTestId('password-strength').getByText(/weak/i).waitFor(WAIT);
  assert.ok(await b.getByRole('button', { name: 'Join and sign in' }).isDisabled(), 'a weak password cannot be sent');
  await b.getByLabel('Password', { exact: true }).fill('harbor lantern violet orbit');
  await b
    .getByTestId('password-strength')
    .getByText(/strong/i)
    .waitFor(WAIT);
  await b.screenshot({ path: outputPath('invitations-accept.png'), fullPage: true });
  assert.deepEqual(await seriousViolations(b), [], 'the invitation page: no serious axe finding');
  await b.getByRole('button', { name: 'Join and sign in' }).click();
  // Signed in: the workspace shows, at its start page.
  await b.getByRole('navigation', { name: 'Documents' }).waitFor(WAIT);
  assert.equal(new URL(b.url()).pathname, '/', 'back at the start page');
  const stored = await b.evaluate(() => JSON.parse(localStorage.getItem('quire.session') ?? 'null') as { user: { email: string; role: string } } | null);
  assert.equal(stored?.user.email, email, 'signed in as the invitee');
  assert.equal(stored?.user.role, 'member', "with the invitation's role");
  await b.screenshot({ path: outputPath('invitations-signed-in.png'), fullPage: true });

  // The admin's list: the invitation is gone, the person is there; a reset link for them.
  await a.reload();
  const row = a.locator('.perm-list li', { hasText: email });
  await row.waitFor(WAIT);
  assert.equal(await a.getByRole('list', { name: 'Pending invitations' }).count(), 0, 'nothing pending');
  await a.getByRole('button', { name: `Reset password for ${email}` }).click();
  await a.getByRole('button', { name: 'Make reset link' }).click();
  const resetCopy = a.getByRole('dialog', { name: 'Password reset link' }).getByTestId('copy-link');
  await resetCopy.waitFor(WAIT);
  const resetLink = await resetCopy.inputValue();
  assert.match(resetLink, /\/reset-password#token=qpr_/);
  await a.screenshot({ path: outputPath('invitations-reset-link.png') });
  assert.deepEqual(await seriousViolations(a), [], 'the reset link dialog: no serious axe finding');
  await a.getByRole('button', { name: 'Done' }).click();

  // A third browser uses it, and is sent back to sign in.
  const resetCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => resetCtx.close());
  const c = await resetCtx.newPage();
  await c.goto(onServer(resetLink, url));
  await c.getByRole('heading', { name: 'Choose a new password' }).waitFor(WAIT);
  assert.deepEqual(await seriousViolations(c), [], 'the reset page: no serious axe finding');
  await c.getByLabel('Password', { exact: true }).fill('copper meadow whistle far');
  await c
    .getByTestId('password-strength')
    .getByText(/strong/i)
    .waitFor(WAIT);
  await c.getByRole('button', { name: 'Set password' }).click();
  await c.getByText('Your password was changed and you were signed out everywhere.').waitFor(WAIT);
  await c.screenshot({ path: outputPath('invitations-reset-done.png') });
  // The invitee's first browser was signed out by the reset.
  assert.equal((await api.post('/api/v1/auth/login', { email, password: 'copper meadow whistle far' })).status, 200, 'the new password works');

  // Forgot password: the same answer for any address.
  await c.getByRole('link', { name: 'Forgot password?' }).click();
  await c.getByRole('heading', { name: 'Forgot your password?' }).waitFor(WAIT);
  await c.getByLabel('Email').fill('nobody@example.test');
  await c.getByRole('button', { name: 'Send reset link' }).click();
  await c.getByText('If an account exists for nobody@example.test, we sent a link').waitFor(WAIT);
  await c.screenshot({ path: outputPath('invitations-forgot.png') });
  assert.deepEqual(await seriousViolations(c), [], 'the forgot-password page: no serious axe finding');
});
