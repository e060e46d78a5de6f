/**
 * Version history (issue 18): what a document's history costs in storage, how long opening
 * a version and comparing two take over REST, and whether a document with a long history
 * loads as fast as one without.
 *
 * Per profile (`postgres`: server Postgres in a schema of its own; `pglite`: the embedded
 * database in DATA_DIR) and per run, from scratch:
 * 1. Starts a Quire server (roles api,sync,worker), signs up, adds two more users of the
 *    workspace (three authors in all) and creates two empty documents over REST.
 * 2. Replays the trace (`automerge-paper`, 259,778 edits) into the first document without
 *    a socket, the way the sync tier stores edits: each edit is applied to a Yjs document in
 *    this process and its update written as one log row with its user
 *    (`DocumentStore.appendBatch`, `--batch` rows per call). The author changes every
 *    `--batch` edits, in turn among the three users, each with a Yjs client id of their
 *    own, so a version's diff and the authorship hold several writers. The log is folded
 *    (`DocumentStore.compactAll`, as the live server's compaction does, with authorship)
 *    every `--compact-every` edits, and after every `--every` edits, once the rows are
 *    committed, an automatic version is recorded with `VersionStore.create` (kind `auto`,
 *    authors: the users who wrote since the last one), also one of the final state. On
 *    Postgres this runs while the server runs; PGlite has one process at a time on its
 *    files, so the server is stopped while this process writes.
 * 3. Copies the final state into the second document (one log row, then compacted): the
 *    same document without versions. Both tables are vacuumed (autovacuum is off on the
 *    benchmark machine's Postgres; 260k folded rows would otherwise slow the first document's
 *    log read, which has nothing to do with history).
 * 4. Measures, over REST with the owner's token: opening a version
 *    (`GET …/versions/:vid/content?format=json`) for `--samples` versions spread over the
 *    history, including every version that is furthest from its full state (the last of each
 *    chain of diffs); comparing `--pairs` random pairs of versions (`GET …/versions/:a/diff
 *    ?against=:b`) and `--samples` versions against the current state (`against=current`).
 *    Each request is timed until its body is read; the first request of each kind is
 *    reported apart (a server's first diff compiles the code paths), then
 *    p50/p95/max over the rest.
 * 5. Live load: a fresh Yjs websocket client (`bench/trace-client.ts load`, a new process
 *    each time) syncs each document from cold — not loaded on the server (after the last
 *    client leaves, the server unloads it; the load waits `--unload-ms`) — `--loads`
 *    times each, alternating which goes first, in a server that loaded a small warm-up
 *    document first. Reported: the server's load (from its "authenticated" answer to the
 *    first sync message) and the client's time to synced, medians; with history vs
 *    without is the "before/after". (A client leaving a document records a "last seen"
 *    version of it: the copy gets one version after its first load; the load path reads
 *    neither.)
 * 6. Attribution, in this process on the same store: for the versions furthest from a full
 *    state, the time of reading a version's rows (the same queries as `VersionStore.read`),
 *    applying them, `toProseMirrorJSON` and `JSON.stringify`; for the slowest diffs,
 *    reading both states, `loadAuthorship`, `diffStates` and `JSON.stringify`.
 * History bytes are `VersionStore.size` (data + state vectors); current state bytes are the
 * document's committed state as one Yjs update (what `content?format=yjs` returns).
 * Peers (Hocuspocus, y-websocket) keep no version history: there is nothing to compare.
 *
 * Usage: npm run bench:history -- [--runs=3] [--profiles=postgres,pglite] [--every=1000]
 *   [--batch=250] [--compact-every=2000] [--samples=60] [--pairs=50] [--loads=5]
 *   [--unload-ms=2500] [--trace=automerge-paper] [--json=<file>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import * as Y from 'yjs';
import { createRng } from '../ml-workers/classifier/train.js';
import { openStore, withTenant, type Store } from '../db/store.js';
import { DocumentStore, type AppendItem } from '../core/document-store.js';
import { VersionStore, type VersionRecord } from '../core/history.js';
import { loadAuthorship } from '../core/authorship.js';
import { diffStates } from '../core/history-diff.js';
import { toProseMirrorJSON } from '../core/content.js';
import { loadTrace, type SequentialTrace } from '../test/helpers/traces.js';
import { arg, benchDirs, createDocument, DB, dropSchema, median, ROOT, runClient, signup, startQuire } from './lib.js';

const RUNS = Number(arg('runs', '3'));
const PROFILES = arg('profiles', 'postgres,pglite').split(',') as Profile[];
const EVERY = Number(arg('every', '1000'));
const BATCH = Number(arg('batch', '250'));
const COMPACT_EVERY = Number(arg('compact-every', '2000'));
const SAMPLES = Number(arg('samples', '60'));
const PAIRS = Number(arg('pairs', '50'));
const LOADS = Number(arg('loads', '5'));
const UNLOAD_MS = Number(arg('unload-ms', '2500'));
const TRACE = arg('trace', 'automerge-paper');
const APP_ROLE = 'quire_app';

type Profile = 'postgres' | 'pglite';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 0.5), p95: pct(xs, 0.95), max: Math.max(...xs) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function paragraphText(d: Y.Doc): Y.XmlText {
  const frag = d.getXmlFragment('default');
  if (frag.length === 0) {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText()]);
    frag.insert(0, [p]);
  }
  return (frag.get(0) as Y.XmlElement).get(0) as Y.XmlText;
}

function serverEnv(profile: Profile): Record<string, string> {
  return {
    SEMANTIC_SEARCH: 'false',
    // No automatic version of the replayed document other than the ones this script records.
    HISTORY_CHECKPOINT_INTERVAL_MS: '86400000',
    RATE_LIMIT_USER_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_BURST: '100000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_BURST: '100000',
    ...(profile === 'pglite' ? { DATABASE_URL: '' } : {}),
  };
}

async function open(profile: Profile, dirs: { schema: string; dataDir: string }): Promise<Store> {
  return profile === 'postgres'
    ? openStore({ url: DB, schema: dirs.schema, appRole: APP_ROLE, migrate: false, poolMax: 4 })
    : openStore({ schema: dirs.schema, appRole: APP_ROLE, dataDir: dirs.dataDir, migrate: false });
}

interface Built {
  buildS: number;
  versions: VersionRecord[];
  textOk: boolean;
}

/** Step 2 and 3: the replay with a version every EVERY edits, and the copy without versions. */
async function build(store: Store, tenantId: string, users: string[], docId: string, copyId: string): Promise<Built> {
  const t0 = performance.now();
  const documents = new DocumentStore(store.db);
  const versions = new VersionStore(store.db, documents);
  const trace = loadTrace<SequentialTrace>(TRACE);
  const gen = new Y.Doc();
  const clientIds = users.map((_, i) => 0x10000 + i);
  let author = 0;
  gen.clientID = clientIds[author]!;
  let pending: AppendItem[] = [];
  const authorsSince = new Set<string>();
  gen.on('update', (u: Uint8Array) => {
    pending.push({ tenantId, documentId: docId, data: u, userId: users[author]! });
    authorsSince.add(users[author]!);
  });
  const text = paragraphText(gen);
  const flush = async () => {
    if (pending.length === 0) return;
    const items = pending;
    pending = [];
    await documents.appendBatch(items);
  };
  const n = trace.txns.length;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % BATCH === 0) {
      await flush();
      author = (i / BATCH) % users.length;
      gen.clientID = clientIds[author]!;
    }
    gen.transact(() => {
      for (const [pos, del, ins] of trace.txns[i]!.patches) {
        if (del) text.delete(pos, del);
        if (ins) text.insert(pos, ins);
      }
    });
    const done = i + 1;
    if (done % COMPACT_EVERY === 0 || done % EVERY === 0 || done === n) await flush();
    if (done % COMPACT_EVERY === 0 || done === n) await documents.compactAll(tenantId, docId);
    if (done % EVERY === 0 || done === n) {
      const res = await versions.create(tenantId, docId, { kind: 'auto', name: null, createdBy: null, authors: [...authorsSince] });
      if (!('created' in res)) throw new Error(`version after ${done} edits not recorded: ${JSON.stringify(res)}`);
      authorsSince.clear();
    }
    if (done % 50_000 === 0) process.stderr.write(`  replayed ${done}/${n} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const { doc: current } = await documents.loadInto(tenantId, docId, new Y.Doc());
  const textOk = paragraphText(current).toString() === trace.endContent;
  await documents.appendBatch([{ tenantId, documentId: copyId, data: Y.encodeStateAsUpdate(current), userId: users[0]! }]);
  await documents.compactAll(tenantId, copyId);
  current.destroy();
  gen.destroy();
  for (const table of ['document_updates', 'document_snapshots', 'document_versions', 'document_authorship']) {
    await sql`vacuum analyze ${sql.table(`${store.schema}.${table}`)}`.execute(store.owner);
  }
  const all = await versions.list(tenantId, docId, { limit: 100_000 });
  return { buildS: (performance.now() - t0) / 1000, versions: all.reverse(), textOk };
}

async function stateBytes(store: Store, tenantId: string, docId: string): Promise<number> {
  const { doc } = await new DocumentStore(store.db).loadInto(tenantId, docId, new Y.Doc());
  const n = Y.encodeStateAsUpdate(doc).byteLength;
  doc.destroy();
  return n;
}

/** How many diffs a version's read applies after its full state. */
function distances(versions: VersionRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  let d = 0;
  for (const v of versions) {
    d = v.full ? 0 : d + 1;
    out.set(v.id, d);
  }
  return out;
}

/** Every chain's last version (furthest from its full state), then evenly spaced ones up to `count`. */
function sampleVersions(versions: VersionRecord[], count: number): VersionRecord[] {
  const chosen = new Map<string, VersionRecord>();
  versions.forEach((v, i) => {
    const next = versions[i + 1];
    if (!v.full && (!next || next.full)) chosen.set(v.id, v);
  });
  const rest = count - chosen.size;
  for (let k = 0; k < rest && chosen.size < versions.length; k++) {
    const v = versions[Math.min(versions.length - 1, Math.round((k * (versions.length - 1)) / Math.max(1, rest - 1)))]!;
    chosen.set(v.id, v);
  }
  for (let i = 0; chosen.size < Math.min(count, versions.length); i++) chosen.set(versions[i]!.id, versions[i]!);
  return [...chosen.values()];
}

interface Timed {
  ms: number;
  bytes: number;
}

async function timedGet(url: string, token: string): Promise<Timed> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await r.arrayBuffer();
  const ms = performance.now() - t0;
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${Buffer.from(body).toString('utf8').slice(0, 500)}`);
  return { ms, bytes: body.byteLength };
}

