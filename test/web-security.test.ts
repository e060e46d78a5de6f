/**
 * The account page's security section in real headless Chromium, against one real server:
 * signed-in devices (browser and system in words, this device marked, signing one out and
 * every other one, their tokens refused at once); an admin signing a person out everywhere
 * from the People page. Screenshots in test-output/security-*.png.
 */
import assert from 'node:assert/strict';
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

const WIDE = { viewport: { width: 1280, height: 900 } };
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
