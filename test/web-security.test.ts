/**
 * The account page's security section in real headless Chromium, against one real server:
 * signed-in devices (browser and system in words, this device marked, signing one out and
 * every other one, their tokens refused at once); an admin signing a person out everywhere
 * from the People page; two-factor sign-in (enrolling with the key the page shows, recovery
 * codes copied and downloaded, signing in with a code from the app and with a recovery code,
 * new recovery codes, turning it off; a workspace that requires it: a member enrols at
 * sign-in, an admin resets theirs). Codes are computed with `otpauth` as an authenticator app
 * would; API keys (made with scopes and an expiry, the secret shown once and copied, used,
 * revoked); the account page's security section and the audit page in the dark theme and on a
 * phone, checked with axe. Screenshots in test-output/security-*.png.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Secret, TOTP } from 'otpauth';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, useWebBrowser } from './helpers/browser.js';
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

const WIDE = { viewport: { width: 1280, height: 900 }, locale: 'en-US' };
const PASSWORD = 'correct horse battery';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

/** Signs in through the API as another device. */
async function loginAs(api: ApiClient, email: string, userAgent: string): Promise<Session> {
  const r = await api.request<Session>('POST', '/api/v1/auth/login', { json: { email, password: PASSWORD }, headers: { 'user-agent': userAgent } });
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Signs in on the sign-in page. */
async function signIn(p: Page, url: string, email: string): Promise<void> {
  await p.goto(url);
  await p.getByLabel('Email').fill(email);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('button', { name: 'New document' }).waitFor(WAIT);
}

/**
 * An authenticator app: the code of the earliest 30-second step the server still takes that
 * is later than the last one used (a code works once), waiting for the clock when that step
 * is still ahead. The step chosen is now or later, so crossing a boundary on the way keeps it valid.
 */
function authenticator(secret: string) {
  const totp = new TOTP({ algorithm: 'SHA1', digits: 6, period: 30, secret: Secret.fromBase32(secret.replace(/\s+/g, '')) });
  let last = -Infinity;
  return async (): Promise<string> => {
    for (;;) {
      const now = Math.floor(Date.now() / 30_000);
      const step = Math.max(last + 1, now);
      if (step <= now + 1) {
        last = step;
        return totp.generate({ timestamp: step * 30_000 + 1000 });
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
}

const refused = async (api: ApiClient, s: Session) => assert.equal((await api.get('/api/v1/me', s.accessToken)).status, 401, 'the signed-out device’s token is refused');

test('signed-in devices: this one marked, one signed out, then every other one', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const email = `devices-${Math.random().toString(36).slice(2)}@example.test`;
  await api.signup('Devices Co', email, PASSWORD);
  const ctx = await browser.newContext(WIDE);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await signIn(p, url, email);
  const firefox = await loginAs(api, email, FIREFOX_WINDOWS);
  const iphone = await loginAs(api, email, SAFARI_IPHONE);

  await p.goto(`${url}/account`);
  const card = p.getByTestId('sessions');
  const items = card.getByRole('listitem');
  await items.first().waitFor(WAIT);
  // The sign-up's own session (from the test's fetch), the browser's, and the two others.
  assert.equal(await items.count(), 4);
  const current = card.getByRole('listitem', { name: /this device$/ });
  assert.match(await current.innerText(), /Headless Chrome on Linux\s*This device/, 'this browser, marked');
  assert.equal(await current.getByRole('button', { name: /^Sign out/ }).count(), 0, 'this device is not signed out from the list');
  const ff = card.getByRole('listitem', { name: 'Firefox on Windows' });
  assert.match(await ff.innerText(), /Signed in .* with a password from 127\.0\.0\.1/);
  assert.match(await ff.innerText(), /Last used (just now|\d+ minutes? ago)/);
  await card.getByRole('listitem', { name: 'Safari on iPhone' }).waitFor(WAIT);
  await card.screenshot({ path: outputPath('security-sessions.png') });

  // One device signed out: gone from the list, its token refused.
  await ff.getByRole('button', { name: /^Sign out Firefox on Windows/ }).click();
  await card.getByRole('status').filter({ hasText: 'Firefox on Windows is signed out.' }).waitFor(WAIT);
  await eventually(async () => assert.equal(await items.count(), 3));
  await refused(api, firefox);

  // Every other one: only this device is left, and it stays signed in.
  await card.getByRole('button', { name: 'Sign out all other sessions' }).click();
  await p.getByRole('dialog', { name: 'Sign out all other sessions?' }).getByRole('button', { name: 'Sign out other sessions' }).click();
  await card.getByRole('status').filter({ hasText: '2 other sessions are signed out.' }).waitFor(WAIT);
  await eventually(async () => assert.equal(await items.count(), 1));
  await card.getByText('This is the only device signed in.').waitFor(WAIT);
  await refused(api, iphone);
  await p.reload();
  await p
    .getByTestId('sessions')
    .getByRole('listitem', { name: /this device$/ })
    .waitFor(WAIT);
});

test('an admin signs a person out on every device from the People page', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('People Co');
  const member = await api.addUser(owner, 'member');
  const ctx = await browser.newContext(WIDE);
  t.after(() => ctx.close());
  await ctx.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(owner));
  const p = await ctx.newPage();
  await p.goto(`${url}/people`);
  await p.getByRole('button', { name: `Security actions for ${member.user.email}` }).click();
  await p.getByRole('menuitem', { name: 'Sign out everywhere' }).waitFor(WAIT);
  await p.screenshot({ path: outputPath('security-people-menu.png') });
  await p.getByRole('menuitem', { name: 'Sign out everywhere' }).click();
  const dialog = p.getByRole('dialog', { name: /out everywhere\?$/ });
  await dialog.getByRole('button', { name: 'Sign out everywhere' }).click();
  await p.getByText(/is signed out on every device\.$/).waitFor(WAIT);
  await refused(api, member);
  // The owner's own row has no such menu.
  assert.equal(await p.getByRole('button', { name: `Security actions for ${owner.user.email}` }).count(), 0, 'no security menu on your own row');
});

/** Reads the key the enrolment shows (grouped in fours for typing). */
async function shownKey(p: Page): Promise<string> {
  const key = (await p.getByTestId('mfa-secret').innerText()).replace(/\s+/g, '');
  assert.match(key, /^[A-Z2-7]{32}$/, `a base-32 key: ${key}`);
  // The QR code is drawn (an image the browser decoded).
  await eventually(async () => assert.ok(await p.getByTestId('mfa-qr').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR code is drawn'));
  return key;
}

test('two-factor sign-in: enrol on the account page, sign in with a code and a recovery code, new codes, turn off', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const email = `mfa-${Math.random().toString(36).slice(2)}@example.test`;
  await api.signup('Two Factor Co', email, PASSWORD);
  const ctx = await browser.newContext({ ...WIDE, acceptDownloads: true });
  t.after(() => ctx.close());
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const p = await ctx.newPage();
  await signIn(p, url, email);
  await p.goto(`${url}/account`);
  const card = p.getByTestId('mfa');
  await card.getByText('Off', { exact: true }).waitFor(WAIT);
  await card.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const code = authenticator(await shownKey(p));
  await card.screenshot({ path: outputPath('security-mfa-enrol.png') });
  // A wrong code first: said, and nothing turned on.
  await card.getByLabel('Enter the 6-digit code the app shows').fill('000000');
  await card.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await card.getByRole('alert').filter({ hasText: 'not right' }).waitFor(WAIT);
  await card.getByLabel('Enter the 6-digit code the app shows').fill(await code());
  await card.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();

  // Ten recovery codes, once: copied and downloaded.
  const list = card.getByRole('list', { name: 'Recovery codes' });
  await list.waitFor(WAIT);
  const codes = await list.getByRole('listitem').allInnerTexts();
  assert.equal(codes.length, 10);
  assert.ok(
    codes.every((c) => /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/.test(c)),
    `recovery codes: ${codes.join(' ')}`,
  );
  await card.screenshot({ path: outputPath('security-mfa-recovery-codes.png') });
  await card.getByRole('button', { name: 'Copy codes' }).click();
  await card.getByText('Copied to the clipboard.').waitFor(WAIT);
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), codes.join('\n'));
  const [download] = await Promise.all([p.waitForEvent('download', WAIT), card.getByRole('button', { name: 'Download codes' }).click()]);
  assert.equal(download.suggestedFilename(), 'quire-recovery-codes.txt');
  await download.saveAs(outputPath('security-recovery-codes.txt'));
  const saved = fs.readFileSync(outputPath('security-recovery-codes.txt'), 'utf8');
  assert.ok(
    codes.every((c) => saved.includes(c)),
    'the download has every code',
  );
  await card.getByRole('button', { name: 'I have saved them' }).click();
  await card.getByText('On', { exact: true }).waitFor(WAIT);
  assert.equal(await card.getByTestId('recovery-left').innerText(), '10 recovery codes left.');
  assert.equal(await card.getByRole('list', { name: 'Recovery codes' }).count(), 0, 'the codes are not shown again');

  // Signing in now asks for a code: a wrong one is refused, the app's works.
  const other = await browser.newContext(WIDE);
  t.after(() => other.close());
  const q = await other.newPage();
  await q.goto(url);
  await q.getByLabel('Email').fill(email);
  await q.getByLabel('Password').fill(PASSWORD);
  await q.getByRole('button', { name: 'Sign in' }).click();
  await q.getByRole('heading', { name: 'Two-factor sign-in' }).waitFor(WAIT);
  await q.getByLabel('Code', { exact: true }).fill('123456');
  await q.getByRole('button', { name: 'Verify' }).click();
  await q.getByRole('alert').filter({ hasText: 'not right' }).waitFor(WAIT);
  await q.screenshot({ path: outputPath('security-mfa-sign-in.png') });
  await q.getByLabel('Code', { exact: true }).fill(await code());
  await q.getByRole('button', { name: 'Verify' }).click();
  await q.getByRole('button', { name: 'New document' }).waitFor(WAIT);

  // Or with a recovery code, which then is spent.
  const third = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  t.after(() => third.close());
  const r = await third.newPage();
  await r.goto(url);
  await r.getByLabel('Email').fill(email);
  await r.getByLabel('Password').fill(PASSWORD);
  await r.getByRole('button', { name: 'Sign in' }).click();
  await r.getByRole('button', { name: 'Use a recovery code instead' }).click();
  await r.getByLabel('Recovery code').fill(codes[0]!);
  await r.screenshot({ path: outputPath('security-mfa-recovery-sign-in-phone.png') });
  await r.getByRole('button', { name: 'Verify' }).click();
  await r.getByRole('button', { name: 'New document' }).waitFor(WAIT);
  await p.reload();
  await eventually(async () => assert.equal(await p.getByTestId('mfa').getByTestId('recovery-left').innerText(), '9 recovery codes left.'));

  // New recovery codes (with a code from the app): the old ones stop working.
  await card.getByRole('button', { name: 'Regenerate recovery codes' }).click();
  await card.getByLabel('Code from the app').fill(await code());
  await card.getByRole('button', { name: 'Make new codes' }).click();
  await list.waitFor(WAIT);
  const fresh = await list.getByRole('listitem').allInnerTexts();
  assert.equal(fresh.length, 10);
  assert.ok(
    fresh.every((c) => !codes.includes(c)),
    'every code is new',
  );
  await card.getByRole('button', { name: 'I have saved them' }).click();
  await card.getByText('Your new recovery codes are saved; the old ones no longer work.').waitFor(WAIT);

  // Turned off with a recovery code: signing in asks for the password only.
  await card.getByRole('button', { name: 'Turn off' }).click();
  await card.getByLabel('Code from the app or a recovery code').fill(fresh[1]!);
  await card.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
  await card.getByText('Two-factor sign-in is off. Your password alone signs you in now.').waitFor(WAIT);
  await card.getByText('Off', { exact: true }).waitFor(WAIT);
  const plain = await api.post('/api/v1/auth/login', { email, password: PASSWORD });
  assert.equal(plain.status, 200, plain.text);
});

