/**
 * REST latency (scenario 6): `GET /api/v1/documents/:id` and the first page of
 * `GET /api/v1/documents` under concurrent load from wrk (a separate process, C, so the
 * load generator costs little CPU on this 2-core box), against Quire on Postgres with
 * the full request path (JWT verify, rate limiting, RLS transaction, access check, audit-
 * free reads, metrics). Two floors run in the same run: `/health` (the edge alone: no auth,
 * no database), and `bench/peers/pg-floor.ts`, the same two reads from the same rows with
 * nothing but uWebSockets.js, node-postgres and a prepared statement — what any
 * Postgres-backed endpoint costs on this machine. Quire's rows report p95 ÷ that floor.
 * Usage: npm run bench -- rest [--runs=3] [--seconds=10] [--connections=10,50] [--docs=500]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, benchDirs, cpuMs, createDocument, dropSchema, median, postgresCpuMeter, ROOT, signup, startPeer, startQuire } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const SECONDS = Number(arg('seconds', '10'));
const CONNECTIONS = arg('connections', '10,50').split(',').map(Number);
const DOCS = Number(arg('docs', '500'));

interface Wrk {
  requests: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
}

function wrk(url: string, token: string | null, connections: number): Promise<Wrk> {
  const args = ['-t', '2', '-c', String(connections), '-d', `${SECONDS}s`, '-s', path.join(ROOT, 'bench/rest.lua'), ...(token ? ['-H', `authorization: Bearer ${token}`] : []), url];
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.once('error', reject);
    p.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`wrk exited ${code}: ${out}`));
      else resolve(JSON.parse(line) as Wrk);
    });
  });
}

interface Row {
  endpoint: string;
  connections: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  cpuMsPerRequest: number;
  postgresMsPerRequest: number;
  /** p95 ÷ the database floor's p95 for the same read and connections (Quire's rows). */
  p95VsFloor: number | null;
}

const samples = new Map<string, Row[]>();
for (let run = 0; run < RUNS; run++) {
  const dirs = benchDirs();
  const q = await startQuire({
    ...dirs,
    roles: 'api,sync',
    env: { RATE_LIMIT_IP_PER_MINUTE: '100000000', RATE_LIMIT_IP_BURST: '10000000', RATE_LIMIT_USER_PER_MINUTE: '100000000', RATE_LIMIT_USER_BURST: '10000000' },
  });
  const session = await signup(q.base);
  const token = session.accessToken;
  let docId = '';
  for (let i = 0; i < DOCS; i++) {
    const id = await createDocument(q.base, token, `Document ${i}`, `Body of document ${i}`);
    if (i === Math.floor(DOCS / 2)) docId = id;
  }
  const floor = await startPeer('bench/peers/pg-floor.ts', { BENCH_FLOOR_SCHEMA: dirs.schema, BENCH_FLOOR_TENANT: session.user.tenantId });
  const floorBase = `http://127.0.0.1:${floor.port}`;
  // [name, url, token, server pid, the floor row it is compared with]
  const endpoints: [string, string, string | null, number, string | null][] = [
    ['GET /health (edge floor)', `${q.base}/health`, null, q.proc.pid!, null],
    ['database floor: one document', `${floorBase}/documents/${docId}`, null, floor.proc.pid!, null],
    ['GET /api/v1/documents/:id', `${q.base}/api/v1/documents/${docId}`, token, q.proc.pid!, 'database floor: one document'],
    ['database floor: 50 newest', `${floorBase}/documents`, null, floor.proc.pid!, null],
    ['GET /api/v1/documents?limit=50', `${q.base}/api/v1/documents?limit=50`, token, q.proc.pid!, 'database floor: 50 newest'],
  ];
  for (const c of CONNECTIONS) {
    const p95Of = new Map<string, number>();
    for (const [name, url, tok, pid, floorName] of endpoints) {
      await wrk(url, tok, c); // warm-up
      const cpu0 = cpuMs(pid);
      const pgMeter = postgresCpuMeter();
      const w = await wrk(url, tok, c);
      const cpu = cpuMs(pid) - cpu0;
      const pgCpu = pgMeter();
      const p95 = w.p95 / 1000;
      p95Of.set(name, p95);
      const row: Row = {
        endpoint: name,
        connections: c,
        rps: w.requests / w.seconds,
        p50: w.p50 / 1000,
        p95,
        p99: w.p99 / 1000,
        max: w.max / 1000,
        errors: w.non2xx + w.errors,
        cpuMsPerRequest: cpu / w.requests,
        postgresMsPerRequest: pgCpu / w.requests,
        p95VsFloor: floorName ? p95 / p95Of.get(floorName)! : null,
      };
      process.stderr.write(`${JSON.stringify(row)}\n`);
      const key = `${c}|${name}`;
      samples.set(key, [...(samples.get(key) ?? []), row]);
    }
  }
  await floor.stop();
  await q.stop();
  await dropSchema(dirs.schema);
}
const rows: Row[] = [...samples.values()].map((rs) => ({
  endpoint: rs[0]!.endpoint,
  connections: rs[0]!.connections,
  rps: median(rs.map((r) => r.rps)),
  p50: median(rs.map((r) => r.p50)),
  p95: median(rs.map((r) => r.p95)),
  p99: median(rs.map((r) => r.p99)),
  max: median(rs.map((r) => r.max)),
  errors: Math.max(...rs.map((r) => r.errors)),
  cpuMsPerRequest: median(rs.map((r) => r.cpuMsPerRequest)),
  postgresMsPerRequest: median(rs.map((r) => r.postgresMsPerRequest)),
  p95VsFloor: rs[0]!.p95VsFloor === null ? null : median(rs.map((r) => r.p95VsFloor!)),
}));
const f = (x: number, d = 2) => x.toFixed(d);
const lines = [
  '| endpoint | connections | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU ms/request | Postgres CPU ms/request | p95 ÷ database floor | p95 ÷ 20 ms target |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.endpoint} | ${r.connections} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${f(r.max)} | ${r.errors} | ${f(r.cpuMsPerRequest, 3)} | ${f(r.postgresMsPerRequest, 3)} | ${r.p95VsFloor === null ? '' : f(r.p95VsFloor)} | ${f(r.p95 / 20)} |`,
  ),
];
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/rest.json'), JSON.stringify({ runs: RUNS, seconds: SECONDS, docs: DOCS, node: process.version, cores: os.cpus().length, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
