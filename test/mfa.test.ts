/**
 * Two-factor sign-in (TOTP, RFC 6238), with codes computed in the test: enrolment from the
 * account page, sign-in with a code or a recovery code, replayed and stale codes refused, a
 * challenge's attempt limit and expiry, a workspace that requires MFA (enrolment at
 * sign-in), an admin's reset, and an audit row for each event.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { MfaChallenge, MfaEnrolled, MfaEnrolment, MfaStatus, RecoveryCodes, WorkspaceMfa } from '../contract/api.js';
import { TOTP_PERIOD_SECONDS, totpCode } from '../core/totp.js';
import { connect, synced } from './helpers/provider.js';
import { DIALECTS, startServer, TEST_SECRETS_KEY, type TestServer } from './helpers/server.js';
import { SecretBox, sameSecretsKey } from '../core/secret-box.js';
import crypto from 'node:crypto';
import { eventually } from './helpers/wait.js';
import type { Session } from './helpers/api.js';

const STRONG = 'correct horse battery';
const MEMBER_PASSWORD = 'another good password';
const STEP_MS = TOTP_PERIOD_SECONDS * 1000;

async function auditCount(server: TestServer, action: string, targetId?: string): Promise<number> {
  const r = await sql<{ n: string }>`
    select count(*)::text as n from audit_log where action = ${action} and (${targetId ?? null}::uuid is null or target_id = ${targetId ?? null})`.execute(server.quire.store.owner);
  return Number(r.rows[0]?.n);
}

/** A later time step for the next code: a code works once, so each use needs a step after the last one. */
async function forgetLastStep(server: TestServer, userId: string): Promise<void> {
  await sql`update users set mfa_last_step = null where id = ${userId}`.execute(server.quire.store.owner);
}

/** Enrols an authenticator from the account page; answers the secret and the recovery codes. */
async function enrol(server: TestServer, s: Session): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await server.api.post<MfaEnrolment>('/api/v1/me/mfa/enrol', undefined, s.accessToken);
  assert.equal(started.status, 200, started.text);
  const confirmed = await server.api.post<RecoveryCodes>('/api/v1/me/mfa/confirm', { code: totpCode(started.body.secret) }, s.accessToken);
  assert.equal(confirmed.status, 200, confirmed.text);
  return { secret: started.body.secret, recoveryCodes: confirmed.body.recoveryCodes };
}

async function challengeFor(server: TestServer, email: string, password: string, code: 'mfa_required' | 'mfa_enrollment_required'): Promise<MfaChallenge> {
  const r = await server.api.post('/api/v1/auth/login', { email, password });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.error.code, code);
  const details = r.body.error.details as MfaChallenge;
  assert.match(details.challenge, /^qmc_/);
  assert.ok(Date.parse(details.expiresAt) > Date.now(), 'the challenge is live');
  assert.equal(r.body.accessToken, undefined, 'no session yet');
  return details;
}

