/**
 * Serialisable linear softmax classifier over feature vectors (typically the 512-d L2-normalised
 * embeddings of `ml-workers/embeddings`). A model is plain JSON: `scores = softmax(W·x + b)`.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** Held-out quality of a trained model (see `train.ts`). */
export interface ClassifierMetrics {
  /** Held-out accuracy of the model trained on the training split only. */
  accuracy: number;
  /** Held-out macro-averaged F1 of the same model. */
  macroF1: number;
  /** Number of held-out examples the metrics were computed on. */
  heldOut: number;
  /** Number of examples the final (stored) weights were trained on: all of them. */
  trainedOn: number;
}

/** A trained multinomial logistic-regression (softmax) classifier. */
export interface ClassifierModel {
  version: 1;
  kind: 'softmax';
  /** `Embedder.model` of the vectors this was trained on; vectors from another model are meaningless to it. */
  embedderModel: string;
  /** Characters of a text embedded (`embeddingText` in `tenant-model.ts`); absent: 320, what models read before it was recorded. */
  embeddingChars?: number;
  /** Class labels, in the order of the rows of `weights` and of `bias`. */
  labels: string[];
  /** Length of the input vectors. */
  dimensions: number;
  /** labels × dimensions. */
  weights: number[][];
  /** One per label. */
  bias: number[];
  metrics: ClassifierMetrics;
  /** ISO-8601 time of training. */
  trainedAt: string;
}

/** Result of {@link predict}. */
export interface Prediction {
  /** The most probable label. */
  label: string;
  /** Its softmax probability. */
  confidence: number;
  /** Softmax probability of every label (they sum to 1). */
  scores: Record<string, number>;
}

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const unit = finite.refine((v) => v >= 0 && v <= 1, 'must be within [0, 1]');

/** zod schema of a serialised {@link ClassifierModel}, including the shape constraints between fields. */
export const classifierModelSchema = z
  .object({
    version: z.literal(1),
    kind: z.literal('softmax'),
    embedderModel: z.string().min(1),
    embeddingChars: z.number().int().positive().optional(),
    labels: z.array(z.string().min(1)).min(2),
    dimensions: z.number().int().positive(),
    weights: z.array(z.array(finite)),
    bias: z.array(finite),
    metrics: z.object({
      accuracy: unit,
      macroF1: unit,
      heldOut: z.number().int().nonnegative(),
      trainedOn: z.number().int().positive(),
    }),
    trainedAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 date'),
  })
  .superRefine((m, ctx) => {
    if (new Set(m.labels).size !== m.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['labels'], message: 'labels must be unique' });
    }
    if (m.weights.length !== m.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['weights'], message: `expected ${m.labels.length} rows (one per label), got ${m.weights.length}` });
    }
    m.weights.forEach((row, i) => {
      if (row.length !== m.dimensions) {
        ctx.addIssue({ code: 'custom', path: ['weights', i], message: `expected ${m.dimensions} columns, got ${row.length}` });
      }
    });
    if (m.bias.length !== m.labels.length) {
      ctx.addIssue({ code: 'custom', path: ['bias'], message: `expected ${m.labels.length} entries (one per label), got ${m.bias.length}` });
    }
  });

/**
 * Validates an untrusted value (e.g. parsed JSON) as a {@link ClassifierModel}.
 * Throws an Error naming the first problems found.
 */
export function parseClassifierModel(value: unknown): ClassifierModel {
  const result = classifierModelSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new Error(`invalid classifier model: ${problems}`);
  }
  return result.data;
}

/** Reads and validates a model JSON file. */
export async function loadClassifierModel(path: string | URL): Promise<ClassifierModel> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`classifier model ${String(path)} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseClassifierModel(json);
}

/** Rounds to `digits` significant digits (keeps the JSON small; 6 digits is far below the model's noise). */
export function roundSignificant(value: number, digits: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

/** Serialises a model as JSON with weights and bias rounded to `significantDigits` (default 6). */
export function serializeClassifierModel(model: ClassifierModel, significantDigits = 6): string {
  const round = (v: number): number => roundSignificant(v, significantDigits);
  const rounded: ClassifierModel = {
    ...model,
    weights: model.weights.map((row) => row.map(round)),
    bias: model.bias.map(round),
    metrics: {
      ...model.metrics,
      accuracy: roundSignificant(model.metrics.accuracy, 6),
      macroF1: roundSignificant(model.metrics.macroF1, 6),
    },
  };
  return `${JSON.stringify(rounded)}\n`;
}

/** Numerically stable softmax of `logits`, in place. */
export function softmaxInPlace(logits: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp((logits[i] as number) - max);
    logits[i] = e;
    sum += e;
  }
  for (let i = 0; i < logits.length; i++) logits[i] = (logits[i] as number) / sum;
  return logits;
}

/**
 * Classifies one feature vector: softmax over `W·x + b`. The vector must have `model.dimensions`
 * finite entries. Ties go to the label listed first.
 */
export function predict(model: ClassifierModel, vector: Float32Array): Prediction {
  if (vector.length !== model.dimensions) {
    throw new Error(`predict: vector has ${vector.length} dimensions, model expects ${model.dimensions}`);
  }
  const logits = new Float64Array(model.labels.length);
  for (let c = 0; c < model.labels.length; c++) {
    const row = model.weights[c] as number[];
    let z = model.bias[c] as number;
    for (let j = 0; j < vector.length; j++) z += (row[j] as number) * (vector[j] as number);
    logits[c] = z;
  }
  if (!logits.every(Number.isFinite)) throw new Error('predict: vector contains non-finite values');
  softmaxInPlace(logits);
  let best = 0;
  const scores: Record<string, number> = {};
  for (let c = 0; c < logits.length; c++) {
    scores[model.labels[c] as string] = logits[c] as number;
    if ((logits[c] as number) > (logits[best] as number)) best = c;
  }
  return { label: model.labels[best] as string, confidence: logits[best] as number, scores };
}
