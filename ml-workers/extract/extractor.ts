/**
 * The extraction process: files are parsed one at a time in a child process with a heap
 * limit and a time limit, so a malformed, hostile or huge file ends as an
 * {@link ExtractionError} (its attachment 'failed') and never blocks, bloats or crashes
 * the worker process. A child process rather than a worker thread: a thread that reaches
 * its heap limit can abort the whole process (nodejs/node#47224); a child that does only
 * ends itself. A child that timed out or died is replaced by a fresh one for the next file;
 * an idle one exits after {@link ExtractorOptions.idleMs}.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { DEFAULT_EXTRACT_LIMITS, EXTRACT_MAX_BYTES, EXTRACT_MAX_HEAP_MB, EXTRACT_TIMEOUT_MS, ExtractionError, type Extracted, type ExtractLimits } from './formats.js';

export interface ExtractJob {
  id: number;
  bytes: Uint8Array;
  contentType: string;
  limits: ExtractLimits;
}

export type ExtractReply = { id: number; ok: true; result: Extracted } | { id: number; ok: false; error: { name: string; message: string } };

export interface ExtractorOptions {
  /** @default EXTRACT_TIMEOUT_MS */
  timeoutMs?: number;
  /** Heap of the extraction process in MiB. @default EXTRACT_MAX_HEAP_MB */
  maxHeapMb?: number;
  /** Largest file extracted, in bytes. @default EXTRACT_MAX_BYTES */
  maxBytes?: number;
  /** Pages and characters kept. @default DEFAULT_EXTRACT_LIMITS */
  limits?: ExtractLimits;
  /** An idle process exits after this long (one starts again with the next file). @default 30 s */
  idleMs?: number;
}

/** The tail of a child's stderr kept to tell why it died. */
const STDERR_TAIL_CHARS = 2000;

/** Niceness of the extraction process: the worker's own work (and an API or sync server on the same machine) goes first. */
const CHILD_PRIORITY = 10;

/**
 * Starts extract-child.ts (.js in built code) with a heap limit; TypeScript source runs
 * through tsx's loader, as its parent does. The child parses untrusted files, so it gets
 * none of the parent's environment (database addresses, keys).
 */
function startChild(maxHeapMb: number): ChildProcess {
  const source = new URL(import.meta.url).pathname.endsWith('.ts');
  const entry = fileURLToPath(new URL(source ? './extract-child.ts' : './extract-child.js', import.meta.url));
  const execArgv = [`--max-old-space-size=${maxHeapMb}`, ...(source ? ['--import', import.meta.resolve('tsx')] : [])];
  const child = fork(entry, [], { execArgv, env: {}, serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, CHILD_PRIORITY);
  } catch {
    // Not permitted here (some containers): it runs at the worker's priority.
  }
  return child;
}

interface Child {
  process: ChildProcess;
  stderr: string;
  /** V8 said it ran out of heap (the line comes before a native stack trace longer than the tail kept). */
  outOfMemory: boolean;
}

const OUT_OF_MEMORY = /out of memory|heap limit|allocation failed/i;

export class Extractor {
  private child: Child | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly maxHeapMb: number;
  private readonly maxBytes: number;
  private readonly limits: ExtractLimits;
  private readonly idleMs: number;

  constructor(opts: ExtractorOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? EXTRACT_TIMEOUT_MS;
    this.maxHeapMb = opts.maxHeapMb ?? EXTRACT_MAX_HEAP_MB;
    this.maxBytes = opts.maxBytes ?? EXTRACT_MAX_BYTES;
    this.limits = opts.limits ?? DEFAULT_EXTRACT_LIMITS;
    this.idleMs = opts.idleMs ?? 30_000;
  }

