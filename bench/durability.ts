/**
 * Durability cost (scenario 4): one writer at 20 Hz against Quire (every update committed
 * to Postgres before its ack) and stock Hocuspocus with extension-database on the same
 * Postgres (debounced stores: 2 s after the last change, at most every 10 s). Measures what
 * the writer sees — ack latency — and what an ack is worth: the server is killed with
 * SIGKILL after `--seconds`, restarted on the same database, and a fresh client counts the
 * acknowledged updates that are gone. Each update writes its own map key, so loss is exact.
 * Usage: npm run bench -- durability [--runs=3] [--seconds=12] [--json=<file>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import pg from 'pg';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { arg, benchDirs, DB, dropSchema, median, ROOT, signupAndDocument, startPeer, startQuire, type Running } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const SECONDS = Number(arg('seconds', '12'));
const HZ = 20;

function provider(url: string, name: string, token: string) {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket as never, maxAttempts: 1 });
  const p = new HocuspocusProvider({ websocketProvider: socket, name, document: doc, token });
  p.attach();
  const synced = new Promise<void>((r) => p.on('synced', () => r()));
  return { doc, p, synced, destroy: () => (p.destroy(), socket.destroy()) };
}

interface Result {
  server: string;
  acked: number;
  lost: number;
  ackP50: number;
  ackP99: number;
}

async function runOne(server: 'quire' | 'hocuspocus-db'): Promise<Result> {
  const dirs = benchDirs();
  const table = `bench_dur_${process.pid}_${Date.now().toString(36)}`;
  const start = async (): Promise<{ r: Running; url: string }> => {
    if (server === 'quire') {
      const q = await startQuire({ ...dirs, roles: 'api,sync' });
      return { r: q, url: `ws://127.0.0.1:${q.port}/sync` };
    }
    const r = await startPeer('bench/peers/hocuspocus-db.ts', { BENCH_HP_TABLE: table, BENCH_HP_KEEP: '1' });
    return { r, url: `ws://127.0.0.1:${r.port}` };
  };
  let { r, url } = await start();
  let token = 'bench';
  let name = `dur-${Date.now()}`;
  if (server === 'quire') ({ token, doc: name } = await signupAndDocument(`http://127.0.0.1:${r.port}`));

  const w = provider(url, name, token);
  await w.synced;
  const sentAt: number[] = [];
  const inFlight: number[] = [];
  const acked: number[] = [];
  const ackMs: number[] = [];
  let last = 0;
  w.p.on('unsyncedChanges', ({ number }: { number: number }) => {
    // Each acknowledgement takes one update off the front of the in-flight queue.
    for (let k = number; k < last; k++) {
      const i = inFlight.shift();
      if (i !== undefined) {
        acked.push(i);
        ackMs.push(performance.now() - sentAt[i]!);
      }
    }
    last = number;
  });
  const map = w.doc.getMap('ticks');
  let i = 0;
  const timer = setInterval(() => {
    sentAt[i] = performance.now();
    inFlight.push(i);
    map.set(`k${i}`, i);
    i++;
  }, 1000 / HZ);
  await new Promise((res) => setTimeout(res, SECONDS * 1000));
  clearInterval(timer);
  // Crash: no shutdown hooks, no flush.
  r.proc.kill('SIGKILL');
  await new Promise((res) => r.proc.once('exit', res));
  w.destroy();

  ({ r, url } = await start());
  const reader = provider(url, name, token);
  await reader.synced;
  const have = reader.doc.getMap('ticks');
  const lost = acked.filter((k) => !have.has(`k${k}`)).length;
  reader.destroy();
  await r.stop();
  if (server === 'quire') await dropSchema(dirs.schema);
  else {
    const c = new pg.Client({ connectionString: DB });
    await c.connect();
    await c.query(`drop table if exists ${table}`);
    await c.end();
  }
  ackMs.sort((a, b) => a - b);
  const q = (p: number) => ackMs[Math.min(ackMs.length - 1, Math.floor(p * ackMs.length))] ?? NaN;
  return { server, acked: acked.length, lost, ackP50: q(0.5), ackP99: q(0.99) };
}

const rows: Result[] = [];
for (const server of ['hocuspocus-db', 'quire'] as const) {
  const runs: Result[] = [];
  for (let k = 0; k < RUNS; k++) {
    const one = await runOne(server);
    process.stderr.write(`${JSON.stringify(one)}\n`);
    runs.push(one);
  }
  rows.push({
    server,
    acked: median(runs.map((x) => x.acked)),
    lost: median(runs.map((x) => x.lost)),
    ackP50: median(runs.map((x) => x.ackP50)),
    ackP99: median(runs.map((x) => x.ackP99)),
  });
}
// `--json=<file>` writes the summary there instead (npm run bench:revisions reads it).
const summaryFile = arg('json', '') || path.join(ROOT, 'bench/results/durability.json');
fs.mkdirSync(path.dirname(summaryFile), { recursive: true });
fs.writeFileSync(summaryFile, JSON.stringify({ runs: RUNS, seconds: SECONDS, hz: HZ, node: process.version, cores: os.cpus().length, rows }, null, 2));
const f = (x: number) => x.toFixed(2);
process.stdout.write(
  [
    '| server | updates acked before SIGKILL | acked updates lost | lost % | ack p50 ms | ack p99 ms |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.server} | ${r.acked} | ${r.lost} | ${((100 * r.lost) / r.acked).toFixed(1)}% | ${f(r.ackP50)} | ${f(r.ackP99)} |`),
  ].join('\n') + '\n',
);
process.exit(0);