interface RestResult {
  openFirstMs: number;
  open: ReturnType<typeof stats> & { bytesP50: number; byDistance: { distance: number; p50: number; max: number }[] };
  pairFirstMs: number;
  pairs: ReturnType<typeof stats> & { bytesP50: number };
  currentFirstMs: number;
  current: ReturnType<typeof stats> & { bytesP50: number };
  slowOpen: { seq: number; distance: number; ms: number }[];
  slowDiff: { a: number; b: number | 'current'; ms: number }[];
}

/** Step 4. */
async function rest(base: string, token: string, docId: string, versions: VersionRecord[]): Promise<RestResult> {
  // Seeded, so every run samples the same versions and pairs.
  const rand = createRng(18);
  const dist = distances(versions);
  const sample = sampleVersions(versions, SAMPLES);
  // Shuffled: no version benefits from the one read before it.
  const order = [...sample].sort(() => rand() - 0.5);
  const vurl = (v: string) => `${base}/api/v1/documents/${docId}/versions/${v}`;
  const opens: (Timed & { v: VersionRecord })[] = [];
  for (const v of order) opens.push({ ...(await timedGet(`${vurl(v.id)}/content?format=json`, token)), v });
  const pairs: (Timed & { a: VersionRecord; b: VersionRecord })[] = [];
  for (let k = 0; k < PAIRS + 1; k++) {
    const i = Math.floor(rand() * versions.length);
    let j = Math.floor(rand() * (versions.length - 1));
    if (j >= i) j++;
    const [a, b] = [versions[i]!, versions[j]!];
    pairs.push({ ...(await timedGet(`${vurl(a.id)}/diff?against=${b.id}`, token)), a, b });
  }
  const currents: (Timed & { v: VersionRecord })[] = [];
  for (const v of [...sample].sort(() => rand() - 0.5)) currents.push({ ...(await timedGet(`${vurl(v.id)}/diff?against=current`, token)), v });
  const byDistance = [...new Set(opens.map((o) => dist.get(o.v.id)!))]
    .sort((a, b) => a - b)
    .map((distance) => {
      const ms = opens.filter((o) => dist.get(o.v.id) === distance).map((o) => o.ms);
      return { distance, p50: median(ms), max: Math.max(...ms) };
    });
  const rest1 = <T extends Timed>(xs: T[]) => xs.slice(1);
  return {
    openFirstMs: opens[0]!.ms,
    open: { ...stats(rest1(opens).map((o) => o.ms)), bytesP50: median(opens.map((o) => o.bytes)), byDistance },
    pairFirstMs: pairs[0]!.ms,
    pairs: { ...stats(rest1(pairs).map((o) => o.ms)), bytesP50: median(pairs.map((o) => o.bytes)) },
    currentFirstMs: currents[0]!.ms,
    current: { ...stats(rest1(currents).map((o) => o.ms)), bytesP50: median(currents.map((o) => o.bytes)) },
    slowOpen: rest1(opens)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5)
      .map((o) => ({ seq: o.v.seq, distance: dist.get(o.v.id)!, ms: o.ms })),
    slowDiff: [...rest1(pairs).map((p) => ({ a: p.a.seq, b: p.b.seq as number | 'current', ms: p.ms })), ...rest1(currents).map((c) => ({ a: c.v.seq, b: 'current' as const, ms: c.ms }))]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 5),
  };
}

