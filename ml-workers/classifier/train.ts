/**
 * Training of the softmax classifier in `model.ts`: multinomial logistic regression with L2
 * regularisation and balanced class weights, fitted by mini-batch Adam in plain TypeScript
 * (Float64Array math, no tfjs), deterministic for a given seed.
 *
 * `trainClassifier` holds out a stratified (and, when examples carry a `group`, group-aware)
 * split, fits on the rest, reports held-out accuracy and macro-F1, then refits on every
 * example for the stored weights.
 */
import { accuracy, macroF1 } from './metrics.js';
import type { ClassifierModel } from './model.js';
import { softmaxInPlace } from './model.js';

/** One labelled feature vector. */
export interface TrainingExample {
  vector: Float32Array;
  label: string;
  /**
   * Source id (e.g. the document a passage came from). Examples sharing a group are always on
   * the same side of the held-out split, so near-duplicates cannot leak into the evaluation.
   */
  group?: string;
}

/** Options of {@link splitHeldOut}. */
export interface SplitOptions {
  /** PRNG seed (default 1). */
  seed?: number;
  /** Target fraction of each label's examples to hold out, in (0, 1) (default 0.2). */
  heldOutFraction?: number;
}

/** Options of {@link trainClassifier}. */
export interface TrainOptions extends SplitOptions {
  /** Recorded in the model: the `Embedder.model` the vectors came from. */
  embedderModel: string;
  /** Passes over the training data (default: enough for ~600 Adam steps, clamped to 5..200). */
  epochs?: number;
  /** L2 penalty on the (standardised-feature) weights, added to the mean loss as l2/2·‖W‖² (default 0.1, which suits 512-d sentence embeddings; see {@link selectL2}). */
  l2?: number;
  /** Adam step size (default 0.01, decayed linearly to a tenth over the run). */
  learningRate?: number;
  /** Mini-batch size (default 64). */
  batchSize?: number;
  /** 'balanced' (default) weights each class by n / (labels · n_class); 'none' weights all examples equally. */
  classWeights?: 'balanced' | 'none';
  /** Clock for `trainedAt` (tests). */
  now?: () => Date;
  /** Called with the held-out evaluation (split indices, true and predicted labels) before the final refit. */
  onHeldOut?: (evaluation: HeldOutEvaluation) => void;
}

/** What {@link TrainOptions.onHeldOut} receives. */
export interface HeldOutEvaluation {
  split: Split;
  /** Sorted label set of the model. */
  labels: string[];
  /** True labels of the held-out examples, in `split.heldOut` order. */
  truth: string[];
  /** Labels predicted for them by the model fitted on `split.train`. */
  predicted: string[];
}

/** Result of {@link splitHeldOut}: indices into the examples array, each in ascending order. */
export interface Split {
  train: number[];
  heldOut: number[];
}

/** Deterministic 32-bit PRNG (mulberry32) returning floats in [0, 1). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place with the given PRNG. */
export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Group {
  name: string;
  members: number[];
  counts: Map<string, number>;
  dominant: string;
}

/**
 * Stratified, seeded held-out split. Examples with the same `group` stay together; an example
 * without a group is a group of its own. For each label, groups dominated by that label are held
 * out in seeded order until about `heldOutFraction` of the label's examples are held out, always
 * at least one group and never all of them. Every label with at least 2 examples ends up with
 * examples on both sides; if grouping makes that impossible (e.g. all of a label's examples
 * share one group) this throws.
 */