for (const dialect of DIALECTS) {
  test(`${dialect}: enrol with a QR secret and a first code, then sign in with a code; a replayed or stale code is refused`, async (t) => {
    const server = await startServer(t, { dialect });
    const { api } = server;
    const owner = await api.signup('Acme', `mfa-${dialect}@example.test`, STRONG);

    const before = await api.get<MfaStatus>('/api/v1/me/mfa', owner.accessToken);
    assert.deepEqual(before.body, { enabled: false, enabledAt: null, recoveryCodesLeft: 0, requiredByWorkspace: false });

    const started = await api.post<MfaEnrolment>('/api/v1/me/mfa/enrol', undefined, owner.accessToken);
    assert.equal(started.status, 200, started.text);
    const { secret, otpauthUri } = started.body;
    assert.match(secret, /^[A-Z2-7]{32}$/, '160 bits in base 32');
    const uri = new URL(otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Quire');
    assert.match(decodeURIComponent(uri.pathname), new RegExp(`mfa-${dialect}@example.test`));
    // Nothing is on until a first code confirms it: login still answers a session.
    assert.equal((await api.post('/api/v1/auth/login', { email: owner.user.email, password: STRONG })).status, 200);

    const wrong = await api.post('/api/v1/me/mfa/confirm', { code: '000000' === totpCode(secret) ? '111111' : '000000' }, owner.accessToken);
    assert.equal(wrong.status, 401, wrong.text);
    assert.equal(wrong.body.error.code, 'invalid_mfa_code');
    const confirmed = await api.post<RecoveryCodes>('/api/v1/me/mfa/confirm', { code: totpCode(secret) }, owner.accessToken);
    assert.equal(confirmed.status, 200, confirmed.text);
    const codes = confirmed.body.recoveryCodes;
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10, 'all different');
    for (const c of codes) assert.match(c, /^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const stored = await sql<{ code_hash: string }>`select code_hash from mfa_recovery_codes`.execute(server.quire.store.owner);
    assert.equal(stored.rows.length, 10);
    assert.ok(
      stored.rows.every((r) => !codes.some((c) => r.code_hash.includes(c.replace(/-/g, '')))),
      'recovery codes are stored hashed',
    );
    const secretAtRest = await sql<{ mfa_secret: string }>`select mfa_secret from users where id = ${owner.user.id}`.execute(server.quire.store.owner);
    assert.ok(!secretAtRest.rows[0]?.mfa_secret.includes(secret), 'the secret is sealed at rest');
    const status = await api.get<MfaStatus>('/api/v1/me/mfa', owner.accessToken);
    assert.equal(status.body.enabled, true);
    assert.equal(status.body.recoveryCodesLeft, 10);
    assert.equal((await api.post('/api/v1/me/mfa/enrol', undefined, owner.accessToken)).body.error?.code, 'mfa_already_enabled');

    // Sign-in now takes a code. The one just used at enrolment is refused (a code works once).
    const challenge = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
    const replay = await api.post('/api/v1/auth/mfa', { challenge: challenge.challenge, code: totpCode(secret) });
    assert.equal(replay.status, 401, replay.text);
    assert.equal(replay.body.error.code, 'invalid_mfa_code');
    // The next step's code (the app's clock a little ahead) works, and is the session.
    const next = totpCode(secret, Date.now() + STEP_MS);
    const signedIn = await api.post<Session>('/api/v1/auth/mfa', { challenge: challenge.challenge, code: next });
    assert.equal(signedIn.status, 200, signedIn.text);
    assert.equal(signedIn.body.user.id, owner.user.id);
    assert.equal((await api.get('/api/v1/me', signedIn.body.accessToken)).status, 200);
    const sessions = await api.get('/api/v1/me/sessions', signedIn.body.accessToken);
    assert.equal(sessions.body.sessions.find((s: { current: boolean }) => s.current)?.mfa, true, 'the session passed a second factor');
    // The challenge is used; the same code in a new challenge is a replay; an older code is stale.
    assert.equal((await api.post('/api/v1/auth/mfa', { challenge: challenge.challenge, code: next })).body.error?.code, 'invalid_mfa_challenge');
    const again = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
    assert.equal((await api.post('/api/v1/auth/mfa', { challenge: again.challenge, code: next })).body.error?.code, 'invalid_mfa_code', 'replayed');
    assert.equal((await api.post('/api/v1/auth/mfa', { challenge: again.challenge, code: totpCode(secret, Date.now() - STEP_MS) })).body.error?.code, 'invalid_mfa_code', 'older than one used');
    await forgetLastStep(server, owner.user.id);
    assert.equal((await api.post('/api/v1/auth/mfa', { challenge: again.challenge, code: totpCode(secret, Date.now() - 10 * STEP_MS) })).body.error?.code, 'invalid_mfa_code', 'five minutes old');
    assert.equal((await api.post('/api/v1/auth/mfa', { challenge: again.challenge, code: 'abcdef' })).status, 401, 'not digits');

    assert.equal(await auditCount(server, 'mfa.enabled', owner.user.id), 1);
    assert.equal(await auditCount(server, 'auth.mfa_failed', owner.user.id), 5, 'one row per refused sign-in code');
    const logins = await sql<{ detail: unknown }>`select detail from audit_log where action = 'auth.login' and detail is not null`.execute(server.quire.store.owner);
    assert.deepEqual(
      logins.rows.map((r) => r.detail),
      [{ mfa: 'totp' }],
    );
  });
}

test('recovery codes sign in once each; new ones replace the old; turning MFA off needs a code', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme', 'recovery@example.test', STRONG);
  const { secret, recoveryCodes } = await enrol(server, owner);

  const c1 = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
  const withRecovery = await api.post<Session>('/api/v1/auth/mfa', { challenge: c1.challenge, code: recoveryCodes[0]!.toUpperCase() });
  assert.equal(withRecovery.status, 200, 'case and dashes do not matter: ' + withRecovery.text);
  const c2 = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
  assert.equal((await api.post('/api/v1/auth/mfa', { challenge: c2.challenge, code: recoveryCodes[0] })).body.error?.code, 'invalid_mfa_code', 'used once');
  assert.equal((await api.get<MfaStatus>('/api/v1/me/mfa', withRecovery.body.accessToken)).body.recoveryCodesLeft, 9);

  // New codes need a code from the app (not a recovery code); the old ones stop working.
  assert.equal((await api.post('/api/v1/me/mfa/recovery-codes', { code: recoveryCodes[1] }, owner.accessToken)).status, 401);
  await forgetLastStep(server, owner.user.id);
  const fresh = await api.post<RecoveryCodes>('/api/v1/me/mfa/recovery-codes', { code: totpCode(secret) }, owner.accessToken);
  assert.equal(fresh.status, 200, fresh.text);
  assert.equal(fresh.body.recoveryCodes.length, 10);
  assert.equal((await api.post('/api/v1/auth/mfa', { challenge: c2.challenge, code: recoveryCodes[1] })).body.error?.code, 'invalid_mfa_code', 'old codes are gone');
  assert.equal((await api.post<Session>('/api/v1/auth/mfa', { challenge: c2.challenge, code: fresh.body.recoveryCodes[3] })).status, 200);

  // Off with a wrong code: refused, audited. With a recovery code: off, and login is a password again.
  const wrong = await api.request('DELETE', '/api/v1/me/mfa', { token: owner.accessToken, json: { code: '123456' === totpCode(secret) ? '654321' : '123456' } });
  assert.equal(wrong.status, 401);
  assert.equal(await auditCount(server, 'mfa.code_refused', owner.user.id), 2, 'the recovery code offered for new codes, and this one');
  const off = await api.request('DELETE', '/api/v1/me/mfa', { token: owner.accessToken, json: { code: fresh.body.recoveryCodes[0] } });
  assert.equal(off.status, 204, off.text);
  assert.equal((await api.post('/api/v1/auth/login', { email: owner.user.email, password: STRONG })).status, 200);
  assert.equal((await sql<{ n: string }>`select count(*)::text as n from mfa_recovery_codes`.execute(server.quire.store.owner)).rows[0]?.n, '0');
  for (const action of ['mfa.enabled', 'mfa.recovery_codes_regenerated', 'mfa.disabled']) assert.equal(await auditCount(server, action), 1, action);
});

