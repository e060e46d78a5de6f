/**
 * Scale-out: several sync instances (`--roles=api,sync`) on one Postgres and one Redis,
 * as behind a load balancer. Measured in one run:
 *
 * 1. Cross-instance fan-out: 1 writer at 20 Hz on instance 1, N readers spread over all
 *    instances in turn; writer→reader p50/p99 with 1 instance and with K (goal: ≤ 1.5×).
 * 2. Throughput: one closed-loop writer per document (next update when the last is
 *    acknowledged, i.e. committed), writers spread over the instances; acknowledged
 *    updates per second with 1 and with K instances.
 * 3. Sockets held: S sessions of one document spread over the K instances, opened 200 at
 *    a time; the time to open them, then one write that must reach all; each instance's RSS.
 * 4. Failover: C sessions through a round-robin TCP balancer; one instance is killed
 *    (SIGKILL); time until every session that lost its socket is synced again, and for a
 *    new write to reach all of them.
 * 5. Drain: the same, the instance stopped with SIGTERM (a rolling restart's step): its
 *    sockets are closed with 1012 and resume elsewhere.
 * 6. Overload: a competing process spins on one core while one instance of
 *    each server fans out to N = 200; delivered within the window and p99, Quire against
 *    in-memory Hocuspocus.
 *
 * Usage: npm run bench:scale -- [--instances=3] [--n=200] [--docs=150] [--sockets=3000]
 *   [--failover=300] [--seconds=5] [--runs=3] [--only=fanout,throughput,sockets,failover,drain,overload]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTcpBalancer } from '../test/helpers/tcp-balancer.js';
import { arg, benchDirs, createDocument, dropSchema, median, ROOT, rssMb, runClient, signupAndDocument, startPeer, startQuire, stopProc, type Running } from './lib.js';

const K = Number(arg('instances', '3'));
const N = Number(arg('n', '200'));
const DOCS = Number(arg('docs', '150'));
const SOCKETS = Number(arg('sockets', '3000'));
const FAILOVER = Number(arg('failover', '300'));
const SECONDS = Number(arg('seconds', '5'));
const RUNS = Number(arg('runs', '3'));
const ONLY = arg('only', 'fanout,throughput,sockets,failover,drain,overload').split(',');
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Deployment {
  instances: (Running & { base: string })[];
  token: string;
  doc: string;
  stop(): Promise<void>;
}

/** K instances on one schema, one Redis prefix and one data directory (so one signing key). */
async function deploy(k: number): Promise<Deployment> {
  const dirs = benchDirs();
  const env = {
    REDIS_URL: REDIS,
    REDIS_PREFIX: `bench:${dirs.schema}:`,
    // The setup creates documents back to back; the limits are not what is measured.
    RATE_LIMIT_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_BURST: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_BURST: '100000',
  };
  const instances: Deployment['instances'] = [];
  // The first migrates the schema; the others join it.
  for (let i = 0; i < k; i++) instances.push(await startQuire({ ...dirs, roles: 'api,sync', env }));
  const { token, doc } = await signupAndDocument(instances[0]!.base);
  return {
    instances,
    token,
    doc,
    stop: async () => {
      await Promise.all(instances.map((q) => q.stop()));
      await dropSchema(dirs.schema);
      fs.rmSync(dirs.dataDir, { recursive: true, force: true });
    },
  };
}

const ws = (q: { port: number }) => `ws://127.0.0.1:${q.port}/sync`;
const fmt = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const out: string[] = [];
const summary: Record<string, unknown> = { node: process.version, cores: os.cpus().length, cpu: os.cpus()[0]?.model, instances: K };

type Fan = { samples: number; expected: number; p50: number; p99: number; max: number };
async function fanout(urls: string[], doc: string, token: string, n: number, hz: number): Promise<Fan> {
  return runClient<Fan>('bench/fanout-client.ts', ['hocuspocus', urls.join(','), doc, token, String(n), String(hz), String(SECONDS)]);
}

if (ONLY.includes('fanout')) {
  const rows: { k: number; p50: number; p99: number; delivered: number }[] = [];
  for (const k of [1, K]) {
    const runs: Fan[] = [];
    for (let r = 0; r < RUNS; r++) {
      const d = await deploy(k);
      runs.push(await fanout(d.instances.map(ws), d.doc, d.token, N, 20));
      await d.stop();
    }
    const row = { k, p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)), delivered: median(runs.map((x) => x.samples / x.expected)) };
    rows.push(row);
    process.stderr.write(`fanout ${JSON.stringify(row)}\n`);
  }
  const one = rows[0]!;
  out.push(`### Cross-instance fan-out (1 writer at 20 Hz, ${N} readers spread over the instances; median of ${RUNS} runs)`, '');
  out.push('| instances | p50 ms | p99 ms | delivered | p99 ÷ 1 instance |', '|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.k} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${(r.delivered * 100).toFixed(1)}% | ${fmt(r.p99 / one.p99, 2)} |`);
  out.push('');
  summary.fanout = rows;
}

