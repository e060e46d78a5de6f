/**
 * Before/after comparison of Quire between an earlier git revision and this working tree:
 * the fan-out, trace-replay and durability scenarios, each run twice per round as a child
 * process — once with the Quire server from a git worktree of `--before`
 * (BENCH_QUIRE_ROOT, see lib.ts), once from this checkout — the order alternating between
 * rounds, so a drift of the shared machine lands on both sides. Peers, load generators and
 * the scenario code are this checkout's on both sides; the peers' numbers are the control
 * (their after/before ratio is the noise floor). Prints a markdown table of medians over
 * the rounds, with the range in brackets.
 *
 * The web app's browser scenarios (`typing`, `load`: bench/web-typing.ts, bench/web-load.ts)
 * serve each side's own web app, built in its checkout with that checkout's Vite config,
 * from that side's server; compare committed revisions with `--after=HEAD` so that
 * uncommitted work in clients/web stays out of the "after" build. They are not in the default
 * `--scenarios`.
 *
 * Usage: npm run bench:revisions -- --before=<rev> [--after=<rev>] [--scenarios=fanout,trace,durability,typing,load]
 *   [--runs=3] [--scenario-runs=1] [--keep] [--json=<file>] [scenario flags]
 *   --runs            rounds (before + after each) per scenario
 *   --scenario-runs   the scenario's own --runs inside one invocation (its median)
 *   --after           compare against another revision (a second worktree) instead of this working tree
 *   --keep            keep the worktree(s) in the temporary directory (reused by the next run)
 *   --json            also write every sample to this file
 * Other flags go to every scenario (`--seconds=2`); `--<scenario>.<flag>=…` to one only
 * (`--fanout.n=1,50 --trace.trace=rustcode`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, ROOT } from './lib.js';

interface Scenario {
  name: string;
  script: string;
  /** Headline numbers of one invocation's JSON summary, by label. */
  metrics(summary: any): Metric[];
}
interface Metric {
  server: string;
  label: string;
  value: number;
}

/** Peers after Quire; the peers are the control. */
const serverOrder = (s: string) => (s === 'quire' ? 0 : 1);
const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : NaN);

