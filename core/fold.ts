/**
 * Folding a document's stored state (snapshot + log rows) into one update, off the event
 * loop.
 *
 * Integrating stored rows costs what integrating them live did, and that is not bounded by
 * their bytes: rows of concurrent insertions at one place cost seconds for a few hundred
 * kilobytes (see `update-slices.ts`). Every reader of stored state — a document load, a
 * compaction, the indexer, a REST read of a document not in memory — used to pay it on the
 * event loop, each time. `foldStored` pays it on a worker thread instead and returns the
 * document's state as one update, which integrates cheaply wherever it is applied: an
 * update holding all of a document is integrated client by client, not in the order of
 * its edits (the crafted rows above fold in ~1 s and their fold applies in ~10 ms).
 *
 * What a row holds that its document cannot integrate yet (items whose dependencies are in
 * no row, deletions of unknown items) stays in the fold as it was in the rows: pending,
 * until what it waits for arrives.
 */
import { parentPort } from 'node:worker_threads';
import type { Worker } from 'node:worker_threads';
import * as Y from 'yjs';
import { deserializeError, serializeError, startModuleWorker, type SerializedError } from '../lib/thread.js';
import { checkUpdate, type UpdateProblem } from './update-validation.js';
import { AuthorshipRecorder, authorshipOf, encodeRanges, type EncodedUserRanges } from './authorship-recorder.js';
import { diffUpdates, type StateDiff } from './history-diff.js';

/** A log row that could not be applied: skipped by a load, quarantined by compaction. */
export interface BadRow {
  seq: string;
  problem: UpdateProblem;
}

export interface StoredRow {
  seq: string;
  data: Uint8Array;
  /** Who wrote the row (compaction records it: `authorship.ts`); absent or null: unknown or the server. */
  userId?: string | null;
}

export interface FoldResult {
  /** The document as one update (V1): snapshot and every row that could be applied. */
  state: Uint8Array;
  /** Rows that could not be applied, left out of `state`. */
  bad: BadRow[];
  /** With `authorship`: what the rows that were applied inserted and deleted, per author (`AuthorshipRecorder`). */
  authorship?: EncodedUserRanges[];
}

/**
 * Folds `rows` into `snapshot` on a scratch document, one transaction per row as the live
 * document applied them (Yjs garbage-collects deleted content when a transaction ends; a
 * row replayed inside one long transaction meets structs the live document had collected
 * and merged differently). A row that throws is set aside and the fold starts over without
 * it (Yjs cannot undo a half-applied update). The first time one throws, every row is
 * checked with `checkUpdate` and the failing ones set aside too: a row whose pending items
 * throw when a later, good row supplies their dependencies would otherwise get the good
 * row blamed. Each pass sets aside at least one row, so this ends. A snapshot that throws
 * is an error: there is nothing to fold onto.
 */
export function foldRows(snapshot: Uint8Array | null, rows: StoredRow[], opts: { authorship?: boolean } = {}): FoldResult {
  const bad = new Map<string, UpdateProblem>();
  let checked = false;
  for (;;) {
    const doc = new Y.Doc({ gc: true });
    const at: { seq: string | null } = { seq: null };
    const authorship = opts.authorship ? new AuthorshipRecorder(doc) : null;
    try {
      if (snapshot) Y.applyUpdate(doc, snapshot);
      for (const r of rows) {
        if (bad.has(r.seq)) continue;
        at.seq = r.seq;
        authorship?.by(r.userId ?? null);
        Y.applyUpdate(doc, r.data);
      }
    } catch (e) {
      doc.destroy();
      if (at.seq === null) throw e;
      const before = bad.size;
      if (!checked) {
        checked = true;
        for (const r of rows) {
          const problem = checkUpdate(r.data);
          if (problem) bad.set(r.seq, problem);
        }
      }
      if (bad.size === before) bad.set(at.seq, { code: 'conflicts_with_document', detail: e instanceof Error ? e.message : String(e) });
      continue;
    }
    // Pending structs and deletions are part of the encoding (Yjs merges them in).
    const state = Y.encodeStateAsUpdate(doc);
    doc.destroy();
    const result: FoldResult = { state, bad: rows.filter((r) => bad.has(r.seq)).map((r) => ({ seq: r.seq, problem: bad.get(r.seq)! })) };
    if (authorship) result.authorship = authorship.result().map((u) => ({ userId: u.userId, inserted: encodeRanges(u.inserted), deleted: encodeRanges(u.deleted) }));
    return result;
  }
}

