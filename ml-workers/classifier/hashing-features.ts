/**
 * A tiny deterministic featurizer that needs no model: signed feature hashing ("hashing trick")
 * of lower-cased word unigrams (and optionally bigrams) with sublinear term frequency,
 * L2-normalised. Used to test the classifier on real text without an embedder, and as a cheap
 * baseline for the embedding features.
 */

/** Options of {@link hashingFeatures}. */
export interface HashingOptions {
  /** Vector length (default 1024). */
  dimensions?: number;
  /** Also hash adjacent word pairs (default false). */
  bigrams?: boolean;
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Lower-cased word tokens: runs of letters, digits and apostrophes. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu) ?? [];
}

/**
 * Hashes `text` into an L2-normalised Float32Array of `dimensions` entries. Each distinct term t
 * adds ±(1 + ln tf(t)) at index hash(t) mod dimensions, the sign taken from another hash bit so
 * collisions cancel in expectation. Text without any word gives the zero vector.
 */
export function hashingFeatures(text: string, opts: HashingOptions = {}): Float32Array {
  const dimensions = opts.dimensions ?? 1024;
  if (!Number.isInteger(dimensions) || dimensions <= 0) throw new Error(`hashingFeatures: dimensions must be a positive integer, got ${dimensions}`);
  const tokens = tokenize(text);
  const counts = new Map<string, number>();
  const add = (term: string): void => {
    counts.set(term, (counts.get(term) ?? 0) + 1);
  };
  for (let i = 0; i < tokens.length; i++) {
    add(tokens[i] as string);
    if (opts.bigrams && i > 0) add(`${tokens[i - 1]} ${tokens[i]}`);
  }
  const acc = new Float64Array(dimensions);
  for (const [term, tf] of counts) {
    const h = fnv1a(term);
    const index = h % dimensions;
    const sign = fnv1a(`\u0001${term}`) & 1 ? -1 : 1;
    acc[index] = (acc[index] as number) + sign * (1 + Math.log(tf));
  }
  let norm = 0;
  for (const v of acc) norm += v * v;
  norm = Math.sqrt(norm);
  const out = new Float32Array(dimensions);
  if (norm > 0) for (let j = 0; j < dimensions; j++) out[j] = (acc[j] as number) / norm;
  return out;
}
