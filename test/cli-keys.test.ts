/**
 * `quire keys rotate|list|retire` against two instances of one database: after a rotation
 * both sign with the new key and verify tokens of either key, JWKS lists both; a key is
 * retired only once its tokens have expired (or with --force), then both refuse its tokens.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import pg from 'pg';

import { runCli } from '../server/cli/main.js';
import { TEST_DATABASE_URL, TEST_SECRETS_KEY } from './helpers/env.js';
import { startServer, testKeys, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function jwksKids(s: TestServer): Promise<string[]> {
  const r = await s.api.get<{ keys: { kid: string }[] }>('/.well-known/jwks.json');
  assert.equal(r.status, 200, 'JWKS answers');
  return r.body.keys.map((k) => k.kid);
}

async function status(s: TestServer, token: string): Promise<number> {
  return (await s.api.get('/api/v1/documents', token)).status;
}

test('keys rotate, list and retire: two instances follow without a restart', async (t) => {
  const a = await startServer(t);
  const b = await startServer(t, { schema: a.schema });
  const { privatePem, publicPem, keys } = await testKeys();
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: a.schema,
    SECRETS_KEY: TEST_SECRETS_KEY,
    JWT_PRIVATE_KEY: privatePem,
    JWT_PUBLIC_KEY: publicPem,
    DATA_DIR: a.config.dataDir,
    LOG_LEVEL: 'silent',
  };
  const password = 'correct horse battery';
  const email = `keys-${Date.now()}@example.test`;
  const owner = await a.api.signup('Keys', email, password);
  const oldToken = owner.accessToken;
  assert.equal(kidOf(oldToken), keys.kid, 'before a rotation the configured key signs');
  assert.deepEqual(await jwksKids(b), [keys.kid], 'JWKS lists the configured key');

  const listed = io();
  assert.equal(await runCli(['keys', 'list'], listed.io, env), 0, `list succeeds: ${listed.err.join('\n')}`);
  assert.match(listed.out.join('\n'), new RegExp(`${keys.kid}\\tactive\\t.*configuration`), 'the configured key is listed as the signing key');

  const rotated = io();
  assert.equal(await runCli(['keys', 'rotate'], rotated.io, env), 0, `rotate succeeds: ${rotated.err.join('\n')}`);
  const newKid = /new signing key (\S+):/.exec(rotated.out.join('\n'))?.[1];
  assert.ok(newKid && newKid !== keys.kid, `rotate names a new key: ${rotated.out.join('\n')}`);
  assert.match(rotated.out.join('\n'), new RegExp(`quire keys retire ${keys.kid}`), 'rotate says how to retire the previous key');

  // Both instances pick the rotation up (they read the key table every few seconds).
  for (const s of [a, b]) {
    await eventually(
      async () => {
        assert.deepEqual(await jwksKids(s), [newKid, keys.kid], 'JWKS lists the new key first, then the previous one');
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'an instance follows the rotation' },
    );
  }
  const login = await b.api.post<{ accessToken: string }>('/api/v1/auth/login', { email, password });
  assert.equal(login.status, 200, 'sign-in works after the rotation');
  const newToken = login.body.accessToken;
  assert.equal(kidOf(newToken), newKid, 'new tokens are signed with the new key');
  for (const s of [a, b]) {
    assert.equal(await status(s, newToken), 200, 'a token of the new key verifies on every instance');
    assert.equal(await status(s, oldToken), 200, 'a token of the previous key still verifies on every instance');
  }

  const listed2 = io();
  assert.equal(await runCli(['keys', 'list'], listed2.io, env), 0, 'list succeeds');
  const text = listed2.out.join('\n');
  assert.match(text, new RegExp(`${newKid}\\tactive\\t.*database`), 'the new key is active, from the database');
  assert.match(text, new RegExp(`${keys.kid}\\tverifying\\t.*configuration`), 'the configured key verifies');

  // Retiring waits for the previous key's tokens to expire; the active key cannot be retired.
  const early = io();
  assert.equal(await runCli(['keys', 'retire', keys.kid], early.io, env), 1, 'retiring before its tokens expired is refused');
  assert.match(early.err.join('\n'), /valid until .*--force/, 'the refusal says until when, and about --force');
  const activeRetire = io();
  assert.equal(await runCli(['keys', 'retire', newKid], activeRetire.io, env), 1, 'the active key cannot be retired');
  assert.match(activeRetire.err.join('\n'), /rotate to a new key first/, 'the refusal says to rotate first');
  const bad = io();
  assert.equal(await runCli(['keys', 'retire'], bad.io, env), 2, 'retire without a kid is a usage error');

  // Once the previous key's tokens have expired (its signing stopped an hour ago), it retires without --force.
  const owners = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await owners.connect();
  try {
    await owners.query(`update "${a.schema}".signing_keys set deactivated_at = now() - interval '1 hour' where kid = $1`, [keys.kid]);
  } finally {
    await owners.end();
  }
  const retired = io();
  assert.equal(await runCli(['keys', 'retire', keys.kid], retired.io, env), 0, `retire succeeds once the tokens expired: ${retired.err.join('\n')}`);
  for (const s of [a, b]) {
    await eventually(
      async () => {
        assert.deepEqual(await jwksKids(s), [newKid], 'JWKS lists only the new key');
        assert.equal(await status(s, oldToken), 401, 'a token of the retired key is refused');
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'an instance follows the retirement' },
    );
    assert.equal(await status(s, newToken), 200, 'a token of the new key still verifies');
  }
});

test('keys retire --force refuses a key at once; a rotation of a rotated key works the same', async (t) => {
  const a = await startServer(t);
  const { privatePem, publicPem } = await testKeys();
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: a.schema,
    SECRETS_KEY: TEST_SECRETS_KEY,
    JWT_PRIVATE_KEY: privatePem,
    JWT_PUBLIC_KEY: publicPem,
    DATA_DIR: a.config.dataDir,
    LOG_LEVEL: 'silent',
  };
  const first = io();
  assert.equal(await runCli(['keys', 'rotate'], first.io, env), 0, 'the first rotation succeeds');
  const firstKid = /new signing key (\S+):/.exec(first.out.join('\n'))![1]!;
  await eventually(async () => assert.equal((await jwksKids(a))[0], firstKid, 'the instance signs with the first rotated key'), { timeoutMs: 60_000, intervalMs: 250 });
  const owner = await a.api.signup();
  assert.equal(kidOf(owner.accessToken), firstKid, 'tokens are signed with the rotated key');

  const second = io();
  assert.equal(await runCli(['keys', 'rotate'], second.io, env), 0, 'a second rotation succeeds');
  assert.match(second.out.join('\n'), new RegExp(`previous key ${firstKid} `), 'the previous key is the first rotated one');
  const secondKid = /new signing key (\S+):/.exec(second.out.join('\n'))![1]!;
  await eventually(async () => assert.equal((await jwksKids(a))[0], secondKid, 'the instance signs with the second key'), { timeoutMs: 60_000, intervalMs: 250 });
  assert.equal(await status(a, owner.accessToken), 200, "the first rotated key's token still verifies");

  const forced = io();
  assert.equal(await runCli(['keys', 'retire', firstKid, '--force'], forced.io, env), 0, `--force retires at once: ${forced.err.join('\n')}`);
  await eventually(async () => assert.equal(await status(a, owner.accessToken), 401, "the retired key's token is refused"), { timeoutMs: 60_000, intervalMs: 250 });
  const again = io();
  assert.equal(await runCli(['keys', 'retire', firstKid], again.io, env), 0, 'retiring a retired key reports it');
  assert.match(again.out.join('\n'), /was retired at/, 'it says when');
});