export function splitHeldOut(examples: readonly Pick<TrainingExample, 'label' | 'group'>[], opts: SplitOptions = {}): Split {
  const fraction = opts.heldOutFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new Error(`heldOutFraction must be in (0, 1), got ${fraction}`);
  const rng = createRng(opts.seed ?? 1);

  const byKey = new Map<string, Group>();
  const groups: Group[] = [];
  const labelTotals = new Map<string, number>();
  examples.forEach((ex, i) => {
    labelTotals.set(ex.label, (labelTotals.get(ex.label) ?? 0) + 1);
    const key = ex.group === undefined ? `i:${i}` : `g:${ex.group}`;
    let g = byKey.get(key);
    if (!g) {
      g = { name: ex.group ?? `#${i}`, members: [], counts: new Map(), dominant: '' };
      byKey.set(key, g);
      groups.push(g);
    }
    g.members.push(i);
    g.counts.set(ex.label, (g.counts.get(ex.label) ?? 0) + 1);
  });
  for (const g of groups) {
    let best = -1;
    for (const [label, count] of [...g.counts].sort((a, b) => compareStrings(a[0], b[0]))) {
      if (count > best) {
        best = count;
        g.dominant = label;
      }
    }
  }
  shuffleInPlace(groups, rng);

  const labels = [...labelTotals.keys()].sort(compareStrings);
  const held = new Set<Group>();
  const heldCount = new Map<string, number>();
  const trainCount = new Map<string, number>(labelTotals);
  const move = (g: Group, toHeld: boolean): void => {
    if (toHeld) held.add(g);
    else held.delete(g);
    for (const [label, count] of g.counts) {
      heldCount.set(label, (heldCount.get(label) ?? 0) + (toHeld ? count : -count));
      trainCount.set(label, (trainCount.get(label) ?? 0) + (toHeld ? -count : count));
    }
  };

  for (const label of labels) {
    const total = labelTotals.get(label) as number;
    if (total < 2) continue;
    const target = fraction * total;
    const candidates = groups.filter((g) => g.dominant === label);
    for (let k = 0; k < candidates.length - 1; k++) {
      const g = candidates[k] as Group;
      const size = g.counts.get(label) as number;
      const current = heldCount.get(label) ?? 0;
      if (current > 0 && current + size / 2 > target) break;
      move(g, true);
    }
  }

  // Repair: labels that only occur as minorities in other labels' groups, or whose groups were
  // all taken, may still lack one side. Move whole groups while no other label loses a side.
  const bothSidesKept = (g: Group, toHeld: boolean): boolean =>
    [...g.counts].every(([label, count]) => {
      if ((labelTotals.get(label) as number) < 2) return true;
      return toHeld ? (trainCount.get(label) as number) - count > 0 : (heldCount.get(label) ?? 0) - count > 0;
    });
  for (const label of labels) {
    if ((labelTotals.get(label) as number) < 2) continue;
    if ((heldCount.get(label) ?? 0) === 0) {
      const g = groups.find((c) => !held.has(c) && c.counts.has(label) && bothSidesKept(c, true));
      if (g) move(g, true);
    } else if ((trainCount.get(label) as number) === 0) {
      const g = groups.find((c) => held.has(c) && c.counts.has(label) && bothSidesKept(c, false));
      if (g) move(g, false);
    }
    if ((heldCount.get(label) ?? 0) === 0 || (trainCount.get(label) as number) === 0) {
      const names = groups.filter((g) => g.counts.has(label)).map((g) => g.name);
      throw new Error(
        `cannot split label "${label}" into training and held-out examples without splitting a group: ` +
          `its ${labelTotals.get(label)} examples are in ${names.length} group(s) (${names.slice(0, 5).join(', ')}); ` +
          'a grouped split needs at least 2 groups per label',
      );
    }
  }

  const train: number[] = [];
  const heldOut: number[] = [];
  for (const g of groups) (held.has(g) ? heldOut : train).push(...g.members);
  train.sort((a, b) => a - b);
  heldOut.sort((a, b) => a - b);
  return { train, heldOut };
}

/**
 * Checks the training input: at least 2 labels, at least 2 examples per label, one dimension
 * count, finite values, non-empty labels. Throws an Error describing the first problem.
 */
export function validateExamples(examples: readonly TrainingExample[]): { labels: string[]; dimensions: number } {
  if (!Array.isArray(examples) || examples.length === 0) throw new Error('trainClassifier: no training examples');
  const first = examples[0] as TrainingExample;
  if (!(first.vector instanceof Float32Array) || first.vector.length === 0) {
    throw new Error('trainClassifier: example 0 has no feature vector (expected a non-empty Float32Array)');
  }
  const dimensions = first.vector.length;
  const counts = new Map<string, number>();
  examples.forEach((ex, i) => {
    if (typeof ex.label !== 'string' || ex.label.length === 0) throw new Error(`trainClassifier: example ${i} has an empty label`);
    if (!(ex.vector instanceof Float32Array)) throw new Error(`trainClassifier: example ${i} vector is not a Float32Array`);
    if (ex.vector.length !== dimensions) {
      throw new Error(`trainClassifier: inconsistent dimensions: example ${i} has ${ex.vector.length}, example 0 has ${dimensions}`);
    }
    for (let j = 0; j < dimensions; j++) {
      if (!Number.isFinite(ex.vector[j])) throw new Error(`trainClassifier: example ${i} has a non-finite value at index ${j}`);
    }
    counts.set(ex.label, (counts.get(ex.label) ?? 0) + 1);
  });
  const labels = [...counts.keys()].sort(compareStrings);
  if (labels.length < 2) {
    throw new Error(`trainClassifier: need at least 2 distinct labels, got ${labels.length} (${labels.join(', ')})`);
  }
  const tooFew = labels.filter((l) => (counts.get(l) as number) < 2);
  if (tooFew.length > 0) {
    throw new Error(`trainClassifier: need at least 2 examples per label; too few for ${tooFew.map((l) => `"${l}" (${counts.get(l)})`).join(', ')}`);
  }
  return { labels, dimensions };
}

