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
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, createDocument, ROOT, signup, startScaledDeployment } from './lib.js';

const DOCS = Number(arg('docs', '400'));
const POLL_MS = 20;

const { web, stop } = await startScaledDeployment('bff');

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
for (const [token, q] of [
  [a, 'warmupa'],
  [b, 'warmupb'],
] as const) {
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

await stop();
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
