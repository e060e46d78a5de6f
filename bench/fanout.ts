/**
 * Fan-out benchmark: Quire (full stack: auth, durable-before-ack, metrics, on Postgres)
 * against stock Hocuspocus in memory, stock Hocuspocus with extension-database on the same
 * Postgres, and @y/websocket-server — side by side in one run, servers and load in
 * separate processes. 1 writer at 20 Hz → N readers; p50/p99/max writer→reader latency,
 * server CPU and RSS; medians over runs; ratios against in-memory Hocuspocus.
 * Usage: npm run bench -- fanout [--runs=3] [--seconds=5] [--n=1,50,200]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const RUNS = Number(arg('runs', '3'));
const SECONDS = Number(arg('seconds', '5'));
const NS = arg('n', '1,50,200').split(',').map(Number);
const HZ = 20;
const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const root = path.resolve(import.meta.dirname, '..');

interface Running {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

function start(cmd: string[], env: Record<string, string> = {}, readyLine = /READY (\d+)/): Promise<Running> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', ...cmd], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = readyLine.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), stop: () => stopProc(proc) });
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d) => (out += d));
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${out.slice(-2000)}`)));
  });
}

function stopProc(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (p.exitCode !== null) return r();
    p.once('exit', () => r());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 5000).unref();
  });
}

function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function quireServer(): Promise<{ r: Running; token: string; doc: string; url: string }> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  const schema = `bench_${Date.now().toString(36)}`;
  const r = await start(['server/main.ts', '--roles=api,sync'], {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: DB,
    DATABASE_SCHEMA: schema,
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'quire-bench-')),
    LOG_LEVEL: 'warn',
    RATE_LIMIT_AUTH_BURST: '1000',
    SYNC_MAX_CONNECTIONS_PER_IP: '100000',
  }, /()$/);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/ready`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 600) throw new Error('quire did not start');
    await new Promise((res) => setTimeout(res, 100));
  }
  const s = await (await fetch(`${base}/api/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'Bench', email: `b${Date.now()}@bench.test`, password: 'benchmark password' }) })).json();
  const d = await (await fetch(`${base}/api/v1/documents`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` }, body: JSON.stringify({ title: 'bench' }) })).json();
  const stop = r.stop;
  return {
    r: {
      ...r,
      port,
      stop: async () => {
        await stop();
        const pg = (await import('pg')).default;
        const c = new pg.Client({ connectionString: DB });
        await c.connect();
        await c.query(`drop schema if exists "${schema}" cascade`);
        await c.end();
      },
    },
    token: s.accessToken,
    doc: d.id,
    url: `ws://127.0.0.1:${port}/sync`,
  };
}

interface Result {
  server: string;
  n: number;
  p50: number;
  p99: number;
  max: number;
  delivered: number;
  cpuMsPerS: number;
  rssMb: number;
}

async function runOne(server: string, n: number): Promise<Result> {
  let r: Running;
  let url: string;
  let doc = `bench-${Date.now()}`;
  let token = '-';
  let protocol = 'hocuspocus';
  if (server === 'quire') {
    const q = await quireServer();
    r = q.r;
    url = q.url;
    doc = q.doc;
    token = q.token;
  } else {
    r = await start([`bench/peers/${server}.ts`, '0'], { BENCH_DATABASE_URL: DB });
    url = `ws://127.0.0.1:${r.port}${server === 'y-websocket' ? '' : ''}`;
    if (server === 'y-websocket') protocol = 'y-websocket';
  }
  const pid = r.proc.pid!;
  const cpu0 = cpuMs(pid);
  const t0 = Date.now();
  const client = spawn(process.execPath, ['--import', 'tsx', 'bench/fanout-client.ts', protocol, url, doc, token, String(n), String(HZ), String(SECONDS)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  await new Promise((res) => client.once('exit', res));
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = (cpuMs(pid) - cpu0) / elapsed;
  const rss = rssMb(pid);
  await r.stop();
  const m = JSON.parse(out.trim().split('\n').pop()!);
  return { server, n, p50: m.p50, p99: m.p99, max: m.max, delivered: m.samples / m.expected, cpuMsPerS: cpu, rssMb: rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const SERVERS = ['hocuspocus-memory', 'hocuspocus-db', 'y-websocket', 'quire'];
const rows: Result[] = [];
for (const n of NS) {
  for (const server of SERVERS) {
    const runs: Result[] = [];
    // Interleave runs across servers would be fairer on a noisy box; runs are short and repeated.
    for (let k = 0; k < RUNS; k++) runs.push(await runOne(server, n));
    const agg: Result = {
      server,
      n,
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
  `| N readers | server | p50 ms | p99 ms | max ms | delivered | server CPU ms/s | RSS MB | p99 ÷ hocuspocus-memory | p99 ÷ hocuspocus-db |`,
  `|---|---|---|---|---|---|---|---|---|---|`,
];
for (const r of rows) {
  const base = rows.find((x) => x.n === r.n && x.server === 'hocuspocus-memory')!;
  const db = rows.find((x) => x.n === r.n && x.server === 'hocuspocus-db')!;
  lines.push(`| ${r.n} | ${r.server} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${(r.delivered * 100).toFixed(1)}% | ${fmt(r.cpuMsPerS)} | ${fmt(r.rssMb)} | ${fmt(r.p99 / base.p99)} | ${fmt(r.p99 / db.p99)} |`);
}
fs.mkdirSync(path.join(root, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench/results/fanout.json'), JSON.stringify({ runs: RUNS, seconds: SECONDS, hz: HZ, node: process.version, cores: os.cpus().length, rows }, null, 2));
process.stdout.write(`${lines.join('\n')}\n`);