type Load = { syncedMs: number; serverLoadMs: number; clientApplyMs: number; chars: number };

/** Step 5: alternating cold loads of the document with history and of its copy without. */
async function loads(port: number, token: string, docId: string, copyId: string, warmId: string): Promise<{ with: Load[]; without: Load[] }> {
  const url = `ws://127.0.0.1:${port}/sync`;
  await runClient<Load>('bench/trace-client.ts', ['load', url, warmId, token]);
  await sleep(UNLOAD_MS);
  const out = { with: [] as Load[], without: [] as Load[] };
  for (let k = 0; k < LOADS; k++) {
    const order: ['with' | 'without', string][] = [
      ['with', docId],
      ['without', copyId],
    ];
    if (k % 2 === 1) order.reverse();
    for (const [which, id] of order) {
      out[which].push(await runClient<Load>('bench/trace-client.ts', ['load', url, id, token]));
      await sleep(UNLOAD_MS);
    }
  }
  return out;
}

interface Attribution {
  open: {
    seq: number;
    distance: number;
    rows: number;
    rowBytes: number;
    readMs: number;
    applyMs: number;
    jsonTreeMs: number;
    stringifyMs: number;
    jsonBytes: number;
    totalMs: number;
    versionStoreReadMs: number;
  }[];
  diff: { a: number; b: number | 'current'; readAMs: number; readBMs: number; authorshipMs: number; diffMs: number; stringifyMs: number; jsonBytes: number; totalMs: number }[];
}