test('a challenge takes five wrong codes, expires, and belongs to its workspace', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme', 'attempts@example.test', STRONG);
  const { secret } = await enrol(server, owner);
  await forgetLastStep(server, owner.user.id);

  const c = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
  const bad = totpCode(secret) === '999999' ? '999998' : '999999';
  for (let i = 0; i < 5; i++) assert.equal((await api.post('/api/v1/auth/mfa', { challenge: c.challenge, code: bad })).body.error?.code, 'invalid_mfa_code');
  const spent = await api.post('/api/v1/auth/mfa', { challenge: c.challenge, code: totpCode(secret) });
  assert.equal(spent.status, 401);
  assert.equal(spent.body.error.code, 'invalid_mfa_challenge', 'spent after five wrong codes, even with the right one');

  const d = await challengeFor(server, owner.user.email, STRONG, 'mfa_required');
  await sql`update mfa_challenges set expires_at = now() - interval '1 second'`.execute(server.quire.store.owner);
  assert.equal((await api.post('/api/v1/auth/mfa', { challenge: d.challenge, code: totpCode(secret) })).body.error?.code, 'invalid_mfa_challenge', 'expired');

  // A made-up challenge, one naming another workspace, malformed ones: the same refusal.
  const other = await api.signup('Other', 'other-attempts@example.test', STRONG);
  const forged = d.challenge.replace(/^qmc_[0-9a-f-]{36}/, `qmc_${other.user.tenantId}`);
  for (const challenge of [forged, 'qmc_nope', 'x'.repeat(50)]) {
    const r = await api.post('/api/v1/auth/mfa', { challenge, code: totpCode(secret) });
    assert.equal(r.status, 401, r.text);
    assert.equal(r.body.error.code, 'invalid_mfa_challenge');
  }
  for (const body of [{}, { challenge: d.challenge }, { challenge: d.challenge, code: 'x'.repeat(100) }, { challenge: 5, code: '123456' }]) {
    assert.equal((await api.post('/api/v1/auth/mfa', body)).status, 400, JSON.stringify(body));
  }
});

