/**
 * Change-feed fairness: how long a tenant's new document takes to become searchable while
 * another tenant's import has thousands of index events queued. The scaled deployment as
 * two processes (web: api + sync; worker: relay + indexer + embeddings) on Postgres, NATS
 * JetStream, Meilisearch and Qdrant. Tenant A creates `--docs` documents over REST (each
 * one a `document.created` for the indexer, embedded and indexed in turn); as soon as the
 * last is stored, tenant B creates one document with a marker word and polls full-text
 * search for it every 20 ms. Reports B's time to searchable, how many of A's documents
 * were still waiting at that moment, and A's drain time. With one consumer over every
 * tenant, B's document waited behind A's whole backlog; with a lane per tenant it waits
 * for a free handler slot.
 * Usage: npm run bench -- feed-fairness [--docs=400]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, benchDirs, createDocument, dropSchema, ROOT, signup, startQuire, stopProc } from './lib.js';

const DOCS = Number(arg('docs', '400'));
const POLL_MS = 20;
const NATS = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const MEILI = process.env.BENCH_MEILI_URL ?? 'http://127.0.0.1:7700';
const QDRANT = process.env.BENCH_QDRANT_URL ?? 'http://127.0.0.1:6333';

const dirs = benchDirs();
const env = {
  NATS_URL: NATS,
  NATS_STREAM: `BFF_${dirs.schema}`,
  NATS_SUBJECT_PREFIX: dirs.schema.replace(/_/g, '-'),
  MEILI_URL: MEILI,
  MEILI_INDEX: `bff-${dirs.schema}`,
  QDRANT_URL: QDRANT,
  QDRANT_COLLECTION: `bff-${dirs.schema}`,
  SEMANTIC_SEARCH: 'true',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_BURST: '100000',
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_IP_BURST: '100000',
};
const web = await startQuire({ ...dirs, roles: 'api,sync', env });
const workerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-bench-worker-'));
const worker = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--roles=worker'], {
  cwd: ROOT,
  env: { ...process.env, ...env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', DATABASE_SCHEMA: dirs.schema, DATA_DIR: workerDir, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'inherit', 'inherit'],
});

const a = (await signup(web.base, 'Importer')).accessToken;
const b = (await signup(web.base, 'Neighbour')).accessToken;

async function found(token: string, q: string, docId: string): Promise<boolean> {
  const r = await fetch(`${web.base}/api/v1/search?q=${encodeURIComponent(q)}&mode=fulltext&limit=5`, { headers: { authorization: `Bearer ${token}` } });
  return r.ok && ((await r.json()) as { hits: { documentId: string }[] }).hits.some((h) => h.documentId === docId);
}
async function until(token: string, q: string, docId: string, t0: number, limitMs: number): Promise<number> {
  for (;;) {
    if (await found(token, q, docId)) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) return NaN;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

// Warm up: the first document loads the embedding model; B's first one opens its lane.
for (const [token, q] of [[a, 'warmupa'], [b, 'warmupb']] as const) {
  const id = await createDocument(web.base, token, 'warm-up', `A first document ${q} to warm up the workers.`);
  await until(token, q, id, performance.now(), 120_000);
}

// Tenant A imports: every document is an index event.
const body = (i: number) => `Imported note ${i}. ${'Quarterly planning notes on budgets, hiring and the roadmap for the next release. '.repeat(4)}`;
const aIds: string[] = [];
const tImport = performance.now();
for (let i = 0; i < DOCS; i += 8) {
  aIds.push(...(await Promise.all(Array.from({ length: Math.min(8, DOCS - i) }, (_, k) => createDocument(web.base, a, `Import ${i + k}`, `${body(i + k)} impmark${i + k}`)))));
}
const importMs = performance.now() - tImport;

// Tenant B writes one document and waits for it.
const marker = `neighbour${Math.random().toString(36).slice(2, 8)}`;
const t0 = performance.now();
const bId = await createDocument(web.base, b, 'Minutes', `Minutes of the weekly meeting ${marker}.`);
const bMs = await until(b, marker, bId, t0, 600_000);
// How far A had got: binary search over A's documents (indexed roughly in order).
let lo = 0;
let hi = aIds.length;
while (lo < hi) {
  const mid = (lo + hi) >> 1;
  if (await found(a, `impmark${mid}`, aIds[mid]!)) lo = mid + 1;
  else hi = mid;
}
const aWaiting = aIds.length - lo;
const drainMs = await until(a, `impmark${DOCS - 1}`, aIds[DOCS - 1]!, t0, 1_800_000);

await web.stop();
await stopProc(worker);
await dropSchema(dirs.schema);
await fetch(`${MEILI}/indexes/${env.MEILI_INDEX}`, { method: 'DELETE' }).catch(() => undefined);
await fetch(`${QDRANT}/collections/${env.QDRANT_COLLECTION}`, { method: 'DELETE' }).catch(() => undefined);
{
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: NATS });
  await (await jetstreamManager(nc)).streams.delete(env.NATS_STREAM).catch(() => undefined);
  await nc.close();
}
fs.rmSync(workerDir, { recursive: true, force: true });
const result = { docs: DOCS, importMs, neighbourSearchableMs: bMs, importerStillWaiting: aWaiting, importerDrainMs: drainMs, node: process.version, cores: os.cpus().length };
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/feed-fairness.json'), JSON.stringify(result, null, 2));
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
process.stdout.write(
  [
    "| tenant A's import | import took (ms) | B's new document searchable after (ms) | A's documents still waiting then | A's import searchable after (ms) |",
    '|---|---|---|---|---|',
    `| ${DOCS} documents | ${f(importMs)} | ${f(bMs)} | ${aWaiting} | ${f(drainMs)} |`,
  ].join('\n') + '\n',
);
process.exit(0);
