/** Two instances on one database and one Redis: fan-out and revocation cross instances. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { acked, connect, paragraphText, readParagraph, synced } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

async function twoInstances(t: TestContext) {
  const one = await startServer(t, { redis: true });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { REDIS_PREFIX: one.config.redis.prefix } });
  return { one, two };
}

test('clients on different instances converge, and REST writes on one reach clients on the other', async (t) => {
  const { one, two } = await twoInstances(t);
  const s = await one.api.signup();
  const doc = await one.api.createDocument(s, 'across');
  const a = connect(t, one.url, doc.id, s.accessToken);
  const b = connect(t, two.url, doc.id, s.accessToken);
  await Promise.all([synced(a), synced(b)]);
  paragraphText(a.doc).insert(0, 'from one;');
  await acked(a);
  await eventually(() => assert.equal(readParagraph(b.doc), 'from one;'));
  const tb = paragraphText(b.doc);
  tb.insert(tb.length, 'from two;');
  await acked(b);
  await eventually(() => assert.equal(readParagraph(a.doc), 'from one;from two;'));
  assert.equal((await two.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, 'from one;from two;');

  assert.equal((await one.api.put(`/api/v1/documents/${doc.id}/content`, { text: 'rest line', mode: 'append' }, s.accessToken)).status, 204);
  await eventually(() => assert.equal(b.doc.getXmlFragment('default').length, 2));
  assert.equal((await two.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, 'from one;from two;\nrest line');
});

test('revoking access on one instance cuts the socket on the other within seconds', async (t) => {
  const { one, two } = await twoInstances(t);
  const owner = await one.api.signup();
  const member = await one.api.addUser(owner, 'member');
  const doc = await one.api.createDocument(owner, 'shared');
  await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const m = connect(t, two.url, doc.id, member.accessToken, { reconnect: false });
  await synced(m);
  await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  await eventually(
    () =>
      assert.ok(
        m.notices.some((n) => n?.type === 'quire.access' && n.level === 'read'),
        "m.notices.some((n) => n?.type === 'quire.access' && n.level === 'read')",
      ),
    { timeoutMs: 5000 },
  );
  const revokedAt = Date.now();
  await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  await eventually(
    () =>
      assert.deepEqual(
        m.closes.map((c) => c.code),
        [4403],
      ),
    { timeoutMs: 5000 },
  );
  t.diagnostic(`cut off ${Date.now() - revokedAt} ms after the revoke`);
});
