/**
 * One conformance suite per search port, over every implementation against the real
 * servers: full-text (Postgres on server Postgres and in PGlite, Meilisearch) and vectors
 * (pgvector in PGlite, Qdrant). Documents and grants are real rows (the Postgres
 * implementations join them live); the readers handed to the index match those grants.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test, type TestContext } from 'node:test';
import type { FullTextIndex } from '../ml-workers/search/fulltext.js';
import { isStaleConnection, retryStaleConnection } from '../ml-workers/search/engine-http.js';
import { MeilisearchFullText } from '../ml-workers/search/meilisearch-fulltext.js';
import { PostgresFullText } from '../ml-workers/search/postgres-fulltext.js';
import { PgVectorIndex } from '../ml-workers/search/pgvector.js';
import { QdrantVectorIndex } from '../ml-workers/search/qdrant.js';
import type { VectorIndex } from '../ml-workers/search/vectors.js';
import { TEST_MEILI_URL, TEST_QDRANT_URL } from './helpers/env.js';
import { relevanceSet } from './helpers/relevance-set.js';
import { startServer, uniqueName, type Dialect } from './helpers/server.js';

async function world(t: TestContext, dialect: Dialect) {
  // No worker role: the suite owns the index (a live indexer would re-index the same documents).
  const srv = await startServer(t, { dialect, roles: ['api', 'sync'] });
  const owner = await srv.api.signup('A');
  const member = await srv.api.addUser(owner, 'member');
  const stranger = await srv.api.signup('B');
  const shared = await srv.api.createDocument(owner, 'Shared plan');
  const secret = await srv.api.createDocument(owner, 'Secret plan');
  await srv.api.put(`/api/v1/documents/${shared.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  return { srv, owner, member, stranger, shared, secret };
}

type World = Awaited<ReturnType<typeof world>>;

const FULLTEXT: Record<string, { dialect: Dialect; make: (t: TestContext, w: World) => Promise<FullTextIndex> }> = {
  postgres: { dialect: 'postgres', make: async (_t, w) => new PostgresFullText(w.srv.quire.store.db) },
  'postgres (PGlite)': { dialect: 'pglite', make: async (_t, w) => new PostgresFullText(w.srv.quire.store.db) },
  meilisearch: {
    dialect: 'postgres',
    make: async (t) => {
      const indexName = uniqueName('qc');
      t.after(() => fetch(`${TEST_MEILI_URL}/indexes/${indexName}`, { method: 'DELETE' }).then(() => undefined));
      return MeilisearchFullText.open({ url: TEST_MEILI_URL, indexName });
    },
  },
};

/** The labelled set's documents as real rows of the owner's tenant, indexed; fixture id → document id. */
async function indexRelevanceSet(w: World, idx: FullTextIndex): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const d of relevanceSet().documents) {
    const doc = await w.srv.api.createDocument(w.owner, d.title);
    ids.set(d.id, doc.id);
    await idx.upsert({ tenantId: w.owner.user.tenantId, documentId: doc.id, title: d.title, text: d.text, labels: [], readers: [w.owner.user.id] });
  }
  return ids;
}

