/**
 * The models a workspace's classifier version can hold, and prediction from text:
 *
 * - `ngrams`: a linear softmax over hashed word and character n-grams (`linear-text`, no
 *   embedder needed; about a millisecond per prediction);
 * - `embedding`: the softmax head over the sentence embedding (`softmax`, the format of the
 *   default model in `model.ts`);
 * - `combined`: one linear softmax over both, the embedding standardised into a block of its own.
 *
 * Embedding models read the first characters of a text ({@link EMBEDDING_MAX_CHARS} for new
 * models, recorded in each): at most one sentence-encoder window (~60 ms of CPU).
 */
import { z } from 'zod';
import type { ClassifierMetrics, ClassifierModel, Prediction } from './model.js';
import { classifierModelSchema, predict as predictDense, softmaxInPlace } from './model.js';
import { ngramVector, validNgramSpec, type NgramSpec, type SparseVector } from './ngram-features.js';

/** Candidate kinds, cheapest first (the order breaks ties in selection). */
export const CANDIDATES = ['ngrams', 'combined', 'embedding'] as const;
export type CandidateName = (typeof CANDIDATES)[number];

/**
 * Characters of a text a newly trained embedding model reads (training and prediction alike,
 * recorded in the model), so that one prediction costs one 128-token window of the sentence
 * encoder at most. Measured with the encoder's tokenizer on the 2,000-character SpamAssassin
 * texts of `npm run bench:classifiers`: the first 320 characters are 75–149 tokens (103 at
 * the median; past 128 a second window, and a prediction's p95 through REST 102–104 ms), the
 * first 400 are 121 tokens at the median and 155 at p95, 600 took two windows for 9 messages
 * in 10. The encoder costs ~0.4 ms per token.
 * @default 256
 */
export const EMBEDDING_MAX_CHARS = 256;

/** What models trained before the window was recorded read. */
export const LEGACY_EMBEDDING_CHARS = 320;

/** The text a newly trained embedding model sees: its first {@link EMBEDDING_MAX_CHARS} characters. */
export function embeddingText(text: string): string {
  return textWindow(text, EMBEDDING_MAX_CHARS);
}

/** The text `model` embeds for a prediction: the window it was trained on. */
export function embeddingTextFor(model: Pick<LoadedModel, 'embeddingChars'>, text: string): string {
  return textWindow(text, model.embeddingChars ?? EMBEDDING_MAX_CHARS);
}

function textWindow(text: string, chars: number): string {
  return text.length > chars ? text.slice(0, chars) : text;
}

/** Standardisation of the embedding block of a combined model: z = (v − mean)·scale. */
export interface EmbeddingBlock {
  /** `Embedder.model` of the vectors. */
  model: string;
  /** Characters of a text embedded ({@link embeddingText}); absent: {@link LEGACY_EMBEDDING_CHARS}. */
  chars?: number;
  dimensions: number;
  mean: number[];
  scale: number[];
}

/** A linear softmax over n-gram features (and, for `combined`, an embedding block after them). */
export interface LinearTextModel {
  version: 2;
  kind: 'linear-text';
  candidate: 'ngrams' | 'combined';
  labels: string[];
  ngrams: NgramSpec;
  embedding: EmbeddingBlock | null;
  /** ngrams.dimensions + embedding dimensions. */
  dimensions: number;
  /** labels × dimensions float32, row-major, base64. */
  weights: string;
  bias: number[];
  metrics: ClassifierMetrics;
  trainedAt: string;
}

/** What a classifier version stores. */
export type TenantModel = ClassifierModel | LinearTextModel;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const unit = finite.refine((v) => v >= 0 && v <= 1, 'must be within [0, 1]');

const linearTextSchema = z
  .object({
    version: z.literal(2),
    kind: z.literal('linear-text'),
    candidate: z.enum(['ngrams', 'combined']),
    labels: z.array(z.string().min(1)).min(2),
    ngrams: z.object({ dimensions: z.number(), wordNgrams: z.number(), charMin: z.number(), charMax: z.number(), maxChars: z.number() }).refine(validNgramSpec, 'invalid n-gram spec'),
    embedding: z.object({ model: z.string().min(1), chars: z.number().int().positive().optional(), dimensions: z.number().int().positive(), mean: z.array(finite), scale: z.array(finite) }).nullable(),
    dimensions: z.number().int().positive(),
    weights: z.string(),
    bias: z.array(finite),
    metrics: z.object({ accuracy: unit, macroF1: unit, heldOut: z.number().int().nonnegative(), trainedOn: z.number().int().positive() }),
    trainedAt: z.string(),
  })
  .superRefine((m, ctx) => {
    const embedded = m.embedding?.dimensions ?? 0;
    if (m.dimensions !== m.ngrams.dimensions + embedded) ctx.addIssue({ code: 'custom', path: ['dimensions'], message: 'does not match the feature blocks' });
    if (m.bias.length !== m.labels.length) ctx.addIssue({ code: 'custom', path: ['bias'], message: 'one per label' });
    if ((m.candidate === 'combined') !== (m.embedding !== null)) ctx.addIssue({ code: 'custom', path: ['embedding'], message: 'only combined models have an embedding block' });
    if (m.embedding && (m.embedding.mean.length !== embedded || m.embedding.scale.length !== embedded)) {
      ctx.addIssue({ code: 'custom', path: ['embedding'], message: 'mean and scale need one entry per dimension' });
    }
    if (Buffer.byteLength(m.weights, 'base64') !== m.labels.length * m.dimensions * 4) ctx.addIssue({ code: 'custom', path: ['weights'], message: 'wrong size' });
  });