const SCENARIOS: Scenario[] = [
  {
    name: 'fanout',
    script: 'bench/fanout.ts',
    metrics: (s: { rows: { server: string; n: number; docs: number; p50: number; p99: number; delivered: number; cpuMsPerS: number; rssMb: number }[] }) =>
      s.rows.flatMap((r) => {
        const c = `${r.docs} doc${r.docs === 1 ? '' : 's'} × ${r.n} readers`;
        const m = (label: string, value: number) => ({ server: r.server, label: `${c}: ${label}`, value: num(value) });
        return r.server === 'quire'
          ? [m('p50 ms', r.p50), m('p99 ms', r.p99), m('server CPU ms/s', r.cpuMsPerS), m('RSS MB', r.rssMb), m('delivered %', 100 * r.delivered)]
          : [m('p99 ms', r.p99), m('server CPU ms/s', r.cpuMsPerS)];
      }),
  },
  {
    name: 'trace',
    script: 'bench/trace-replay.ts',
    metrics: (s: { rows: Record<string, number | string | boolean>[] }) =>
      s.rows.flatMap((r) => {
        const server = String(r.server);
        const m = (label: string, key: string) => ({ server, label, value: num(r[key]) });
        return [
          m('edits/s until all acked', 'editsPerS'),
          m('server load after restart ms', 'coldServerMs'),
          m('server load in a running server ms', 'warmServerMs'),
          ...(server === 'quire'
            ? [
                m('provider synced after restart ms', 'coldSyncMs'),
                m('provider synced in a running server ms', 'warmSyncMs'),
                m('REST Yjs state after restart ms', 'restYjsMs'),
                m('REST Yjs state in a running server ms', 'warmRestYjsMs'),
              ]
            : []),
          { server, label: 'text = endContent (1 = yes)', value: r.ok === true ? 1 : 0 },
        ];
      }),
  },
  {
    name: 'durability',
    script: 'bench/durability.ts',
    metrics: (s: { rows: { server: string; acked: number; lost: number; ackP50: number; ackP99: number }[] }) =>
      s.rows.flatMap((r) => [
        { server: r.server, label: 'ack p50 ms', value: num(r.ackP50) },
        { server: r.server, label: 'ack p99 ms', value: num(r.ackP99) },
        { server: r.server, label: 'acked updates lost', value: num(r.lost) },
        { server: r.server, label: 'updates acked before SIGKILL', value: num(r.acked) },
      ]),
  },
  {
    name: 'typing',
    script: 'bench/web-typing.ts',
    metrics: (s: {
      summary: { document: string; collab: boolean; p50: number; p95: number; p99: number; max: number; eventP99: number; eventMax: number; scriptMsPerKey: number; openMs: number }[];
    }) =>
      s.summary.flatMap((r) => {
        const c = `${r.document}, ${r.collab ? 'second user on' : 'alone'}`;
        const m = (label: string, value: number) => ({ server: 'web app', label: `${c}: ${label}`, value: num(value) });
        return [
          m('keypress → frame p50 ms', r.p50),
          m('keypress → frame p95 ms', r.p95),
          m('keypress → frame p99 ms', r.p99),
          m('keypress → frame max ms', r.max),
          m('Event Timing p99 ms (0: under 16)', r.eventP99),
          m('Event Timing max ms', r.eventMax),
          m('main-thread script ms per key', r.scriptMsPerKey),
          m('document open ms', r.openMs),
        ];
      }),
  },
  {
    name: 'load',
    script: 'bench/web-load.ts',
    metrics: (s: { summary: Record<string, number> }) => {
      const m = (label: string, key: string) => ({ server: 'web app', label, value: num(s.summary[key]) });
      return [
        m('time to interactive ms', 'interactiveMs'),
        m('editor editable ms', 'editableMs'),
        m('"Saved" shown ms', 'savedMs'),
        m('DOMContentLoaded ms', 'domContentLoadedMs'),
        m('requests', 'requests'),
        m('app files KB sent', 'appKb'),
        m('app files KB uncompressed', 'appUncompressedKb'),
        m('API KB sent', 'apiKb'),
        m('sync socket KB received', 'socketKb'),
        m('total KB', 'totalKb'),
      ];
    },
  },
];
const DEFAULT_SCENARIOS = 'fanout,trace,durability';

// Flags: the value is everything after the first `=` (scenario flags may contain one).
const flags = new Map<string, string>();
const passThrough: string[] = [];
const OWN = new Set(['before', 'after', 'scenarios', 'runs', 'scenario-runs', 'keep', 'json']);
for (const a of process.argv.slice(2)) {
  const m = /^--([^=]+)(?:=(.*))?$/s.exec(a);
  if (!m) throw new Error(`unexpected argument ${a}`);
  if (OWN.has(m[1]!)) flags.set(m[1]!, m[2] ?? '');
  else passThrough.push(a);
}
const BEFORE = flags.get('before');
if (!BEFORE) {
  process.stderr.write(
    'usage: npm run bench:revisions -- --before=<rev> [--after=<rev>] [--scenarios=fanout,trace,durability,typing,load] [--runs=3] [--scenario-runs=1] [--keep] [--json=<file>] [scenario flags]\n',
  );
  process.exit(2);
}
const RUNS = Number(flags.get('runs') ?? '3');
const SCENARIO_RUNS = Number(flags.get('scenario-runs') ?? '1');
const KEEP = flags.has('keep');
const chosen = (flags.get('scenarios') ?? DEFAULT_SCENARIOS).split(',').filter(Boolean);
for (const n of chosen) if (!SCENARIOS.some((s) => s.name === n)) throw new Error(`unknown scenario "${n}"; available: ${SCENARIOS.map((s) => s.name).join(', ')}`);
const scenarios = SCENARIOS.filter((s) => chosen.includes(s.name));
/** The flags one scenario gets: the shared ones, and `--<name>.<flag>` as `--<flag>`. */
function flagsFor(name: string): string[] {
  const out: string[] = [];
  for (const a of passThrough) {
    const m = /^--([a-z-]+)\.(.*)$/s.exec(a);
    if (!m) out.push(a);
    else if (m[1] === name) out.push(`--${m[2]}`);
    else if (!SCENARIOS.some((s) => s.name === m[1])) throw new Error(`unknown scenario in ${a}`);
  }
  return out;
}