/** Σ a[aOff + j]·b[bOff + j] for j < n (kept small so V8 optimises it on its own). */
function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let j = 0;
  for (; j + 1 < n; j += 2) {
    s0 += (a[aOff + j] as number) * (b[bOff + j] as number);
    s1 += (a[aOff + j + 1] as number) * (b[bOff + j + 1] as number);
  }
  if (j < n) s0 += (a[aOff + j] as number) * (b[bOff + j] as number);
  return s0 + s1;
}

/** y[yOff + j] += alpha·x[xOff + j] for j < n. */
function axpy(alpha: number, x: Float64Array, xOff: number, y: Float64Array, yOff: number, n: number): void {
  for (let j = 0; j < n; j++) y[yOff + j] = (y[yOff + j] as number) + alpha * (x[xOff + j] as number);
}

export interface FitResult {
  /** labels × dims, row-major, over raw (unstandardised) features. */
  weights: Float64Array;
  bias: Float64Array;
}

interface FitOptions {
  epochs?: number;
  l2: number;
  learningRate: number;
  batchSize: number;
  classWeights: 'balanced' | 'none';
  seed: number;
}

/**
 * Fits W, b minimising the class-weighted mean cross-entropy + l2/2·‖W‖² by mini-batch Adam on
 * standardised features (per-feature centring; scaling by the feature's standard deviation,
 * floored at a tenth of the average one so near-constant features are not blown up). The result
 * is folded back so it applies to raw vectors.
 */
function fit(vectors: readonly Float32Array[], y: Int32Array, numLabels: number, opts: FitOptions): FitResult {
  const n = vectors.length;
  const d = (vectors[0] as Float32Array).length;
  const L = numLabels;

  // Standardisation.
  const mean = new Float64Array(d);
  for (const v of vectors) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (v[j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / n;
  const variance = new Float64Array(d);
  for (const v of vectors) {
    for (let j = 0; j < d; j++) {
      const diff = (v[j] as number) - (mean[j] as number);
      variance[j] = (variance[j] as number) + diff * diff;
    }
  }
  let avgStd = 0;
  for (let j = 0; j < d; j++) avgStd += Math.sqrt((variance[j] as number) / n);
  avgStd /= d;
  const floor = avgStd > 0 ? avgStd / 10 : 1;
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) scale[j] = 1 / Math.max(Math.sqrt((variance[j] as number) / n), floor);
  const X = new Float64Array(n * d);
  vectors.forEach((v, i) => {
    const off = i * d;
    for (let j = 0; j < d; j++) X[off + j] = ((v[j] as number) - (mean[j] as number)) * (scale[j] as number);
  });

  // Class weights ("balanced": mean weight 1 over the data).
  const classCounts = new Float64Array(L);
  for (const c of y) classCounts[c] = (classCounts[c] as number) + 1;
  const presentLabels = classCounts.filter((c) => c > 0).length;
  const sampleWeight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = y[i] as number;
    sampleWeight[i] = opts.classWeights === 'balanced' ? n / (presentLabels * (classCounts[c] as number)) : 1;
  }

  const batchSize = Math.max(1, Math.min(opts.batchSize, n));
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const epochs = opts.epochs ?? Math.min(200, Math.max(5, Math.ceil(600 / batchesPerEpoch)));
  const totalSteps = epochs * batchesPerEpoch;

  const W = new Float64Array(L * d);
  const b = new Float64Array(L);
  const gW = new Float64Array(L * d);
  const gb = new Float64Array(L);
  const mW = new Float64Array(L * d);
  const vW = new Float64Array(L * d);
  const mb = new Float64Array(L);
  const vb = new Float64Array(L);
  const logits = new Float64Array(L);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const rng = createRng(opts.seed ^ 0x5bd1e995);
  const order = Array.from({ length: n }, (_, i) => i);
  let step = 0;

  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffleInPlace(order, rng);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const inv = 1 / (end - start);
      gW.fill(0);
      gb.fill(0);
      for (let k = start; k < end; k++) {
        const i = order[k] as number;
        const off = i * d;
        for (let c = 0; c < L; c++) logits[c] = (b[c] as number) + dot(W, c * d, X, off, d);
        softmaxInPlace(logits);
        const yi = y[i] as number;
        const wi = (sampleWeight[i] as number) * inv;
        for (let c = 0; c < L; c++) {
          const r = (logits[c] as number) - (c === yi ? 1 : 0);
          // Classes the model already rules out contribute next to nothing; skipping them halves
          // the cost once training has converged (the threshold is far below Adam's noise).
          if (r > -1e-4 && r < 1e-4) continue;
          const g = wi * r;
          gb[c] = (gb[c] as number) + g;
          axpy(g, X, off, gW, c * d, d);
        }
      }
      step++;
      const lr = opts.learningRate * (1 - (0.9 * (step - 1)) / Math.max(1, totalSteps - 1));
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let p = 0; p < L * d; p++) {
        const g = (gW[p] as number) + opts.l2 * (W[p] as number);
        const m = beta1 * (mW[p] as number) + (1 - beta1) * g;
        const v = beta2 * (vW[p] as number) + (1 - beta2) * g * g;
        mW[p] = m;
        vW[p] = v;
        W[p] = (W[p] as number) - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      }
      for (let c = 0; c < L; c++) {
        const g = gb[c] as number;
        const m = beta1 * (mb[c] as number) + (1 - beta1) * g;
        const v = beta2 * (vb[c] as number) + (1 - beta2) * g * g;
        mb[c] = m;
        vb[c] = v;
        b[c] = (b[c] as number) - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      }
    }
  }

  // Fold the standardisation into the weights: w·((x − μ)·s) + b = (w·s)·x + (b − Σ w·s·μ).
  const weights = new Float64Array(L * d);
  const bias = new Float64Array(L);
  for (let c = 0; c < L; c++) {
    let shift = 0;
    for (let j = 0; j < d; j++) {
      const w = (W[c * d + j] as number) * (scale[j] as number);
      weights[c * d + j] = w;
      shift += w * (mean[j] as number);
    }
    bias[c] = (b[c] as number) - shift;
  }
  return { weights, bias };
}

