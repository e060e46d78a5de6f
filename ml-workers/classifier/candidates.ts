/**
 * Trains several candidate models on one split and keeps the best on validation:
 *
 * 1. The examples are split three ways, stratified by label and grouped by `group`: test
 *    (15 %), validation (15 %) and training (the rest). With too few examples of a label for
 *    three sides, the split is training / validation (20 %) and no test metrics are reported.
 * 2. Each candidate (see `tenant-model.ts`) is fitted on training once per L2 penalty of its
 *    grid; the penalty with the best validation macro-F1 is that candidate's, and the same fit
 *    is scored on test.
 * 3. The candidate with the best validation macro-F1 (ties: accuracy, then the cheaper one)
 *    is refitted on every example with its penalty; its test metrics are the model's. A
 *    candidate that reads embeddings must beat the n-gram one by {@link EMBEDDING_MARGIN}:
 *    it costs a sentence-encoder window per prediction (~70 ms) against ~1 ms.
 *
 * Every candidate's validation and test metrics are reported, chosen or not.
 */
import { accuracy, macroF1 } from './metrics.js';
import type { ClassifierModel } from './model.js';
import { ngramDimensionsFor, ngramVector, DEFAULT_NGRAM_SPEC, type NgramSpec, type SparseVector } from './ngram-features.js';
import { fitSparseSoftmax, sparseArgmax, type SparseSoftmax } from './sparse-linear.js';
import { CANDIDATES, combinedVector, EMBEDDING_MAX_CHARS, encodeWeights, type CandidateName, type EmbeddingBlock, type LinearTextModel, type TenantModel } from './tenant-model.js';
import { argmaxLabel, fitDenseSoftmax, splitHeldOut, type FitResult } from './train.js';

/** Accuracy and macro-F1 of one candidate on one side of the split. */
export interface SplitMetrics {
  accuracy: number;
  macroF1: number;
}

/** One candidate's outcome. */
export interface CandidateReport {
  name: CandidateName;
  /** The L2 penalty chosen on validation. */
  l2: number;
  validation: SplitMetrics;
  /** Null when the data was too small for a test side. */
  test: SplitMetrics | null;
  /** Seconds spent fitting this candidate (all penalties), features excluded. */
  seconds: number;
  selected: boolean;
}

/** Input of {@link trainCandidates}. */
export interface CandidateInput {
  texts: readonly string[];
  labels: readonly string[];
  /** Source ids: examples of one group stay on one side of the split. */
  groups?: readonly (string | undefined)[];
  /** Sentence embeddings of the first `embeddingChars` characters of `texts[i]`, needed by the embedding candidates. */
  vectors?: readonly Float32Array[];
  /** `Embedder.model` of `vectors`. */
  embedderModel?: string;
  /** Characters of each text `vectors` embed (default `EMBEDDING_MAX_CHARS`); recorded in the model, which reads the same at prediction. */
  embeddingChars?: number;
  /** Which candidates to train (default: every one the input allows). */
  candidates?: readonly CandidateName[];
  /** Seed of the split and of the fits (default 42). */
  seed?: number;
  now?: () => Date;
}

/** Output of {@link trainCandidates}. */
export interface CandidateResult {
  selected: CandidateName;
  /** The selected candidate refitted on every example. */
  model: TenantModel;
  candidates: CandidateReport[];
  split: { train: number; validation: number; test: number };
}

/**
 * Validation macro-F1 an embedding candidate must gain over the n-gram one to be chosen.
 * On SpamAssassin the combined model led by 0.002, for 100× the prediction cost.
 * @default 0.01
 */
export const EMBEDDING_MARGIN = 0.01;

/** L2 penalties tried per candidate (the sparse model's λ is per example; the dense one's is on standardised features). */
const SPARSE_GRID = [1e-5, 1e-4, 1e-3];
const DENSE_GRID = [0.03, 0.1, 0.3];

interface ThreeWay {
  train: number[];
  validation: number[];
  test: number[];
}

/** The three-way split of the module comment (indices in ascending order). */
export function splitThreeWays(labels: readonly string[], groups: readonly (string | undefined)[] | undefined, seed: number): ThreeWay {
  const items = labels.map((label, i) => ({ label, group: groups?.[i] }));
  try {
    const outer = splitHeldOut(items, { seed, heldOutFraction: 0.15 });
    const rest = outer.train.map((i) => items[i]!);
    const inner = splitHeldOut(rest, { seed: seed + 1, heldOutFraction: 0.15 / 0.85 });
    const ok = (idx: number[]) => new Set(idx.map((i) => labels[i])).size === new Set(labels).size;
    const result = { train: inner.train.map((k) => outer.train[k]!), validation: inner.heldOut.map((k) => outer.train[k]!), test: outer.heldOut };
    if (ok(result.train) && ok(result.validation) && ok(result.test)) return result;
  } catch {
    // Too few examples or groups of a label for three sides: fall back to two below.
  }
  const two = splitHeldOut(items, { seed, heldOutFraction: 0.2 });
  return { train: two.train, validation: two.heldOut, test: [] };
}