type FoldRequest =
  | { kind: 'fold'; id: number; snapshot: Uint8Array | null; rows: StoredRow[]; authorship: boolean }
  | { kind: 'diff'; id: number; older: Uint8Array; newer: Uint8Array; authorship: EncodedUserRanges[] };

type FoldReply = { id: number; result: FoldResult | StateDiff } | { id: number; error: SerializedError };

/** The folding thread of this process, started on first use and unreferenced while idle. */
class FoldThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: FoldResult | StateDiff) => void; reject: (e: Error) => void }>();

  fold(snapshot: Uint8Array | null, rows: StoredRow[], authorship: boolean): Promise<FoldResult> {
    // Rows read from the database are views into shared pools: each is copied into a buffer
    // of its own, which moves to the thread without a second copy.
    const request = { kind: 'fold' as const, snapshot: snapshot && own(snapshot), rows: rows.map((r) => ({ seq: r.seq, data: own(r.data), userId: r.userId ?? null })), authorship };
    return this.send<FoldResult>(request, [request.snapshot, ...request.rows.map((r) => r.data)]);
  }

  diff(older: Uint8Array, newer: Uint8Array, authorship: EncodedUserRanges[]): Promise<StateDiff> {
    const request = { kind: 'diff' as const, older: own(older), newer: own(newer), authorship };
    return this.send<StateDiff>(request, [request.older, request.newer]);
  }

  private send<T>(request: DistributiveOmit<FoldRequest, 'id'>, buffers: (Uint8Array | null)[]): Promise<T> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: FoldResult | StateDiff) => void, reject });
      if (this.pending.size === 1) worker.ref();
      const transfer = buffers.filter((u): u is Uint8Array => u !== null).map((u) => u.buffer as ArrayBuffer);
      worker.postMessage({ ...request, id }, transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(import.meta.url, 'fold-worker');
    worker.unref();
    worker.on('message', (reply: FoldReply) => {
      const waiting = this.pending.get(reply.id);
      if (!waiting) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('result' in reply) waiting.resolve(reply.result);
      else waiting.reject(deserializeError(reply.error));
    });
    const fail = (e: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.pending.values()) w.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`fold thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}

const thread = new FoldThread();

/** A copy in a buffer of its own (rows read from the database are views into shared pools), which can move to the thread. */
const own = (u: Uint8Array) => Uint8Array.prototype.slice.call(u);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** `diffUpdates` (history-diff.ts) on this process' folding thread: a compare never holds the event loop. */
export function diffStored(older: Uint8Array, newer: Uint8Array, authorship: EncodedUserRanges[]): Promise<StateDiff> {
  return thread.diff(older, newer, authorship);
}

/** `foldRows` on this process' folding thread. */
export function foldStored(snapshot: Uint8Array | null, rows: StoredRow[], opts: { authorship?: boolean } = {}): Promise<FoldResult> {
  return thread.fold(snapshot, rows, opts.authorship ?? false);
}

/** The folding thread's message loop (run by `fold-worker.ts`). */
export function serveFolds(): void {
  parentPort?.on('message', (req: FoldRequest) => {
    let reply: FoldReply;
    try {
      reply =
        req.kind === 'fold'
          ? { id: req.id, result: foldRows(req.snapshot, req.rows, { authorship: req.authorship }) }
          : { id: req.id, result: diffUpdates(req.older, req.newer, authorshipOf(req.authorship)) };
    } catch (e) {
      reply = { id: req.id, error: serializeError(e) };
    }
    parentPort!.postMessage(reply, 'result' in reply && 'state' in reply.result ? [reply.result.state.buffer as ArrayBuffer] : []);
  });
}
