/**
 * Predictions by content hash: the same text sent again to the same model version is answered
 * from memory (an edited document re-checked, a client retrying, a batch with duplicates).
 */
import crypto from 'node:crypto';
import type { Prediction } from './model.js';

/**
 * Entries kept per process (each is a label and a few scores: ~0.3 KiB).
 * @default 10_000
 */
export const PREDICTION_CACHE_SIZE = 10_000;

export class PredictionCache {
  private readonly entries = new Map<string, Prediction>();
  hits = 0;
  misses = 0;

  constructor(private readonly size = PREDICTION_CACHE_SIZE) {}

  /** SHA-256 of the model version key and the text. */
  static key(modelKey: string, text: string): string {
    return crypto.createHash('sha256').update(modelKey).update('\u0000').update(text).digest('base64url');
  }

  get(key: string): Prediction | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, hit);
    } else this.misses++;
    return hit;
  }

  set(key: string, p: Prediction): void {
    this.entries.set(key, p);
    while (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value as string);
  }
}
