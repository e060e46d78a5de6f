/**
 * Trace replay throughput and cold load (scenario 3): `automerge-paper` (259,778 edits)
 * replayed through one provider at full speed; edits/s until every update is acknowledged
 * (Quire acks after the Postgres commit; Hocuspocus acks in memory). Then the server
 * restarts and a fresh provider loads the document: time to synced (Quire and Hocuspocus
 * with extension-database), plus Quire's REST read of the Yjs state; once as the first
 * work of a new process, once in a server that has loaded the document before (it is no
 * longer in memory, but V8 has compiled Yjs' paths for a document this size).
 * Usage: npm run bench -- trace [--runs=3] [--trace=automerge-paper] [--servers=…]
 */
import fs from 'node:fs';
import path from 'node:path';
import { arg, benchDirs, createDocument, dropSchema, median, ROOT, runClient, signupAndDocument, startPeer, startQuire } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const TRACE = arg('trace', 'automerge-paper');
const SERVERS = arg('servers', 'hocuspocus-memory,hocuspocus-db,quire').split(',');

interface Replay {
  edits: number;
  ackedMs: number;
  editsPerS: number;
  ok: boolean;
}

type Measured = { editsPerS: number; coldSyncMs: number; warmSyncMs: number; restYjsMs: number; warmRestYjsMs: number; ok: boolean };

async function quire(): Promise<Measured> {
  const dirs = benchDirs();
  const env = { SEMANTIC_SEARCH: 'false' };
  const a = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const { token, doc } = await signupAndDocument(a.base);
  const warm = { id: await createDocument(a.base, token, 'warm-up', 'a small document') };
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}/sync`, doc, token, TRACE]);
  await a.stop();
  const yjs = async (base: string, id: string) => {
    const t0 = performance.now();
    const r = await fetch(`${base}/api/v1/documents/${id}/content?format=yjs`, { headers: { authorization: `Bearer ${token}` } });
    await r.arrayBuffer();
    return performance.now() - t0;
  };
  // First request after a restart (process, JIT and pool all cold).
  const b = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const restYjsMs = await yjs(b.base, doc);
  await b.stop();
  // A running server that has served large documents before: the REST read does not keep
  // the document in memory, so a second read loads it from the database again.
  const b2 = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  await yjs(b2.base, warm.id);
  await yjs(b2.base, doc);
  const warmRestYjsMs = await yjs(b2.base, doc);
  await b2.stop();
  const c = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const load = await runClient<{ syncedMs: number; chars: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c.port}/sync`, doc, token]);
  await c.stop();
  // Same for a provider: a first client loads the document and leaves (the server unloads
  // it), then a new client (a new process: its own Yjs is cold, as in a browser) loads it.
  const c2 = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  await runClient<{ syncedMs: number; chars: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c2.port}/sync`, doc, token, TRACE, warm.id]);
  await new Promise((res) => setTimeout(res, 2000));
  const warmLoad = await runClient<{ syncedMs: number; chars: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c2.port}/sync`, doc, token]);
  await c2.stop();
  await dropSchema(dirs.schema);
  return { editsPerS: replay.editsPerS, coldSyncMs: load.syncedMs, warmSyncMs: warmLoad.syncedMs, restYjsMs, warmRestYjsMs, ok: replay.ok && load.chars > 0 && warmLoad.chars > 0 };
}

async function hocuspocus(kind: 'hocuspocus-memory' | 'hocuspocus-db'): Promise<Measured> {
  const table = `bench_hp_${Date.now().toString(36)}`;
  const env = { BENCH_HP_TABLE: table, BENCH_HP_KEEP: '1' };
  const doc = `trace-${Date.now()}`;
  const a = await startPeer(`bench/peers/${kind}.ts`, env);
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}`, doc, '-', TRACE]);
  await a.stop();
  let coldSyncMs = NaN;
  let warmSyncMs = NaN;
  if (kind === 'hocuspocus-db') {
    const b = await startPeer(`bench/peers/${kind}.ts`, env);
    coldSyncMs = (await runClient<{ syncedMs: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b.port}`, doc, '-'])).syncedMs;
    await b.stop();
    const b2 = await startPeer(`bench/peers/${kind}.ts`, { BENCH_HP_TABLE: table });
    await runClient<{ syncedMs: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b2.port}`, doc, '-', TRACE, `warm-${doc}`]);
    await new Promise((res) => setTimeout(res, 2000));
    warmSyncMs = (await runClient<{ syncedMs: number }>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b2.port}`, doc, '-'])).syncedMs;
    await b2.stop();
  }
  return { editsPerS: replay.editsPerS, coldSyncMs, warmSyncMs, restYjsMs: NaN, warmRestYjsMs: NaN, ok: replay.ok };
}

const rows: (Measured & { server: string })[] = [];
for (const server of SERVERS as ('hocuspocus-memory' | 'hocuspocus-db' | 'quire')[]) {
  const runs: Measured[] = [];
  for (let k = 0; k < RUNS; k++) {
    runs.push(server === 'quire' ? await quire() : await hocuspocus(server));
    process.stderr.write(`${server} run ${k}: ${JSON.stringify(runs.at(-1))}\n`);
  }
  const row = {
    server,
    editsPerS: median(runs.map((r) => r.editsPerS)),
    coldSyncMs: median(runs.map((r) => r.coldSyncMs)),
    warmSyncMs: median(runs.map((r) => r.warmSyncMs)),
    restYjsMs: median(runs.map((r) => r.restYjsMs)),
    warmRestYjsMs: median(runs.map((r) => r.warmRestYjsMs)),
    ok: runs.every((r) => r.ok),
  };
  rows.push(row);
  process.stderr.write(`${JSON.stringify(row)}\n`);
}
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const mem = rows.find((r) => r.server === 'hocuspocus-memory') ?? { editsPerS: NaN };
const lines = [
  `| server | edits/s until all acked | ÷ hocuspocus-memory | load after restart: provider synced ms | load in a running server: provider synced ms | REST Yjs state after restart ms | REST Yjs state in a running server ms | text = endContent |`,
  `|---|---|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.server} | ${fmt(r.editsPerS)} | ${fmt(r.editsPerS / mem.editsPerS, 2)} | ${fmt(r.coldSyncMs, 1)} | ${fmt(r.warmSyncMs, 1)} | ${fmt(r.restYjsMs, 1)} | ${fmt(r.warmRestYjsMs, 1)} | ${r.ok ? 'yes' : 'NO'} |`,
  ),
];
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/trace.json'), JSON.stringify({ runs: RUNS, trace: TRACE, node: process.version, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
