/**
 * Single sign-on with OpenID Connect against a real OpenID Provider (`oidc-provider`) on
 * loopback: the code flow end to end (PKCE, state, nonce), JIT provisioning with the
 * workspace's default role, the same user on the next sign-in, every refusal of the
 * callback (state, browser binding, nonce, issuer, audience, expiry, signature), mandatory
 * SSO with the owners' break-glass password login, the settings API (admins only, the
 * secret never answered and sealed at rest, workspaces apart), audit rows once per event.
 * Both dialects.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { withTenant } from '../db/store.js';
import { CookieBrowser, startOidcProvider, type TestProvider } from './helpers/oidc-provider.js';
import { DIALECTS, startServer, type Dialect, type TestServer } from './helpers/server.js';
import type { Session } from './helpers/api.js';

interface Setup {
  server: TestServer;
  idp: TestProvider;
  owner: Session;
  domain: string;
}

async function setup(t: TestContext, dialect: Dialect, env: Record<string, string> = {}): Promise<Setup> {
  const server = await startServer(t, { dialect, env: { SSO_ALLOW_PRIVATE_ISSUERS: 'true', ...env } });
  // The callback and the web app live at the public URL: here, the test server itself.
  server.config.notifications.publicUrl = server.url;
  const idp = await startOidcProvider(t, { redirectUri: `${server.url}/api/v1/auth/sso/callback` });
  const domain = `acme-${crypto.randomBytes(4).toString('hex')}.test`;
  const owner = await server.api.signup('SSO Co', `owner@${domain}`);
  return { server, idp, owner, domain };
}

async function configure(s: Setup, extra: Record<string, unknown> = {}) {
  const r = await s.server.api.put(
    '/api/v1/workspace/sso',
    { issuer: s.idp.issuer, clientId: s.idp.client.clientId, clientSecret: s.idp.client.clientSecret, allowedDomains: [s.domain], ...extra },
    s.owner.accessToken,
  );
  assert.equal(r.status, 200, r.text);
  return r.body;
}

/** Signs in through the provider as `sub`; returns the `/sso/done` fragment's parameters. */
async function ssoSignIn(s: Setup, sub: string, opts: { browser?: CookieBrowser; start?: string } = {}): Promise<URLSearchParams> {
  const browser = opts.browser ?? new CookieBrowser();
  s.idp.loginAs = sub;
  const start = opts.start ?? `${s.server.url}/api/v1/auth/sso/start?workspace=${s.owner.user.tenantId}`;
  const { url } = await browser.follow(start, (u) => u.pathname === '/sso/done');
  assert.equal(url.pathname, '/sso/done', `the flow ends at the web app (${url.href})`);
  return new URLSearchParams(url.hash.slice(1));
}

/** Follows the flow up to the provider's redirect back to Quire, without calling the callback. */
async function toCallback(s: Setup, sub: string, browser = new CookieBrowser()): Promise<URL> {
  s.idp.loginAs = sub;
  const { url } = await browser.follow(`${s.server.url}/api/v1/auth/sso/start?workspace=${s.owner.user.tenantId}`, (u) => u.pathname === '/api/v1/auth/sso/callback');
  assert.equal(url.pathname, '/api/v1/auth/sso/callback', 'the provider sends the browser back');
  return url;
}

async function callbackError(browser: CookieBrowser, callback: URL): Promise<string | null> {
  const res = await browser.get(callback);
  assert.equal(res.status, 302, 'the callback redirects');
  const loc = new URL(res.headers.get('location')!);
  assert.equal(loc.pathname, '/sso/done', 'to the web app');
  return new URLSearchParams(loc.hash.slice(1)).get('error');
}

