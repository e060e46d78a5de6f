/**
 * Trace replay throughput and cold load (scenario 3): `automerge-paper` (259,778 edits)
 * replayed through one provider at full speed; edits/s until every update is acknowledged
 * (Quire acks after the Postgres commit; Hocuspocus acks in memory). Then the server
 * restarts and a fresh provider loads the document: time to synced (Quire and Hocuspocus
 * with extension-database), plus Quire's REST read of the Yjs state.
 * Usage: npm run bench -- trace [--runs=3] [--trace=automerge-paper]
 */
import fs from 'node:fs';
import path from 'node:path';
import { arg, benchDirs, dropSchema, median, ROOT, runClient, signupAndDocument, startPeer, startQuire } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const TRACE = arg('trace', 'automerge-paper');
const SERVERS = arg('servers', 'hocuspocus-memory,hocuspocus-db,quire').split(',');

interface Replay {
  edits: number;
  ackedMs: number;
  editsPerS: number;
  ok: boolean;
}

async function quire(): Promise<{ editsPerS: number; coldSyncMs: number; restYjsMs: number; ok: boolean }> {
  const dirs = benchDirs();
  const env = { SEMANTIC_SEARCH: 'false' };
  const a = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const { token, doc } = await signupAndDocument(a.base);
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}/sync`, doc, token, TRACE]);
  await a.stop();
  const b = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const t0 = performance.now();
  const r = await fetch(`${b.base}/api/v1/documents/${doc}/content?format=yjs`, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  const restYjsMs = performance.now() - t0;
  await b.stop();
  const c = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const load = await runClient<{ syncedMs: number; chars: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c.port}/sync`, doc, token]);
  await c.stop();
  await dropSchema(dirs.schema);
  return { editsPerS: replay.editsPerS, coldSyncMs: load.syncedMs, restYjsMs, ok: replay.ok && load.chars > 0 };
}

async function hocuspocus(kind: 'hocuspocus-memory' | 'hocuspocus-db'): Promise<{ editsPerS: number; coldSyncMs: number; ok: boolean }> {
  const table = `bench_hp_${Date.now().toString(36)}`;
  const env = { BENCH_HP_TABLE: table, BENCH_HP_KEEP: '1' };
  const doc = `trace-${Date.now()}`;
  const a = await startPeer(`bench/peers/${kind}.ts`, env);
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}`, doc, '-', TRACE]);
  await a.stop();
  let coldSyncMs = NaN;
  if (kind === 'hocuspocus-db') {
    const b = await startPeer(`bench/peers/${kind}.ts`, { BENCH_HP_TABLE: table });
    coldSyncMs = (await runClient<{ syncedMs: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b.port}`, doc, '-'])).syncedMs;
    await b.stop();
  }
  return { editsPerS: replay.editsPerS, coldSyncMs, ok: replay.ok };
}

const rows: { server: string; editsPerS: number; coldSyncMs: number; restYjsMs: number; ok: boolean }[] = [];
for (const server of SERVERS as ('hocuspocus-memory' | 'hocuspocus-db' | 'quire')[]) {
  const runs = [];
  for (let k = 0; k < RUNS; k++) runs.push(server === 'quire' ? await quire() : { restYjsMs: NaN, ...(await hocuspocus(server)) });
  const row = {
    server,
    editsPerS: median(runs.map((r) => r.editsPerS)),
    coldSyncMs: median(runs.map((r) => r.coldSyncMs)),
    restYjsMs: median(runs.map((r) => r.restYjsMs)),
    ok: runs.every((r) => r.ok),
  };
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const mem = rows.find((r) => r.server === 'hocuspocus-memory') ?? { editsPerS: NaN };
const lines = [
  `| server | edits/s until all acked | ÷ hocuspocus-memory | cold load: provider synced ms | cold load: REST Yjs state ms | text = endContent |`,
  `|---|---|---|---|---|---|`,
  ...rows.map((r) => `| ${r.server} | ${fmt(r.editsPerS)} | ${fmt(r.editsPerS / mem.editsPerS, 2)} | ${fmt(r.coldSyncMs, 1)} | ${fmt(r.restYjsMs, 1)} | ${r.ok ? 'yes' : 'NO'} |`),
];
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/trace.json'), JSON.stringify({ runs: RUNS, trace: TRACE, node: process.version, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
