/**
 * Imports and exports run in one worker thread per process, one at a time: a large file
 * does not stall the event loop (sockets, other requests), and a file that would take more
 * memory than the thread's heap limit ends that thread (restarted for the next job), not the
 * process. A job that runs longer than `JOB_TIMEOUT_MS` ends the thread too. The thread
 * stops after a minute without work.
 */
import { Worker } from 'node:worker_threads';
import { deserializeError, type SerializedError } from '../../lib/thread.js';
import type { PMNode } from '../content.js';
import { ConvertError, loadImages, type ExportHooks } from './common.js';
import type { ExportFormat, ImportFormat } from './index.js';
import type { Job, StoredImage } from './worker.js';

/** The conversion thread's heap limit. */
export const THREAD_HEAP_MB = 768;
export const JOB_TIMEOUT_MS = 60_000;
const IDLE_MS = 60_000;

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError };

let worker: Worker | null = null;
let idle: NodeJS.Timeout | null = null;
let nextId = 1;
let queue: Promise<unknown> = Promise.resolve();

/** Starts worker.ts (under tsx, through its API, as lib/thread.ts does) or the built worker.js, with the heap limit. */
function startWorker(): Worker {
  const opts = { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } };
  if (new URL(import.meta.url).pathname.endsWith('.ts')) {
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./worker.ts', import.meta.url).href;
    const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(import.meta.url)}));`;
    return new Worker(bootstrap, { ...opts, eval: true });
  }
  return new Worker(new URL('./worker.js', import.meta.url), opts);
}

function thread(): Worker {
  if (idle) clearTimeout(idle);
  idle = null;
  if (worker) return worker;
  const w = startWorker();
  w.unref();
  worker = w;
  w.on('exit', () => {
    if (worker === w) worker = null;
  });
  return w;
}

function stop(w: Worker): void {
  if (worker === w) worker = null;
  void w.terminate();
}

function once<T>(job: Job, transfer: ArrayBuffer[]): Promise<T> {
  const w = thread();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      stop(w);
      reject(new ConvertError(`The file took longer than ${JOB_TIMEOUT_MS / 1000} s to convert`));
    }, JOB_TIMEOUT_MS);
    const onMessage = (m: Reply) => {
      if (m.id !== job.id) return;
      done();
      if (m.ok) resolve(m.result as T);
      else {
        const e = deserializeError(m.error);
        reject(e.name === 'ConvertError' ? new ConvertError(e.message) : e);
      }
    };
    const onError = (e: Error & { code?: string }) => {
      done();
      stop(w);
      reject(e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new ConvertError('The file is too large or too complex to convert') : e);
    };
    const onExit = () => {
      done();
      reject(new ConvertError('The conversion stopped before it finished'));
    };
    function done(): void {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      idle = setTimeout(() => {
        if (worker === w) stop(w);
      }, IDLE_MS);
      idle.unref();
    }
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    w.postMessage(job, transfer);
  });
}

/** Runs jobs one after another (each waits for the one before it, whatever its outcome). */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

const own = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** {@link importDocument} in the conversion thread; images come back with stand-in ids used in `doc`. */
export function importInThread(format: ImportFormat, bytes: Uint8Array): Promise<{ doc: PMNode; title: string | null; images: StoredImage[] }> {
  const copy = own(bytes);
  return serial(() => once({ id: nextId++, kind: 'import', format, bytes: copy }, [copy.buffer as ArrayBuffer]));
}

/** {@link exportDocument} in the conversion thread; the images are read here first, through `hooks`. */
export async function exportInThread(format: ExportFormat, doc: PMNode, title: string, hooks?: ExportHooks): Promise<{ bytes: Uint8Array; contentType: string; extension: string }> {
  const images = [...(await loadImages(doc, hooks)).entries()];
  return serial(() => once({ id: nextId++, kind: 'export', format, doc, title, images }, []));
}
