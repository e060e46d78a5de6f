/** Shared pieces of the benchmark scenarios: starting servers as processes, measuring them. */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * The checkout the Quire server runs from: BENCH_QUIRE_ROOT (the absolute path of another
 * checkout of this repository, e.g. a git worktree of an earlier revision; `npm run
 * bench:revisions` sets it), else this one. Only the Quire processes (startQuire and the
 * scaled deployment's worker) run there; peers, load generators and the scenario itself
 * run from this checkout, so both sides of a comparison face the same load. The server's
 * DATA_DIR is always an absolute temporary directory (keys are generated in it); the web
 * build (a relative WEB_DIR by default) is read from this checkout for both sides.
 */
export const QUIRE_ROOT = quireRoot();
function quireRoot(): string {
  const dir = process.env.BENCH_QUIRE_ROOT;
  if (!dir) return ROOT;
  const root = path.resolve(dir);
  if (!fs.existsSync(path.join(root, 'server/main.ts'))) throw new Error(`BENCH_QUIRE_ROOT=${dir}: no server/main.ts there`);
  return root;
}
/** Environment a Quire process needs to run from QUIRE_ROOT as it would from ROOT. */
const QUIRE_ROOT_ENV: Record<string, string> = {
  ...(QUIRE_ROOT === ROOT ? {} : { WEB_DIR: path.join(ROOT, 'clients/web/dist') }),
  // Processes of one run share a database, so they share the key that seals its secrets
  // (each has its own DATA_DIR, where it would otherwise generate one of its own).
  SECRETS_KEY: process.env.SECRETS_KEY ?? crypto.randomBytes(32).toString('base64'),
};
export const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const arg = (name: string, def: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export interface Running {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Servers this benchmark started: none outlives it, also when it fails. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
function track(p: ChildProcess): ChildProcess {
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}

export function stopProc(p: ChildProcess): Promise<void> {
  return new Promise((r) => {
    // A process killed by a signal has no exit code, only a signal code.
    if (p.exitCode !== null || p.signalCode !== null) return r();
    p.once('exit', () => r());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
  });
}

/** Node flags from an environment variable, split on spaces (flags like `--cpu-prof` are not allowed in NODE_OPTIONS). */
function nodeArgsFrom(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

/**
 * Starts a TypeScript entry with tsx; resolves once its stdout matches `READY <port>`.
 * BENCH_PEER_NODE_ARGS adds Node flags (e.g. `--cpu-prof`), as BENCH_QUIRE_NODE_ARGS does
 * for Quire.
 */
export function startPeer(script: string, env: Record<string, string> = {}): Promise<Running> {
  return new Promise((resolve, reject) => {
    const proc = track(
      spawn(process.execPath, [...nodeArgsFrom('BENCH_PEER_NODE_ARGS'), '--import', 'tsx', script, '0'], {
        cwd: ROOT,
        env: { ...process.env, BENCH_DATABASE_URL: DB, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /READY (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), stop: () => stopProc(proc) });
    });
    proc.stderr!.on('data', (d) => (out += d));
    proc.once('exit', (code) => reject(new Error(`${script} exited ${code}: ${out.slice(-2000)}`)));
  });
}

export interface QuireOptions {
  schema: string;
  dataDir: string;
  roles: string;
  env?: Record<string, string>;
  /**
   * Extra Node flags for the server process, e.g. `--cpu-prof` (not allowed in
   * NODE_OPTIONS). Default: BENCH_QUIRE_NODE_ARGS, split on spaces, so any scenario's
   * server can be profiled: `BENCH_QUIRE_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'`.
   */
  nodeArgs?: string[];
  /**
   * Keep the production per-person, per-socket and per-workspace limits (the fault matrix
   * measures them); otherwise they are lifted like the per-IP cap. @default false
   */
  productionLimits?: boolean;
}

/** What the load generators would trip over: one account for every client, replays at full speed. */
const LOAD_GENERATOR_LIMITS: Record<string, string> = {
  SYNC_MAX_CONNECTIONS_PER_USER_DOCUMENT: '1000000',
  SYNC_MAX_DOCUMENTS_PER_SOCKET: '100000',
  SYNC_SOCKET_BURST_BYTES: String(1024 * 1_048_576),
  SYNC_SOCKET_BYTES_PER_SECOND: String(1024 * 1_048_576),
  SYNC_TENANT_BURST_BYTES: String(4096 * 1_048_576),
  SYNC_TENANT_BYTES_PER_SECOND: String(4096 * 1_048_576),
  SYNC_TENANT_WORK_BURST_MS: '600000',
  SYNC_TENANT_WORK_MS_PER_SECOND: '100000',
};

/** Quire on server Postgres in its own schema; resolves when /ready answers. */
export async function startQuire(o: QuireOptions): Promise<Running & { base: string }> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  const proc = track(
    spawn(process.execPath, [...(o.nodeArgs ?? nodeArgsFrom('BENCH_QUIRE_NODE_ARGS')), '--import', 'tsx', 'server/main.ts', `--roles=${o.roles}`], {
      cwd: QUIRE_ROOT,
      env: {
        ...process.env,
        ...QUIRE_ROOT_ENV,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: DB,
        DATABASE_SCHEMA: o.schema,
        DATA_DIR: o.dataDir,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_AUTH_BURST: '1000',
        SYNC_MAX_CONNECTIONS_PER_IP: '100000',
        // The peers have none of these limits: a ratio measures the servers, not the limits.
        ...(o.productionLimits ? {} : LOAD_GENERATOR_LIMITS),
        ...o.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error('quire exited during start');
    try {
      if ((await fetch(`${base}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 900) throw new Error('quire did not start');
    await new Promise((res) => setTimeout(res, 100));
  }
  return { proc, port, base, stop: () => stopProc(proc) };
}

export function benchDirs(): { schema: string; dataDir: string } {
  return { schema: `bench_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`, dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'quire-bench-')) };
}

/** Signs up a new tenant on a Quire under test; returns its session (accessToken, user…). */
export async function signup(base: string, tenant = 'Bench'): Promise<{ accessToken: string; refreshToken: string; user: { id: string; tenantId: string } }> {
  const r = await fetch(`${base}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant, email: `b${Date.now()}${Math.random().toString(36).slice(2)}@bench.test`, password: 'benchmark password' }),
  });
  if (!r.ok) throw new Error(`signup: ${r.status} ${await r.text()}`);
  return r.json();
}

/** Creates a document (optionally with text); returns its id. */
export async function createDocument(base: string, token: string, title: string, text?: string): Promise<string> {
  const r = await fetch(`${base}/api/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(text === undefined ? { title } : { title, text }),
  });
  if (!r.ok) throw new Error(`create document: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: string }).id;
}

export async function signupAndDocument(base: string): Promise<{ token: string; doc: string }> {
  const s = await signup(base);
  return { token: s.accessToken, doc: await createDocument(base, s.accessToken, 'bench') };
}

export async function dropSchema(schema: string): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: DB });
  await c.connect();
  await c.query(`drop schema if exists "${schema}" cascade`);
  await c.end();
}

export function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

/** CPU time of each process named `postgres` on this machine (the server and its backends), in ms by pid. */
function postgresCpuByPid(): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(' (postgres) ')) out.set(Number(pid), cpuMs(Number(pid)));
    } catch {
      // the process ended while being read
    }
  }
  return out;
}

