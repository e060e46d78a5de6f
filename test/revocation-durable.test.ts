/**
 * Revocation does not depend on Redis delivering an event: instance two's Redis link is
 * blackholed (its subscriber never hears the access event instance one publishes), and the
 * access-version poll still closes the revoked member's socket on two within the bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { DocumentStore } from '../core/document-store.js';
import { TEST_REDIS_URL } from './helpers/env.js';
import { acked, connect, synced } from './helpers/provider.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

const RECHECK_SECONDS = 1;

test('a member revoked through one instance loses their socket on another whose Redis link is down, within the re-check interval', async (t) => {
  const redisProxy = await startTcpProxy(t, targetOf(TEST_REDIS_URL));
  const env = { ACCESS_RECHECK_SECONDS: String(RECHECK_SECONDS) };
  const one = await startServer(t, { redis: true, env });
  const two = await startServer(t, {
    redis: true,
    schema: one.schema,
    env: { ...env, REDIS_PREFIX: one.config.redis.prefix, REDIS_URL: redisProxy.url(TEST_REDIS_URL) },
  });
  t.after(() => redisProxy.resume());

  const owner = await one.api.signup();
  const member = await one.api.addUser(owner, 'member');
  const doc = await one.api.createDocument(owner, 'shared');
  await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const m = connect(t, two.url, doc.id, member.accessToken);
  const o = connect(t, two.url, doc.id, owner.accessToken);
  await Promise.all([synced(m), synced(o)]);
  m.doc.getMap('marks').set('before', 1);
  await acked(m);

  redisProxy.blackhole();
  const revokedAt = Date.now();
  const res = await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  assert.equal(res.status, 200);
  await eventually(
    () =>
      assert.ok(
        m.closes.some((c) => c.code === 4403),
        `closes: ${JSON.stringify(m.closes)}`,
      ),
    { timeoutMs: 20_000, intervalMs: 20 },
  );
  const tookMs = Date.now() - revokedAt;
  t.diagnostic(`socket on the instance without Redis closed ${tookMs} ms after the revoke (re-check every ${RECHECK_SECONDS} s)`);
  assert.equal(o.closes.length, 0, 'the owner keeps their socket');

  // The member's provider reconnects and is refused; what they type now is never stored.
  m.doc.getMap('marks').set('after', 1);
  await eventually(() => assert.ok(m.authFailures.length > 0, 'the reconnect is refused'));
  o.doc.getMap('marks').set('owner', 1);
  await acked(o);
  const stored = new Y.Doc();
  const { doc: loaded } = await new DocumentStore(two.quire.store.db).loadInto(owner.user.tenantId, doc.id, stored);
  const marks = loaded.getMap('marks');
  assert.ok(marks.has('before') && marks.has('owner'), "marks.has('before') && marks.has('owner')");
  assert.equal(marks.has('after'), false, 'a write after the revocation was stored');
});

for (const dialect of DIALECTS)
  test(`access versions move with every change that can take access away, and not with new grants (${dialect})`, async (t) => {
    const { quire, api } = await startServer(t, { dialect });
    const owner = await api.signup();
    const member = await api.addUser(owner, 'member');
    const version = async () => {
      const { sql } = await import('kysely');
      const r = await sql<{ version: string }>`select version::text as version from quire_access_versions(${[owner.user.tenantId]}::uuid[])`.execute(quire.store.db);
      return Number(r.rows[0]?.version ?? 0);
    };
    const doc = await api.createDocument(owner, 'versions');
    const v0 = await version();
    await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
    assert.equal(await version(), v0, 'a new grant takes nothing away');
    const steps: [string, () => Promise<{ status: number }>][] = [
      ['downgrade', () => api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken)],
      ['revoke', () => api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken)],
      ['role change', () => api.patch(`/api/v1/users/${member.user.id}`, { role: 'guest' }, owner.accessToken)],
      ['document deleted', () => api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)],
      ['user removed', () => api.del(`/api/v1/users/${member.user.id}`, owner.accessToken)],
    ];
    let last = v0;
    for (const [what, step] of steps) {
      const { status } = await step();
      assert.ok(status >= 200 && status < 300, `${what}: ${status}`);
      const v = await version();
      assert.ok(v > last, `${what} moves the version (${last} → ${v})`);
      last = v;
    }
  });
