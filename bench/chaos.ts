/**
 * The fault matrix (`npm run chaos`): Quire (all roles, scaled profile) runs with its
 * Postgres, Redis and NATS links through TCP proxies this script controls, while a writer
 * edits at 20 Hz and a healthy client of another workspace edits at 5 Hz and reads over
 * REST. Each attack runs against a fresh process; afterwards the process is killed and
 * restarted straight on Postgres, and the writer's acknowledged updates are looked for in
 * what was stored.
 *
 * Reported per attack: acknowledged updates lost (must be 0), process exits (must be 0),
 * time to recover (from the end of the attack until a new write is acknowledged and
 * `/ready` is 200), and the healthy client's ack latency and REST errors during the attack.
 *
 * Usage: npm run chaos [-- --seconds=8 --only=pg-reset,http-fuzz] [--graceful] [--worker-process]
 * `--worker-process` runs the worker role (change feed, indexing) in a process of its own,
 * as the scaled profile's Procfile does, so the instance measured is the web role alone.
 * The shared services are never stopped: only this script's links to them are broken.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import pg from 'pg';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { alternatingInsertions } from '../test/helpers/crafted-update.js';
import { authFrame, frameType, rawSocket, updateFrame, type RawSocket } from '../test/helpers/raw-socket.js';
import { startTcpProxy, targetOf, type TcpProxy } from '../test/helpers/tcp-proxy.js';
import { arg, benchDirs, DB, dropSchema, rssMb, startQuire, stopProc, type Running } from './lib.js';

const SECONDS = Number(arg('seconds', '8'));
const ONLY = arg('only', '').split(',').filter(Boolean);
const GRACEFUL = process.argv.includes('--graceful');
const WORKER_PROCESS = process.argv.includes('--worker-process');
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const NATS = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';

interface Links {
  pg: TcpProxy;
  redis: TcpProxy;
  nats: TcpProxy;
  base: string;
  port: number;
  /** A workspace and document of the attacker's own, for attacks that need an account. */
  attacker: { token: string; doc: string };
}

interface Attack {
  name: string;
  what: string;
  /** Runs until `signal` aborts; the faults end when it returns (with a note on how the attacker fared, if any). */
  run(l: Links, signal: AbortSignal): Promise<void | string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const every = async (ms: number, signal: AbortSignal, fn: () => unknown) => {
  while (!signal.aborted) {
    await fn();
    await sleep(ms);
  }
};

/** Backends of the server's connections, found by the proxy's upstream ports. */
async function terminateBackends(proxy: TcpProxy): Promise<void> {
  const ports = proxy.upstreamPorts();
  if (ports.length === 0) return;
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  try {
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where client_port = any($1::int[]) and pid <> pg_backend_pid()', [ports]);
  } finally {
    await c.end();
  }
}

/** Hostile requests: malformed paths, bodies and encodings (see test/edge-fuzz.test.ts). */
async function httpFuzz(base: string, token: string, signal: AbortSignal): Promise<void> {
  const bodies = ['{', '['.repeat(100_000), JSON.stringify({ title: 'a\u0000b' }), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000), 'null'];
  const paths = ['/api/v1/documents/%E0%A4%A', '/api/v1/documents/%00', '/api/v1/search?q=%E0%A4%A', '/api/v1/documents?limit=-1', `/api/v1/documents/${crypto.randomUUID()}/content`];
  let i = 0;
  while (!signal.aborted) {
    const path = paths[i % paths.length]!;
    const body = bodies[i % bodies.length]!;
    const method = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'][i % 5]!;
    await fetch(base + path, { method, body: method === 'GET' ? undefined : body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }).catch(() => undefined);
    i++;
  }
}

