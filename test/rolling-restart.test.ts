/**
 * A rolling restart, as Kubernetes does it: two instances behind a load balancer, one is
 * drained (SIGTERM's shutdown path) while a writer types and readers follow. Sessions on the
 * drained instance are closed with 1012 (`server_restarting`) and resume on the other
 * instance; no acknowledged update is lost and no session reports an error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTokenStorage, openDocument, QuireClient, type DocumentSession } from '../clients/sdk/node.js';
import { CLOSE } from '../contract/sync.js';
import { paragraphText, QuietWebSocket, readParagraph } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { startTcpBalancer } from './helpers/tcp-balancer.js';
import { eventually } from './helpers/wait.js';

interface Watched {
  session: DocumentSession;
  errors: string[];
  closes: number[];
  /** ms from the socket's close to the session being synced again, per close. */
  resumedAfter: number[];
}

function watch(session: DocumentSession): Watched {
  const w: Watched = { session, errors: [], closes: [], resumedAfter: [] };
  let closedAt: number | null = null;
  session.socket.on('close', ({ event }: { event: { code: number } }) => {
    w.closes.push(event.code);
    closedAt ??= performance.now();
  });
  session.onStatus((s) => {
    if (s.error) w.errors.push(String(s.error));
    if (s.synced && closedAt !== null) {
      w.resumedAfter.push(performance.now() - closedAt);
      closedAt = null;
    }
  });
  return w;
}

test('draining one of two instances moves its sessions to the other: nothing acknowledged is lost, nobody sees an error', async (t) => {
  const a = await startServer(t, { redis: true });
  const b = await startServer(t, { redis: true, schema: a.schema, env: { REDIS_PREFIX: a.config.redis.prefix } });
  const lb = await startTcpBalancer(t, [a.quire.port, b.quire.port]);
  const owner = await a.api.signup();
  const doc = await a.api.createDocument(owner, 'Rolling restart');

  const open = async () => {
    const client = new QuireClient({ baseUrl: lb.url, tokens: memoryTokenStorage(owner as Parameters<typeof memoryTokenStorage>[0]) });
    const session = await openDocument(client, doc.id, { WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 1000 } });
    t.after(() => session.destroy());
    return watch(session);
  };
  const sessions: Watched[] = [];
  for (let i = 0; i < 6; i++) sessions.push(await open());
  await eventually(
    () =>
      assert.ok(
        sessions.every((s) => s.session.status.synced),
        'every session is synced',
      ),
    { timeoutMs: 30_000 },
  );
  assert.ok(
    [...lb.taken.values()].every((n) => n >= 2),
    `the balancer spread the sessions over both instances: ${JSON.stringify([...lb.taken])}`,
  );

  // The writer types on one instance or the other; the rest read.
  const [writer, ...readers] = sessions as [Watched, ...Watched[]];
  const text = paragraphText(writer.session.doc);
  let typed = 0;
  const typing = setInterval(() => text.insert(text.length, `w${typed++};`), 20);
  t.after(() => clearInterval(typing));
  await eventually(() => assert.ok(typed >= 20, 'typing has begun'));

  // Drain instance A (what SIGTERM runs): it stops listening, closes its sockets with 1012,
  // and finishes every commit it holds before its store closes.
  await a.quire.close();
  await eventually(() => assert.ok(typed >= 80, 'typing goes on after the drain'), { timeoutMs: 30_000 });
  clearInterval(typing);
  const expected = readParagraph(writer.session.doc);

  await eventually(() => assert.equal(writer.session.status.pendingChanges, 0, 'the writer has every change acknowledged'), { timeoutMs: 30_000 });
  for (const r of readers) await eventually(() => assert.equal(readParagraph(r.session.doc), expected, 'each reader has all the text'), { timeoutMs: 30_000 });
  const stored = await b.api.get(`/api/v1/documents/${doc.id}/content`, owner.accessToken);
  assert.equal(stored.text, expected, 'the surviving instance stores every acknowledged change');

  const moved = sessions.filter((s) => s.closes.length > 0);
  assert.ok(moved.length >= 2, `the drained instance's sessions were closed (${moved.length})`);
  for (const s of moved) assert.deepEqual([...new Set(s.closes)], [CLOSE.shuttingDown.code], 'closed with the reconnect code only');
  for (const s of sessions) assert.deepEqual(s.errors, [], 'no session reports an error');
  for (const s of moved) assert.ok(s.resumedAfter.length > 0 && s.session.status.synced, 'each moved session resumed');
  const times = moved.flatMap((s) => s.resumedAfter).sort((x, y) => x - y);
  t.diagnostic(`reconnect after drain: ${times.map((ms) => ms.toFixed(0)).join(', ')} ms (${moved.length} sessions)`);
});