test('a workspace that requires two-factor sign-in: a member enrols at sign-in; an admin resets it', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Required Co');
  const member = await api.addUser(owner, 'member');
  // The owner has it (needed to require it), set up through the API as an app would.
  const enrol = await api.post('/api/v1/me/mfa/enrol', {}, owner.accessToken);
  assert.equal(enrol.status, 200, enrol.text);
  const ownerCode = authenticator(enrol.body.secret as string);
  const confirmed = await api.post('/api/v1/me/mfa/confirm', { code: await ownerCode() }, owner.accessToken);
  assert.equal(confirmed.status, 200, confirmed.text);

  const ctx = await browser.newContext(WIDE);
  t.after(() => ctx.close());
  await ctx.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(owner));
  const p = await ctx.newPage();
  await p.goto(`${url}/people`);
  const section = p.getByTestId('workspace-mfa');
  await section.getByLabel('Require two-factor sign-in for everyone').click();
  await p.getByRole('dialog', { name: 'Require two-factor sign-in?' }).getByRole('button', { name: 'Require it' }).click();
  await section
    .getByRole('status')
    .filter({ hasText: /^Two-factor sign-in is required\./ })
    .waitFor(WAIT);
  assert.ok(await section.getByLabel('Require two-factor sign-in for everyone').isChecked(), 'the box is ticked');
  await section.screenshot({ path: outputPath('security-workspace-mfa.png') });
  // The member's session without a second factor ended.
  await refused(api, member);

  // The member signs in: the sign-in sets it up, then shows the recovery codes once.
  const m = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  t.after(() => m.close());
  const q = await m.newPage();
  await q.goto(url);
  await q.getByLabel('Email').fill(member.user.email);
  await q.getByLabel('Password').fill('another good password');
  await q.getByRole('button', { name: 'Sign in' }).click();
  await q.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor(WAIT);
  const code = authenticator(await shownKey(q));
  await q.screenshot({ path: outputPath('security-mfa-required-enrol-phone.png'), fullPage: true });
  await q.getByLabel('Enter the 6-digit code the app shows').fill(await code());
  await q.getByRole('button', { name: 'Turn on and sign in' }).click();
  const dialog = q.getByRole('dialog', { name: 'Two-factor sign-in is on' });
  await dialog.getByRole('list', { name: 'Recovery codes' }).waitFor(WAIT);
  assert.equal(await dialog.getByRole('listitem').count(), 10);
  await q.screenshot({ path: outputPath('security-mfa-required-codes-phone.png') });
  await dialog.getByRole('button', { name: 'I have saved them, continue' }).click();
  await eventually(async () => assert.equal(await dialog.count(), 0, 'the dialog is gone'));
  await q.goto(`${url}/account`);
  const card = q.getByTestId('mfa');
  await card.getByText('Your workspace requires it.').waitFor(WAIT);
  assert.equal(await card.getByRole('button', { name: 'Turn off' }).count(), 0, 'no turning it off while the workspace requires it');

  // The owner resets the member's two-factor sign-in (a lost phone): signed out, enrols again.
  await p.getByRole('button', { name: `Security actions for ${member.user.email}` }).click();
  await p.getByRole('menuitem', { name: 'Reset two-factor' }).click();
  await p
    .getByRole('dialog', { name: /^Reset two-factor sign-in for / })
    .getByRole('button', { name: 'Reset two-factor' })
    .click();
  await p.getByText(/^Two-factor sign-in is reset for /).waitFor(WAIT);
  const again = await api.post('/api/v1/auth/login', { email: member.user.email, password: 'another good password' });
  assert.equal(again.status, 401, again.text);
  assert.equal(again.body.error.code, 'mfa_enrollment_required', again.text);
});

