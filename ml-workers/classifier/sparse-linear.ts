/**
 * Multinomial logistic regression on sparse vectors, fitted by stochastic gradient descent
 * with an L2 penalty (Bottou's schedule η_t = η₀ / (1 + λη₀t); the penalty is applied lazily
 * through a scale factor, so a step costs the example's non-zeros, not the dimensions) and
 * balanced class weights. Deterministic for a seed. Used for the hashed n-gram candidate and
 * the combined (n-grams + sentence embedding) candidate.
 */
import { createRng, shuffleInPlace } from './train.js';
import type { SparseVector } from './ngram-features.js';

/** Options of {@link fitSparseSoftmax}. */
export interface SparseFitOptions {
  /** L2 penalty λ (default 1e-5). */
  l2?: number;
  /** Passes over the data (default 12). */
  epochs?: number;
  /** Initial step η₀ (default 0.5). */
  learningRate?: number;
  /** PRNG seed for the example order (default 1). */
  seed?: number;
  /** 'balanced' (default) weights each class by n / (labels · n_class). */
  classWeights?: 'balanced' | 'none';
}

/** Fitted weights: `labels × dimensions`, row-major, and one bias per label. */
export interface SparseSoftmax {
  dimensions: number;
  labels: number;
  weights: Float32Array;
  bias: Float32Array;
}

/** Logits of one example. */
export function sparseLogits(model: SparseSoftmax, x: SparseVector, out = new Float64Array(model.labels)): Float64Array {
  const d = model.dimensions;
  for (let c = 0; c < model.labels; c++) {
    const off = c * d;
    let z = model.bias[c] as number;
    for (let k = 0; k < x.indices.length; k++) z += (model.weights[off + (x.indices[k] as number)] as number) * (x.values[k] as number);
    out[c] = z;
  }
  return out;
}

/** Index of the largest logit (ties: the first). */
export function sparseArgmax(model: SparseSoftmax, x: SparseVector): number {
  const z = sparseLogits(model, x);
  let best = 0;
  for (let c = 1; c < z.length; c++) if ((z[c] as number) > (z[best] as number)) best = c;
  return best;
}

/**
 * Fits W, b minimising the class-weighted mean cross-entropy + λ/2·‖W‖². `y[i]` is the label
 * index of `xs[i]` in `0..labels-1`; every index must be below `dimensions`.
 */
export function fitSparseSoftmax(xs: readonly SparseVector[], y: Int32Array, labels: number, dimensions: number, opts: SparseFitOptions = {}): SparseSoftmax {
  const n = xs.length;
  if (n === 0) throw new Error('fitSparseSoftmax: no examples');
  if (y.length !== n) throw new Error(`fitSparseSoftmax: ${n} vectors but ${y.length} labels`);
  const lambda = opts.l2 ?? 1e-5;
  const epochs = opts.epochs ?? 12;
  const eta0 = opts.learningRate ?? 0.5;
  if (!(lambda > 0)) throw new Error(`fitSparseSoftmax: l2 must be > 0, got ${lambda}`);
  const L = labels;
  const d = dimensions;
  const V = new Float64Array(L * d);
  const b = new Float64Array(L);
  let scale = 1;

  const counts = new Float64Array(L);
  for (const c of y) counts[c] = (counts[c] as number) + 1;
  const present = counts.filter((c) => c > 0).length;
  const weightOf = (c: number): number => (opts.classWeights === 'none' ? 1 : n / (present * (counts[c] as number)));

  const order = Array.from({ length: n }, (_, i) => i);
  const rng = createRng((opts.seed ?? 1) ^ 0x2545f491);
  const logits = new Float64Array(L);
  let t = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffleInPlace(order, rng);
    for (const i of order) {
      const x = xs[i] as SparseVector;
      const eta = eta0 / (1 + lambda * eta0 * t);
      t++;
      // logits = scale · V x + b
      let max = -Infinity;
      for (let c = 0; c < L; c++) {
        const off = c * d;
        let z = 0;
        for (let k = 0; k < x.indices.length; k++) z += (V[off + (x.indices[k] as number)] as number) * (x.values[k] as number);
        z = z * scale + (b[c] as number);
        logits[c] = z;
        if (z > max) max = z;
      }
      let sum = 0;
      for (let c = 0; c < L; c++) {
        const e = Math.exp((logits[c] as number) - max);
        logits[c] = e;
        sum += e;
      }
      // Weight decay: W ← (1 − ηλ) W, carried by the scale.
      scale *= 1 - eta * lambda;
      if (scale < 1e-9) {
        for (let p = 0; p < V.length; p++) V[p] = (V[p] as number) * scale;
        scale = 1;
      }
      const yi = y[i] as number;
      const w = weightOf(yi);
      for (let c = 0; c < L; c++) {
        const g = w * ((logits[c] as number) / sum - (c === yi ? 1 : 0));
        if (g > -1e-7 && g < 1e-7) continue;
        const step = (eta * g) / scale;
        const off = c * d;
        for (let k = 0; k < x.indices.length; k++) {
          const p = off + (x.indices[k] as number);
          V[p] = (V[p] as number) - step * (x.values[k] as number);
        }
        b[c] = (b[c] as number) - eta * g * 0.1;
      }
    }
  }
  const weights = new Float32Array(L * d);
  for (let p = 0; p < weights.length; p++) weights[p] = (V[p] as number) * scale;
  return { dimensions: d, labels: L, weights, bias: Float32Array.from(b) };
}