for (const [name, { dialect, make }] of Object.entries(FULLTEXT)) {
  describe(`full-text index conformance: ${name}`, () => {
    test('upsert, search with tenant and reader filters, highlight, update, remove', async (t) => {
      const w = await world(t, dialect);
      const idx = await make(t, w);
      const tenantId = w.owner.user.tenantId;
      await idx.upsert({ tenantId, documentId: w.shared.id, title: 'Shared plan', text: 'We migrate the billing database in March', labels: [], readers: [w.owner.user.id, w.member.user.id] });
      await idx.upsert({ tenantId, documentId: w.secret.id, title: 'Secret plan', text: 'The billing database will be replaced entirely', labels: [], readers: [w.owner.user.id] });
      const as = (s: typeof w.owner, admin: boolean) => ({ tenantId: s.user.tenantId, userId: s.user.id, tenantAdmin: admin, limit: 10 });
      const ownerHits = await idx.search({ ...as(w.owner, true), q: 'billing database' });
      assert.deepEqual(ownerHits.map((h) => h.documentId).sort(), [w.shared.id, w.secret.id].sort());
      assert.ok(
        ownerHits.every((h) => /<mark>/.test(h.snippet)),
        JSON.stringify(ownerHits),
      );
      assert.deepEqual(
        (await idx.search({ ...as(w.member, false), q: 'billing database' })).map((h) => h.documentId),
        [w.shared.id],
      );
      assert.deepEqual(await idx.search({ ...as(w.stranger, true), q: 'billing database' }), []);
      assert.deepEqual(await idx.search({ ...as(w.owner, true), q: 'xylophone' }), []);
      await idx.upsert({
        tenantId,
        documentId: w.shared.id,
        title: 'Shared plan',
        text: 'Now about the xylophone order: <script>alert(1)</script> & 1 < 2',
        labels: [],
        readers: [w.owner.user.id, w.member.user.id],
      });
      const x = await idx.search({ ...as(w.member, false), q: 'xylophone' });
      assert.deepEqual(
        x.map((h) => h.documentId),
        [w.shared.id],
      );
      assert.match(x[0]!.snippet, /<mark>xylophone<\/mark>/);
      assert.doesNotMatch(x[0]!.snippet.replace(/<\/?mark>/g, ''), /<|>/, 'markup in text never reaches a snippet unescaped');
      await idx.remove(tenantId, w.shared.id);
      assert.deepEqual(await idx.search({ ...as(w.owner, true), q: 'xylophone' }), []);
    });

    test('misspelled words find their documents; each hit says how and where it matched', async (t) => {
      const w = await world(t, dialect);
      const idx = await make(t, w);
      const ids = await indexRelevanceSet(w, idx);
      const find = (q: string) => idx.search({ tenantId: w.owner.user.tenantId, userId: w.owner.user.id, tenantAdmin: true, q, limit: 5 });
      for (const [q, answer, words] of [
        ['kubernets autoscalng', 'k8s-autoscaling', ['kubernetes', 'autoscaling']],
        ['quartely revnue', 'q3-results', ['quarterly', 'revenue']],
        ['pasword manger', 'security-policy', ['password', 'manager']],
      ] as const) {
        const hits = await find(q);
        assert.equal(hits[0]?.documentId, ids.get(answer), `${q}: ${JSON.stringify(hits.map((h) => h.title))}`);
        assert.equal(hits[0]!.match.kind, 'typo', q);
        for (const word of words) assert.ok(hits[0]!.match.terms.includes(word), `${q}: ${word} in ${JSON.stringify(hits[0]!.match)}`);
        assert.match(hits[0]!.snippet, /<mark>/);
      }
      const exact = await find('kubernetes autoscaling');
      assert.equal(exact[0]?.documentId, ids.get('k8s-autoscaling'));
      assert.equal(exact[0]!.match.kind, 'exact');
      assert.deepEqual(exact[0]!.match.fields, ['title', 'text']);
      for (const word of ['autoscaling', 'kubernetes']) assert.ok(exact[0]!.match.terms.includes(word), JSON.stringify(exact[0]!.match));
      const body = await find('hospital');
      assert.deepEqual(
        body.map((h) => h.documentId),
        [ids.get('sales-pipeline')],
      );
      assert.deepEqual(body[0]!.match, { kind: 'exact', fields: ['text'], terms: ['hospital'] });
      assert.deepEqual(await find('zzzqqqxx'), []);
    });

    test('pages of hits continue where the previous one ended', async (t) => {
      const w = await world(t, dialect);
      const idx = await make(t, w);
      const tenantId = w.owner.user.tenantId;
      const docs = [w.shared, w.secret, ...(await Promise.all([1, 2, 3].map((i) => w.srv.api.createDocument(w.owner, `Zoo ${i}`))))];
      for (const [i, d] of docs.entries()) {
        await idx.upsert({ tenantId, documentId: d.id, title: `Zoo ${i}`, text: `The aardvark enclosure, visit ${i}`, labels: [], readers: [w.owner.user.id] });
      }
      const page = (offset: number) => idx.search({ tenantId, userId: w.owner.user.id, tenantAdmin: true, q: 'aardvark', limit: 2, offset });
      const pages = [await page(0), await page(2), await page(4)];
      assert.deepEqual(
        pages.map((p) => p.length),
        [2, 2, 1],
      );
      assert.deepEqual(
        pages
          .flat()
          .map((h) => h.documentId)
          .sort(),
        docs.map((d) => d.id).sort(),
      );
    });
  });
}