/** Updates that decode but cannot be applied (the 8-byte delete-range case) and mutations of a real one. */
async function poisonUpdates(base: string, a: { token: string; doc: string }, signal: AbortSignal): Promise<void> {
  const real = (() => {
    const d = new Y.Doc();
    d.getMap('m').set('k', 'v'.repeat(40));
    d.getText('t').insert(0, 'hello world');
    return Y.encodeStateAsUpdate(d);
  })();
  const poison = Buffer.from('0001b2f219010500', 'hex');
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  let sock: RawSocket | null = null;
  while (!signal.aborted) {
    if (!sock || sock.ws.readyState !== WebSocket.OPEN) {
      sock?.ws.close();
      sock = rawSocket(base);
      await sock.opened.catch(() => undefined);
      sock.send(authFrame(a.doc, a.token));
      await sleep(50);
    }
    const u = rnd() < 0.3 ? poison : Uint8Array.from(real, (b) => (rnd() < 0.02 ? Math.floor(rnd() * 256) : b));
    sock.send(updateFrame(a.doc, u));
    await sleep(5);
  }
  sock?.ws.close();
}

/** Acknowledgements (SyncStatus frames) a raw socket received: updates the server stored. */
const acks = (s: RawSocket) => s.frames.filter((f) => frameType(f).type === 8).length;

/**
 * Pipelined large frames from one socket, as fast as the server reads them, reconnecting
 * whenever the server closes it. The frames are made before the attack, and the loop
 * yields after each send. Runs in a process of its own (`attackerProcess`).
 */
async function frameFlood(base: string, a: { token: string; doc: string }, signal: AbortSignal): Promise<string> {
  const frames = Array.from({ length: 200 }, (_, n) => {
    const d = new Y.Doc();
    d.clientID = 10_000 + n;
    d.getText('flood').insert(0, 'x'.repeat(200_000));
    return updateFrame(a.doc, Y.encodeStateAsUpdate(d));
  });
  let n = 0;
  let acked = 0;
  const closes = new Map<number, number>();
  while (!signal.aborted) {
    const sock = rawSocket(base);
    await sock.opened.catch(() => undefined);
    void sock.closed.then(({ code }) => closes.set(code, (closes.get(code) ?? 0) + 1));
    sock.send(authFrame(a.doc, a.token));
    // Flood once the document is open: until then frames are only queued, up to the pre-auth
    // limit (1 MiB, then the socket is reset). The first acknowledgement says it is.
    sock.send(frames[n++ % frames.length]!);
    for (let waited = 0; waited < 10_000 && acks(sock) === 0 && sock.ws.readyState === WebSocket.OPEN; waited += 5) await sleep(5);
    while (!signal.aborted && sock.ws.readyState === WebSocket.OPEN) {
      sock.send(frames[n++ % frames.length]!);
      await (sock.ws.bufferedAmount > 8 * 1_048_576 ? sleep(1) : new Promise((r) => setImmediate(r)));
    }
    acked += acks(sock);
    sock.ws.close();
    await sleep(200);
  }
  const codes = [...closes].map(([code, k]) => `${k}× ${code}`).join(', ');
  return `attacker: ${n} frames sent (${Math.round((n * frames[0]!.byteLength) / 1_048_576)} MB), ${acked} acknowledged (${Math.round((acked * frames[0]!.byteLength) / 1_048_576)} MB); closes ${codes || 'none'}`;
}

/**
 * Updates whose integration cost grows with the square of their size: each pair is two
 * clients' 20,000 one-character insertions alternately at both ends of one text, neither
 * client having seen the other (~143 KB each; in one piece the second took about a minute
 * to integrate). New client ids every pair, so every pair is new work; reconnects whenever
 * the server closes the socket (its processing budget spent).
 */
