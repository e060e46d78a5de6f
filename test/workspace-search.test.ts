/**
 * Search follows the workspace's organisation: a restored document is found again, a
 * template is found by every member who is not a guest (the engines' stored readers and the
 * live access filter both say so), and a template made a document again is not. For each
 * full-text backend, and by meaning on both profiles.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TEST_QDRANT_URL } from './helpers/env.js';
import { startServer, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually as eventuallyDefault } from './helpers/wait.js';

// Indexing is asynchronous (relay → bus → worker → index); allow for a cold NATS consumer.
const eventually = <T>(fn: () => Promise<T> | T) => eventuallyDefault(fn, { timeoutMs: 30_000 });

const BACKENDS: Record<string, StartServerOptions> = {
  'postgres full-text, in-process bus': {},
  'meilisearch, NATS JetStream': { nats: true, meili: true },
};

for (const [name, opts] of Object.entries(BACKENDS)) {
  describe(`search and the workspace's organisation: ${name}`, () => {
    test('a restored document is found again', async (t) => {
      const { api } = await startServer(t, opts);
      const owner = await api.signup('Acme');
      const member = await api.addUser(owner, 'member');
      const doc = (await api.post('/api/v1/documents', { title: 'Zoo notes', text: 'The aardvark enclosure needs a new fence' }, owner.accessToken)).body;
      await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
      const find = (s: { accessToken: string }) => api.get(`/api/v1/search?q=aardvark&mode=fulltext`, s.accessToken);
      const found = (s: { accessToken: string }) =>
        eventually(async () =>
          assert.deepEqual(
            (await find(s)).body.hits.map((h: { documentId: string }) => h.documentId),
            [doc.id],
          ),
        );
      await found(owner);
      await found(member);

      assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
      await eventually(async () => assert.deepEqual((await find(owner)).body.hits, []));
      assert.equal((await api.post(`/api/v1/documents/${doc.id}/restore`, undefined, owner.accessToken)).status, 200);
      await found(owner);
      await found(member);
    });

    test('a template is found by members who are not guests; made a document again, only by those with a grant', async (t) => {
      const { api } = await startServer(t, opts);
      const owner = await api.signup('Acme');
      const member = await api.addUser(owner, 'member');
      const guest = await api.addUser(owner, 'guest');
      const stranger = await api.signup('Other Co');
      const doc = (await api.post('/api/v1/documents', { title: 'Okapi checklist', text: 'Feed the okapi twice a day' }, owner.accessToken)).body;
      const find = (s: { accessToken: string }) => api.get(`/api/v1/search?q=okapi&mode=fulltext`, s.accessToken);
      const hits = async (s: { accessToken: string }) => (await find(s)).body.hits.map((h: { documentId: string }) => h.documentId);
      await eventually(async () => assert.deepEqual(await hits(owner), [doc.id]));
      assert.deepEqual(await hits(member), []);

      assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { kind: 'template' }, owner.accessToken)).status, 200);
      await eventually(async () => assert.deepEqual(await hits(member), [doc.id]));
      for (const who of [guest, stranger]) assert.deepEqual(await hits(who), []);

      assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { kind: 'document' }, owner.accessToken)).status, 200);
      // The live access filter answers at once, whatever the engine still stores.
      assert.deepEqual(await hits(member), []);
      assert.deepEqual(await hits(owner), [doc.id]);
    });
  });
}

const PROFILES: Record<string, (t: TestContext) => StartServerOptions> = {
  'scaled (Meilisearch + Qdrant + NATS)': (t) => {
    const collection = uniqueName('qa');
    t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
    return { nats: true, meili: true, env: { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: collection } };
  },
  'embedded (Postgres full text + pgvector)': () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
};

for (const [name, profile] of Object.entries(PROFILES)) {
  test(`a template is found by meaning by members who are not guests: ${name}`, async (t) => {
    const { api } = await startServer(t, profile(t));
    const owner = await api.signup('Zoo');
    const member = await api.addUser(owner, 'member');
    const guest = await api.addUser(owner, 'guest');
    const doc = (await api.post('/api/v1/documents', { title: 'Night feeding', text: 'The aardvark digs burrows at night and eats ants and termites with its long sticky tongue.' }, owner.accessToken))
      .body;
    const tpl = (await api.post(`/api/v1/documents/${doc.id}/duplicate`, { kind: 'template' }, owner.accessToken)).body;
    const hits = async (s: { accessToken: string }) =>
      (await api.get(`/api/v1/search?q=${encodeURIComponent('an animal that eats termites at night')}&mode=semantic`, s.accessToken)).body.hits.map((h: { documentId: string }) => h.documentId);
    await eventually(async () => assert.deepEqual(await hits(member), [tpl.id]));
    assert.deepEqual(await hits(guest), []);
    assert.deepEqual((await hits(owner)).sort(), [doc.id, tpl.id].sort());
  });
}