function unit(dim: number, hot: number): Float32Array {
  const v = new Float32Array(512);
  v[dim] = 1;
  v[hot] = 0.2;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

const VECTORS: Record<string, { dialect: Dialect; make: (t: TestContext, w: Awaited<ReturnType<typeof world>>) => Promise<VectorIndex> }> = {
  pgvector: { dialect: 'pglite', make: async (_t, w) => new PgVectorIndex(w.srv.quire.store.db) },
  qdrant: {
    dialect: 'postgres',
    make: async (t) => {
      const collection = uniqueName('qc');
      t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
      return QdrantVectorIndex.open({ url: TEST_QDRANT_URL, collection, dimensions: 512 });
    },
  },
};

for (const [name, { dialect, make }] of Object.entries(VECTORS)) {
  describe(`vector index conformance: ${name}`, () => {
    test('replace, nearest neighbours with tenant and reader filters, existing hashes, shrink, remove', async (t) => {
      const w = await world(t, dialect);
      const idx = await make(t, w);
      const tenantId = w.owner.user.tenantId;
      const chunks = (base: number, n: number) => Array.from({ length: n }, (_, i) => ({ index: i, hash: `h${base}-${i}`, text: `chunk ${base}-${i}`, vector: unit(base + i, 100) }));
      await idx.replace(tenantId, w.shared.id, chunks(0, 3), [w.owner.user.id, w.member.user.id], 'm');
      await idx.replace(tenantId, w.secret.id, chunks(10, 2), [w.owner.user.id], 'm');
      const as = (s: typeof w.owner, admin: boolean) => ({ tenantId: s.user.tenantId, userId: s.user.id, tenantAdmin: admin, limit: 3 });
      const near = await idx.search({ ...as(w.owner, true), vector: unit(11, 100) });
      assert.equal(near[0]?.documentId, w.secret.id);
      assert.equal(near[0]?.chunkIndex, 1);
      assert.ok(near[0]!.score > 0.9, 'near[0]!.score > 0.9');
      const memberHits = await idx.search({ ...as(w.member, false), vector: unit(11, 100), limit: 10 });
      assert.ok(
        memberHits.every((h) => h.documentId === w.shared.id),
        'never the unshared document',
      );
      assert.deepEqual(await idx.search({ ...as(w.stranger, true), vector: unit(11, 100) }), []);
      const existing = await idx.existing(tenantId, w.shared.id);
      assert.deepEqual([...existing.keys()].sort(), ['h0-0', 'h0-1', 'h0-2']);
      assert.ok(Math.abs(existing.get('h0-1')![1]! - unit(1, 100)[1]!) < 1e-5, "Math.abs(existing.get('h0-1')![1]! - unit(1, 100)[1]!) < 1e-5");
      // Shrinking to one chunk drops the other two; re-running is idempotent (no duplicates).
      await idx.replace(tenantId, w.shared.id, chunks(0, 1), [w.owner.user.id, w.member.user.id], 'm');
      await idx.replace(tenantId, w.shared.id, chunks(0, 1), [w.owner.user.id, w.member.user.id], 'm');
      const all = await idx.search({ ...as(w.owner, true), vector: unit(0, 100), limit: 20 });
      assert.equal(all.filter((h) => h.documentId === w.shared.id).length, 1);
      await idx.remove(tenantId, w.secret.id);
      assert.ok(
        (await idx.search({ ...as(w.owner, true), vector: unit(11, 100), limit: 20 })).every((h) => h.documentId !== w.secret.id),
        '(await idx.search({ ...as(w.owner, true), vector: unit(11, 100), limit: 20 })).every((h) => h.docum…',
      );
    });

    test('pages by offset, and leaves out chunks below a minimum similarity', async (t) => {
      const w = await world(t, dialect);
      const idx = await make(t, w);
      const tenantId = w.owner.user.tenantId;
      // Five chunks at decreasing similarity to the query vector (all on dimension 7, less and less).
      const near = (k: number) => {
        const v = new Float32Array(512);
        v[7] = 1;
        v[50 + k] = 0.3 * k;
        const n = Math.hypot(...v);
        return v.map((x) => x / n);
      };
      await idx.replace(
        tenantId,
        w.shared.id,
        [0, 1, 2, 3, 4].map((k) => ({ index: k, hash: `n${k}`, text: `near ${k}`, vector: near(k) })),
        [w.owner.user.id],
        'm',
      );
      const as = { tenantId, userId: w.owner.user.id, tenantAdmin: true, vector: unit(7, 7) };
      const pages = [await idx.search({ ...as, limit: 2 }), await idx.search({ ...as, limit: 2, offset: 2 }), await idx.search({ ...as, limit: 2, offset: 4 })];
      assert.deepEqual(
        pages.map((p) => p.map((h) => h.chunkIndex)),
        [[0, 1], [2, 3], [4]],
      );
      // near(2) has cosine 1/√1.36 ≈ 0.857 with the query, near(3) ≈ 0.743.
      const floored = await idx.search({ ...as, limit: 10, minScore: 0.8 });
      assert.deepEqual(
        floored.map((h) => h.chunkIndex),
        [0, 1, 2],
      );
      assert.ok(
        floored.every((h) => h.score >= 0.8),
        'floored.every((h) => h.score >= 0.8)',
      );
    });
  });
}

/**
 * A forwarding proxy in front of a real engine that records what the client asked for and
 * what came back. Compressed answers are streamed by the engines in several writes and
 * stalled ~40 ms on kept-alive connections (Nagle × delayed ACK), so our clients must ask
 * for identity encoding on every request.
 */
async function recordingProxy(t: TestContext, target: string) {
  const seen: { path: string; acceptEncoding: string | undefined; contentEncoding: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    const up = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      seen.push({ path: req.url ?? '', acceptEncoding: req.headers['accept-encoding'], contentEncoding: answer.headers['content-encoding'] });
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('search engine clients', () => {
  test('Meilisearch and Qdrant are asked for uncompressed responses on every request', async (t) => {
    const w = await world(t, 'postgres');
    const tenantId = w.owner.user.tenantId;
    const as = { tenantId, userId: w.owner.user.id, tenantAdmin: true, limit: 10 };

    const meili = await recordingProxy(t, TEST_MEILI_URL);
    const indexName = uniqueName('qe');
    t.after(() => fetch(`${TEST_MEILI_URL}/indexes/${indexName}`, { method: 'DELETE' }).then(() => undefined));
    const ft = await MeilisearchFullText.open({ url: meili.url, indexName });
    // A large document, so the search answer is well past the size the engines compress.
    await ft.upsert({ tenantId, documentId: w.shared.id, title: 'Shared plan', text: 'billing database migration '.repeat(2000), labels: [], readers: [w.owner.user.id] });
    assert.equal((await ft.search({ ...as, q: 'billing' })).length, 1);

    const qdrant = await recordingProxy(t, TEST_QDRANT_URL);
    const collection = uniqueName('qe');
    t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
    const vx = await QdrantVectorIndex.open({ url: qdrant.url, collection, dimensions: 512 });
    await vx.replace(tenantId, w.shared.id, [{ index: 0, hash: 'h', text: 'chunk '.repeat(500), vector: unit(1, 100) }], [w.owner.user.id], 'm');
    assert.equal((await vx.search({ ...as, vector: unit(1, 100) })).length, 1);

    for (const { seen, name } of [
      { seen: meili.seen, name: 'meilisearch' },
      { seen: qdrant.seen, name: 'qdrant' },
    ]) {
      assert.ok(
        seen.some((r) => r.path.includes('search')),
        `${name}: the search went through the proxy`,
      );
      for (const r of seen) {
        assert.equal(r.acceptEncoding, 'identity', `${name} ${r.path}`);
        assert.equal(r.contentEncoding, undefined, `${name} ${r.path}`);
      }
    }
  });

  test('a request that failed on a connection the engine had closed is retried once; other failures are not', async () => {
    const stale = new TypeError('fetch failed', { cause: Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) });
    const wrapped = new Error('Request to http://engine has failed', { cause: stale });
    assert.equal(isStaleConnection(wrapped), true);
    assert.equal(isStaleConnection(new Error('index not found')), false);
    let calls = 0;
    assert.equal(await retryStaleConnection(async () => (++calls === 1 ? Promise.reject(wrapped) : 'answer')), 'answer');
    assert.equal(calls, 2);
    calls = 0;
    await assert.rejects(
      retryStaleConnection(async () => (++calls, Promise.reject(new Error('bad filter')))),
      /bad filter/,
    );
    assert.equal(calls, 1);
    calls = 0;
    await assert.rejects(
      retryStaleConnection(async () => (++calls, Promise.reject(wrapped))),
      /has failed/,
    );
    assert.equal(calls, 2, 'once more, not forever');
  });
});