async function craftedUpdates(base: string, a: { token: string; doc: string }, signal: AbortSignal): Promise<string> {
  const crafted = (client: number) => updateFrame(a.doc, alternatingInsertions(client, 20_000, 'crafted'));
  // Made before the attack, as the frame flood's are: building them costs the attacker seconds
  // of CPU that would otherwise compete with the server on the same machine.
  const pairs = Array.from({ length: 10 }, (_, k) => [crafted(50_000 + 2 * k), crafted(50_001 + 2 * k)]);
  let sent = 0;
  let acked = 0;
  const closes = new Map<number, number>();
  let sock: RawSocket | null = null;
  // Round and round: a pair the server stopped in the middle of (budget spent) is sent
  // again after the reconnect, and its integration goes on where it stopped.
  for (let k = 0; !signal.aborted; k = (k + 1) % pairs.length) {
    const frames = pairs[k]!;
    if (!sock || sock.ws.readyState !== WebSocket.OPEN) {
      if (sock) acked += acks(sock);
      sock?.ws.close();
      sock = rawSocket(base);
      await sock.opened.catch(() => undefined);
      void sock.closed.then(({ code }) => closes.set(code, (closes.get(code) ?? 0) + 1));
      sock.send(authFrame(a.doc, a.token));
      await sleep(100);
    }
    for (const f of frames) sock.send(f);
    sent += frames.length;
    await sleep(200);
  }
  if (sock) acked += acks(sock);
  sock?.ws.close();
  const codes = [...closes].map(([code, k]) => `${k}× ${code}`).join(', ');
  return `attacker: ${sent} crafted updates sent, ${acked} acknowledged; closes ${codes || 'none'}`;
}

/**
 * An attacker in a process of its own: sending and receiving megabytes costs the attacker
 * CPU, and in this process it would delay the healthy clients and show up as Quire's latency.
 */
async function attackerProcess(kind: 'frame-flood' | 'crafted', base: string, a: { token: string; doc: string }, signal: AbortSignal): Promise<string> {
  // Its stdin is a pipe that closes if this process dies, which stops it too.
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--attacker=${kind},${base},${a.token},${a.doc}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (signal.aborted) child.kill('SIGTERM');
  else signal.addEventListener('abort', () => child.kill('SIGTERM'), { once: true });
  await exited;
  return out.trim() || 'attacker: no report';
}

const ATTACKS: Attack[] = [
  { name: 'none', what: 'no fault (baseline)', run: async (_l, s) => every(200, s, () => undefined) },
  { name: 'pg-terminate', what: 'pg_terminate_backend on every server backend, every 500 ms', run: (l, s) => every(500, s, () => terminateBackends(l.pg)) },
  { name: 'pg-reset', what: 'TCP reset of every Postgres link, every 1 s', run: (l, s) => every(1_000, s, () => l.pg.reset()) },
  {
    name: 'pg-stall',
    what: 'Postgres link stalled for the whole attack',
    run: async (l, s) => {
      l.pg.pause();
      await every(200, s, () => undefined);
      l.pg.resume();
    },
  },
  {
    name: 'redis-stall',
    what: 'Redis link stalled for the whole attack',
    run: async (l, s) => {
      l.redis.pause();
      await every(200, s, () => undefined);
      l.redis.resume();
    },
  },
  { name: 'redis-reset', what: 'TCP reset of every Redis link, every 1 s', run: (l, s) => every(1_000, s, () => l.redis.reset()) },
  { name: 'nats-reset', what: 'TCP reset of the NATS link, every 1 s', run: (l, s) => every(1_000, s, () => l.nats.reset()) },
  { name: 'http-fuzz', what: 'malformed paths, bodies, NUL, 100k-deep JSON', run: (l, s) => httpFuzz(l.base, l.attacker.token, s) },
  { name: 'poison-updates', what: 'unapplicable and mutated Yjs updates from a writer', run: (l, s) => poisonUpdates(l.base, l.attacker, s) },
  { name: 'frame-flood', what: 'pipelined 200 KB update frames from one socket', run: (l, s) => attackerProcess('frame-flood', l.base, l.attacker, s) },
  { name: 'crafted-updates', what: 'pairs of ~143 KB updates that cost seconds each to integrate', run: (l, s) => attackerProcess('crafted', l.base, l.attacker, s) },
];

