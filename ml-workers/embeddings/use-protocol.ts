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

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Result of one segment of a job. */
export type SegmentOutcome = { ok: true; vectors: Float32Array[] } | { ok: false; error: SerializedError };

/** Worker → main. */
export type WorkerMessage =
  | { type: 'ready'; loadMs: number; backend: string }
  | { type: 'result'; id: number; outcomes: SegmentOutcome[] };

/** Flattens an unknown thrown value for `postMessage`. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds an `Error` (a `TypeError`/`RangeError` keeps its class) from {@link serializeError}. */
export function deserializeError(error: SerializedError): Error {
  const result =
    error.name === 'TypeError' ? new TypeError(error.message) : error.name === 'RangeError' ? new RangeError(error.message) : new Error(error.message);
  if (result.name !== error.name) result.name = error.name;
  if (error.stack !== undefined) result.stack = error.stack;
  return result;
}