  /**
   * The file's text. Files are extracted one after another. Rejects with
   * {@link ExtractionError} for a file that cannot be read in time (`timeoutMs`, default
   * the extractor's) or within the heap limit.
   */
  extract(bytes: Uint8Array, contentType: string, opts: { timeoutMs?: number } = {}): Promise<Extracted> {
    const run = this.tail.catch(() => undefined).then(() => this.extractNow(bytes, contentType, opts.timeoutMs ?? this.timeoutMs));
    this.tail = run;
    return run;
  }

  /** Stops the extraction process (an extraction in flight fails). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const c = this.child;
    this.child = null;
    if (c && c.process.exitCode === null && c.process.signalCode === null) {
      const exited = new Promise((resolve) => c.process.once('exit', resolve));
      c.process.ref(); // held until it has exited
      c.process.kill('SIGKILL');
      await exited;
    }
  }

  private start(): Child {
    if (this.child) return this.child;
    const c: Child = { process: startChild(this.maxHeapMb), stderr: '', outOfMemory: false };
    c.process.stderr?.setEncoding('utf8');
    c.process.stderr?.on('data', (s: string) => {
      if (OUT_OF_MEMORY.test(s)) c.outOfMemory = true;
      c.stderr = (c.stderr + s).slice(-STDERR_TAIL_CHARS);
    });
    // Errors are answered per job; the child never keeps the worker process alive.
    c.process.on('error', () => undefined);
    c.process.once('exit', () => {
      if (this.child === c) this.child = null;
    });
    c.process.unref();
    (c.process.channel as { unref?: () => void } | null | undefined)?.unref?.();
    (c.process.stderr as { unref?: () => void } | null)?.unref?.();
    this.child = c;
    return c;
  }

  private stop(c: Child): void {
    if (this.child === c) this.child = null;
    c.process.kill('SIGKILL');
  }

  private extractNow(bytes: Uint8Array, contentType: string, timeoutMs: number): Promise<Extracted> {
    if (this.closed) return Promise.reject(new Error('the extractor is closed'));
    if (bytes.byteLength > this.maxBytes) {
      return Promise.reject(new ExtractionError(`the file is larger than ${Math.round(this.maxBytes / 1024 / 1024)} MiB, the most text is extracted from`));
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const c = this.start();
    const id = this.nextId++;
    return new Promise<Extracted>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        c.process.off('message', onMessage);
        c.process.off('close', onExit);
        c.process.off('error', onError);
        settle();
        this.idleTimer = setTimeout(() => this.child && this.stop(this.child), this.idleMs);
        this.idleTimer.unref();
      };
      const onMessage = (m: ExtractReply) => {
        if (m.id !== id) return;
        if (m.ok) finish(() => resolve(m.result));
        // Anything the parsers throw is about this file (a malformed structure trips them in many ways).
        else finish(() => reject(new ExtractionError(m.error.name === 'ExtractionError' ? m.error.message : `the file could not be read (${m.error.message})`.slice(0, 200))));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        // V8 ends a process that reached its heap limit with SIGABRT; its message may not have been read yet.
        const oom = c.outOfMemory || OUT_OF_MEMORY.test(c.stderr) || signal === 'SIGABRT';
        const why = oom ? `reading the file needs more than ${this.maxHeapMb} MiB of memory` : `the extraction process stopped (${signal ?? `exit code ${code}`})`;
        finish(() => reject(new ExtractionError(why)));
      };
      const onError = (e: Error) => {
        finish(() => reject(new ExtractionError(`the extraction process failed (${e.message})`.slice(0, 200))));
        this.stop(c);
      };
      const timer = setTimeout(() => {
        finish(() => reject(new ExtractionError(`reading the file took longer than ${timeoutMs / 1000} s`)));
        this.stop(c);
      }, timeoutMs);
      c.process.on('message', onMessage);
      // 'close' comes after the child's stderr ended (it says why the child died).
      c.process.once('close', onExit);
      c.process.on('error', onError);
      c.process.send({ id, bytes, contentType, limits: this.limits } satisfies ExtractJob);
    });
  }
}