async function auditRows(s: Setup, action: string): Promise<{ action: string; detail: Record<string, unknown> | null; targetId: string | null }[]> {
  const r = await s.server.api.get(`/api/v1/audit?action=${encodeURIComponent(action)}&limit=100`, s.owner.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.entries;
}

async function exchange(s: Setup, code: string) {
  return s.server.api.post<Session & { error: { code: string } }>('/api/v1/auth/sso/exchange', { code });
}

for (const dialect of DIALECTS) {
  test(`[${dialect}] SSO sign-in end to end: JIT provisioning with the default role, the same user next time, one-time exchange, audited once`, async (t) => {
    const s = await setup(t, dialect);
    const settings = await configure(s);
    assert.equal(settings.callbackUrl, `${s.server.url}/api/v1/auth/sso/callback`, 'the callback URL to register');
    s.idp.accounts.set('alice-sub', { sub: 'alice-sub', email: `Alice@${s.domain}`, email_verified: true, name: 'Alice Example' });

    // The start redirect: code flow, PKCE S256, state, nonce, the scopes; a browser-binding cookie.
    const browser = new CookieBrowser();
    const start = await browser.get(`${s.server.url}/api/v1/auth/sso/start?workspace=${s.owner.user.tenantId}`);
    assert.equal(start.status, 302, 'start redirects');
    const auth = new URL(start.headers.get('location')!);
    assert.ok(auth.href.startsWith(s.idp.issuer), `to the provider (${auth.href})`);
    assert.equal(auth.searchParams.get('response_type'), 'code');
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(auth.searchParams.get('scope'), 'openid email profile');
    assert.ok(auth.searchParams.get('nonce'), 'a nonce');
    assert.ok(auth.searchParams.get('state')?.startsWith(`${s.owner.user.tenantId}.`), 'a state naming the workspace');
    assert.match(start.headers.get('set-cookie') ?? '', /quire_sso=[\w-]{43}; Path=\/api\/v1\/auth\/sso; Max-Age=600; HttpOnly; SameSite=Lax/, 'the browser binding cookie');

    const done = await ssoSignIn(s, 'alice-sub', { browser });
    const code = done.get('code');
    assert.ok(code, `a one-time code (${done.toString()})`);
    assert.ok(!done.has('accessToken') && !done.toString().includes('qrt_'), 'no token in the URL');
    const session = await exchange(s, code);
    assert.equal(session.status, 200, session.text);
    assert.equal(session.body.user.email, `alice@${s.domain}`);
    assert.equal(session.body.user.role, 'member', 'the default role');
    assert.equal(session.body.user.tenantId, s.owner.user.tenantId);
    const me = await s.server.api.get('/api/v1/me', session.body.accessToken);
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.displayName, 'Alice Example', 'the name from the provider');
    // The code works once.
    const again = await exchange(s, code);
    assert.equal(again.status, 401);
    assert.equal(again.body.error.code, 'sso_invalid_code');

    // The next sign-in finds the same user (by issuer and subject), even with a new email.
    s.idp.accounts.set('alice-sub', { sub: 'alice-sub', email: `alice.new@${s.domain}`, email_verified: true, name: 'Alice Example' });
    const second = await exchange(s, (await ssoSignIn(s, 'alice-sub')).get('code')!);
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.user.id, session.body.user.id, 'the same user');

    const provisioned = await auditRows(s, 'user.provisioned_sso');
    assert.equal(provisioned.length, 1, 'provisioned once');
    assert.equal(provisioned[0]!.targetId, session.body.user.id);
    assert.deepEqual(provisioned[0]!.detail, { issuer: s.idp.issuer, subject: 'alice-sub', role: 'member' });
    const logins = (await auditRows(s, 'auth.login')).filter((e) => e.detail?.['method'] === 'sso');
    assert.equal(logins.length, 2, 'one auth.login per SSO sign-in');
    assert.equal((await auditRows(s, 'auth.login_failed')).length, 0, 'no failure recorded');
    // The session is an SSO session.
    const method = await withTenant(s.server.quire.store.db, s.owner.user.tenantId, (tx) => tx.selectFrom('sessions').select('method').where('user_id', '=', session.body.user.id).execute());
    assert.deepEqual(
      method.map((m) => m.method),
      ['sso', 'sso'],
      'two sessions, method sso',
    );
  });

  test(`[${dialect}] SSO callback refusals: state (forged, replayed, another browser), nonce, issuer, audience, expiry, signature, provider error`, async (t) => {
    const s = await setup(t, dialect);
    await configure(s, { defaultRole: 'guest' });
    s.idp.accounts.set('bob', { sub: 'bob', email: `bob@${s.domain}`, email_verified: true });

    // A forged state: no pending login has it.
    const b1 = new CookieBrowser();
    const cb1 = await toCallback(s, 'bob', b1);
    const forged = new URL(cb1);
    forged.searchParams.set('state', `${s.owner.user.tenantId}.${crypto.randomBytes(32).toString('base64url')}`);
    assert.equal(await callbackError(b1, forged), 'sso_invalid_state', 'a forged state');
    // The real callback works once; replaying it is refused.
    const ok = await b1.get(cb1);
    const code = new URLSearchParams(new URL(ok.headers.get('location')!).hash.slice(1)).get('code');
    assert.ok(code, 'the genuine callback signs in');
    assert.equal(await callbackError(b1, cb1), 'sso_invalid_state', 'a replayed callback');
    // A callback URL taken to another browser (no binding cookie, or another one).
    const cb2 = await toCallback(s, 'bob');
    assert.equal(await callbackError(new CookieBrowser(), cb2), 'sso_invalid_state', 'another browser');
    const cb3 = await toCallback(s, 'bob');
    const other = new CookieBrowser();
    other.setCookie('quire_sso', crypto.randomBytes(32).toString('base64url'), '/api/v1/auth/sso');
    assert.equal(await callbackError(other, cb3), 'sso_invalid_state', 'another browser’s binding');

    // ID tokens rewritten at the token endpoint (everything else real).
    const cases: [string, TestProvider['tamper'], string][] = [
      ['nonce', (c) => ({ claims: { ...c, nonce: 'not-the-nonce' } }), 'sso_nonce_mismatch'],
      ['issuer', (c) => ({ claims: { ...c, iss: 'https://evil.example' } }), 'sso_issuer_mismatch'],
      ['audience', (c) => ({ claims: { ...c, aud: 'someone-else' } }), 'sso_audience_mismatch'],
      ['expiry', (c) => ({ claims: { ...c, iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 } }), 'sso_token_expired'],
      ['signature', (c) => ({ claims: c, signWith: 'foreign' }), 'sso_token_invalid'],
    ];
    for (const [what, tamper, expected] of cases) {
      const b = new CookieBrowser();
      const cb = await toCallback(s, 'bob', b);
      s.idp.tamper = tamper;
      try {
        assert.equal(await callbackError(b, cb), expected, `a wrong ${what}`);
      } finally {
        s.idp.tamper = null;
      }
    }
    // The provider refuses (no account signs in): its error comes back.
    const bp = new CookieBrowser();
    const refused = await toCallback(s, 'nobody', bp);
    assert.equal(refused.searchParams.get('error'), 'access_denied');
    assert.equal(await callbackError(bp, refused), 'sso_provider_error', 'the provider’s refusal');

    // Refusals of a real pending login are audited once each, with the reason; a forged state is not.
    const failed = await auditRows(s, 'auth.login_failed');
    const reasons = failed.map((e) => e.detail?.['reason']).sort();
    assert.deepEqual(
      reasons,
      [
        'sso_audience_mismatch',
        'sso_invalid_state',
        'sso_invalid_state',
        'sso_invalid_state',
        'sso_issuer_mismatch',
        'sso_nonce_mismatch',
        'sso_provider_error',
        'sso_token_expired',
        'sso_token_invalid',
      ],
      'one row per refusal',
    );
    // Only the genuine sign-in provisioned a user (as a guest: the default role), once.
    const provisioned = await auditRows(s, 'user.provisioned_sso');
    assert.equal(provisioned.length, 1, 'one user provisioned');
    const session = await exchange(s, code);
    assert.equal(session.status, 200, session.text);
    assert.equal(session.body.user.role, 'guest', 'the configured default role');
  });

  test(`[${dialect}] SSO accounts: linked by verified email, unverified refused, other domains refused, disabled users refused`, async (t) => {
    const s = await setup(t, dialect);
    await configure(s);
    const member = await s.server.api.post('/api/v1/users', { email: `carol@${s.domain}`, password: 'another good password', role: 'admin' }, s.owner.accessToken);
    assert.equal(member.status, 201, member.text);

    // An existing account is found by its verified email and linked.
    s.idp.accounts.set('carol', { sub: 'carol', email: `carol@${s.domain}`, email_verified: true });
    const carol = await exchange(s, (await ssoSignIn(s, 'carol')).get('code')!);
    assert.equal(carol.status, 200, carol.text);
    assert.equal(carol.body.user.id, member.body.id, 'the existing account');
    assert.equal(carol.body.user.role, 'admin', 'keeps its role');
    assert.equal((await auditRows(s, 'user.sso_linked')).length, 1, 'linked once');
    assert.equal((await auditRows(s, 'user.provisioned_sso')).length, 0, 'nobody provisioned yet');

    // Someone with a pending invitation joins with the invitation's role, and uses it.
    const invite = await s.server.api.post('/api/v1/invitations', { email: `jill@${s.domain}`, role: 'admin' }, s.owner.accessToken);
    assert.equal(invite.status, 201, invite.text);
    s.idp.accounts.set('jill', { sub: 'jill', email: `jill@${s.domain}`, email_verified: true });
    const jill = await exchange(s, (await ssoSignIn(s, 'jill')).get('code')!);
    assert.equal(jill.status, 200, jill.text);
    assert.equal(jill.body.user.role, 'admin', 'the invitation’s role, not the default');
    const accepted = await auditRows(s, 'invitation.accepted');
    assert.equal(accepted.length, 1, 'the invitation is used, once');
    assert.equal(accepted[0]!.detail?.['via'], 'sso');
    assert.deepEqual(
      (await auditRows(s, 'user.provisioned_sso')).map((e) => e.detail?.['role']),
      ['admin'],
    );
    assert.equal((await s.server.api.get('/api/v1/invitations', s.owner.accessToken)).body.invitations.length, 0, 'no longer pending');

    // Unverified emails neither link nor provision.
    s.idp.accounts.set('dave', { sub: 'dave', email: `dave@${s.domain}`, email_verified: false });
    assert.equal((await ssoSignIn(s, 'dave')).get('error'), 'sso_email_unverified');
    // A domain the workspace does not take.
    s.idp.accounts.set('erin', { sub: 'erin', email: 'erin@elsewhere.test', email_verified: true });
    assert.equal((await ssoSignIn(s, 'erin')).get('error'), 'sso_domain_not_allowed');
    // An email of an account in another workspace.
    const otherDomainOwner = await s.server.api.signup('Other', `frank@${s.domain}`);
    assert.ok(otherDomainOwner.user.tenantId !== s.owner.user.tenantId, 'another workspace');
    s.idp.accounts.set('frank', { sub: 'frank', email: `frank@${s.domain}`, email_verified: true });
    assert.equal((await ssoSignIn(s, 'frank')).get('error'), 'sso_email_taken');

    // A removed (disabled) user is refused at the callback, and the refusal is audited.
    const del = await s.server.api.del(`/api/v1/users/${member.body.id}`, s.owner.accessToken);
    assert.equal(del.status, 204, del.text);
    assert.equal((await ssoSignIn(s, 'carol')).get('error'), 'account_inactive', 'a disabled account');
    const failed = (await auditRows(s, 'auth.login_failed')).filter((e) => e.detail?.['reason'] === 'account_inactive');
    assert.equal(failed.length, 1, 'audited once');
    assert.equal(failed[0]!.targetId, member.body.id);
  });

  test(`[${dialect}] mandatory SSO: members get 403 sso_required at password login, owners keep a break-glass login (audited); discovery by domain`, async (t) => {
    const s = await setup(t, dialect);
    const member = await s.server.api.post('/api/v1/users', { email: `gina@${s.domain}`, password: 'another good password', role: 'admin' }, s.owner.accessToken);
    assert.equal(member.status, 201, member.text);
    const before = await s.server.api.get(`/api/v1/auth/sso/discover?email=${encodeURIComponent(`gina@${s.domain}`)}`);
    assert.deepEqual(before.body, { sso: false, mandatory: false }, 'no SSO yet');

    const passwordSession = await s.server.api.post<Session>('/api/v1/auth/login', { email: `gina@${s.domain}`, password: 'another good password' });
    assert.equal(passwordSession.status, 200, 'a password session before SSO is mandatory');

    await configure(s, { mandatory: true });
    // Making SSO mandatory ends the password sessions of everyone but owners, at once.
    const ended = await s.server.api.get('/api/v1/me', passwordSession.body.accessToken);
    assert.equal(ended.status, 401, ended.text);
    assert.equal(ended.body.error.code, 'session_revoked');
    assert.equal((await s.server.api.post('/api/v1/auth/refresh', { refreshToken: passwordSession.body.refreshToken })).status, 401, 'its refresh token is revoked');
    assert.equal((await s.server.api.get('/api/v1/me', s.owner.accessToken)).status, 200, 'the owner’s session stays');
    const changed = await auditRows(s, 'sso.config_changed');
    assert.equal(changed.length, 1);
    assert.equal(changed[0]!.detail?.['endedSessions'], 1, 'the audit row counts the ended sessions');
    const discover = await s.server.api.get(`/api/v1/auth/sso/discover?email=${encodeURIComponent(`gina@${s.domain}`)}`);
    assert.equal(discover.status, 200, discover.text);
    assert.equal(discover.body.sso, true);
    assert.equal(discover.body.mandatory, true);
    // The same answer for an address with no account: discovery goes by domain only.
    const nobody = await s.server.api.get(`/api/v1/auth/sso/discover?email=${encodeURIComponent(`no-such-person@${s.domain}`)}`);
    assert.deepEqual({ ...nobody.body, startUrl: undefined }, { ...discover.body, startUrl: undefined }, 'no account enumeration');
    assert.deepEqual((await s.server.api.get('/api/v1/auth/sso/discover?email=someone%40unclaimed.test')).body, { sso: false, mandatory: false });

    const refused = await s.server.api.post('/api/v1/auth/login', { email: `gina@${s.domain}`, password: 'another good password' });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.body.error.code, 'sso_required');
    const wrong = await s.server.api.post('/api/v1/auth/login', { email: `gina@${s.domain}`, password: 'not the password at all' });
    assert.equal(wrong.body.error.code, 'invalid_credentials', 'a wrong password learns nothing about SSO');
    const owner = await s.server.api.post('/api/v1/auth/login', { email: `owner@${s.domain}`, password: 'correct horse battery' });
    assert.equal(owner.status, 200, owner.text);

    const logins = await auditRows(s, 'auth.login');
    assert.equal(logins.filter((e) => e.detail?.['breakGlass'] === true).length, 1, 'the break-glass login, once');
    const failed = (await auditRows(s, 'auth.login_failed')).filter((e) => e.detail?.['reason'] === 'sso_required');
    assert.equal(failed.length, 1, 'the refused member, once');
    assert.equal(failed[0]!.targetId, member.body.id);

    // The member signs in through SSO, starting from the email (domain discovery).
    s.idp.accounts.set('gina', { sub: 'gina', email: `gina@${s.domain}`, email_verified: true });
    const done = await ssoSignIn(s, 'gina', { start: discover.body.startUrl });
    const session = await exchange(s, done.get('code')!);
    assert.equal(session.status, 200, session.text);
    assert.equal(session.body.user.id, member.body.id);

    // Switched off: password login works again, the start answers "not configured".
    assert.equal((await s.server.api.del('/api/v1/workspace/sso', s.owner.accessToken)).status, 204);
    assert.equal((await s.server.api.post('/api/v1/auth/login', { email: `gina@${s.domain}`, password: 'another good password' })).status, 200);
    assert.equal((await ssoSignIn(s, 'gina')).get('error'), 'sso_not_configured');
    assert.equal((await auditRows(s, 'sso.disabled')).length, 1, 'switched off, audited once');
  });

  test(`[${dialect}] SSO settings: admins only, discovery checked before saving, the secret never answered and sealed at rest, workspaces apart`, async (t) => {
    const s = await setup(t, dialect);
    const { api } = s.server;
    const member = await api.addUser(s.owner, 'member');
    const admin = await api.addUser(s.owner, 'admin');
    const body = { issuer: s.idp.issuer, clientId: s.idp.client.clientId, clientSecret: s.idp.client.clientSecret, allowedDomains: [s.domain.toUpperCase()] };

    assert.equal((await api.get('/api/v1/workspace/sso', member.accessToken)).status, 403, 'members may not read');
    assert.equal((await api.put('/api/v1/workspace/sso', body, member.accessToken)).status, 403, 'members may not change');
    assert.equal((await api.del('/api/v1/workspace/sso', member.accessToken)).status, 403, 'members may not switch off');
    const empty = await api.get('/api/v1/workspace/sso', admin.accessToken);
    assert.equal(empty.status, 200, empty.text);
    assert.equal(empty.body.configured, false);

    // Discovery must work before anything is saved.
    const bad = await api.put('/api/v1/workspace/sso', { ...body, issuer: `${s.idp.issuer}/not-an-issuer` }, admin.accessToken);
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.body.error.code, 'sso_discovery_failed');
    assert.equal((await api.put('/api/v1/workspace/sso', { ...body, defaultRole: 'owner' }, admin.accessToken)).status, 400, 'never owner by default');
    assert.equal((await api.get('/api/v1/workspace/sso', admin.accessToken)).body.configured, false, 'nothing saved');

    const saved = await api.put('/api/v1/workspace/sso', body, admin.accessToken);
    assert.equal(saved.status, 200, saved.text);
    assert.equal(saved.body.hasClientSecret, true);
    assert.deepEqual(saved.body.allowedDomains, [s.domain], 'domains lower-cased');
    assert.ok(!saved.text.includes(s.idp.client.clientSecret), 'the secret is not in the answer');
    const read = await api.get('/api/v1/workspace/sso', s.owner.accessToken);
    assert.ok(!read.text.includes(s.idp.client.clientSecret), 'nor in a read');
    // Saving again without a secret keeps the stored one.
    const kept = await api.put('/api/v1/workspace/sso', { issuer: body.issuer, clientId: body.clientId, allowedDomains: [s.domain], mandatory: true }, admin.accessToken);
    assert.equal(kept.body.hasClientSecret, true, 'kept');
    const audit = await auditRows(s, 'sso.config_changed');
    assert.equal(audit.length, 2, 'one row per change');
    assert.ok(!JSON.stringify(audit).includes(s.idp.client.clientSecret), 'the audit never holds the secret');
    assert.deepEqual(
      audit.map((a) => a.detail?.['secret']),
      ['kept', 'set'],
    );
    // Sealed at rest.
    const row = await withTenant(s.server.quire.store.db, s.owner.user.tenantId, (tx) => tx.selectFrom('sso_configs').select('client_secret_enc').executeTakeFirstOrThrow());
    assert.ok(row.client_secret_enc?.startsWith('v1.') && !row.client_secret_enc.includes(s.idp.client.clientSecret), 'sealed');

    // Another workspace sees and changes only its own.
    const other = await api.signup('Elsewhere');
    const theirs = await api.get('/api/v1/workspace/sso', other.accessToken);
    assert.equal(theirs.body.configured, false, 'another workspace reads its own (none)');
    const claim = await api.put('/api/v1/workspace/sso', { ...body, allowedDomains: [s.domain] }, other.accessToken);
    assert.equal(claim.status, 409, claim.text);
    assert.equal(claim.body.error.code, 'sso_domain_taken', 'a claimed domain stays claimed');
    assert.equal((await api.del('/api/v1/workspace/sso', other.accessToken)).status, 204);
    assert.equal((await api.get('/api/v1/workspace/sso', s.owner.accessToken)).body.configured, true, 'ours untouched');
    const rows = await withTenant(s.server.quire.store.db, other.user.tenantId, (tx) => tx.selectFrom('sso_configs').select('tenant_id').execute());
    assert.equal(rows.length, 0, 'RLS: another workspace’s settings are invisible');
  });
}

