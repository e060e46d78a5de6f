/**
 * Search answers only what the caller may read at the moment of the query, in every mode,
 * whatever the engines still store: a revoked share, a deleted document, a demoted admin, a
 * removed user. The indexing worker runs in a process of its own and is stopped once the
 * documents are indexed, so the engines keep the readers of before the changes (the test
 * checks that they do), and every search runs at once after them. The answer still fills
 * `limit` from the documents the caller may read.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { MeilisearchFullText } from '../ml-workers/search/meilisearch-fulltext.js';
import { TEST_MEILI_URL, TEST_QDRANT_URL } from './helpers/env.js';
import { startServer, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const MODES = ['fulltext', 'semantic', 'hybrid'] as const;

const PROFILES: Record<string, (t: TestContext) => StartServerOptions> = {
  'scaled (Meilisearch + Qdrant + NATS)': (t) => {
    const collection = uniqueName('qa');
    t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
    return { nats: true, meili: true, env: { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: collection } };
  },
  'embedded (Postgres full text + pgvector)': () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
};

const ABOUT = 'The aardvark digs burrows at night and eats ants and termites with its long sticky tongue.';
const MEANING = 'an animal that eats termites at night';

for (const [name, profile] of Object.entries(PROFILES)) {
  describe(`search checks live access: ${name}`, () => {
    test('revoked, deleted, demoted and removed: never found, and the answer still fills its limit', async (t) => {
      const opts = profile(t);
      const web = await startServer(t, { ...opts, roles: ['api', 'sync'] });
      const worker = await startServer(t, { ...opts, roles: ['worker'], schema: web.schema });
      const { api } = web;
      const owner = await api.signup('Zoo');
      const member = await api.addUser(owner, 'member');
      const admin = await api.addUser(owner, 'admin');
      const leaver = await api.addUser(owner, 'member');
      // d0–d4 carry the word in their titles, so engines rank them first: the ones revoked below.
      const docs: string[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await api.post('/api/v1/documents', { title: i < 5 ? `Aardvark notes ${i}` : `Field notes ${i}`, text: `${ABOUT} Entry ${i}.` }, owner.accessToken);
        assert.equal(r.status, 201, r.text);
        docs.push(r.body.id);
        await api.put(`/api/v1/documents/${r.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
      }
      await api.put(`/api/v1/documents/${docs[0]}/permissions`, { userId: leaver.user.id, level: 'read' }, owner.accessToken);

      const find = (token: string, mode: string, limit = 10, q = mode === 'fulltext' ? 'aardvark' : MEANING) => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=${limit}`, token);
      const ids = (r: { body: { hits: { documentId: string }[] } }) => r.body.hits.map((h) => h.documentId).sort();
      // Indexed with every grant: everyone finds what was shared with them, in every mode.
      await eventually(
        async () => {
          for (const mode of MODES) {
            assert.deepEqual(ids(await find(member.accessToken, mode)), [...docs].sort(), `member, ${mode}`);
            assert.deepEqual(ids(await find(admin.accessToken, mode)), [...docs].sort(), `admin, ${mode}`);
            assert.deepEqual(ids(await find(leaver.accessToken, mode)), [docs[0]], `leaver, ${mode}`);
          }
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      await worker.quire.close();

      // Access changes while nothing re-indexes.
      for (const d of docs.slice(0, 5)) {
        assert.equal((await api.put(`/api/v1/documents/${d}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken)).status, 200);
      }
      assert.equal((await api.del(`/api/v1/documents/${docs[7]}`, owner.accessToken)).status, 204);
      assert.equal((await api.patch(`/api/v1/users/${admin.user.id}`, { role: 'member' }, owner.accessToken)).status, 200);
      assert.equal((await api.del(`/api/v1/users/${leaver.user.id}`, owner.accessToken)).status, 204);

      if (opts.meili) {
        // The engine still lists the member as a reader of the revoked documents.
        const meili = await MeilisearchFullText.open({ url: TEST_MEILI_URL, indexName: web.config.search.meiliIndex });
        const stale = await meili.search({ tenantId: owner.user.tenantId, userId: member.user.id, tenantAdmin: false, q: 'aardvark', limit: 10 });
        assert.ok(
          stale.some((h) => h.documentId === docs[0]),
          'the index has not caught up',
        );
      }

      const readable = [docs[5]!, docs[6]!].sort();
      for (const mode of MODES) {
        assert.deepEqual(ids(await find(member.accessToken, mode)), readable, `member, ${mode}`);
        // Two of eight candidates are readable, ranked last: the answer pages on until it has them.
        assert.deepEqual(ids(await find(member.accessToken, mode, 2)), readable, `member, limit 2, ${mode}`);
        assert.deepEqual(ids(await find(admin.accessToken, mode)), [], `demoted admin, ${mode}`);
        assert.deepEqual(ids(await find(owner.accessToken, mode)), docs.slice(0, 7).sort(), `owner, ${mode}`);
        const gone = await find(leaver.accessToken, mode);
        assert.equal(gone.status, 401, gone.text);
        assert.equal(gone.body.error.code, 'account_inactive');
      }
    });
  });
}
