/** The SDK with an API key instead of a session: REST calls and live documents as the key's user, never a refresh. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { openDocument, QuireClient, unwrap, type DocumentSession } from '../clients/sdk/node.js';
import { QuietWebSocket } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

/** A fetch that counts calls to the refresh endpoint. */
function counting(): { fetch: typeof fetch; refreshes: number } {
  const c = {
    refreshes: 0,
    fetch: ((input, init) => {
      if (String(input).endsWith('/api/v1/auth/refresh')) c.refreshes++;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return c;
}

async function open(t: { after(fn: () => unknown): void }, client: QuireClient, id: string): Promise<DocumentSession> {
  const s = await openDocument(client, id, { WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 300 } });
  t.after(() => s.destroy());
  return s;
}

test('an API key calls REST and opens documents as its user, within its scopes, and is never refreshed', async (t) => {
  const { url } = await startServer(t);
  const owner = new QuireClient({ baseUrl: url });
  unwrap(await owner.signup({ tenant: 'Keys', email: 'keys@example.test', password: 'correct horse battery' }));
  const writer = unwrap(await owner.createApiKey({ name: 'writer', scopes: ['read', 'write'] }));
  const reader = unwrap(await owner.createApiKey({ name: 'reader', scopes: ['read'] }));

  const c = counting();
  const script = new QuireClient({ baseUrl: url, apiKey: writer.secret, fetch: c.fetch });
  assert.equal(script.user, null, 'a key is no signed-in session');
  const doc = unwrap(await script.createDocument({ title: 'By key', text: 'from a script' }));
  assert.equal(unwrap(await owner.getDocument(doc.id)).createdBy, unwrap(await owner.me()).id, 'the key acts as the user who made it');
  assert.deepEqual(
    unwrap(await script.listDocuments()).documents.map((d) => d.id),
    [doc.id],
  );
  const outside = await script.search('script');
  assert.ok(!outside.ok && outside.error.code === 'insufficient_scope', `a call outside the key's scopes is refused: ${JSON.stringify(outside)}`);
  const account = await script.listApiKeys();
  assert.ok(!account.ok && account.error.code === 'insufficient_scope', `a key never manages the account: ${JSON.stringify(account)}`);

  // Live: the write key edits, and the change is stored.
  const live = await open(t, script, doc.id);
  await live.waitFor((s) => s.synced && s.access === 'write');
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText('typed live')]);
  live.doc.getXmlFragment('default').insert(1, [p]);
  await live.whenSaved();
  assert.equal(unwrap(await owner.getText(doc.id)), 'from a script\ntyped live');

  // A read key opens the same document read-only.
  const readOnly = await open(t, new QuireClient({ baseUrl: url, apiKey: reader.secret }), doc.id);
  const st = await readOnly.waitFor((s) => s.synced && s.access !== null);
  assert.equal(st.access, 'read');
  assert.equal(c.refreshes, 0, 'a key is never refreshed');

  // Revoked: REST refuses it at once, the open document closes for good, and nothing refreshes.
  unwrap(await owner.revokeApiKey(writer.key.id));
  const refused = await script.listDocuments();
  assert.ok(!refused.ok && refused.error.code === 'invalid_api_key' && refused.error.status === 401, `a revoked key is refused: ${JSON.stringify(refused)}`);
  const closed = await eventually(() => {
    assert.equal(live.status.connection, 'closed', `the document closes once its key is revoked (${JSON.stringify(live.status)})`);
    return live.status;
  });
  assert.ok(closed.error, 'the session says why it closed');
  assert.equal(c.refreshes, 0, 'a revoked key is not refreshed');
});
