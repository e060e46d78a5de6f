/**
 * Freshness (scenario 5a): how long after an edit is acknowledged it can be found, by
 * full-text and by semantic search, in the scaled deployment: a web process (api, sync)
 * and a worker process (relay, indexer, embeddings) on Postgres, NATS JetStream,
 * Meilisearch and Qdrant. Each round creates a document, types a real sentence (Brown
 * Corpus) with a unique marker word through a Hocuspocus provider, waits for the ack
 * (Quire acks after the commit), then polls the search API every 20 ms until the document
 * is a hit: full text by the marker, semantic by the sentence.
 * Usage: npm run bench -- freshness [--rounds=40]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { brownCorpusDir, parseBrownDocument } from './datasets.js';
import { arg, createDocument, ROOT, signup, startScaledDeployment } from './lib.js';

const ROUNDS = Number(arg('rounds', '40'));
const POLL_MS = 20;

const { web, stop } = await startScaledDeployment('bf');

const s = await signup(web.base, 'Fresh');
const token = s.accessToken;

// Real sentences of 12–40 words from across the corpus.
const files = fs.readdirSync(brownCorpusDir()).filter((f) => /^c[a-r]\d\d$/.test(f));
const sentences: string[] = [];
for (let i = 0; sentences.length < ROUNDS; i++) {
  const content = fs.readFileSync(path.join(brownCorpusDir(), files[(i * 7) % files.length]!), 'utf8');
  const candidates = parseBrownDocument(content).filter((x) => x.split(' ').length >= 12 && x.split(' ').length <= 40);
  if (candidates[i % candidates.length]) sentences.push(candidates[i % candidates.length]!);
}

// Warm up the embedding model (first index loads it) before measuring.
await createDocument(web.base, token, 'warm-up', 'A first document to warm up the workers.');
for (let i = 0; i < 600; i++) {
  const r = await fetch(`${web.base}/api/v1/search?q=warm&mode=semantic`, { headers: { authorization: `Bearer ${token}` } });
  if (r.ok && ((await r.json()) as { hits: unknown[] }).hits.length > 0) break;
  await new Promise((res) => setTimeout(res, 100));
}

async function until(q: string, mode: string, docId: string, t0: number): Promise<number> {
  for (;;) {
    const r = await fetch(`${web.base}/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=5`, { headers: { authorization: `Bearer ${token}` } });
    if (r.ok && ((await r.json()) as { hits: { documentId: string }[] }).hits.some((h) => h.documentId === docId)) return performance.now() - t0;
    if (performance.now() - t0 > 60_000) return NaN;
    await new Promise((res) => setTimeout(res, POLL_MS));
  }
}

const fulltext: number[] = [];
const semantic: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const marker = `fresh${i}x${Math.random().toString(36).slice(2, 8)}`;
  const sentence = sentences[i]!;
  const doc = { id: await createDocument(web.base, token, `Note ${i}`) };
  const ydoc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url: `ws://127.0.0.1:${web.port}/sync`, WebSocketPolyfill: WebSocket as never });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: doc.id, document: ydoc, token });
  provider.attach();
  await new Promise<void>((res) => provider.on('synced', () => res()));
  const acked = new Promise<void>((res) => {
    const on = ({ number }: { number: number }) => {
      if (number === 0) {
        provider.off('unsyncedChanges', on);
        res();
      }
    };
    provider.on('unsyncedChanges', on);
  });
  ydoc.transact(() => {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText(`${sentence} ${marker}`)]);
    ydoc.getXmlFragment('default').insert(0, [p]);
  });
  await acked;
  const t0 = performance.now();
  const [ft, sem] = await Promise.all([until(marker, 'fulltext', doc.id, t0), until(sentence, 'semantic', doc.id, t0)]);
  fulltext.push(ft);
  semantic.push(sem);
  process.stderr.write(`round ${i}: fulltext ${ft.toFixed(0)} ms, semantic ${sem.toFixed(0)} ms\n`);
  provider.destroy();
  socket.destroy();
}

const pct = (xs: number[], p: number) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const rows = [
  { mode: 'fulltext (Meilisearch)', p50: pct(fulltext, 0.5), p95: pct(fulltext, 0.95), max: Math.max(...fulltext), missed: fulltext.filter((x) => !Number.isFinite(x)).length },
  { mode: 'semantic (Qdrant)', p50: pct(semantic, 0.5), p95: pct(semantic, 0.95), max: Math.max(...semantic), missed: semantic.filter((x) => !Number.isFinite(x)).length },
];
await stop();
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, 'bench/results/freshness.json'),
  JSON.stringify({ rounds: ROUNDS, pollMs: POLL_MS, node: process.version, cores: os.cpus().length, rows, fulltext, semantic }, null, 2),
);
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : '—');
process.stdout.write(
  [
    '| search | ack → found p50 ms | p95 ms | max ms | not found in 60 s | p95 ÷ 1 s target |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.mode} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.max)} | ${r.missed} | ${(r.p95 / 1000).toFixed(2)} |`),
  ].join('\n') + '\n',
);
process.exit(0);
