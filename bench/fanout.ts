/**
 * Fan-out benchmark: Quire (full stack: auth, durable-before-ack, metrics, on Postgres)
 * against stock Hocuspocus in memory, stock Hocuspocus with extension-database on the same
 * Postgres, and @y/websocket-server — side by side (`quire-yjs`: Quire reached by stock
 * y-websocket clients on /yjs, the peer of @y/websocket-server) in one run, servers and load in
 * separate processes. 1 writer at 20 Hz → N readers; p50/p99/max writer→reader latency,
 * server CPU and RSS; medians over runs; ratios against in-memory Hocuspocus.
 * Usage: npm run bench -- fanout [--runs=3] [--seconds=5] [--n=1,50,200] [--multi=100x20|--multi=]
 *   [--hz=20] [--servers=…] [--out=fanout | --json=<file>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, benchDirs, cpuMs, createDocument, dropSchema, median, ROOT, rssMb, runClient, signupAndDocument, startPeer, startQuire, type Running } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const SECONDS = Number(arg('seconds', '5'));
const NS = arg('n', '1,50,200').split(',').filter(Boolean).map(Number);
/** `--multi=100x20`: also 100 documents × 20 clients (1 writer + 19 readers each). */
const MULTI = arg('multi', '100x20');
const HZ = Number(arg('hz', '20'));

interface Result {
  server: string;
  n: number;
  docs: number;
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  cpuMsPerS: number;
  rssMb: number;
}

async function runOne(server: string, n: number, docCount = 1): Promise<Result> {
  let r: Running;
  let url: string;
  let doc = Array.from({ length: docCount }, (_, k) => `bench-${Date.now()}-${k}`).join(',');
  let token = '-';
  let cleanup = async () => {};
  if (server === 'quire' || server === 'quire-yjs') {
    const dirs = benchDirs();
    const q = await startQuire({ ...dirs, roles: 'api,sync' });
    ({ token, doc } = await signupAndDocument(q.base));
    for (let k = 1; k < docCount; k++) doc += `,${await createDocument(q.base, token, `bench ${k}`)}`;
    r = q;
    // `quire-yjs`: the same server, reached by stock y-websocket clients on /yjs.
    url = `ws://127.0.0.1:${q.port}/${server === 'quire' ? 'sync' : 'yjs'}`;
    cleanup = () => dropSchema(dirs.schema);
  } else {
    r = await startPeer(`bench/peers/${server}.ts`);
    url = `ws://127.0.0.1:${r.port}`;
  }
  const protocol = server === 'y-websocket' || server === 'quire-yjs' ? 'y-websocket' : 'hocuspocus';
  const pid = r.proc.pid!;
  const cpu0 = cpuMs(pid);
  const t0 = Date.now();
  const m = await runClient<{ samples: number; expected: number; p50: number; p99: number; max: number }>('bench/fanout-client.ts', [
    protocol,
    url,
    doc,
    token,
    String(n),
    String(HZ),
    String(SECONDS),
  ]);
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = (cpuMs(pid) - cpu0) / elapsed;
  const rss = rssMb(pid);
  await r.stop();
  await cleanup();
  return { server, n, docs: docCount, p50: m.p50, p99: m.p99, max: m.max, delivered: m.samples / m.expected, cpuMsPerS: cpu, rssMb: rss };
}

const SERVERS = arg('servers', 'hocuspocus-memory,hocuspocus-db,y-websocket,quire,quire-yjs').split(',');
const rows: Result[] = [];
const cases: [number, number][] = NS.map((n) => [n, 1]);
if (MULTI) {
  const [d, c] = MULTI.split('x').map(Number);
  cases.push([c! - 1, d!]);
}
for (const [n, docCount] of cases) {
  // Runs interleave across servers (run k of every server, then run k + 1), so a drift of
  // the shared machine during the case does not land on one server's runs.
  const byServer = new Map<string, Result[]>(SERVERS.map((s) => [s, []]));
  for (let k = 0; k < RUNS; k++) for (const server of SERVERS) byServer.get(server)!.push(await runOne(server, n, docCount));
  for (const server of SERVERS) {
    const runs = byServer.get(server)!;
    const agg: Result = {
      server,
      n,
      docs: docCount,
      p50: median(runs.map((x) => x.p50)),
      p99: median(runs.map((x) => x.p99)),
      max: median(runs.map((x) => x.max)),
      delivered: median(runs.map((x) => x.delivered)),
      cpuMsPerS: median(runs.map((x) => x.cpuMsPerS)),
      rssMb: median(runs.map((x) => x.rssMb)),
    };
    rows.push(agg);
    process.stderr.write(`${JSON.stringify(agg)}\n`);
  }
}
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const lines = [
  `| documents × readers | server | p50 ms | p99 ms | max ms | delivered | server CPU ms/s | RSS MB | p99 ÷ hocuspocus-memory | p99 ÷ hocuspocus-db | p99 ÷ y-websocket |`,
  `|---|---|---|---|---|---|---|---|---|---|---|`,
];
for (const r of rows) {
  const same = (x: Result) => x.n === r.n && x.docs === r.docs;
  const base = rows.find((x) => same(x) && x.server === 'hocuspocus-memory') ?? { p99: NaN };
  const db = rows.find((x) => same(x) && x.server === 'hocuspocus-db') ?? { p99: NaN };
  const yws = rows.find((x) => same(x) && x.server === 'y-websocket') ?? { p99: NaN };
  lines.push(
    `| ${r.docs} × ${r.n} | ${r.server} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${(r.delivered * 100).toFixed(1)}% | ${fmt(r.cpuMsPerS)} | ${fmt(r.rssMb)} | ${fmt(r.p99 / base.p99)} | ${fmt(r.p99 / db.p99)} | ${fmt(r.p99 / yws.p99)} |`,
  );
}
// `--json=<file>` writes the summary there instead (npm run bench:revisions reads it).
const summaryFile = arg('json', '') || path.join(ROOT, `bench/results/${arg('out', 'fanout')}.json`);
fs.mkdirSync(path.dirname(summaryFile), { recursive: true });
fs.writeFileSync(summaryFile, JSON.stringify({ runs: RUNS, seconds: SECONDS, hz: HZ, node: process.version, cores: os.cpus().length, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