/** Step 6: where the time of the slowest reads and diffs goes, in this process. */
async function attribute(store: Store, tenantId: string, docId: string, versions: VersionRecord[], r: RestResult): Promise<Attribution> {
  const documents = new DocumentStore(store.db);
  const vs = new VersionStore(store.db, documents);
  const dist = distances(versions);
  const bySeq = new Map(versions.map((v) => [v.seq, v]));
  const furthest = versions.filter((v) => dist.get(v.id) === Math.max(...dist.values())).slice(-3);
  const open: Attribution['open'] = [];
  // The first of each is a warm-up (JIT), left out.
  for (const [k, v] of [furthest[0]!, ...furthest].entries()) {
    const t0 = performance.now();
    const rows = await withTenant(store.db, tenantId, (tx) =>
      tx
        .selectFrom('document_versions')
        .select(['id', 'seq', 'base_id', 'data'])
        .where('document_id', '=', docId)
        .where('seq', '<=', v.seq)
        .where('seq', '>=', (eb) => eb.selectFrom('document_versions').select(eb.fn.max('seq').as('m')).where('document_id', '=', docId).where('base_id', 'is', null).where('seq', '<=', v.seq))
        .orderBy('seq')
        .execute(),
    );
    const t1 = performance.now();
    const doc = new Y.Doc({ gc: false });
    for (const row of rows) Y.applyUpdate(doc, new Uint8Array(row.data));
    const t2 = performance.now();
    const tree = toProseMirrorJSON(doc);
    const t3 = performance.now();
    const json = JSON.stringify(tree);
    const t4 = performance.now();
    doc.destroy();
    const t5 = performance.now();
    const viaStore = await vs.read(tenantId, docId, v.id);
    const t6 = performance.now();
    viaStore?.doc.destroy();
    if (k > 0)
      open.push({
        seq: v.seq,
        distance: dist.get(v.id)!,
        rows: rows.length,
        rowBytes: rows.reduce((n, row) => n + row.data.byteLength, 0),
        readMs: t1 - t0,
        applyMs: t2 - t1,
        jsonTreeMs: t3 - t2,
        stringifyMs: t4 - t3,
        jsonBytes: json.length,
        totalMs: t4 - t0,
        versionStoreReadMs: t6 - t5,
      });
  }
  const diff: Attribution['diff'] = [];
  const slow = r.slowDiff.slice(0, 3);
  for (const [k, d] of [slow[0]!, ...slow].entries()) {
    const t0 = performance.now();
    const a = (await vs.read(tenantId, docId, bySeq.get(d.a)!.id))!.doc;
    const t1 = performance.now();
    const b = d.b === 'current' ? (await documents.loadInto(tenantId, docId, new Y.Doc({ gc: false }))).doc : (await vs.read(tenantId, docId, bySeq.get(d.b)!.id))!.doc;
    const t2 = performance.now();
    const authorship = await withTenant(store.db, tenantId, (tx) => loadAuthorship(tx, docId));
    const t3 = performance.now();
    const [older, newer] = d.b !== 'current' && d.b < d.a ? [b, a] : [a, b];
    const out = diffStates(older, newer, authorship);
    const t4 = performance.now();
    const json = JSON.stringify(out);
    const t5 = performance.now();
    a.destroy();
    b.destroy();
    if (k > 0) diff.push({ a: d.a, b: d.b, readAMs: t1 - t0, readBMs: t2 - t1, authorshipMs: t3 - t2, diffMs: t4 - t3, stringifyMs: t5 - t4, jsonBytes: json.length, totalMs: t5 - t0 });
  }
  return { open, diff };
}