if (ONLY.includes('throughput')) {
  const rows: { k: number; perSecond: number }[] = [];
  for (const k of [1, 2, K].filter((x, i, a) => a.indexOf(x) === i)) {
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const d = await deploy(k);
      const docs = [d.doc];
      for (let i = 1; i < DOCS; i++) docs.push(await createDocument(d.instances[i % k]!.base, d.token, `doc ${i}`));
      const m = await runClient<{ acked: number; perSecond: number }>('bench/scale-client.ts', ['throughput', d.instances.map(ws).join(','), docs.join(','), d.token, String(SECONDS)]);
      runs.push(m.perSecond);
      await d.stop();
    }
    rows.push({ k, perSecond: median(runs) });
    process.stderr.write(`throughput ${JSON.stringify(rows.at(-1))}\n`);
  }
  out.push(`### Acknowledged updates per second (${DOCS} documents, one closed-loop writer each; median of ${RUNS} runs)`, '');
  out.push('| instances | acknowledged updates/s | ÷ 1 instance |', '|---|---|---|');
  for (const r of rows) out.push(`| ${r.k} | ${fmt(r.perSecond, 0)} | ${fmt(r.perSecond / rows[0]!.perSecond, 2)} |`);
  out.push('');
  summary.throughput = rows;
}

if (ONLY.includes('sockets')) {
  type Hold = { held: number; connectSeconds: number; allSeeMs: number; p50: number; p99: number };
  const d = await deploy(K);
  const m = await runClient<Hold>('bench/scale-client.ts', ['hold', d.instances.map(ws).join(','), d.doc, d.token, String(SOCKETS)]);
  const rss = d.instances.map((q) => rssMb(q.proc.pid!));
  await d.stop();
  out.push(`### Sockets held (${SOCKETS} sessions of one document over ${K} instances, opened 200 at a time; then one write to all)`, '');
  out.push('| sessions held | time to open all s | one write reaches all, ms (p50 / p99 / all) | RSS per instance MB |', '|---|---|---|---|');
  out.push(`| ${m.held} | ${fmt(m.connectSeconds, 1)} | ${fmt(m.p50, 0)} / ${fmt(m.p99, 0)} / ${fmt(m.allSeeMs, 0)} | ${rss.map((x) => fmt(x, 0)).join(' / ')} |`, '');
  summary.sockets = { ...m, rss };
}

for (const [kase, signal, what] of [
  ['failover', 'SIGKILL', 'one killed with SIGKILL'],
  ['drain', 'SIGTERM', 'one drained with SIGTERM, as in a rolling restart'],
] as const) {
  if (!ONLY.includes(kase)) continue;
  type Fo = { held: number; lost: number; p50: number; p99: number; max: number; allSeeMs: number };
  const runs: Fo[] = [];
  for (let r = 0; r < RUNS; r++) {
    const d = await deploy(K);
    const lb = await startTcpBalancer(
      null,
      d.instances.map((q) => q.port),
    );
    const victim = d.instances[K - 1]!;
    runs.push(await runClient<Fo>('bench/scale-client.ts', ['failover', `ws://127.0.0.1:${lb.port}/sync`, d.doc, d.token, String(FAILOVER), String(victim.proc.pid), signal]));
    await lb.close();
    await d.stop();
    process.stderr.write(`${kase} ${JSON.stringify(runs.at(-1))}\n`);
  }
  out.push(`### ${kase === 'drain' ? 'Drain' : 'Failover'} (${FAILOVER} sessions through a round-robin balancer over ${K} instances; ${what})`, '');
  out.push('| run | sessions that lost their socket | back, p50 ms | p99 ms | max ms | a new write reaches all, ms |', '|---|---|---|---|---|---|');
  runs.forEach((x, i) => out.push(`| ${i + 1} | ${x.lost} of ${x.held} | ${fmt(x.p50, 0)} | ${fmt(x.p99, 0)} | ${fmt(x.max, 0)} | ${fmt(x.allSeeMs, 0)} |`));
  out.push('');
  summary[kase] = runs;
}

if (ONLY.includes('overload')) {
  // A competing process keeps one core busy for the whole case.
  const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const rows: { server: string; p50: number; p99: number; delivered: number }[] = [];
  try {
    const byServer = new Map<string, Fan[]>([
      ['hocuspocus-memory', []],
      ['quire', []],
    ]);
    for (let r = 0; r < RUNS; r++) {
      const peer = await startPeer('bench/peers/hocuspocus-memory.ts');
      byServer.get('hocuspocus-memory')!.push(await fanout([`ws://127.0.0.1:${peer.port}`], `bench-${Date.now()}`, '-', 200, 20));
      await peer.stop();
      const d = await deploy(1);
      byServer.get('quire')!.push(await fanout(d.instances.map(ws), d.doc, d.token, 200, 20));
      await d.stop();
    }
    for (const [server, runs] of byServer) rows.push({ server, p50: median(runs.map((x) => x.p50)), p99: median(runs.map((x) => x.p99)), delivered: median(runs.map((x) => x.samples / x.expected)) });
  } finally {
    await stopProc(hog);
  }
  const base = rows[0]!;
  out.push(`### Overload (one core kept busy by another process; 1 writer at 20 Hz → 200 readers; median of ${RUNS} runs)`, '');
  out.push('| server | p50 ms | p99 ms | delivered in the window | p99 ÷ hocuspocus-memory |', '|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.server} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${(r.delivered * 100).toFixed(1)}% | ${fmt(r.p99 / base.p99, 2)} |`);
  out.push('');
  summary.overload = rows;
}

const file = path.join(ROOT, 'bench/results/scale-out.json');
fs.mkdirSync(path.dirname(file), { recursive: true });
fs.writeFileSync(file, JSON.stringify(summary, null, 2));
process.stdout.write(`${out.join('\n')}\n`);
process.exit(0);
