/**
 * Single sign-on in real headless Chromium: an owner sets SSO up in the workspace settings
 * (the callback URL shown to copy, the secret write-only), then a new person signs in from
 * the login page through a loopback OpenID Provider and lands in the workspace, provisioned
 * with the default role; a refused sign-in shows its reason on `/sso/done`.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startOidcProvider } from './helpers/oidc-provider.js';
import { startServer } from './helpers/server.js';

const WAIT = { timeout: 30_000 };
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical findings on the page as it is now (as in web-screens.test.ts). */
async function seriousViolations(p: Page): Promise<string[]> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; help: string }[] }> } }).axe.run(document, {
      resultTypes: ['violations'],
    }),
  );
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help}`);
}
let browser: Browser;
useWebBrowser((b) => (browser = b));

test('SSO from the browser: an owner sets it up in the settings; a new person signs in from the login page and lands in the workspace', BROWSER_TEST, async (t) => {
  const server = await startServer(t, { dialect: 'pglite', env: { WEB_APP: 'true', SSO_ALLOW_PRIVATE_ISSUERS: 'true' } });
  server.config.notifications.publicUrl = server.url;
  const idp = await startOidcProvider(t, { redirectUri: `${server.url}/api/v1/auth/sso/callback` });
  const domain = `web-${crypto.randomBytes(4).toString('hex')}.test`;
  const owner = await server.api.signup('Northwind', `owner@${domain}`);

  // The owner turns SSO on in the workspace settings.
  const adminCtx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 1100 } });
  t.after(() => adminCtx.close());
  const a = await adminCtx.newPage();
  await a.goto(`${server.url}/people`);
  const section = a.getByRole('region', { name: 'Single sign-on (OpenID Connect)' });
  await section.waitFor(WAIT);
  assert.equal(await section.getByLabel('Callback URL').inputValue(), `${server.url}/api/v1/auth/sso/callback`, 'the callback URL to register');
  await section.getByLabel('Issuer URL').fill(idp.issuer);
  await section.getByLabel('Client ID').fill(idp.client.clientId);
  await section.getByLabel('Client secret').fill(idp.client.clientSecret);
  await section.getByLabel('Email domains (comma-separated)').fill(domain);
  await section.getByRole('button', { name: 'Turn on single sign-on' }).click();
  await section.getByText('Single sign-on is saved and on.').waitFor(WAIT);
  assert.equal(await section.getByLabel('Client secret').inputValue(), '', 'the secret is write-only');
  assert.match((await section.getByLabel('Client secret').getAttribute('placeholder')) ?? '', /Stored/, 'a secret is stored');
  await section.scrollIntoViewIfNeeded();
  await a.screenshot({ path: outputPath('web-sso-settings.png'), fullPage: false });
  assert.deepEqual(await seriousViolations(a), [], 'the settings pass axe');

  // A new person signs in with SSO from the login page.
  idp.accounts.set('henry', { sub: 'henry', email: `henry@${domain}`, email_verified: true, name: 'Henry Ford' });
  idp.loginAs = 'henry';
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(server.url);
  await p.getByLabel('Email').fill(`henry@${domain}`);
  const sso = p.getByRole('link', { name: 'Sign in with SSO' });
  await sso.waitFor(WAIT);
  await p.screenshot({ path: outputPath('web-sso-login.png') });
  assert.deepEqual(await seriousViolations(p), [], 'the login page with SSO passes axe');
  await sso.click();
  // Through the provider and back: the app trades the code and shows the workspace.
  await p.waitForURL(`${server.url}/`, WAIT);
  await p.getByRole('navigation', { name: 'Documents' }).waitFor(WAIT);
  const stored = await p.evaluate(() => JSON.parse(localStorage.getItem('quire.session') ?? 'null') as { user: { email: string; role: string } } | null);
  assert.equal(stored?.user.email, `henry@${domain}`, 'signed in as the provider’s account');
  assert.equal(stored?.user.role, 'member', 'provisioned with the default role');
  assert.ok(!(await p.evaluate(() => window.location.href)).includes('code='), 'no code left in the address');
  await p.screenshot({ path: outputPath('web-sso-workspace.png') });

  // A refused sign-in (the provider's account has no verified email) shows why.
  idp.accounts.set('ivy', { sub: 'ivy', email: `ivy@${domain}`, email_verified: false });
  idp.loginAs = 'ivy';
  const ctx2 = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  t.after(() => ctx2.close());
  const q = await ctx2.newPage();
  await q.goto(server.url);
  await q.getByLabel('Email').fill(`ivy@${domain}`);
  await q.getByRole('link', { name: 'Sign in with SSO' }).click();
  await q.getByRole('alert').filter({ hasText: 'did not confirm your email address' }).waitFor(WAIT);
  assert.equal(new URL(q.url()).pathname, '/sso/done');
  await q.screenshot({ path: outputPath('web-sso-refused.png') });
  assert.deepEqual(await seriousViolations(q), [], 'the refusal page passes axe');
});