interface RunResult {
  profile: Profile;
  run: number;
  edits: number;
  buildS: number;
  textOk: boolean;
  versions: number;
  fullStates: number;
  historyBytes: number;
  fullBytes: number;
  diffBytes: number;
  stateBytes: number;
  copyStateBytes: number;
  ratio: number;
  rest: RestResult;
  loadWith: { serverMs: number; syncedMs: number; all: Load[] };
  loadWithout: { serverMs: number; syncedMs: number; all: Load[] };
  copyVersionsAfterLoads: number;
  attribution: Attribution;
}

async function runOne(profile: Profile, run: number): Promise<RunResult> {
  const dirs = benchDirs();
  const env = serverEnv(profile);
  let q = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
  let store: Store | null = null;
  try {
    const owner = await signup(q.base);
    const token = owner.accessToken;
    const tenantId = owner.user.tenantId;
    const users = [owner.user.id];
    for (let i = 1; i < 3; i++) {
      const r = await fetch(`${q.base}/api/v1/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ email: `author${i}-${Date.now()}@bench.test`, password: 'benchmark password', role: 'member', displayName: `Author ${i}` }),
      });
      if (r.status !== 201) throw new Error(`create user: ${r.status} ${await r.text()}`);
      users.push(((await r.json()) as { id: string }).id);
    }
    const docId = await createDocument(q.base, token, 'automerge-paper with history');
    const copyId = await createDocument(q.base, token, 'automerge-paper without history');
    const warmId = await createDocument(q.base, token, 'warm-up', 'a small document');
    if (profile === 'pglite') await q.stop();
    store = await open(profile, dirs);
    const built = await build(store, tenantId, users, docId, copyId);
    const size = await new VersionStore(store.db, new DocumentStore(store.db)).size(tenantId, docId);
    const state = await stateBytes(store, tenantId, docId);
    const copyState = await stateBytes(store, tenantId, copyId);
    process.stderr.write(`  ${profile} run ${run}: built in ${built.buildS.toFixed(0)} s, ${size.versions} versions, ${size.bytes} B history, ${state} B state\n`);
    if (profile === 'pglite') {
      await store.destroy();
      store = null;
    }
    // A server that has not served these documents: neither is loaded.
    await q.stop();
    q = await startQuire({ ...dirs, roles: 'api,sync,worker', env });
    const restResult = await rest(q.base, token, docId, built.versions);
    process.stderr.write(`  rest: ${JSON.stringify({ open: restResult.open, pairs: restResult.pairs, current: restResult.current })}\n`);
    const l = await loads(q.port, token, docId, copyId, warmId);
    await q.stop();
    if (!store) store = await open(profile, dirs);
    const copyVersions = (await new VersionStore(store.db, new DocumentStore(store.db)).size(tenantId, copyId)).versions;
    const attribution = await attribute(store, tenantId, docId, built.versions, restResult);
    const fullBytes = built.versions.filter((v) => v.full).reduce((n, v) => n + v.bytes, 0);
    const dataBytes = built.versions.reduce((n, v) => n + v.bytes, 0);
    return {
      profile,
      run,
      edits: loadTrace<SequentialTrace>(TRACE).txns.length,
      buildS: built.buildS,
      textOk: built.textOk,
      versions: size.versions,
      fullStates: built.versions.filter((v) => v.full).length,
      historyBytes: size.bytes,
      fullBytes,
      diffBytes: dataBytes - fullBytes,
      stateBytes: state,
      copyStateBytes: copyState,
      ratio: size.bytes / state,
      rest: restResult,
      loadWith: { serverMs: median(l.with.map((x) => x.serverLoadMs)), syncedMs: median(l.with.map((x) => x.syncedMs)), all: l.with },
      loadWithout: { serverMs: median(l.without.map((x) => x.serverLoadMs)), syncedMs: median(l.without.map((x) => x.syncedMs)), all: l.without },
      copyVersionsAfterLoads: copyVersions,
      attribution,
    };
  } finally {
    await store?.destroy();
    await q.stop();
    if (profile === 'postgres') await dropSchema(dirs.schema);
    fs.rmSync(dirs.dataDir, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (let k = 0; k < RUNS; k++) {
  for (const profile of PROFILES) {
    const r = await runOne(profile, k);
    results.push(r);
    process.stderr.write(`${JSON.stringify({ ...r, rest: undefined, loadWith: { ...r.loadWith, all: undefined }, loadWithout: { ...r.loadWithout, all: undefined } })}\n`);
  }
}

/** Median over runs, and the range. */
function agg(xs: number[]): { median: number; min: number; max: number } {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}
const rows = PROFILES.map((profile) => {
  const rs = results.filter((r) => r.profile === profile);
  return {
    profile,
    runs: rs.length,
    versions: rs[0]!.versions,
    fullStates: rs[0]!.fullStates,
    historyBytes: agg(rs.map((r) => r.historyBytes)),
    fullBytes: agg(rs.map((r) => r.fullBytes)),
    diffBytes: agg(rs.map((r) => r.diffBytes)),
    stateBytes: agg(rs.map((r) => r.stateBytes)),
    ratio: agg(rs.map((r) => r.ratio)),
    openP50: agg(rs.map((r) => r.rest.open.p50)),
    openP95: agg(rs.map((r) => r.rest.open.p95)),
    openMax: agg(rs.map((r) => r.rest.open.max)),
    openFirst: agg(rs.map((r) => r.rest.openFirstMs)),
    pairP50: agg(rs.map((r) => r.rest.pairs.p50)),
    pairP95: agg(rs.map((r) => r.rest.pairs.p95)),
    pairMax: agg(rs.map((r) => r.rest.pairs.max)),
    pairFirst: agg(rs.map((r) => r.rest.pairFirstMs)),
    currentP50: agg(rs.map((r) => r.rest.current.p50)),
    currentP95: agg(rs.map((r) => r.rest.current.p95)),
    currentMax: agg(rs.map((r) => r.rest.current.max)),
    loadWithServer: agg(rs.map((r) => r.loadWith.serverMs)),
    loadWithoutServer: agg(rs.map((r) => r.loadWithout.serverMs)),
    loadWithSynced: agg(rs.map((r) => r.loadWith.syncedMs)),
    loadWithoutSynced: agg(rs.map((r) => r.loadWithout.syncedMs)),
    buildS: agg(rs.map((r) => r.buildS)),
    textOk: rs.every((r) => r.textOk && r.stateBytes === r.copyStateBytes),
  };
});
const summaryFile = arg('json', '') || path.join(ROOT, 'bench/results/history.json');
fs.mkdirSync(path.dirname(summaryFile), { recursive: true });
fs.writeFileSync(
  summaryFile,
  JSON.stringify(
    { trace: TRACE, every: EVERY, batch: BATCH, compactEvery: COMPACT_EVERY, samples: SAMPLES, pairs: PAIRS, loads: LOADS, node: process.version, cores: os.cpus().length, rows, results },
    null,
    2,
  ),
);
const f = (a: { median: number; min: number; max: number }, d = 1) => (a.min === a.max ? a.median.toFixed(d) : `${a.median.toFixed(d)} (${a.min.toFixed(d)}–${a.max.toFixed(d)})`);
const kb = (a: { median: number; min: number; max: number }) => f({ median: a.median / 1024, min: a.min / 1024, max: a.max / 1024 }, 0);
const lines = [
  '| profile | runs | versions (full states) | history KB (full / diffs) | current state KB | history ÷ state | open p50 / p95 / max ms | diff pair p50 / p95 / max ms | diff vs current p50 / p95 / max ms | first open / first diff ms | live load with history: server / synced ms | without: server / synced ms | text = endContent |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.profile} | ${r.runs} | ${r.versions} (${r.fullStates}) | ${kb(r.historyBytes)} (${kb(r.fullBytes)} / ${kb(r.diffBytes)}) | ${kb(r.stateBytes)} | ${f(r.ratio, 2)}× | ${f(r.openP50)} / ${f(r.openP95)} / ${f(r.openMax)} | ${f(r.pairP50)} / ${f(r.pairP95)} / ${f(r.pairMax)} | ${f(r.currentP50)} / ${f(r.currentP95)} / ${f(r.currentMax)} | ${f(r.openFirst, 0)} / ${f(r.pairFirst, 0)} | ${f(r.loadWithServer)} / ${f(r.loadWithSynced)} | ${f(r.loadWithoutServer)} / ${f(r.loadWithoutSynced)} | ${r.textOk ? 'yes' : 'NO'} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