/** Encodes float32 weights for JSON storage. */
export function encodeWeights(weights: Float32Array): string {
  return Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength).toString('base64');
}

function decodeWeights(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** Input of a prediction: the text, and its embedding when the model needs one. */
export interface TextInput {
  text: string;
  /** Embedding of {@link embeddingText}(text), or a document's mean chunk embedding. */
  vector?: Float32Array;
}

/** A parsed model, ready to predict. */
export interface LoadedModel {
  candidate: CandidateName;
  labels: string[];
  /** `Embedder.model` the model needs vectors from, or null for n-grams alone. */
  embedderModel: string | null;
  /** Characters of a text the model's embedding is of (`embeddingTextFor`); null for n-grams alone. */
  embeddingChars: number | null;
  metrics: ClassifierMetrics;
  predict(input: TextInput): Prediction;
}

/** The combined model's feature vector: n-grams, then the standardised embedding block. */
export function combinedVector(text: string, vector: Float32Array, ngrams: NgramSpec, block: Pick<EmbeddingBlock, 'mean' | 'scale' | 'dimensions'>): SparseVector {
  const base = ngramVector(text, ngrams);
  const d = block.dimensions;
  if (vector.length !== d) throw new Error(`combined model: vector has ${vector.length} dimensions, expected ${d}`);
  const indices = new Int32Array(base.indices.length + d);
  const values = new Float32Array(base.values.length + d);
  indices.set(base.indices);
  values.set(base.values);
  const norm = 1 / Math.sqrt(d);
  for (let j = 0; j < d; j++) {
    indices[base.indices.length + j] = ngrams.dimensions + j;
    values[base.values.length + j] = ((vector[j] as number) - (block.mean[j] as number)) * (block.scale[j] as number) * norm;
  }
  return { indices, values };
}

function toPrediction(labels: readonly string[], logits: Float64Array): Prediction {
  if (!logits.every(Number.isFinite)) throw new Error('predict: non-finite logits');
  softmaxInPlace(logits);
  let best = 0;
  const scores: Record<string, number> = {};
  for (let c = 0; c < logits.length; c++) {
    scores[labels[c] as string] = logits[c] as number;
    if ((logits[c] as number) > (logits[best] as number)) best = c;
  }
  return { label: labels[best] as string, confidence: logits[best] as number, scores };
}

function loadLinear(m: LinearTextModel): LoadedModel {
  const weights = decodeWeights(m.weights);
  const d = m.dimensions;
  const L = m.labels.length;
  return {
    candidate: m.candidate,
    labels: m.labels,
    embedderModel: m.embedding?.model ?? null,
    embeddingChars: m.embedding ? (m.embedding.chars ?? LEGACY_EMBEDDING_CHARS) : null,
    metrics: m.metrics,
    predict(input: TextInput): Prediction {
      let x: SparseVector;
      if (m.embedding) {
        if (!input.vector) throw new Error('predict: this model needs the text embedding');
        x = combinedVector(input.text, input.vector, m.ngrams, m.embedding);
      } else {
        x = ngramVector(input.text, m.ngrams);
      }
      const logits = new Float64Array(L);
      for (let c = 0; c < L; c++) {
        let z = m.bias[c] as number;
        const off = c * d;
        for (let k = 0; k < x.indices.length; k++) z += (weights[off + (x.indices[k] as number)] as number) * (x.values[k] as number);
        logits[c] = z;
      }
      return toPrediction(m.labels, logits);
    },
  };
}

/** Validates a stored model (either format) and prepares it for prediction. Throws on a malformed one. */
export function loadTenantModel(value: unknown): LoadedModel {
  const linear = linearTextSchema.safeParse(value);
  if (linear.success) return loadLinear(linear.data as LinearTextModel);
  const dense = classifierModelSchema.safeParse(value);
  if (dense.success) {
    const m = dense.data;
    return {
      candidate: 'embedding',
      labels: m.labels,
      embedderModel: m.embedderModel,
      embeddingChars: m.embeddingChars ?? LEGACY_EMBEDDING_CHARS,
      metrics: m.metrics,
      predict(input: TextInput): Prediction {
        if (!input.vector) throw new Error('predict: this model needs the text embedding');
        return predictDense(m, input.vector);
      },
    };
  }
  const issue = linear.error.issues[0];
  throw new Error(`invalid classifier model: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown format'}`);
}
