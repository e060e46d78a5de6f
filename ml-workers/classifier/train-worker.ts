/** Worker-thread entry: trains the candidates of one job and posts the result (or the error) back. */
import { parentPort } from 'node:worker_threads';
import { trainCandidates, type CandidateInput } from './candidates.js';

parentPort?.once('message', (input: Omit<CandidateInput, 'now'>) => {
  try {
    parentPort!.postMessage({ ok: true, result: trainCandidates(input) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