for (const s of scenarios) flagsFor(s.name); // fails early on a misspelt `--<scenario>.` prefix
if (!(Number.isInteger(RUNS) && RUNS > 0 && Number.isInteger(SCENARIO_RUNS) && SCENARIO_RUNS > 0)) throw new Error('--runs and --scenario-runs take a positive integer');

const git = (args: string[], cwd = ROOT) => execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** A worktree of `rev` at a fixed temporary path (reused when it is already there), with this checkout's node_modules. */
function worktree(rev: string): { dir: string; commit: string; subject: string } {
  const commit = git(['rev-parse', '--verify', `${rev}^{commit}`]);
  const short = git(['rev-parse', '--short', commit]);
  const dir = path.join(os.tmpdir(), `quire-bench-rev-${short}`);
  git(['worktree', 'prune']);
  if (fs.existsSync(dir)) {
    let head = '';
    try {
      head = git(['rev-parse', 'HEAD'], dir);
    } catch {
      // not a checkout
    }
    if (head !== commit) throw new Error(`${dir} exists but is not a checkout of ${commit}; remove it (git worktree remove --force ${dir})`);
    process.stderr.write(`reusing worktree ${dir}\n`);
  } else {
    git(['worktree', 'add', '--detach', dir, commit]);
  }
  const modules = path.join(dir, 'node_modules');
  if (!fs.existsSync(modules)) fs.symlinkSync(path.join(ROOT, 'node_modules'), modules, 'dir');
  return { dir, commit, subject: git(['log', '-1', '--format=%s', commit]) };
}

function removeWorktree(dir: string): void {
  // The node_modules link goes first, so nothing can follow it into this checkout's modules.
  const modules = path.join(dir, 'node_modules');
  if (fs.lstatSync(modules, { throwIfNoEntry: false })?.isSymbolicLink()) fs.unlinkSync(modules);
  git(['worktree', 'remove', '--force', dir]);
}

