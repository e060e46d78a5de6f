/**
 * Trains a classifier in a worker thread, so training (seconds for thousands of examples)
 * never blocks the event loop of a process that also serves sync or REST.
 */
import { startModuleWorker } from '../thread.js';
import type { ClassifierModel } from './model.js';
import type { TrainOptions } from './train.js';

export function trainInThread(
  examples: { vector: Float32Array; label: string }[],
  opts: Pick<TrainOptions, 'embedderModel' | 'seed'>,
): Promise<ClassifierModel> {
  const worker = startModuleWorker(import.meta.url, 'train-worker');
  return new Promise<ClassifierModel>((resolve, reject) => {
    worker.once('message', (m: { ok: true; model: ClassifierModel } | { ok: false; error: string }) => {
      if (m.ok) resolve(m.model);
      else reject(new Error(m.error));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`training thread exited with code ${code}`)));
    worker.postMessage({ examples, opts });
  }).finally(() => void worker.terminate());
}
