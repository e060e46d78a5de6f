/**
 * Connection scale (scenario 2): idle authenticated sockets up to `--n` (default 10,000)
 * spread over `--docs` documents, against Quire (full stack), stock Hocuspocus in memory
 * and @y/websocket-server — one server at a time, sockets opened from this process (not
 * the server's). A socket counts once the server has answered its handshake (Hocuspocus:
 * `Authenticated` for the document; y-websocket: its first sync message). Reports the time
 * to connect all, the server's RSS per socket (RSS after all minus RSS with one socket per
 * document, over the extra sockets), and where it stopped if it did not reach `--n`.
 * Usage: npm run bench -- connections [--n=10000] [--docs=100] [--runs=3] [--inflight=200]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { arg, benchDirs, cpuMs, createDocument, dropSchema, median, ROOT, rssMb, signup, startPeer, startQuire, type Running } from './lib.js';

const N = Number(arg('n', '10000'));
const DOCS = Number(arg('docs', '100'));
const RUNS = Number(arg('runs', '3'));
const INFLIGHT = Number(arg('inflight', '200'));
const SERVERS = arg('servers', 'hocuspocus-memory,y-websocket,quire').split(',');

interface Outcome {
  ok: boolean;
  why?: string;
}

function hocuspocusSocket(url: string, doc: string, token: string, sockets: WebSocket[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.binaryType = 'arraybuffer';
    sockets.push(ws);
    const done = (o: Outcome) => {
      resolve(o);
      resolve = () => undefined;
    };
    ws.on('open', () => {
      const auth = encoding.createEncoder();
      encoding.writeVarString(auth, doc);
      encoding.writeVarUint(auth, 2); // Auth
      encoding.writeVarUint(auth, 0); // Token
      encoding.writeVarString(auth, token);
      ws.send(encoding.toUint8Array(auth));
      const step1 = encoding.createEncoder();
      encoding.writeVarString(step1, doc);
      encoding.writeVarUint(step1, 0); // Sync
      encoding.writeVarUint(step1, 0); // Step 1
      encoding.writeVarUint8Array(step1, new Uint8Array([0])); // empty state vector
      ws.send(encoding.toUint8Array(step1));
    });
    ws.on('message', (data: ArrayBuffer) => {
      const d = decoding.createDecoder(new Uint8Array(data));
      decoding.readVarString(d);
      if (decoding.readVarUint(d) !== 2) return;
      const kind = decoding.readVarUint(d);
      done(kind === 2 ? { ok: true } : { ok: false, why: `permission denied: ${decoding.readVarString(d)}` });
    });
    ws.on('unexpected-response', (_req, res) => done({ ok: false, why: `HTTP ${res.statusCode}` }));
    ws.on('error', (e) => done({ ok: false, why: e.message }));
    ws.on('close', (code, reason) => done({ ok: false, why: `closed ${code} ${reason.toString()}` }));
  });
}

function yWebsocketSocket(url: string, doc: string, sockets: WebSocket[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/${doc}`, { perMessageDeflate: false });
    sockets.push(ws);
    ws.once('message', () => resolve({ ok: true }));
    ws.on('error', (e) => resolve({ ok: false, why: e.message }));
    ws.on('close', (code) => resolve({ ok: false, why: `closed ${code}` }));
  });
}

interface Result {
  server: string;
  connected: number;
  connectSeconds: number;
  rssBaseMb: number;
  rssAllMb: number;
  kbPerSocket: number;
  cpuMsPerSocket: number;
  stoppedBecause: string | null;
  aliveAfterIdle: number;
}

async function runOne(server: string): Promise<Result> {
  let r: Running;
  let url: string;
  let docs: string[];
  let token = 'bench';
  let cleanup = async () => {};
  if (server === 'quire') {
    const dirs = benchDirs();
    const q = await startQuire({ ...dirs, roles: 'api,sync', env: { SYNC_MAX_CONNECTIONS: String(N + 1000) } });
    token = (await signup(q.base)).accessToken;
    docs = [];
    for (let i = 0; i < DOCS; i++) docs.push(await createDocument(q.base, token, `doc ${i}`, `Document ${i}`));
    r = q;
    url = `ws://127.0.0.1:${q.port}/sync`;
    cleanup = () => dropSchema(dirs.schema);
  } else {
    r = await startPeer(`bench/peers/${server}.ts`);
    url = `ws://127.0.0.1:${r.port}`;
    docs = Array.from({ length: DOCS }, (_, i) => `bench-doc-${i}`);
  }
  const pid = r.proc.pid!;
  const sockets: WebSocket[] = [];
  const open = (i: number) => (server === 'y-websocket' ? yWebsocketSocket(url, docs[i % DOCS]!, sockets) : hocuspocusSocket(url, docs[i % DOCS]!, token, sockets));

  // One socket per document first: document state is not per-socket cost.
  const base = await Promise.all(docs.map((_, i) => open(i)));
  if (base.some((o) => !o.ok)) throw new Error(`${server}: base sockets failed: ${base.find((o) => !o.ok)!.why}`);
  await new Promise((res) => setTimeout(res, 1000));
  const rssBase = rssMb(pid);
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  let next = DOCS;
  let connected = DOCS;
  let stopped: string | null = null;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < N && !stopped) {
        const o = await open(next++);
        if (o.ok) connected++;
        else stopped ??= `socket ${next}: ${o.why}`;
      }
    }),
  );
  const connectSeconds = (performance.now() - t0) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  await new Promise((res) => setTimeout(res, 2000));
  const rssAll = rssMb(pid);
  // Idle for a while: sockets must stay open (no idle timeout hits within it).
  await new Promise((res) => setTimeout(res, 5000));
  const alive = sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  for (const s of sockets) s.terminate();
  await r.stop();
  await cleanup();
  const extra = connected - DOCS;
  return {
    server,
    connected,
    connectSeconds,
    rssBaseMb: rssBase,
    rssAllMb: rssAll,
    kbPerSocket: extra > 0 ? ((rssAll - rssBase) * 1024) / extra : NaN,
    cpuMsPerSocket: extra > 0 ? cpu / extra : NaN,
    stoppedBecause: stopped,
    aliveAfterIdle: alive,
  };
}

const rows: Result[] = [];
for (const server of SERVERS) {
  const runs: Result[] = [];
  for (let k = 0; k < RUNS; k++) {
    const one = await runOne(server);
    process.stderr.write(`${JSON.stringify(one)}\n`);
    runs.push(one);
  }
  const m = (f: (x: Result) => number) => median(runs.map(f));
  rows.push({
    server,
    connected: m((x) => x.connected),
    connectSeconds: m((x) => x.connectSeconds),
    rssBaseMb: m((x) => x.rssBaseMb),
    rssAllMb: m((x) => x.rssAllMb),
    kbPerSocket: m((x) => x.kbPerSocket),
    cpuMsPerSocket: m((x) => x.cpuMsPerSocket),
    stoppedBecause: runs.map((x) => x.stoppedBecause).find(Boolean) ?? null,
    aliveAfterIdle: m((x) => x.aliveAfterIdle),
  });
}
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const hp = rows.find((x) => x.server === 'hocuspocus-memory');
const lines = [
  `| server | sockets connected | alive after 5 s idle | time to connect all s | sockets/s | server RSS with ${DOCS} / all MB | KB RSS per extra socket | server CPU ms per socket | KB/socket ÷ hocuspocus-memory |`,
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.server} | ${r.connected} | ${r.aliveAfterIdle} | ${f(r.connectSeconds)} | ${f((r.connected - DOCS) / r.connectSeconds, 0)} | ${f(r.rssBaseMb, 0)} / ${f(r.rssAllMb, 0)} | ${f(r.kbPerSocket, 1)} | ${f(r.cpuMsPerSocket, 3)} | ${hp ? f(r.kbPerSocket / hp.kbPerSocket) : '—'} |`,
  ),
];
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, 'bench/results/connections.json'),
  JSON.stringify({ n: N, docs: DOCS, runs: RUNS, inflight: INFLIGHT, node: process.version, cores: os.cpus().length, rows }, null, 2),
);
process.stdout.write(`${lines.join('\n')}\n`);
for (const r of rows) if (r.stoppedBecause) process.stdout.write(`${r.server} stopped: ${r.stoppedBecause}\n`);