/**
 * Fits the softmax head on `vectors` with the given hyperparameters and no split (the caller
 * holds out its own validation and test examples). Weights apply to raw vectors.
 */
export function fitDenseSoftmax(vectors: readonly Float32Array[], y: Int32Array, numLabels: number, opts: HyperParameters = {}): FitResult {
  return fit(vectors, y, numLabels, resolveFitOptions(opts));
}

/** Index of the label with the largest logit under `fitted`. */
export function argmaxLabel(fitted: FitResult, vector: Float32Array, d: number): number {
  let best = 0;
  let bestZ = -Infinity;
  for (let c = 0; c < fitted.bias.length; c++) {
    let z = fitted.bias[c] as number;
    for (let j = 0; j < d; j++) z += (fitted.weights[c * d + j] as number) * (vector[j] as number);
    if (z > bestZ) {
      bestZ = z;
      best = c;
    }
  }
  return best;
}

/** Hyperparameters shared by {@link trainClassifier} and {@link selectL2}. */
export type HyperParameters = Omit<TrainOptions, 'embedderModel' | 'now' | 'onHeldOut'>;

const DEFAULT_L2 = 0.1;

function resolveFitOptions(opts: HyperParameters): FitOptions {
  const fitOpts: FitOptions = {
    epochs: opts.epochs,
    l2: opts.l2 ?? DEFAULT_L2,
    learningRate: opts.learningRate ?? 0.01,
    batchSize: opts.batchSize ?? 64,
    classWeights: opts.classWeights ?? 'balanced',
    seed: opts.seed ?? 1,
  };
  if (fitOpts.epochs !== undefined && !(Number.isInteger(fitOpts.epochs) && fitOpts.epochs > 0)) {
    throw new Error(`trainClassifier: epochs must be a positive integer, got ${fitOpts.epochs}`);
  }
  if (!(fitOpts.l2 >= 0)) throw new Error(`trainClassifier: l2 must be >= 0, got ${fitOpts.l2}`);
  if (!(fitOpts.learningRate > 0)) throw new Error(`trainClassifier: learningRate must be > 0, got ${fitOpts.learningRate}`);
  if (!(Number.isInteger(fitOpts.batchSize) && fitOpts.batchSize > 0)) {
    throw new Error(`trainClassifier: batchSize must be a positive integer, got ${fitOpts.batchSize}`);
  }
  return fitOpts;
}

function labelIndices(examples: readonly TrainingExample[], labels: readonly string[], idx: readonly number[]): Int32Array {
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  return Int32Array.from(idx, (i) => labelIndex.get((examples[i] as TrainingExample).label) as number);
}

