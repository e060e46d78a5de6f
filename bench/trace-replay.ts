/**
 * Trace replay throughput and cold load (scenario 3): `automerge-paper` (259,778 edits)
 * replayed through one provider at full speed; edits/s until every update is acknowledged
 * (Quire acks after the Postgres commit; Hocuspocus acks in memory). Then the server
 * restarts and a fresh provider loads the document (Quire and Hocuspocus with
 * extension-database): the server's load (from its "authenticated" answer to the first
 * sync message: read the stored state, integrate it, encode SyncStep2), the time to synced
 * (adds the client's own apply), plus Quire's REST read of the Yjs state; once as the first
 * work of a new process, once in a server that has loaded the document before (it is no
 * longer in memory, but V8 has compiled Yjs' paths for a document this size).
 * Usage: npm run bench -- trace [--runs=3] [--trace=automerge-paper] [--servers=…] [--json=<file>]
 */
import fs from 'node:fs';
import path from 'node:path';
import { arg, benchDirs, createDocument, DB, dropSchema, median, ROOT, runClient, signupAndDocument, startPeer, startQuire } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const TRACE = arg('trace', 'automerge-paper');
const SERVERS = arg('servers', 'hocuspocus-memory,hocuspocus-db,quire').split(',');

interface Replay {
  edits: number;
  ackedMs: number;
  editsPerS: number;
  ok: boolean;
}

type Load = { syncedMs: number; serverLoadMs: number; clientApplyMs: number; chars: number };
type Measured = {
  editsPerS: number;
  coldSyncMs: number;
  warmSyncMs: number;
  coldServerMs: number;
  warmServerMs: number;
  clientApplyMs: number;
  restYjsMs: number;
  warmRestYjsMs: number;
  ok: boolean;
};

/**
 * What autovacuum does on a production Postgres before the document is next loaded (this
 * machine's Postgres runs with autovacuum off; Quire's own vacuum timer, which covers that
 * case, first runs after VACUUM_INTERVAL_SECONDS). Without it the restarted servers would
 * read past the replay's 260k folded log rows (Quire) or dead row versions (Hocuspocus).
 */
async function vacuum(tables: string[]): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  for (const t of tables) await c.query(`vacuum analyze ${t}`);
  await c.end();
}

async function quire(): Promise<Measured> {
  const dirs = benchDirs();
  const env = { SEMANTIC_SEARCH: 'false' };
  const a = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  const { token, doc } = await signupAndDocument(a.base);
  const warm = { id: await createDocument(a.base, token, 'warm-up', 'a small document') };
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}/sync`, doc, token, TRACE]);
  await a.stop();
  await vacuum([`"${dirs.schema}".document_updates`, `"${dirs.schema}".document_snapshots`]);
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
  const load = await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c.port}/sync`, doc, token]);
  await c.stop();
  // Same for a provider: a first client loads the document and leaves (the server unloads
  // it), then a new client (a new process: its own Yjs is cold, as in a browser) loads it.
  const c2 = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c2.port}/sync`, doc, token, TRACE, warm.id]);
  await new Promise((res) => setTimeout(res, 2000));
  const warmLoad = await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${c2.port}/sync`, doc, token]);
  await c2.stop();
  await dropSchema(dirs.schema);
  return {
    editsPerS: replay.editsPerS,
    coldSyncMs: load.syncedMs,
    warmSyncMs: warmLoad.syncedMs,
    coldServerMs: load.serverLoadMs,
    warmServerMs: warmLoad.serverLoadMs,
    clientApplyMs: median([load.clientApplyMs, warmLoad.clientApplyMs]),
    restYjsMs,
    warmRestYjsMs,
    ok: replay.ok && load.chars > 0 && warmLoad.chars > 0,
  };
}

async function hocuspocus(kind: 'hocuspocus-memory' | 'hocuspocus-db'): Promise<Measured> {
  const table = `bench_hp_${Date.now().toString(36)}`;
  const env = { BENCH_HP_TABLE: table, BENCH_HP_KEEP: '1' };
  const doc = `trace-${Date.now()}`;
  const a = await startPeer(`bench/peers/${kind}.ts`, env);
  const replay = await runClient<Replay>('bench/trace-client.ts', ['replay', `ws://127.0.0.1:${a.port}`, doc, '-', TRACE]);
  await a.stop();
  const none = { syncedMs: NaN, serverLoadMs: NaN, clientApplyMs: NaN, chars: 0 };
  let cold: Load = none;
  let warm: Load = none;
  if (kind === 'hocuspocus-db') {
    await vacuum([table]);
    const b = await startPeer(`bench/peers/${kind}.ts`, env);
    cold = await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b.port}`, doc, '-']);
    await b.stop();
    const b2 = await startPeer(`bench/peers/${kind}.ts`, { BENCH_HP_TABLE: table });
    await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b2.port}`, doc, '-', TRACE, `warm-${doc}`]);
    await new Promise((res) => setTimeout(res, 2000));
    warm = await runClient<Load>('bench/trace-client.ts', ['load', `ws://127.0.0.1:${b2.port}`, doc, '-']);
    await b2.stop();
  }
  return {
    editsPerS: replay.editsPerS,
    coldSyncMs: cold.syncedMs,
    warmSyncMs: warm.syncedMs,
    coldServerMs: cold.serverLoadMs,
    warmServerMs: warm.serverLoadMs,
    clientApplyMs: median([cold.clientApplyMs, warm.clientApplyMs]),
    restYjsMs: NaN,
    warmRestYjsMs: NaN,
    ok: replay.ok,
  };
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
    coldServerMs: median(runs.map((r) => r.coldServerMs)),
    warmServerMs: median(runs.map((r) => r.warmServerMs)),
    clientApplyMs: median(runs.map((r) => r.clientApplyMs)),
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
  `| server | edits/s until all acked | ÷ hocuspocus-memory | server load after restart ms | server load in a running server ms | provider synced after restart ms | provider synced in a running server ms | of which client apply ms | REST Yjs state after restart ms | REST Yjs state in a running server ms | text = endContent |`,
  `|---|---|---|---|---|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.server} | ${fmt(r.editsPerS)} | ${fmt(r.editsPerS / mem.editsPerS, 2)} | ${fmt(r.coldServerMs, 1)} | ${fmt(r.warmServerMs, 1)} | ${fmt(r.coldSyncMs, 1)} | ${fmt(r.warmSyncMs, 1)} | ${fmt(r.clientApplyMs, 1)} | ${fmt(r.restYjsMs, 1)} | ${fmt(r.warmRestYjsMs, 1)} | ${r.ok ? 'yes' : 'NO'} |`,
  ),
];
// `--json=<file>` writes the summary there instead (npm run bench:revisions reads it).
const summaryFile = arg('json', '') || path.join(ROOT, 'bench/results/trace.json');
fs.mkdirSync(path.dirname(summaryFile), { recursive: true });
fs.writeFileSync(summaryFile, JSON.stringify({ runs: RUNS, trace: TRACE, node: process.version, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
