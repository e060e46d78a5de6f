/**
 * Semantic and hybrid search with real embeddings, on the embedded profile (PGlite +
 * pgvector, in-process bus) and the scaled one (Postgres + Qdrant + Meilisearch + NATS);
 * documents get a classification label. Access is enforced in every mode.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_QDRANT_URL } from './helpers/env.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { startServer, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually as eventuallyDefault } from './helpers/wait.js';

const eventually = <T>(fn: () => Promise<T> | T) => eventuallyDefault(fn, { timeoutMs: 60_000, intervalMs: 100 });

const PROFILES: Record<string, () => StartServerOptions> = {
  'embedded (PGlite + pgvector)': () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
  'scaled (Qdrant + Meilisearch + NATS)': () => ({
    nats: true,
    meili: true,
    env: { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: uniqueName('qt') },
  }),
};

for (const [name, profile] of Object.entries(PROFILES)) {
  describe(`semantic search: ${name}`, () => {
    test('finds documents by meaning, fuses with full-text in hybrid mode, labels them, and enforces access', async (t) => {
      const opts = profile();
      const { api, url } = await startServer(t, opts);
      if (opts.env?.QDRANT_COLLECTION) {
        t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${opts.env!.QDRANT_COLLECTION}`, { method: 'DELETE' }).then(() => undefined));
      }
      const owner = await api.signup();
      const member = await api.addUser(owner, 'member');
      const money = await api.post(
        '/api/v1/documents',
        { title: 'Quarterly report', text: 'The stock market fell sharply today as investors sold shares of banks.\nBond yields rose.' },
        owner.accessToken,
      );
      const pets = await api.post('/api/v1/documents', { title: 'Home', text: 'My cat sleeps on the sofa all afternoon and purrs.' }, owner.accessToken);
      const find = (token: string, q: string, mode: string) => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}`, token);

      // No shared words with the query: only meaning connects them.
      const semantic = await eventually(async () => {
        const r = await find(owner.accessToken, 'Wall Street equities dropped', 'semantic');
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.hits[0]?.documentId, money.body.id, JSON.stringify(r.body));
        return r.body.hits;
      });
      assert.ok(semantic.length >= 1, 'semantic.length >= 1');
      // The second document may be indexed a moment after the first.
      await eventually(async () => {
        const kitten = await find(owner.accessToken, 'a kitten napping on the couch', 'semantic');
        assert.equal(kitten.body.hits[0]?.documentId, pets.body.id, JSON.stringify(kitten.body));
      });
      const hybrid = await find(owner.accessToken, 'bond yields', 'hybrid');
      assert.equal(hybrid.body.hits[0]?.documentId, money.body.id);

      // The member sees nothing until shared, in every mode.
      for (const mode of ['semantic', 'hybrid', 'fulltext']) {
        assert.deepEqual((await find(member.accessToken, 'stock market shares', mode)).body.hits, [], mode);
      }
      await api.put(`/api/v1/documents/${money.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
      await eventually(async () => {
        const r = await find(member.accessToken, 'Wall Street equities dropped', 'semantic');
        assert.deepEqual(
          r.body.hits.map((h: { documentId: string }) => h.documentId),
          [money.body.id],
        );
      });

      // Revoked again: gone from every mode.
      await api.put(`/api/v1/documents/${money.body.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
      await eventually(async () => {
        for (const mode of ['semantic', 'hybrid', 'fulltext']) {
          assert.deepEqual((await find(member.accessToken, 'Wall Street equities dropped', mode)).body.hits, [], mode);
        }
      });

      // A live edit through a provider is found by meaning too.
      const live = await api.createDocument(owner, 'Garden');
      const c = connect(t, url, live.id, owner.accessToken);
      await synced(c);
      paragraphText(c.doc).insert(0, 'Tomatoes and basil grow well in the sunny vegetable patch behind the house.');
      await acked(c);
      await eventually(async () => {
        const r = await find(owner.accessToken, 'growing herbs and vegetables outdoors', 'semantic');
        assert.equal(r.body.hits[0]?.documentId, live.id, JSON.stringify(r.body));
      });

      // Classification with the default model.
      const cls = await eventually(async () => {
        const r = await api.get(`/api/v1/documents/${money.body.id}/classification`, owner.accessToken);
        assert.equal(r.status, 200, r.text);
        assert.notEqual(r.body.reason, 'not_classified', 'classified');
        return r.body;
      });
      assert.equal(cls.model, 'default');
      assert.ok(['belles', 'fiction', 'learned', 'popular', 'press', 'religion'].includes(cls.predicted), cls.predicted);
      assert.ok(cls.label === null || cls.label === cls.predicted, 'cls.label === null || cls.label === cls.predicted');
      assert.ok(cls.confidence > 0 && cls.confidence <= 1, 'cls.confidence > 0 && cls.confidence <= 1');
      assert.equal((await api.get(`/api/v1/documents/${pets.body.id}/classification`, member.accessToken)).status, 404);
    });
  });
}