interface Writer {
  doc: Y.Doc;
  sent: number;
  ackedUpTo: number;
  /** When update i was made, and when the server had confirmed it as stored. */
  sentAt: number[];
  ackedAt: number[];
  stop(): void;
}

/** A client writing one map key per tick; `ackedUpTo` counts the keys the server confirmed as stored. */
function writer(base: string, docId: string, token: string, hz: number): Writer {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({
    url: base.replace(/^http/, 'ws') + '/sync',
    WebSocketPolyfill: WebSocket as never,
    delay: 100,
    minDelay: 100,
    maxDelay: 1000,
    factor: 2,
    maxAttempts: 0,
  });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: docId, document: doc, token });
  provider.attach();
  const w: Writer = { doc, sent: 0, ackedUpTo: 0, sentAt: [], ackedAt: [], stop: () => undefined };
  provider.on('unsyncedChanges', ({ number }: { number: number }) => {
    if (number !== 0 || !provider.isSynced) return;
    const now = Date.now();
    for (let i = w.ackedUpTo; i < w.sent; i++) w.ackedAt[i] = now;
    w.ackedUpTo = w.sent;
  });
  const timer = setInterval(() => {
    w.sentAt[w.sent] = Date.now();
    doc.getMap('keys').set(`k${w.sent}`, w.sent);
    w.sent++;
  }, 1000 / hz);
  w.stop = () => {
    clearInterval(timer);
    provider.destroy();
    socket.destroy();
  };
  return w;
}

/**
 * Ack latencies of the updates made in [from, to): every one of them, also those confirmed
 * only after the attack (an update still waiting when the attack ends counts with its whole
 * wait; one never confirmed counts as infinite).
 */
function latencies(w: Writer, from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => (w.ackedAt[from + k] ?? Infinity) - w.sentAt[from + k]!);
}

const pct = (xs: number[], p: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]! : NaN);

async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text && r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
}

async function account(base: string, title: string): Promise<{ token: string; doc: string }> {
  const s = await api(base, 'POST', '/api/v1/auth/signup', undefined, { tenant: title, email: `${title}-${crypto.randomUUID()}@chaos.test`, password: 'correct horse battery' });
  const d = await api(base, 'POST', '/api/v1/documents', s.json.accessToken, { title });
  return { token: s.json.accessToken, doc: d.json.id };
}

interface Row {
  attack: string;
  what: string;
  acked: number;
  lost: number;
  exits: number;
  recoverMs: number;
  healthyP50: number;
  healthyP99: number;
  healthyRestErrors: string;
  restP50: number;
  restP99: number;
  rssPeakMb: number;
  /** How the attacker fared, when the attack reports it. */
  note: string;
}

