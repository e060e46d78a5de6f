/**
 * How a document session answers the server's refusals and closes (contract/sync.ts: one
 * client action per close code): a refused token is renewed and the session carries on, a
 * session never continues as another account, a final close reports its reason without
 * the detail, and a 4429 is followed by a growing pause rather than the fixed reconnect.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as Y from 'yjs';
import { memoryTokenStorage, openDocument, QuireClient, unwrap, type DocumentSession } from '../clients/sdk/node.js';
import { QuietWebSocket } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { quietFor } from './helpers/wait.js';

/** The first status that satisfies `predicate`, or a failure naming what never happened. */
async function reaches(session: DocumentSession, predicate: (s: DocumentSession['status']) => boolean, what: string): Promise<DocumentSession['status']> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within 20 s; status: ${JSON.stringify(session.status)}`)), 20_000);
  });
  try {
    return await Promise.race([session.waitFor(predicate), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function open(t: TestContext, client: QuireClient, id: string): Promise<DocumentSession> {
  const s = await openDocument(client, id, { WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 400 } });
  t.after(() => s.destroy());
  return s;
}

async function signedIn(url: string): Promise<{ client: QuireClient; storage: ReturnType<typeof memoryTokenStorage>; refreshes: () => number }> {
  let refreshes = 0;
  const storage = memoryTokenStorage();
  const client = new QuireClient({
    baseUrl: url,
    tokens: storage,
    fetch: (input, init) => {
      if (String(input).endsWith('/api/v1/auth/refresh')) refreshes++;
      return fetch(input, init);
    },
  });
  unwrap(await client.signup({ tenant: 'C', email: `c-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  return { client, storage, refreshes: () => refreshes };
}

test('a token the sync tier refuses although it looks fresh (rotated keys) is renewed, and the document syncs', async (t) => {
  const { url } = await startServer(t);
  const { client, storage, refreshes } = await signedIn(url);
  const doc = unwrap(await client.createDocument({ title: 'Renew' }));
  const s = storage.load()!;
  const [h] = s.accessToken.split('.');
  storage.save({ ...s, accessToken: `${h}.${Buffer.from(JSON.stringify({ exp: 4_000_000_000 })).toString('base64url')}.AAAA` });
  const session = await open(t, client, doc.id);
  const st = await reaches(session, (x) => (x.connection === 'connected' && x.synced) || x.connection === 'closed', 'synced or closed');
  assert.equal(st.error, null);
  assert.equal(st.connection, 'connected');
  assert.equal(refreshes(), 1, 'one refresh after the invalid_token refusal');
});

test('a session never continues as another account signed in on the same client', async (t) => {
  const { url, api } = await startServer(t);
  const { client } = await signedIn(url);
  const doc = unwrap(await client.createDocument({ title: 'Mine' }));
  const session = await open(t, client, doc.id);
  await reaches(session, (x) => x.connection === 'connected' && x.synced, 'synced');
  // Another person signs in on this client; the open session reconnects (a restart, say).
  const other = await api.signup();
  unwrap(await client.login({ email: other.user.email, password: 'correct horse battery' }));
  session.goOffline();
  session.goOnline();
  const st = await reaches(session, (x) => x.connection === 'closed', 'closed');
  assert.equal(st.error, 'signed_out');
});

test('a final close reports its reason code without the detail (4413 document_too_large)', async (t) => {
  const { url } = await startServer(t, { env: { SYNC_MAX_DOCUMENT_BYTES: '2048' } });
  const { client } = await signedIn(url);
  const doc = unwrap(await client.createDocument({ title: 'Big' }));
  const session = await open(t, client, doc.id);
  await reaches(session, (x) => x.connection === 'connected' && x.synced, 'synced');
  const frag = session.doc.getXmlFragment('default');
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText('x'.repeat(4096))]);
  frag.insert(0, [p]);
  const st = await reaches(session, (x) => x.connection === 'closed', 'closed');
  assert.equal(st.error, 'document_too_large');
});

test('after a 4429 the session pauses longer each time instead of reconnecting at the fixed delay', async (t) => {
  // A workspace byte budget of 1 KB/s: an 8 KB edit is refused (4429) on every reconnect.
  const tiny = { SYNC_TENANT_BURST_BYTES: '1024', SYNC_TENANT_BYTES_PER_SECOND: '1024', SYNC_SOCKET_BURST_BYTES: '1024', SYNC_SOCKET_BYTES_PER_SECOND: '1024' };
  const { url } = await startServer(t, { env: tiny });
  const { client } = await signedIn(url);
  const doc = unwrap(await client.createDocument({ title: 'Busy' }));
  let sockets = 0;
  class Counting extends QuietWebSocket {
    constructor(...args: ConstructorParameters<typeof QuietWebSocket>) {
      super(...args);
      sockets++;
    }
  }
  const session = await openDocument(client, doc.id, { WebSocket: Counting, followNetwork: false, reconnectDelay: { min: 100, max: 2_000 } });
  t.after(() => session.destroy());
  await reaches(session, (x) => x.connection === 'connected' && x.synced, 'synced');
  const opened = sockets;
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText('x'.repeat(8192))]);
  session.doc.getXmlFragment('default').insert(0, [p]);
  // At the fixed 100 ms delay the refused client comes back every ~150 ms here (~25 times
  // in 4 s); with the pauses (50–100, 100–200, … up to 1–2 s) about 7 times. A slower
  // machine makes fewer either way.
  await quietFor(4_000, 'a throttled session reconnecting at the fixed delay opens a socket every ~150 ms', {
    check: () => assert.ok(sockets - opened <= 12, `${sockets - opened} sockets`),
  });
  t.diagnostic(`${sockets - opened} sockets in 4 s`);
  assert.ok(sockets - opened >= 1, 'the throttled session was closed and came back');
});