test('the public SSO endpoints take the auth rate limit per address', async (t) => {
  const s = await setup(t, 'pglite', { RATE_LIMIT_AUTH_PER_MINUTE: '1', RATE_LIMIT_AUTH_BURST: '3' });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await s.server.api.get(`/api/v1/auth/sso/discover?email=a%40${s.domain}`)).status);
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal((await s.server.api.post('/api/v1/auth/sso/exchange', { code: 'x' })).status, 429, 'the exchange too');
});

test('the issuer guard: without SSO_ALLOW_PRIVATE_ISSUERS an issuer must be https and public, so settings cannot point the server at its own network', async (t) => {
  const server = await startServer(t, { dialect: 'pglite' });
  const owner = await server.api.signup('Guarded');
  const idp = await startOidcProvider(t, { redirectUri: `${server.url}/api/v1/auth/sso/callback` });
  for (const [issuer, reason] of [
    [idp.issuer, /https/],
    ['https://127.0.0.1:9/', /private, loopback or reserved/],
    ['https://169.254.169.254/latest/', /private, loopback or reserved/],
    ['https://localhost/', /private, loopback or reserved/],
  ] as const) {
    const r = await server.api.put('/api/v1/workspace/sso', { issuer, clientId: 'x', clientSecret: 'y' }, owner.accessToken);
    assert.equal(r.status, 400, `${issuer}: ${r.text}`);
    assert.equal(r.body.error.code, 'sso_discovery_failed');
    assert.match(r.body.error.message, reason, issuer);
  }
  assert.equal(idp.requests, 0, 'nothing reached the provider (not even discovery)');
});

