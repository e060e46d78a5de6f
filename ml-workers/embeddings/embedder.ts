/**
 * Text → vector. Implementations: Universal Sentence Encoder lite (512-d) on tfjs WASM in
 * worker threads (`use-embedder.ts`). Vectors are L2-normalised, so cosine = dot product.
 */
export interface Embedder {
  /** Identifies the model (stored with vectors; a change means re-embedding). */
  readonly model: string;
  readonly dimensions: number;
  /** One vector per input text, in order. Long texts are windowed and mean-pooled. */
  embed(texts: string[]): Promise<Float32Array[]>;
  destroy(): Promise<void>;
}
