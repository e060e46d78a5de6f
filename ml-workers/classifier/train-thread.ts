/**
 * Trains classifier candidates in a worker thread, so training (seconds for thousands of
 * examples) never blocks the event loop of a process that also serves sync or REST.
 */
import { startModuleWorker } from '../../lib/thread.js';
import type { CandidateInput, CandidateResult } from './candidates.js';

/** {@link trainCandidates} in a thread of its own (`now` is not passed: the thread's clock is used). */
export function trainCandidatesInThread(input: Omit<CandidateInput, 'now'>): Promise<CandidateResult> {
  const worker = startModuleWorker(import.meta.url, 'train-worker');
  return new Promise<CandidateResult>((resolve, reject) => {
    worker.once('message', (m: { ok: true; result: CandidateResult } | { ok: false; error: string }) => {
      if (m.ok) resolve(m.result);
      else reject(new Error(m.error));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`training thread exited with code ${code}`)));
    worker.postMessage(input);
  }).finally(() => void worker.terminate());
}