test('API keys: made with scopes and an expiry, shown once and copied, used, revoked', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Keys Co');
  const member = await api.addUser(owner, 'member');
  const ctx = await browser.newContext(WIDE);
  t.after(() => ctx.close());
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  await ctx.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(owner));
  const p = await ctx.newPage();
  await p.goto(`${url}/account`);
  const card = p.getByTestId('api-keys');
  await card.getByText('You have no API keys.').waitFor(WAIT);
  await card.getByLabel('Name').fill('Nightly export');
  await card.getByLabel('Search', { exact: true }).check();
  assert.ok(await card.getByLabel('Read', { exact: true }).isChecked(), 'read is chosen by default');
  assert.equal(await card.getByLabel('Admin', { exact: true }).count(), 1, 'an owner may give a key the admin scope');
  await card.getByLabel('Expires after').selectOption('30');
  await card.getByRole('button', { name: 'Create key' }).click();

  // The secret, once: copied, and it works.
  const secret = (await card.getByTestId('new-key-secret').innerText()).trim();
  assert.match(secret, /^qak_/, `a key: ${secret.slice(0, 8)}…`);
  await card.getByRole('button', { name: 'Copy key' }).click();
  await card.getByText('Copied to the clipboard.').waitFor(WAIT);
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret);
  await card.screenshot({ path: outputPath('security-api-key-created.png') });
  const used = await api.get('/api/v1/documents', secret);
  assert.equal(used.status, 200, used.text);
  await card.getByRole('button', { name: 'Done' }).click();
  assert.equal(await card.getByTestId('new-key').count(), 0, 'the secret is not shown again');

  // Listed with its scopes, dates and last use.
  await p.reload();
  const item = p.getByTestId('api-keys').getByRole('listitem', { name: 'Nightly export' });
  await item.waitFor(WAIT);
  const text = await item.innerText();
  assert.match(text, /…[A-Za-z0-9_-]{4}/, `its last characters: ${text}`);
  assert.match(text, /Read\s+Search/, `its scopes: ${text}`);
  const expires = new Date(Date.now() + 30 * 86_400_000).toLocaleDateString('en-US', { dateStyle: 'medium' });
  assert.ok(text.includes(`expires ${expires}`), `expires in 30 days (${expires}): ${text}`);
  assert.match(text, /Last used just now from 127\.0\.0\.1/, `its last use: ${text}`);
  await p.getByTestId('api-keys').screenshot({ path: outputPath('security-api-keys.png') });

  // Revoked: gone from the list, refused at once.
  await item.getByRole('button', { name: 'Revoke Nightly export' }).click();
  await p.getByRole('dialog', { name: 'Revoke “Nightly export”?' }).getByRole('button', { name: 'Revoke key' }).click();
  await p.getByTestId('api-keys').getByText('“Nightly export” is revoked: it no longer works.').waitFor(WAIT);
  await p.getByTestId('api-keys').getByText('You have no API keys.').waitFor(WAIT);
  assert.equal((await api.get('/api/v1/documents', secret)).status, 401, 'the revoked key is refused');

  // A member's keys cannot have the admin scope.
  const m = await browser.newContext(WIDE);
  t.after(() => m.close());
  await m.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(member));
  const q = await m.newPage();
  await q.goto(`${url}/account`);
  await q.getByTestId('api-keys').getByLabel('Read', { exact: true }).waitFor(WAIT);
  assert.equal(await q.getByTestId('api-keys').getByLabel('Admin', { exact: true }).count(), 0, 'no admin scope for a member');
});

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now. */
async function seriousViolations(p: Page): Promise<string[]> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe.run(document, {
      resultTypes: ['violations'],
    }),
  );
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(' | ')}`);
}

test('the security section and the audit page in the dark theme and on a phone: no serious or critical axe finding', BROWSER_TEST, async (t) => {
  const { url, api } = server;
  const owner = await api.signup('Looks Co');
  await loginAs(api, owner.user.email, FIREFOX_WINDOWS);
  const key = await api.post('/api/v1/api-keys', { name: 'Backup script', scopes: ['read', 'search'] }, owner.accessToken);
  assert.equal(key.status, 201, key.text);
  const problems: string[] = [];
  for (const [layout, options] of Object.entries({
    dark: { ...WIDE, colorScheme: 'dark' as const },
    phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'en-US' },
  })) {
    const ctx = await browser.newContext(options);
    t.after(() => ctx.close());
    await ctx.addInitScript((s: string) => {
      if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
    }, JSON.stringify(owner));
    const p = await ctx.newPage();
    await p.goto(`${url}/account`);
    await p.getByTestId('sessions').getByRole('listitem').first().waitFor(WAIT);
    await p.getByTestId('api-keys').getByRole('listitem', { name: 'Backup script' }).waitFor(WAIT);
    await p.getByTestId('mfa').getByRole('button', { name: 'Set up two-factor sign-in' }).click();
    await p.getByTestId('mfa-qr').waitFor(WAIT);
    for (const part of ['mfa', 'sessions', 'api-keys']) await p.getByTestId(part).screenshot({ path: outputPath(`security-${part}-${layout}.png`) });
    problems.push(...(await seriousViolations(p)).map((v) => `account/${layout}: ${v}`));
    await p.goto(`${url}/admin/audit`);
    await p.getByTestId('audit-table').waitFor(WAIT);
    await p.screenshot({ path: outputPath(`security-audit-${layout}.png`) });
    problems.push(...(await seriousViolations(p)).map((v) => `audit/${layout}: ${v}`));
  }
  assert.deepEqual(problems, []);
});