test('the SDK: SSO settings, discovery, the start URL, and ssoExchange keeping the session like login', async (t) => {
  const s = await setup(t, 'pglite');
  const admin = new QuireClient({ baseUrl: s.server.url, tokens: memoryTokenStorage() });
  unwrap(await admin.login({ email: `owner@${s.domain}`, password: 'correct horse battery' }));
  const saved = unwrap(await admin.putSso({ issuer: s.idp.issuer, clientId: s.idp.client.clientId, clientSecret: s.idp.client.clientSecret, allowedDomains: [s.domain] }));
  assert.equal(saved.hasClientSecret, true);
  assert.equal(unwrap(await admin.getSso()).issuer, s.idp.issuer);

  const sdk = new QuireClient({ baseUrl: s.server.url, tokens: memoryTokenStorage() });
  const heard: string[] = [];
  sdk.onSession((u, reason) => heard.push(`${reason}:${u?.email ?? '-'}`));
  const found = unwrap(await sdk.ssoDiscover(`ida@${s.domain}`));
  assert.equal(found.sso, true);
  assert.equal(sdk.ssoStartUrl({ email: `ida@${s.domain}` }), found.startUrl, 'the same start URL');
  s.idp.accounts.set('ida', { sub: 'ida', email: `ida@${s.domain}`, email_verified: true });
  const done = await ssoSignIn(s, 'ida', { start: sdk.ssoStartUrl({ email: `ida@${s.domain}` }) });
  const session = unwrap(await sdk.ssoExchange(done.get('code')!));
  assert.equal(sdk.user?.email, `ida@${s.domain}`, 'kept as the signed-in user');
  assert.deepEqual(heard, [`signed-in:ida@${s.domain}`]);
  assert.equal(unwrap(await sdk.getWorkspace()).id, session.user.tenantId, 'the stored session works');
  const again = await sdk.ssoExchange(done.get('code')!);
  assert.ok(!again.ok && again.error.code === 'sso_invalid_code', 'the code works once');
  assert.equal(sdk.user?.email, `ida@${s.domain}`, 'a refused exchange leaves the session alone');

  unwrap(await admin.deleteSso());
  assert.equal(unwrap(await admin.getSso()).configured, false);
});