/**
 * Starts counting the database's CPU (the benchmarks' Postgres runs on this machine);
 * the returned function gives the ms used since, by the processes alive at its call
 * (a backend that ended in between is not counted; one that started is, in full).
 */
export function postgresCpuMeter(): () => number {
  const before = postgresCpuByPid();
  return () => {
    let used = 0;
    for (const [pid, ms] of postgresCpuByPid()) used += ms - (before.get(pid) ?? 0);
    return used;
  };
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Runs a load script in its own process; resolves with its last stdout line parsed as JSON. */
export async function runClient<T>(script: string, args: string[]): Promise<T> {
  const client = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  client.stdout.on('data', (d) => (out += d));
  const code = await new Promise((res) => client.once('exit', res));
  if (code !== 0) throw new Error(`${script} exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/**
 * The scaled deployment as two processes, like the Procfile: web (api, sync) and worker
 * (relay, indexer, embeddings) on Postgres, NATS JetStream, Meilisearch and Qdrant, each
 * with names of its own. `stop` ends both and removes the schema, stream, index and
 * collection.
 */
export async function startScaledDeployment(tag: string): Promise<{ web: Running & { base: string; port: number }; stop: () => Promise<void> }> {
  const nats = process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
  const meili = process.env.BENCH_MEILI_URL ?? 'http://127.0.0.1:7700';
  const qdrant = process.env.BENCH_QDRANT_URL ?? 'http://127.0.0.1:6333';
  const dirs = benchDirs();
  const env = {
    NATS_URL: nats,
    NATS_STREAM: `${tag.toUpperCase()}_${dirs.schema}`,
    NATS_SUBJECT_PREFIX: dirs.schema.replace(/_/g, '-'),
    MEILI_URL: meili,
    MEILI_INDEX: `${tag}-${dirs.schema}`,
    QDRANT_URL: qdrant,
    QDRANT_COLLECTION: `${tag}-${dirs.schema}`,
    SEMANTIC_SEARCH: 'true',
    RATE_LIMIT_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_BURST: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_BURST: '100000',
  };
  const web = await startQuire({ ...dirs, roles: 'api,sync', env });
  const workerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-bench-worker-'));
  const worker = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--roles=worker'], {
    cwd: QUIRE_ROOT,
    env: {
      ...process.env,
      ...QUIRE_ROOT_ENV,
      ...env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      DATABASE_SCHEMA: dirs.schema,
      DATA_DIR: workerDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return {
    web,
    stop: async () => {
      await web.stop();
      await stopProc(worker);
      await dropSchema(dirs.schema);
      await fetch(`${meili}/indexes/${env.MEILI_INDEX}`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${qdrant}/collections/${env.QDRANT_COLLECTION}`, { method: 'DELETE' }).catch(() => undefined);
      const { connect } = await import('@nats-io/transport-node');
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const nc = await connect({ servers: nats });
      await (await jetstreamManager(nc)).streams.delete(env.NATS_STREAM).catch(() => undefined);
      await nc.close();
      fs.rmSync(workerDir, { recursive: true, force: true });
    },
  };
}
