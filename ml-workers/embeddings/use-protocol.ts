/**
 * Messages between the main thread (`use-embedder.ts`) and an inference worker (`use-worker.ts`).
 * A worker handles one job at a time; a job carries the texts of one or more requests (segments)
 * and the answer carries one outcome per segment, so a failure is charged to its own request.
 */

/** Main → worker: embed every segment. */
export interface EmbedJobMessage {
  type: 'embed';
  id: number;
  segments: string[][];
}

import type { SerializedError } from '../../lib/thread.js';

/** Result of one segment of a job. */
export type SegmentOutcome = { ok: true; vectors: Float32Array[] } | { ok: false; error: SerializedError };

/** Worker → main. */
export type WorkerMessage = { type: 'ready'; loadMs: number; backend: string } | { type: 'result'; id: number; outcomes: SegmentOutcome[] };
