/**
 * Relevance behaviours of the whole search path on both profiles, over the labelled set in
 * test/fixtures/search-relevance: nonsense finds nothing by meaning (the similarity floor),
 * a one-word query's best matches list no unrelated policy, misspellings find their
 * document in every mode, and every hit says why it matched. Ranking figures (nDCG, MRR)
 * are measured by `npm run bench:relevance`, not asserted here.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { TEST_QDRANT_URL } from './helpers/env.js';
import { relevanceSet } from './helpers/relevance-set.js';
import { startServer, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const PROFILES: Record<string, (t: TestContext) => StartServerOptions> = {
  'embedded (Postgres full text + pgvector)': () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
  'scaled (Meilisearch + Qdrant)': (t) => {
    const collection = uniqueName('qr');
    t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
    return { meili: true, env: { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: collection } };
  },
};

/** Documents of the set that have nothing to do with money. */
const POLICIES = ['expense-policy', 'remote-work', 'security-policy', 'data-retention', 'parental-leave'];

interface Hit {
  documentId: string;
  title: string;
  snippet: string;
  score: number;
  match: { kind: string; fields: string[]; terms: string[]; similarity?: number };
}

for (const [name, profile] of Object.entries(PROFILES)) {
  describe(`search relevance: ${name}`, () => {
    test('nonsense finds nothing, "revenue" lists no policy, typos find their document, hits explain themselves', async (t) => {
      const { api } = await startServer(t, profile(t));
      const owner = await api.signup('Relevance');
      const set = relevanceSet();
      const id = new Map<string, string>();
      for (const d of set.documents) {
        const r = await api.post('/api/v1/documents', { title: d.title, text: d.text }, owner.accessToken);
        assert.equal(r.status, 201, r.text);
        id.set(d.id, r.body.id);
      }
      const name = new Map([...id].map(([k, v]) => [v, k]));
      const find = async (q: string, mode: string): Promise<Hit[]> => {
        const r = await api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=10`, owner.accessToken);
        assert.equal(r.status, 200, r.text);
        return r.body.hits;
      };
      // Every document is indexed before anything is judged (the indexer writes the vectors
      // of a document before its full-text entry).
      await eventually(
        async () => {
          for (const d of set.documents)
            assert.ok(
              (await find(d.title, 'fulltext')).some((h) => h.documentId === id.get(d.id)),
              d.title,
            );
        },
        { timeoutMs: 300_000, intervalMs: 250 },
      );

      for (const q of set.nonsense) {
        for (const mode of ['semantic', 'hybrid', 'fulltext']) assert.deepEqual(await find(q, mode), [], `${q} (${mode})`);
      }

      const revenue = await find('revenue', 'hybrid');
      assert.equal(name.get(revenue[0]!.documentId), 'q3-results', JSON.stringify(revenue.map((h) => name.get(h.documentId))));
      for (const h of revenue) {
        assert.ok(!POLICIES.includes(name.get(h.documentId)!), `an unrelated policy is listed: ${h.title}`);
        assert.equal(h.match.kind, 'exact');
        assert.ok(h.match.terms.includes('revenue'), JSON.stringify(h.match));
        assert.match(h.snippet, /<mark>revenue<\/mark>/i);
      }

      for (const [q, answer] of [
        ['kubernets autoscalng', 'k8s-autoscaling'],
        ['quartely revnue', 'q3-results'],
      ]) {
        for (const mode of ['fulltext', 'hybrid']) {
          const hits = await find(q!, mode);
          assert.equal(name.get(hits[0]?.documentId ?? ''), answer, `${q} (${mode}): ${JSON.stringify(hits.map((h) => h.title))}`);
          assert.equal(hits[0]!.match.kind, 'typo');
        }
      }

      // Found by meaning: the passage is the snippet, the query's words in it are marked.
      const train = await find('reimbursement for train tickets', 'semantic');
      assert.equal(name.get(train[0]!.documentId), 'expense-policy');
      assert.equal(train[0]!.match.kind, 'semantic');
      assert.ok(train[0]!.match.similarity! >= 0.35 && train[0]!.match.similarity! <= 1, JSON.stringify(train[0]!.match));
      assert.deepEqual(train[0]!.match.terms, ['reimbursement']);
      assert.match(train[0]!.snippet, /<mark>reimbursement<\/mark>/);
      assert.equal(train[0]!.title, 'Travel and expense policy');
    });
  });
}
