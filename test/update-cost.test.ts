/**
 * The cost of one update: integrating an update is not linear in its size (concurrent
 * insertions at one place scan each other), so a crafted pair of updates of ~48 KB each
 * costs seconds of CPU. A large update is integrated a slice at a time (see
 * `sync/update-slices.ts`): other workspaces are served between slices, the workspace's
 * processing budget stops it, and what was integrated is stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { authenticatedSocket, updateFrame } from './helpers/raw-socket.js';
import { startServer } from './helpers/server.js';
import { alternatingInsertions } from './helpers/crafted-update.js';
import { eventually } from './helpers/wait.js';

const crafted = (client: number, n: number) => alternatingInsertions(client, n, 't', ['a', 'b']);

test('a crafted update costing seconds is integrated in slices: another workspace is served meanwhile, the budget stops it, what was integrated is stored', async (t) => {
  const { api, url, quire } = await startServer(t, { env: { SYNC_TENANT_WORK_BURST_MS: '1500', SYNC_TENANT_WORK_MS_PER_SECOND: '1' } });
  const heavy = await api.signup();
  const other = await api.signup();
  const hDoc = await api.createDocument(heavy, 'Crafted');
  const oDoc = await api.createDocument(other, 'Calm');
  const good = connect(t, url, oDoc.id, other.accessToken);
  await synced(good);
  // The server's own copy of the document (a client's copy would integrate the same slices
  // again, at the same cost, in this process).
  let serverDoc: Y.Doc | undefined;
  const live = () => (serverDoc ??= quire.sync!.hocuspocus.documents.get(hDoc.id))?.getText('t') ?? new Y.Text();
  const watched = () => live().length;

  const N = 8_000;
  const sock = await authenticatedSocket(url, hDoc.id, heavy.accessToken);
  sock.send(updateFrame(hDoc.id, crafted(1, N)));
  await eventually(() => assert.equal(watched(), N));
  // In one piece, this update holds the event loop for seconds (~4.7 s here).
  sock.send(updateFrame(hDoc.id, crafted(2, N)));
  await eventually(() => assert.ok(watched() > N, 'integration has begun'), { timeoutMs: 60_000, intervalMs: 2 });

  paragraphText(good.doc).insert(0, 'served');
  await acked(good, 60_000);
  const atAck = watched();
  assert.ok(atAck < 2 * N, `another workspace's edit was acknowledged while the crafted update was being integrated (${atAck - N} of ${N} characters in)`);

  const closed = await sock.closed;
  assert.equal(closed.code, 4429);
  assert.match(closed.reason, /workspace CPU budget/);
  assert.ok(watched() < 2 * N, 'the budget stopped the update before all of it was integrated');
  // What was integrated is stored: a load from the store gives the document the server has.
  // The socket's close unloads the document, after which `whenDurable` no longer tracks its
  // last commits: the load is repeated until they have landed.
  assert.equal(await quire.sync!.persistence.whenDurable(hDoc.id), true);
  await eventually(
    async () => {
      const stored = new Y.Doc();
      await quire.sync!.documents.loadInto(heavy.user.tenantId, hDoc.id, stored);
      assert.equal(stored.getText('t').toString(), live().toString());
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  assert.equal((await api.get('/health')).status, 200);
});