interface Side {
  name: 'before' | 'after';
  /** BENCH_QUIRE_ROOT, or undefined for this checkout. */
  root?: string;
  describe: string;
}
const subject = (s: string) => (s.length > 80 ? `${s.slice(0, 79)}…` : s);
const worktrees: string[] = [];
const b = worktree(BEFORE);
worktrees.push(b.dir);
const before: Side = { name: 'before', root: b.dir, describe: `${b.commit.slice(0, 10)} (${subject(b.subject)})` };
let after: Side;
const AFTER = flags.get('after');
if (AFTER) {
  let a: ReturnType<typeof worktree>;
  try {
    a = worktree(AFTER);
  } catch (e) {
    if (!KEEP) removeWorktree(b.dir);
    throw e;
  }
  if (a.dir !== b.dir) worktrees.push(a.dir);
  after = { name: 'after', root: a.dir, describe: `${a.commit.slice(0, 10)} (${subject(a.subject)})` };
} else {
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  after = { name: 'after', describe: `working tree at ${git(['rev-parse', '--short=10', 'HEAD'])}${dirty ? ' + uncommitted changes' : ''}` };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-bench-revisions-'));
let current: ChildProcess | undefined;
function cleanup(): void {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (KEEP) {
    process.stderr.write(`kept ${worktrees.join(', ')}\n`);
    return;
  }
  for (const dir of worktrees) {
    try {
      removeWorktree(dir);
    } catch (e) {
      process.stderr.write(`could not remove worktree ${dir}: ${(e as Error).message}\n`);
    }
  }
}
process.once('SIGINT', () => {
  current?.kill('SIGINT');
  cleanup();
  process.exit(130);
});

/** One invocation of a scenario; its output goes to stderr with a prefix, its summary is read from --json. */
async function invoke(s: Scenario, side: Side, round: number): Promise<Metric[]> {
  const file = path.join(tmp, `${s.name}-${side.name}-${round}.json`);
  const env = { ...process.env };
  delete env.BENCH_QUIRE_ROOT;
  if (side.root) env.BENCH_QUIRE_ROOT = side.root;
  // --json first and --runs last: a scenario's flags are looked up first match first.
  const args = ['--import', 'tsx', path.join(ROOT, s.script), `--json=${file}`, ...flagsFor(s.name), `--runs=${SCENARIO_RUNS}`];
  const prefix = `[${s.name} ${side.name} ${round + 1}/${RUNS}] `;
  process.stderr.write(`${prefix}node ${args.slice(2).join(' ')}${side.root ? ` (BENCH_QUIRE_ROOT=${side.root})` : ''}\n`);
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  current = child;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (d: Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop()!;
      for (const l of lines) process.stderr.write(`${prefix}${l}\n`);
    });
    stream.on('end', () => pending && process.stderr.write(`${prefix}${pending}\n`));
  }
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  current = undefined;
  process.stderr.write(`${prefix}exit ${code} after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  if (code !== 0) throw new Error(`${s.name} (${side.name}, round ${round + 1}) exited ${code}`);
  return s.metrics(JSON.parse(fs.readFileSync(file, 'utf8')));
}

/** Samples by scenario, then `server|label`, then side. */
const samples = new Map<string, Map<string, { server: string; label: string; before: number[]; after: number[] }>>();
const failures: string[] = [];
const started = Date.now();
for (const s of scenarios) {
  const byMetric = new Map<string, { server: string; label: string; before: number[]; after: number[] }>();
  samples.set(s.name, byMetric);
  for (let k = 0; k < RUNS; k++) {
    for (const side of k % 2 === 0 ? [before, after] : [after, before]) {
      try {
        for (const m of await invoke(s, side, k)) {
          const key = `${m.server}|${m.label}`;
          if (!byMetric.has(key)) byMetric.set(key, { server: m.server, label: m.label, before: [], after: [] });
          if (Number.isFinite(m.value)) byMetric.get(key)![side.name].push(m.value);
        }
      } catch (e) {
        failures.push((e as Error).message);
        process.stderr.write(`${(e as Error).message}\n`);
      }
    }
  }
}

const fmt = (x: number) => (!Number.isFinite(x) ? '—' : Number.isInteger(x) || Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
const cell = (xs: number[]) => (xs.length === 0 ? '—' : xs.length === 1 ? fmt(xs[0]!) : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`);
const lines = [
  `Before: ${before.describe}`,
  `After: ${after.describe}`,
  `${RUNS} interleaved round${RUNS === 1 ? '' : 's'} per scenario (each scenario with --runs=${SCENARIO_RUNS}${passThrough.length ? ` ${passThrough.join(' ')}` : ''}); median over rounds, range in brackets; Node ${process.version}, ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, ${((Date.now() - started) / 60000).toFixed(1)} min.`,
  `Peers run the same code on both sides: their after/before ratios show the noise.`,
  '',
  '| scenario | metric | before | after | after/before |',
  '|---|---|---|---|---|',
];
for (const s of scenarios) {
  const rows = [...samples.get(s.name)!.values()].sort((x, y) => serverOrder(x.server) - serverOrder(y.server));
  for (const r of rows) {
    if (!r.before.length && !r.after.length) continue; // not measured for this server (e.g. loads of in-memory Hocuspocus)
    const ratio = r.before.length && r.after.length && median(r.before) !== 0 ? median(r.after) / median(r.before) : NaN;
    lines.push(`| ${s.name} | ${r.server}: ${r.label} | ${cell(r.before)} | ${cell(r.after)} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : '—'} |`);
  }
}
if (failures.length) lines.push('', `Failed invocations (missing from the medians): ${failures.join('; ')}`);
process.stdout.write(`${lines.join('\n')}\n`);

const jsonOut = flags.get('json');
if (jsonOut) {
  const data = {
    before: before.describe,
    after: after.describe,
    runs: RUNS,
    scenarioRuns: SCENARIO_RUNS,
    flags: passThrough,
    node: process.version,
    cores: os.cpus().length,
    samples: Object.fromEntries([...samples].map(([name, m]) => [name, [...m.values()]])),
    failures,
  };
  fs.mkdirSync(path.dirname(path.resolve(jsonOut)), { recursive: true });
  fs.writeFileSync(jsonOut, JSON.stringify(data, null, 2));
}
cleanup();
process.exit(failures.length ? 1 : 0);
