/**
 * Losing access ends what the device keeps: a revoked document's offline copy is deleted on
 * the next contact, and a removed account's session ends (the app hears `expired` and wipes
 * the rest), whether the news comes over the socket or from a REST answer.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import * as Y from 'yjs';
import { fileStore, memoryTokenStorage, openDocument, QuireClient, type DocumentSession, type OfflineStore, type Session } from '../clients/sdk/node.js';
import { QuietWebSocket } from './helpers/provider.js';
import { startServer } from './helpers/server.js';

async function open(t: TestContext, client: QuireClient, id: string, store: OfflineStore): Promise<DocumentSession> {
  const s = await openDocument(client, id, { store, WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 300 } });
  t.after(() => s.destroy());
  return s;
}

/** The text this device kept for a user's document (empty when nothing is kept). */
async function keptText(store: OfflineStore, userId: string, id: string): Promise<string> {
  const doc = new Y.Doc();
  const b = await store.open(`${userId}/${id}`, doc);
  await b.destroy();
  const frag = doc.getXmlFragment('default');
  return frag.length === 0 ? '' : (frag.get(0) as Y.XmlElement).toString().replace(/<[^>]+>/g, '');
}

async function tempStore(t: TestContext): Promise<OfflineStore> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-sdk-loss-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return fileStore(dir);
}

test('a document whose access was revoked is deleted from the device on the next contact', async (t) => {
  const { url, api } = await startServer(t);
  const store = await tempStore(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const id = (await api.post('/api/v1/documents', { title: 'Secret', text: 'quarterly numbers' }, owner.accessToken)).body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(member as Session) });
  const s = await open(t, client, id, store);
  await s.waitFor((x) => x.synced);
  await s.destroy();
  assert.equal(await keptText(store, member.user.id, id), 'quarterly numbers');

  // Revoked while the app was closed; the next open finds the copy, then the server says no.
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  const again = await open(t, client, id, store);
  const st = await again.waitFor((x) => x.error !== null);
  assert.equal(st.error, 'access_revoked');
  await again.destroy();
  assert.equal(await keptText(store, member.user.id, id), '');
  assert.ok(client.user, 'losing one document does not end the session');
});

test('a removed account: the open document is wiped and the session ends, over the socket or over REST', async (t) => {
  const { url, api } = await startServer(t);
  const store = await tempStore(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const id = (await api.post('/api/v1/documents', { title: 'Plan', text: 'the plan' }, owner.accessToken)).body.id as string;
  await api.put(`/api/v1/documents/${id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(member as Session) });
  const events: string[] = [];
  client.onSession((u, reason) => events.push(`${u ? 'user' : 'none'}:${reason}`));
  const s = await open(t, client, id, store);
  await s.waitFor((x) => x.synced);
  await s.destroy();
  assert.equal(await keptText(store, member.user.id, id), 'the plan');

  const removed = await api.request('DELETE', `/api/v1/users/${member.user.id}`, { token: owner.accessToken });
  assert.ok(removed.status < 300, removed.text);
  // Reopened from the copy (as after a reload): the socket refuses the account.
  const again = await open(t, client, id, store);
  const st = await again.waitFor((x) => x.error !== null);
  assert.equal(st.error, 'signed_out');
  await again.destroy();
  assert.equal(await keptText(store, member.user.id, id), '');
  assert.equal(client.user, null);
  assert.deepEqual(events, ['none:expired']);

  // The same news from a REST answer, with a still-valid access token.
  const other = await api.addUser(owner, 'member');
  const c2 = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(other as Session) });
  const heard: string[] = [];
  c2.onSession((u, reason) => heard.push(`${u ? 'user' : 'none'}:${reason}`));
  assert.ok((await c2.listDocuments()).ok, '(await c2.listDocuments()).ok');
  await api.request('DELETE', `/api/v1/users/${other.user.id}`, { token: owner.accessToken });
  const r = await c2.listDocuments();
  assert.ok(!r.ok && r.error.code === 'account_inactive', "!r.ok && r.error.code === 'account_inactive'");
  assert.equal(c2.user, null);
  assert.deepEqual(heard, ['none:expired']);
});
