/** Worker-thread entry: trains one classifier and posts the model (or the error) back. */
import { parentPort } from 'node:worker_threads';
import { trainClassifier, type TrainOptions } from './train.js';

parentPort?.once('message', (msg: { examples: { vector: Float32Array; label: string }[]; opts: Pick<TrainOptions, 'embedderModel' | 'seed'> }) => {
  try {
    parentPort!.postMessage({ ok: true, model: trainClassifier(msg.examples, msg.opts) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