test('a workspace that requires MFA: members without it are signed out and enrol at sign-in; an admin resets a lost device', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme', 'required@example.test', STRONG);
  const member = await api.addUser(owner, 'member');
  const admin = await api.addUser(owner, 'admin');
  const doc = await api.createDocument(member, 'Notes');
  const live = connect(t, server.url, doc.id, member.accessToken, { reconnect: false });
  await synced(live);

  // The one who requires it needs it first.
  const early = await api.put('/api/v1/workspace/mfa', { required: true }, owner.accessToken);
  assert.equal(early.status, 400, early.text);
  assert.equal(early.body.error.code, 'mfa_not_enabled');
  assert.equal((await api.put('/api/v1/workspace/mfa', { required: true }, member.accessToken)).status, 403, 'members cannot');
  const ownerMfa = await enrol(server, owner);
  const required = await api.put<WorkspaceMfa>('/api/v1/workspace/mfa', { required: true }, owner.accessToken);
  assert.equal(required.status, 200, required.text);
  assert.equal(required.body.required, true);
  assert.ok(required.body.sessionsEnded >= 2, `the member's and the admin's sessions end (${required.body.sessionsEnded})`);
  await eventually(
    () =>
      assert.deepEqual(
        live.closes.map((c) => [c.code, c.reason]),
        [[4401, 'session_revoked']],
      ),
    { timeoutMs: 10_000 },
  );
  assert.equal((await api.get('/api/v1/me', member.accessToken)).body.error?.code, 'session_revoked');
  assert.equal((await api.get('/api/v1/me', owner.accessToken)).status, 200, 'the owner has MFA: their session stays');
  assert.equal((await api.get<MfaStatus>('/api/v1/me/mfa', owner.accessToken)).body.requiredByWorkspace, true);

  // The member signs in: enrolment first, then the session and recovery codes.
  const c = await challengeFor(server, member.user.email, MEMBER_PASSWORD, 'mfa_enrollment_required');
  assert.equal((await api.post('/api/v1/auth/mfa', { challenge: c.challenge, code: '123456' })).body.error?.code, 'invalid_mfa_challenge', 'an enrolment challenge does not verify');
  const secret = await api.post<MfaEnrolment>('/api/v1/auth/mfa/enrol', { challenge: c.challenge });
  assert.equal(secret.status, 200, secret.text);
  const same = await api.post<MfaEnrolment>('/api/v1/auth/mfa/enrol', { challenge: c.challenge });
  assert.equal(same.body.secret, secret.body.secret, 'asking again gives the same secret');
  const enrolled = await api.post<MfaEnrolled>('/api/v1/auth/mfa/enrol/confirm', { challenge: c.challenge, code: totpCode(secret.body.secret) });
  assert.equal(enrolled.status, 200, enrolled.text);
  assert.equal(enrolled.body.recoveryCodes.length, 10);
  assert.equal((await api.get('/api/v1/me', enrolled.body.accessToken)).status, 200);
  assert.equal((await api.post('/api/v1/auth/mfa/enrol/confirm', { challenge: c.challenge, code: totpCode(secret.body.secret) })).body.error?.code, 'invalid_mfa_challenge', 'used once');
  // It cannot be turned off while required.
  const off = await api.request('DELETE', '/api/v1/me/mfa', { token: enrolled.body.accessToken, json: { code: enrolled.body.recoveryCodes[0] } });
  assert.equal(off.status, 403, off.text);
  assert.equal(off.body.error.code, 'mfa_required_by_workspace');

  // Lost phone: an admin resets it; every session of the member ends; they enrol again.
  assert.equal((await api.del(`/api/v1/users/${member.user.id}/mfa`, member.accessToken)).status, 401, 'the member was signed out above');
  const adminSession = await (async () => {
    const ac = await challengeFor(server, admin.user.email, MEMBER_PASSWORD, 'mfa_enrollment_required');
    const s = await api.post<MfaEnrolment>('/api/v1/auth/mfa/enrol', { challenge: ac.challenge });
    const e = await api.post<MfaEnrolled>('/api/v1/auth/mfa/enrol/confirm', { challenge: ac.challenge, code: totpCode(s.body.secret) });
    assert.equal(e.status, 200, e.text);
    return e.body;
  })();
  assert.equal((await api.del(`/api/v1/users/${owner.user.id}/mfa`, adminSession.accessToken)).status, 403, "an admin cannot reset an owner's");
  const reset = await api.del(`/api/v1/users/${member.user.id}/mfa`, adminSession.accessToken);
  assert.equal(reset.status, 204, reset.text);
  assert.equal((await api.get('/api/v1/me', enrolled.body.accessToken)).body.error?.code, 'session_revoked');
  await challengeFor(server, member.user.email, MEMBER_PASSWORD, 'mfa_enrollment_required');
  assert.equal((await api.del(`/api/v1/users/${member.user.id}/mfa`, adminSession.accessToken)).body.error?.code, 'mfa_not_enabled');

  // Another workspace's admin finds no such user.
  const other = await api.signup('Other', 'other-required@example.test', STRONG);
  assert.equal((await api.del(`/api/v1/users/${owner.user.id}/mfa`, other.accessToken)).status, 404);

  // Not required any more: a user without MFA signs in with a password alone.
  await forgetLastStep(server, owner.user.id);
  assert.equal((await api.put<WorkspaceMfa>('/api/v1/workspace/mfa', { required: false }, owner.accessToken)).body.required, false);
  assert.equal((await api.post('/api/v1/auth/login', { email: member.user.email, password: MEMBER_PASSWORD })).status, 200);
  assert.ok(ownerMfa.secret.length > 0, 'the owner keeps theirs');
  for (const [action, n] of [
    ['workspace.mfa_required', 2],
    ['mfa.reset', 1],
    ['mfa.enabled', 3],
  ] as const) {
    assert.equal(await auditCount(server, action), n, action);
  }
});

test('two instances: a challenge from one is answered on the other; an instance with another secrets key is told at start', async (t) => {
  const a = await startServer(t, { redis: true });
  const b = await startServer(t, { schema: a.schema, redis: true });
  const owner = await a.api.signup('Acme', 'two-instances@example.test', STRONG);
  const { secret } = await enrol(a, owner);
  await forgetLastStep(a, owner.user.id);
  const c = await challengeFor(b, owner.user.email, STRONG, 'mfa_required');
  const signedIn = await a.api.post<Session>('/api/v1/auth/mfa', { challenge: c.challenge, code: totpCode(secret) });
  assert.equal(signedIn.status, 200, signedIn.text);
  assert.equal((await b.api.get('/api/v1/me', signedIn.body.accessToken)).status, 200);

  assert.equal(await sameSecretsKey(a.quire.store.db, new SecretBox(Buffer.from(TEST_SECRETS_KEY, 'base64'))), true, 'the same key');
  assert.equal(await sameSecretsKey(a.quire.store.db, new SecretBox(crypto.randomBytes(32))), false, 'another key is noticed');
});