async function runAttack(attack: Attack): Promise<Row> {
  const dirs = benchDirs();
  const tag = `chaos_${Date.now().toString(36)}`;
  const pgProxy = await startTcpProxy(null, targetOf(DB));
  const redisProxy = await startTcpProxy(null, targetOf(REDIS));
  const natsProxy = await startTcpProxy(null, targetOf(NATS));
  const env = {
    DATABASE_URL: pgProxy.url(DB),
    REDIS_URL: redisProxy.url(REDIS),
    REDIS_PREFIX: `${tag}:`,
    NATS_URL: natsProxy.url(NATS),
    NATS_STREAM: tag.toUpperCase(),
    NATS_SUBJECT_PREFIX: tag.replace(/_/g, '-'),
    SEMANTIC_SEARCH: 'false',
    WEB_APP: 'false',
    LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'silent',
  };
  let q: Running & { base: string } = await startQuire({ ...dirs, roles: WORKER_PROCESS ? 'api,sync' : 'api,sync,worker', env, productionLimits: true });
  const worker = WORKER_PROCESS ? await startQuire({ ...dirs, roles: 'worker', env, productionLimits: true }) : null;
  const base = q.base;
  const a = await account(base, 'writer');
  const h = await account(base, 'healthy');
  const attacker = await account(base, 'attacker');
  const w = writer(base, a.doc, a.token, 20);
  const healthy = writer(base, h.doc, h.token, 5);
  await sleep(2_000);

  // The attack, with the healthy client's REST reads alongside.
  const ctl = new AbortController();
  const restErrors = new Map<string, number>();
  const restMs: number[] = [];
  const healthyFrom = healthy.sent;
  const reads = (async () => {
    while (!ctl.signal.aborted) {
      const t0 = Date.now();
      const r = await api(base, 'GET', '/api/v1/documents', h.token).catch(() => ({ status: 0, json: null }));
      restMs.push(Date.now() - t0);
      if (r.status !== 200) restErrors.set(String(r.status), (restErrors.get(String(r.status)) ?? 0) + 1);
      await sleep(200);
    }
  })();
  let rssPeak = rssMb(q.proc.pid!);
  const rssTimer = setInterval(() => {
    if (q.proc.exitCode === null) rssPeak = Math.max(rssPeak, rssMb(q.proc.pid!));
  }, 100);
  const running = attack.run({ pg: pgProxy, redis: redisProxy, nats: natsProxy, base, port: q.port, attacker }, ctl.signal);
  await sleep(SECONDS * 1000);
  ctl.abort();
  const [note] = await Promise.all([running, reads]);
  clearInterval(rssTimer);
  const healthyTo = healthy.sent;

  // Recovery: a write made now is acknowledged, and the instance says it is ready.
  const endedAt = Date.now();
  const probe = w.sent;
  let recoverMs = NaN;
  while (Date.now() - endedAt < 60_000) {
    const ready = await fetch(`${base}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready && w.ackedUpTo > probe) {
      recoverMs = Date.now() - endedAt;
      break;
    }
    await sleep(50);
  }
  // The healthy client's updates of the attack window count with their whole wait.
  while (healthy.ackedUpTo < healthyTo && Date.now() - endedAt < 60_000) await sleep(50);
  const duringLatency = latencies(healthy, healthyFrom, healthyTo);
  await sleep(1_000);
  const exits = [q, worker].filter((x) => x && (x.proc.exitCode !== null || x.proc.signalCode !== null)).length;
  const acked = w.ackedUpTo;
  w.stop();
  healthy.stop();

  // What was stored: kill the server, start it again straight on Postgres, read the document.
  // SIGKILL: what was stored is what counts. `--graceful` stops it with SIGTERM instead, so
  // a profile asked for with BENCH_QUIRE_NODE_ARGS='--cpu-prof …' gets written.
  q.proc.kill(GRACEFUL ? 'SIGTERM' : 'SIGKILL');
  await stopProc(q.proc);
  if (worker) await worker.stop();
  q = await startQuire({ ...dirs, roles: 'api,sync', env: { ...env, DATABASE_URL: DB, REDIS_URL: '', NATS_URL: '' } });
  const r = await fetch(`${q.base}/api/v1/documents/${a.doc}/content?format=yjs`, { headers: { authorization: `Bearer ${a.token}` } });
  let lost = acked;
  if (r.status === 200) {
    const stored = new Y.Doc();
    Y.applyUpdate(stored, new Uint8Array(await r.arrayBuffer()));
    const keys = stored.getMap('keys');
    lost = 0;
    for (let i = 0; i < acked; i++) if (!keys.has(`k${i}`)) lost++;
  }
  // How much of the attacker's writing was stored (its document, as the server serves it).
  const attackerState = await fetch(`${q.base}/api/v1/documents/${attacker.doc}/content?format=yjs`, { headers: { authorization: `Bearer ${attacker.token}` } })
    .then((res) => (res.ok ? res.arrayBuffer() : new ArrayBuffer(0)))
    .catch(() => new ArrayBuffer(0));
  const attackerNote = attackerState.byteLength > 1_048_576 ? `attacker's document holds ${Math.round(attackerState.byteLength / 1_048_576)} MB` : '';
  await q.stop();
  await Promise.all([pgProxy.close(), redisProxy.close(), natsProxy.close()]);
  await dropSchema(dirs.schema).catch(() => undefined);
  return {
    attack: attack.name,
    what: attack.what,
    acked,
    lost,
    exits,
    recoverMs,
    healthyP50: pct(duringLatency, 50),
    healthyP99: pct(duringLatency, 99),
    healthyRestErrors: [...restErrors].map(([k, v]) => `${v}× ${k}`).join(', ') || 'none',
    restP50: pct(restMs, 50),
    restP99: pct(restMs, 99),
    rssPeakMb: rssPeak,
    note: [note, attackerNote].filter(Boolean).join('; '),
  };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const attack of ATTACKS.filter((x) => ONLY.length === 0 || ONLY.includes(x.name))) {
    process.stderr.write(`chaos: ${attack.name} (${SECONDS} s)…\n`);
    rows.push(await runAttack(attack));
    const r = rows[rows.length - 1]!;
    process.stderr.write(
      `  acked ${r.acked}, lost ${r.lost}, exits ${r.exits}, recovered in ${r.recoverMs} ms, healthy ack p50/p99 ${r.healthyP50}/${r.healthyP99} ms, REST p50/p99 ${r.restP50}/${r.restP99} ms, REST errors ${r.healthyRestErrors}, server RSS peak ${Math.round(r.rssPeakMb)} MB${r.note ? `; ${r.note}` : ''}\n`,
    );
  }
  const fmt = (n: number) => (Number.isNaN(n) ? '—' : n === Infinity ? 'never' : String(Math.round(n)));
  process.stdout.write(
    [
      `Fault matrix: ${SECONDS} s per attack; writer at 20 Hz, healthy client of another workspace at 5 Hz + REST list every 200 ms${WORKER_PROCESS ? '; worker role in its own process' : ''}.`,
      '',
      '| attack | what | acked | lost | process exits | recovery (ms) | healthy ack p50 / p99 (ms) | healthy REST p50 / p99 (ms) | healthy REST errors | server RSS peak (MB) |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.attack} | ${r.what} | ${r.acked} | ${r.lost} | ${r.exits} | ${fmt(r.recoverMs)} | ${fmt(r.healthyP50)} / ${fmt(r.healthyP99)} | ${fmt(r.restP50)} / ${fmt(r.restP99)} | ${r.healthyRestErrors} | ${fmt(r.rssPeakMb)} |`,
      ),
      '',
      ...rows.filter((r) => r.note).map((r) => `- ${r.attack}: ${r.note}`),
      '',
    ].join('\n'),
  );
  const failed = rows.filter((r) => r.lost > 0 || r.exits > 0 || Number.isNaN(r.recoverMs));
  if (failed.length) {
    process.stderr.write(`chaos: FAILED for ${failed.map((r) => r.attack).join(', ')}\n`);
    process.exitCode = 1;
  }
}

/** An attacker run as its own process (`--attacker=<kind>,<base>,<token>,<doc>`) until SIGTERM. */
async function attackerClient(spec: string): Promise<void> {
  const [kind, base, token, doc] = spec.split(',') as [string, string, string, string];
  const ctl = new AbortController();
  process.once('SIGTERM', () => ctl.abort());
  process.stdin.once('end', () => ctl.abort()).resume();
  const attack = kind === 'crafted' ? craftedUpdates : frameFlood;
  process.stdout.write(`${await attack(base, { token, doc }, ctl.signal)}\n`);
  process.exit(0);
}

const ATTACKER = arg('attacker', '');
await (ATTACKER ? attackerClient(ATTACKER) : main());
