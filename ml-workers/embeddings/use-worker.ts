/**
 * Worker-thread entry of the USE-lite embedder (spawned by `use-embedder.ts`; not meant to be
 * imported). Loads the model, says `ready`, then answers one `embed` job at a time. If the whole
 * job fails and it holds several segments (requests), each is retried alone so an error reaches
 * only the request that caused it. A failure to load the model is thrown, ending the thread with
 * an `error` event the main thread reports.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { UseModel } from './use-model.js';
import { serializeError } from '../../lib/thread.js';
import type { EmbedJobMessage, SegmentOutcome, WorkerMessage } from './use-protocol.js';

const port = parentPort;
if (port === null) throw new Error('use-worker.ts must run in a worker thread');

const started = performance.now();
const model = await UseModel.load();
const ready: WorkerMessage = { type: 'ready', loadMs: performance.now() - started, backend: tf.getBackend() };
port.postMessage(ready);

async function embedSegments(segments: string[][]): Promise<SegmentOutcome[]> {
  const all = segments.flat();
  try {
    const vectors = await model.embed(all);
    let offset = 0;
    return segments.map((s) => {
      const part = vectors.slice(offset, offset + s.length);
      offset += s.length;
      return { ok: true, vectors: part };
    });
  } catch (error) {
    if (segments.length === 1) return [{ ok: false, error: serializeError(error) }];
    const outcomes: SegmentOutcome[] = [];
    for (const segment of segments) {
      try {
        outcomes.push({ ok: true, vectors: await model.embed(segment) });
      } catch (segmentError) {
        outcomes.push({ ok: false, error: serializeError(segmentError) });
      }
    }
    return outcomes;
  }
}

// Jobs are handled strictly one after another (the main thread sends one at a time anyway).
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: EmbedJobMessage) => {
  queue = queue.then(async () => {
    const outcomes = await embedSegments(message.segments);
    const transfer = outcomes.flatMap((o) => (o.ok ? o.vectors.map((v) => v.buffer as ArrayBuffer) : []));
    const reply: WorkerMessage = { type: 'result', id: message.id, outcomes };
    port.postMessage(reply, transfer);
  });
});