function score(truth: string[], predicted: string[], labels: string[]): SplitMetrics {
  return { accuracy: accuracy(truth, predicted), macroF1: macroF1(truth, predicted, labels) };
}

/** Mean and inverse standard deviation per dimension (floored at a tenth of the average deviation). */
function standardisation(vectors: readonly Float32Array[], model: string): EmbeddingBlock {
  const d = (vectors[0] as Float32Array).length;
  const mean = new Float64Array(d);
  for (const v of vectors) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (v[j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / vectors.length;
  const variance = new Float64Array(d);
  for (const v of vectors) {
    for (let j = 0; j < d; j++) variance[j] = (variance[j] as number) + ((v[j] as number) - (mean[j] as number)) ** 2;
  }
  let avg = 0;
  for (let j = 0; j < d; j++) avg += Math.sqrt((variance[j] as number) / vectors.length);
  avg /= d;
  const floor = avg > 0 ? avg / 10 : 1;
  const scale = Array.from(variance, (v) => 1 / Math.max(Math.sqrt(v / vectors.length), floor));
  return { model, dimensions: d, mean: Array.from(mean), scale };
}

interface Fitter {
  name: CandidateName;
  grid: number[];
  /** Fits on the given indices with penalty l2; returns a label-index predictor. */
  fit(indices: number[], l2: number): (i: number) => number;
  /** Fits on every example and returns the stored model. */
  final(l2: number, metrics: ClassifierModel['metrics'], trainedAt: string): TenantModel;
}

/**
 * Trains the candidates and returns the best on validation, refitted on every example.
 * Throws when a label has fewer than 2 examples or the split is impossible.
 */
export function trainCandidates(input: CandidateInput): CandidateResult {
  const n = input.texts.length;
  if (input.labels.length !== n) throw new Error(`trainCandidates: ${n} texts but ${input.labels.length} labels`);
  const labels = [...new Set(input.labels)].sort();
  if (labels.length < 2) throw new Error('trainCandidates: need at least 2 labels');
  const y = Int32Array.from(input.labels, (l) => labels.indexOf(l));
  const seed = input.seed ?? 42;
  const vectors = input.vectors;
  if (vectors && vectors.length !== n) throw new Error(`trainCandidates: ${n} texts but ${vectors.length} vectors`);
  const wanted = input.candidates ?? (vectors ? CANDIDATES : ['ngrams']);
  if (wanted.length === 0) throw new Error('trainCandidates: no candidates');
  if (wanted.some((c) => c !== 'ngrams') && (!vectors || !input.embedderModel)) throw new Error('trainCandidates: embedding candidates need vectors and their embedder model');
  const split = splitThreeWays(input.labels, input.groups, seed);
  const spec: NgramSpec = { ...DEFAULT_NGRAM_SPEC, dimensions: ngramDimensionsFor(labels.length) };
  const ngramXs: SparseVector[] = input.texts.map((t) => ngramVector(t, spec));
  const sub = (idx: number[]) => Int32Array.from(idx, (i) => y[i] as number);

  const linearModel = (candidate: 'ngrams' | 'combined', fitted: SparseSoftmax, block: EmbeddingBlock | null, metrics: ClassifierModel['metrics'], trainedAt: string): LinearTextModel => ({
    version: 2,
    kind: 'linear-text',
    candidate,
    labels,
    ngrams: spec,
    embedding: block,
    dimensions: fitted.dimensions,
    weights: encodeWeights(fitted.weights),
    bias: Array.from(fitted.bias),
    metrics,
    trainedAt,
  });

  const fitters: Fitter[] = [];
  if (wanted.includes('ngrams')) {
    fitters.push({
      name: 'ngrams',
      grid: SPARSE_GRID,
      fit(indices, l2) {
        const m = fitSparseSoftmax(
          indices.map((i) => ngramXs[i]!),
          sub(indices),
          labels.length,
          spec.dimensions,
          { l2, seed },
        );
        return (i) => sparseArgmax(m, ngramXs[i]!);
      },
      final(l2, metrics, trainedAt) {
        const all = ngramXs.map((_, i) => i);
        return linearModel('ngrams', fitSparseSoftmax(ngramXs, sub(all), labels.length, spec.dimensions, { l2, seed }), null, metrics, trainedAt);
      },
    });
  }
  if (vectors && input.embedderModel) {
    const embedderModel = input.embedderModel;
    const embeddingChars = input.embeddingChars ?? EMBEDDING_MAX_CHARS;
    const d = (vectors[0] as Float32Array).length;
    if (wanted.includes('combined')) {
      const combined = (indices: number[]) => {
        const block = {
          ...standardisation(
            indices.map((i) => vectors[i]!),
            embedderModel,
          ),
          chars: embeddingChars,
        };
        return { block, xs: ngramXs.map((_, i) => combinedVector(input.texts[i]!, vectors[i]!, spec, block)) };
      };
      let cached: { key: string; value: ReturnType<typeof combined> } | null = null;
      const featuresFor = (indices: number[]) => {
        const key = indices.join(',');
        if (cached?.key !== key) cached = { key, value: combined(indices) };
        return cached.value;
      };
      fitters.push({
        name: 'combined',
        grid: SPARSE_GRID,
        fit(indices, l2) {
          const { xs } = featuresFor(indices);
          const m = fitSparseSoftmax(
            indices.map((i) => xs[i]!),
            sub(indices),
            labels.length,
            spec.dimensions + d,
            { l2, seed },
          );
          return (i) => sparseArgmax(m, xs[i]!);
        },
        final(l2, metrics, trainedAt) {
          const all = ngramXs.map((_, i) => i);
          const { block, xs } = combined(all);
          return linearModel('combined', fitSparseSoftmax(xs, sub(all), labels.length, spec.dimensions + d, { l2, seed }), block, metrics, trainedAt);
        },
      });
    }
    if (wanted.includes('embedding')) {
      const dense = (indices: number[], l2: number): FitResult =>
        fitDenseSoftmax(
          indices.map((i) => vectors[i]!),
          sub(indices),
          labels.length,
          { l2, seed },
        );
      fitters.push({
        name: 'embedding',
        grid: DENSE_GRID,
        fit(indices, l2) {
          const m = dense(indices, l2);
          return (i) => argmaxLabel(m, vectors[i]!, d);
        },
        final(l2, metrics, trainedAt) {
          const m = dense(
            vectors.map((_, i) => i),
            l2,
          );
          const model: ClassifierModel = {
            version: 1,
            kind: 'softmax',
            embedderModel,
            embeddingChars,
            labels,
            dimensions: d,
            weights: labels.map((_, c) => Array.from(m.weights.subarray(c * d, (c + 1) * d))),
            bias: Array.from(m.bias),
            metrics,
            trainedAt,
          };
          return model;
        },
      });
    }
  }

  const truthOf = (idx: number[]) => idx.map((i) => input.labels[i]!);
  const reports: (CandidateReport & { fitter: Fitter })[] = [];
  for (const fitter of fitters) {
    const started = performance.now();
    let best: { l2: number; validation: SplitMetrics; test: SplitMetrics | null } | null = null;
    for (const l2 of fitter.grid) {
      const predictLabel = fitter.fit(split.train, l2);
      const validation = score(
        truthOf(split.validation),
        split.validation.map((i) => labels[predictLabel(i)]!),
        labels,
      );
      if (!best || validation.macroF1 > best.validation.macroF1 || (validation.macroF1 === best.validation.macroF1 && validation.accuracy > best.validation.accuracy)) {
        const test = split.test.length
          ? score(
              truthOf(split.test),
              split.test.map((i) => labels[predictLabel(i)]!),
              labels,
            )
          : null;
        best = { l2, validation, test };
      }
    }
    reports.push({ name: fitter.name, ...best!, seconds: (performance.now() - started) / 1000, selected: false, fitter });
  }
  let winner = reports[0]!;
  const ngrams = reports.find((r) => r.name === 'ngrams');
  for (const r of reports) {
    if (r.name !== 'ngrams' && ngrams && r.validation.macroF1 < ngrams.validation.macroF1 + EMBEDDING_MARGIN) continue;
    const better =
      r.validation.macroF1 > winner.validation.macroF1 ||
      (r.validation.macroF1 === winner.validation.macroF1 && r.validation.accuracy > winner.validation.accuracy) ||
      (r.validation.macroF1 === winner.validation.macroF1 && r.validation.accuracy === winner.validation.accuracy && CANDIDATES.indexOf(r.name) < CANDIDATES.indexOf(winner.name));
    if (better) winner = r;
  }
  winner.selected = true;
  const heldOut = winner.test ?? winner.validation;
  const metrics = { accuracy: heldOut.accuracy, macroF1: heldOut.macroF1, heldOut: split.test.length || split.validation.length, trainedOn: n };
  const model = winner.fitter.final(winner.l2, metrics, (input.now ?? (() => new Date()))().toISOString());
  return {
    selected: winner.name,
    model,
    candidates: reports.map(({ fitter: _fitter, ...r }) => r),
    split: { train: split.train.length, validation: split.validation.length, test: split.test.length },
  };
}
