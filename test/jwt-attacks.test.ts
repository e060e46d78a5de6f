import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { TokenService } from '../core/tokens.js';
import { startServer, testKeys } from './helpers/server.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

test('every forged or invalid access token is rejected with 401', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const { keys, publicPem } = await testKeys();
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: s.user.id, tid: s.user.tenantId, role: 'owner', iss: 'quire', aud: 'quire', iat: now, exp: now + 600 };
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'at+jwt', ...header }).sign(keys.privateKey);

  // Sanity: a correctly signed token with these claims is accepted.
  assert.equal((await api.get('/api/v1/documents', await sign(claims))).status, 200);

  const [h, p] = s.accessToken.split('.') as [string, string, string];
  const other = await generateKeyPair('RS256');
  const hsSig = crypto
    .createHmac('sha256', publicPem)
    .update(`${b64({ alg: 'HS256', kid: keys.kid, typ: 'at+jwt' })}.${b64(claims)}`)
    .digest('base64url');
  const tampered = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'owner', tid: crypto.randomUUID() };

  const attacks: Record<string, string> = {
    'alg none': `${b64({ alg: 'none', typ: 'at+jwt', kid: keys.kid })}.${b64(claims)}.`,
    'HS256 signed with the public key': `${b64({ alg: 'HS256', kid: keys.kid, typ: 'at+jwt' })}.${b64(claims)}.${hsSig}`,
    expired: await sign({ ...claims, iat: now - 3600, exp: now - 1800 }),
    'wrong aud': await sign({ ...claims, aud: 'someone-else' }),
    'wrong iss': await sign({ ...claims, iss: 'https://evil.example' }),
    'tampered payload': `${h}.${b64(tampered)}.${s.accessToken.split('.')[2]}`,
    'unknown kid': await sign(claims, { kid: 'not-our-key' }),
    'signed by another key with our kid': await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'at+jwt' }).sign(other.privateKey),
    'wrong typ (an ID token)': await sign(claims, { typ: 'JWT' }),
    'missing tenant claim': await sign({ ...claims, tid: undefined }),
    garbage: 'not.a.jwt-at-all',
  };
  for (const [name, token] of Object.entries(attacks)) {
    const r = await api.get('/api/v1/documents', token);
    assert.equal(r.status, 401, `${name} must be rejected`);
    assert.match(r.body.error.code, /^(invalid_token|token_expired|unauthorized)$/, name);
  }
  const none = await api.get('/api/v1/documents');
  assert.equal(none.status, 401);
});

test('a verified token is remembered until its expiry, never past it, and only by its exact text', async () => {
  const { keys } = await testKeys();
  let now = Date.parse('2026-01-01T00:00:00Z');
  const tokens = new TokenService(keys, { issuer: 'quire', audience: 'quire', accessTtlSeconds: 60 }, () => now);
  const principal = { userId: crypto.randomUUID(), tenantId: crypto.randomUUID(), role: 'member' as const };
  const token = await tokens.signAccess(principal);
  assert.deepEqual(await tokens.verifyAccess(token), principal);
  now += 30_000;
  assert.deepEqual(await tokens.verifyAccess(token), principal, 'remembered');
  // One character off in the signature: verified from scratch, and refused.
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  await assert.rejects(tokens.verifyAccess(`${token.slice(0, -2)}${last}${token.at(-1)}`), /Invalid access token/);
  // Past exp plus the 5 s of clock tolerance the memory gives no extra life.
  now += 36_000;
  await assert.rejects(tokens.verifyAccess(token), /expired/);
});