/** Split, fit on the training side, predict the held-out side. */
function evaluateHeldOut(examples: readonly TrainingExample[], labels: string[], dimensions: number, fitOpts: FitOptions, heldOutFraction: number | undefined): HeldOutEvaluation {
  const split = splitHeldOut(examples, { seed: fitOpts.seed, heldOutFraction });
  const fitted = fit(
    split.train.map((i) => (examples[i] as TrainingExample).vector),
    labelIndices(examples, labels, split.train),
    labels.length,
    fitOpts,
  );
  const truth = split.heldOut.map((i) => (examples[i] as TrainingExample).label);
  const predicted = split.heldOut.map((i) => labels[argmaxLabel(fitted, (examples[i] as TrainingExample).vector, dimensions)] as string);
  return { split, labels, truth, predicted };
}

/**
 * Trains a softmax classifier on labelled vectors.
 *
 * 1. Validates the input (see {@link validateExamples}).
 * 2. Splits off a stratified, seeded, group-aware held-out set ({@link splitHeldOut}).
 * 3. Fits on the training split and measures held-out accuracy and macro-F1 (over all labels).
 * 4. Refits on every example with the same hyperparameters; those are the stored weights
 *    (`metrics.trainedOn` = all examples).
 *
 * Deterministic for a given seed and input order.
 */
export function trainClassifier(examples: readonly TrainingExample[], opts: TrainOptions): ClassifierModel {
  const { labels, dimensions } = validateExamples(examples);
  if (!opts.embedderModel) throw new Error('trainClassifier: embedderModel is required');
  const fitOpts = resolveFitOptions(opts);

  const evaluation = evaluateHeldOut(examples, labels, dimensions, fitOpts, opts.heldOutFraction);
  opts.onHeldOut?.(evaluation);

  const all = examples.map((_, i) => i);
  const finalFit = fit(
    examples.map((ex) => ex.vector),
    labelIndices(examples, labels, all),
    labels.length,
    fitOpts,
  );
  const weights: number[][] = labels.map((_, c) => Array.from(finalFit.weights.subarray(c * dimensions, (c + 1) * dimensions)));
  return {
    version: 1,
    kind: 'softmax',
    embedderModel: opts.embedderModel,
    labels,
    dimensions,
    weights,
    bias: Array.from(finalFit.bias),
    metrics: {
      accuracy: accuracy(evaluation.truth, evaluation.predicted),
      macroF1: macroF1(evaluation.truth, evaluation.predicted, labels),
      heldOut: evaluation.split.heldOut.length,
      trainedOn: examples.length,
    },
    trainedAt: (opts.now ?? (() => new Date()))().toISOString(),
  };
}

/** Result of {@link selectL2}. */
export interface L2Selection {
  /** The candidate with the best validation macro-F1 (ties: the stronger penalty). */
  l2: number;
  /** Validation scores of every candidate. */
  candidates: { l2: number; accuracy: number; macroF1: number }[];
}

/**
 * Chooses the L2 penalty without touching the held-out split that {@link trainClassifier} will
 * report on with the same `seed` and `heldOutFraction`: the examples on the training side of
 * that split are split again (same rules, grouped), and each candidate is fitted on the inner
 * training part and scored by macro-F1 on the inner validation part.
 * Default grid: 0.001, 0.01, 0.03, 0.1, 0.3, 1. Throws if the inner split is impossible (e.g. a
 * label with a single group left in training).
 */
export function selectL2(examples: readonly TrainingExample[], opts: HyperParameters & { grid?: readonly number[] } = {}): L2Selection {
  validateExamples(examples);
  const grid = opts.grid ?? [1e-3, 1e-2, 0.03, 0.1, 0.3, 1];
  if (grid.length === 0) throw new Error('selectL2: empty grid');
  const outer = splitHeldOut(examples, { seed: opts.seed, heldOutFraction: opts.heldOutFraction });
  const inner = outer.train.map((i) => examples[i] as TrainingExample);
  const { labels, dimensions } = validateExamples(inner);
  const candidates = grid.map((l2) => {
    const e = evaluateHeldOut(inner, labels, dimensions, resolveFitOptions({ ...opts, l2 }), opts.heldOutFraction);
    return { l2, accuracy: accuracy(e.truth, e.predicted), macroF1: macroF1(e.truth, e.predicted, labels) };
  });
  let best = candidates[0] as L2Selection['candidates'][number];
  for (const c of candidates) if (c.macroF1 > best.macroF1 || (c.macroF1 === best.macroF1 && c.l2 > best.l2)) best = c;
  return { l2: best.l2, candidates };
}
