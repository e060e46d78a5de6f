/**
 * REST latency (scenario 6): `GET /api/v1/documents/:id` and the first page of
 * `GET /api/v1/documents` under concurrent load from wrk (a separate process, C, so the
 * load generator costs little CPU on this 2-core box), against Quire on Postgres with
 * the full request path (JWT verify, rate limiting, RLS transaction, access check, audit-
 * free reads, metrics). `/health` is the edge's floor (no auth, no database).
 * Usage: npm run bench -- rest [--runs=3] [--seconds=10] [--connections=10,50] [--docs=500]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, benchDirs, cpuMs, createDocument, dropSchema, median, ROOT, signup, startQuire } from './lib.js';

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
}

const samples = new Map<string, Row[]>();
for (let run = 0; run < RUNS; run++) {
  const dirs = benchDirs();
  const q = await startQuire({
    ...dirs,
    roles: 'api,sync',
    env: { RATE_LIMIT_IP_PER_MINUTE: '100000000', RATE_LIMIT_IP_BURST: '10000000', RATE_LIMIT_USER_PER_MINUTE: '100000000', RATE_LIMIT_USER_BURST: '10000000' },
  });
  const token = (await signup(q.base)).accessToken;
  let docId = '';
  for (let i = 0; i < DOCS; i++) {
    const id = await createDocument(q.base, token, `Document ${i}`, `Body of document ${i}`);
    if (i === Math.floor(DOCS / 2)) docId = id;
  }
  const endpoints: [string, string, string | null][] = [
    ['GET /health (floor)', `${q.base}/health`, null],
    ['GET /api/v1/documents/:id', `${q.base}/api/v1/documents/${docId}`, token],
    ['GET /api/v1/documents?limit=50', `${q.base}/api/v1/documents?limit=50`, token],
  ];
  for (const c of CONNECTIONS) {
    for (const [name, url, tok] of endpoints) {
      await wrk(url, tok, c); // warm-up
      const cpu0 = cpuMs(q.proc.pid!);
      const w = await wrk(url, tok, c);
      const cpu = cpuMs(q.proc.pid!) - cpu0;
      const row: Row = {
        endpoint: name,
        connections: c,
        rps: w.requests / w.seconds,
        p50: w.p50 / 1000,
        p95: w.p95 / 1000,
        p99: w.p99 / 1000,
        max: w.max / 1000,
        errors: w.non2xx + w.errors,
        cpuMsPerRequest: cpu / w.requests,
      };
      process.stderr.write(`${JSON.stringify(row)}\n`);
      const key = `${c}|${name}`;
      samples.set(key, [...(samples.get(key) ?? []), row]);
    }
  }
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
}));
const f = (x: number, d = 2) => x.toFixed(d);
const lines = [
  '| endpoint | connections | requests/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU ms/request | p95 ÷ 20 ms target |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.endpoint} | ${r.connections} | ${f(r.rps, 0)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.p99)} | ${f(r.max)} | ${r.errors} | ${f(r.cpuMsPerRequest, 3)} | ${f(r.p95 / 20)} |`),
];
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/rest.json'), JSON.stringify({ runs: RUNS, seconds: SECONDS, docs: DOCS, node: process.version, cores: os.cpus().length, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
