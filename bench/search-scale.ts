/**
 * Search latency at scale (scenario 5b): `GET /api/v1/search` p50/p95 with 10,000 and then
 * 100,000 documents in one tenant, scaled profile (Meilisearch full text, Qdrant vectors),
 * through the whole REST path (JWT, rate limit, the caller's role, the engine query with
 * tenant and reader filters, titles from Postgres; semantic also embeds the query).
 * Documents are Brown Corpus passages (60–120 words; beyond the corpus' ~11k passages, two
 * passages are joined). Indexes are filled in bulk (the feed's indexer would take hours to
 * embed 100k documents on 2 cores): each document's vector is the real USE embedding of
 * one of 1,000 sampled passages plus small noise, renormalised — realistic neighbourhoods
 * for the HNSW index without embedding 100k texts. Two callers: the owner (sees all) and a
 * member who was shared 1 % of the documents (the reader filter does the work).
 * Usage: npm run bench -- search-scale [--sizes=10000,100000] [--queries=100]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QdrantClient } from '@qdrant/js-client-rest';
import { Meilisearch } from 'meilisearch';
import pg from 'pg';
import { brownCorpusDir, chunkSentences, parseBrownDocument } from './datasets.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { retryStaleConnection } from '../ml-workers/search/engine-http.js';
import { ADMIN_READER } from '../ml-workers/search/fulltext.js';
import { arg, benchDirs, DB, dropSchema, ROOT, signup, startQuire } from './lib.js';

const SIZES = arg('sizes', '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('queries', '100'));
const MEILI = process.env.BENCH_MEILI_URL ?? 'http://127.0.0.1:7700';
const QDRANT = process.env.BENCH_QDRANT_URL ?? 'http://127.0.0.1:6333';
const SAMPLE = 1000;

const dirs = benchDirs();
const meiliIndex = `bs-${dirs.schema}`;
const collection = `bs-${dirs.schema}`;
const web = await startQuire({
  ...dirs,
  roles: 'api,sync',
  env: {
    MEILI_URL: MEILI,
    MEILI_INDEX: meiliIndex,
    QDRANT_URL: QDRANT,
    QDRANT_COLLECTION: collection,
    SEMANTIC_SEARCH: 'true',
    RATE_LIMIT_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_BURST: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_BURST: '100000',
  },
});
const post = async (p: string, body: unknown, token?: string) =>
  (await fetch(`${web.base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json();
const owner = await signup(web.base, 'Scale');
const memberEmail = `m${Date.now()}@bench.test`;
await post('/api/v1/users', { email: memberEmail, password: 'benchmark password', role: 'member' }, owner.accessToken);
const member = await post('/api/v1/auth/login', { email: memberEmail, password: 'benchmark password' });
const tenantId = owner.user.tenantId as string;

// The corpus.
const files = fs.readdirSync(brownCorpusDir()).filter((f) => /^c[a-r]\d\d$/.test(f));
const passages: string[] = [];
const sentences: string[] = [];
for (const f of files) {
  const ss = parseBrownDocument(fs.readFileSync(path.join(brownCorpusDir(), f), 'utf8'));
  passages.push(...chunkSentences(ss, { minWords: 60, maxWords: 120 }));
  sentences.push(...ss.filter((s) => s.split(' ').length >= 8 && s.split(' ').length <= 25));
}
const text = (i: number) => (i < passages.length ? passages[i]! : `${passages[i % passages.length]} ${passages[(i * 7919) % passages.length]}`);
const title = (i: number) => `${text(i).split(' ').slice(0, 6).join(' ')} (${i})`;

process.stderr.write(`corpus: ${passages.length} passages; embedding ${SAMPLE} of them…\n`);
const embedder = await createUseEmbedder({ threads: 2 });
const sampleIdx = Array.from({ length: SAMPLE }, (_, k) => Math.floor((k * passages.length) / SAMPLE));
const base = await embedder.embed(sampleIdx.map((i) => passages[i]!));
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const vectorFor = (i: number): number[] => {
  const b = base[i % SAMPLE]!;
  const v = Array.from(b, (x) => x + 0.03 * rand());
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

const pgc = new pg.Client({ connectionString: DB });
await pgc.connect();
const meili = new Meilisearch({ host: MEILI });
const qdrant = new QdrantClient({ url: QDRANT, checkCompatibility: false });

let filled = 0;
async function fillTo(n: number): Promise<void> {
  const BATCH = 2000;
  for (let start = filled; start < n; start += BATCH) {
    const ids: string[] = [];
    const idx: number[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      ids.push(crypto.randomUUID());
      idx.push(i);
    }
    await pgc.query(`insert into "${dirs.schema}".documents (id, tenant_id, title, created_by) select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[])`, [
      ids,
      ids.map(() => tenantId),
      idx.map(title),
      ids.map(() => owner.user.id),
    ]);
    const shared = idx.map((i, k) => (i % 100 === 0 ? ids[k]! : null)).filter((x): x is string => x !== null);
    if (shared.length) {
      await pgc.query(`insert into "${dirs.schema}".document_permissions (document_id, user_id, tenant_id, level) select d, $2::uuid, $3::uuid, 'read' from unnest($1::uuid[]) d`, [
        shared,
        member.user.id,
        tenantId,
      ]);
    }
    const readers = (k: number) => [owner.user.id, ...(idx[k]! % 100 === 0 ? [member.user.id] : []), ADMIN_READER];
    await meili
      .index(meiliIndex)
      .addDocuments(ids.map((id, k) => ({ id, tenantId, title: title(idx[k]!), text: text(idx[k]!), labels: [], readers: readers(k) })))
      .waitTask({ timeout: 600_000 });
    for (let s = 0; s < ids.length; s += 500) {
      const points = ids.slice(s, s + 500).map((id, j) => {
        const k = s + j;
        return {
          id: crypto.randomUUID(),
          vector: vectorFor(idx[k]!),
          payload: { tenantId, documentId: id, chunkIndex: 0, hash: String(idx[k]), text: text(idx[k]!), readers: readers(k), model: 'bench' },
        };
      });
      // Idempotent (the ids are fixed above): retried when a kept-alive connection went stale while idle.
      await retryStaleConnection(() => qdrant.upsert(collection, { wait: true, points }));
    }
    process.stderr.write(`filled ${Math.min(n, start + BATCH)}\n`);
  }
  filled = n;
  // Statistics for the rows just inserted, as autovacuum takes them within a minute of a
  // bulk insert on a production Postgres (this machine's runs with autovacuum off). Without
  // them the planner guesses a tenant holds few rows and looks up semantic hits' titles by
  // scanning the whole tenant (15 ms at 100k documents) instead of by primary key.
  await pgc.query(`analyze "${dirs.schema}".documents, "${dirs.schema}".document_permissions`);
  // Let both engines finish in the background (Qdrant builds its HNSW graph after the
  // upserts) so the measurement does not share the cores with indexing.
  for (let i = 0; i < 600; i++) {
    const c = await qdrant.getCollection(collection);
    const stats = await meili.index(meiliIndex).getStats();
    if (c.status === 'green' && !stats.isIndexing) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  await new Promise((res) => setTimeout(res, 2000));
}

async function measure(mode: 'fulltext' | 'semantic', token: string): Promise<{ p50: number; p95: number; hits: number }> {
  const times: number[] = [];
  let hits = 0;
  for (let q = 0; q < QUERIES + 10; q++) {
    const s = sentences[(q * 104729) % sentences.length]!;
    const words = s.split(' ').filter((w) => /^[a-z]{5,}$/i.test(w));
    const query = mode === 'fulltext' ? words.slice(0, 2).join(' ') || 'government' : s;
    const t0 = performance.now();
    const r = await fetch(`${web.base}/api/v1/search?q=${encodeURIComponent(query)}&mode=${mode}&limit=10`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await r.json()) as { hits?: unknown[] };
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`search ${r.status}: ${JSON.stringify(body)}`);
    if (q >= 10) {
      times.push(ms); // the first 10 warm up
      hits += body.hits?.length ?? 0;
    }
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(times.length * 0.5)]!, p95: times[Math.floor(times.length * 0.95)]!, hits: hits / QUERIES };
}

const rows: { docs: number; caller: string; mode: string; p50: number; p95: number; hits: number }[] = [];
for (const n of SIZES) {
  await fillTo(n);
  for (const [caller, token] of [
    ['owner (all documents)', owner.accessToken],
    ['member (1 % shared)', member.accessToken as string],
  ] as const) {
    for (const mode of ['fulltext', 'semantic'] as const) {
      const m = await measure(mode, token);
      rows.push({ docs: n, caller, mode, ...m });
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  }
}

await embedder.destroy();
await web.stop();
await pgc.end();
await dropSchema(dirs.schema);
await meili
  .deleteIndex(meiliIndex)
  .waitTask()
  .catch(() => undefined);
await qdrant.deleteCollection(collection).catch(() => undefined);
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/search-scale.json'), JSON.stringify({ queries: QUERIES, node: process.version, cores: os.cpus().length, rows }, null, 2));
process.stdout.write(
  [
    '| documents | caller | mode | p50 ms | p95 ms | hits per query | p95 ÷ 50 ms target |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.docs} | ${r.caller} | ${r.mode} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.hits.toFixed(1)} | ${(r.p95 / 50).toFixed(2)} |`),
  ].join('\n') + '\n',
);
process.exit(0);
