/**
 * Universal Sentence Encoder lite on TensorFlow.js (WASM backend), in the current thread.
 * `use-worker.ts` runs one of these per worker thread; use {@link UseModel} directly only off the
 * main event loop (inference is synchronous CPU work of ~5 ms per sentence, ~70 ms per 128 tokens).
 *
 * Texts are tokenized ({@link UseTokenizer}), cut into windows of {@link USE_MAX_TOKENS} tokens (the
 * model ignores anything after its first 128 tokens), windows of similar length are batched, and a
 * text's vector is the mean of its window vectors weighted by their token counts, L2-normalised.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { USE_DIMENSIONS, USE_MAX_TOKENS, loadUseVocabulary, useAssetPaths, type UseAssetPaths } from './use-assets.js';
import { UseTokenizer } from './use-tokenizer.js';

/**
 * Batching. A model call costs about 0.4 ms per padded token (rows × longest row) once it has a
 * few rows, plus a fixed ~2–5 ms, so batches group windows of similar length: a window joins the
 * current batch only if it is at most a quarter (or 4 tokens) longer than the batch's shortest.
 */
const MAX_BATCH_ROWS = 64;
/** At most this many padded tokens (rows × longest row) per model call. */
const MAX_BATCH_TOKENS = 1024;
function fitsBatch(shortest: number, length: number, rows: number): boolean {
  return rows < MAX_BATCH_ROWS && (rows + 1) * length <= MAX_BATCH_TOKENS && length <= shortest + Math.max(4, shortest / 4);
}

let backendReady: Promise<void> | undefined;

/** Selects the tfjs WASM backend once per thread, loading the binaries from disk. */
function initWasmBackend(wasmDir: string): Promise<void> {
  backendReady ??= (async () => {
    setWasmPaths(wasmDir);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the WASM backend failed to initialise');
    await tf.ready();
  })();
  return backendReady;
}

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

function isWeightsGroup(value: unknown): value is WeightsGroup {
  if (typeof value !== 'object' || value === null) return false;
  const { paths, weights } = value as { paths?: unknown; weights?: unknown };
  return Array.isArray(paths) && paths.every((p) => typeof p === 'string') && Array.isArray(weights);
}

/** An IOHandler reading a tfjs graph model (`model.json` + shards) from a local directory. */
function localModelHandler(modelDir: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const json: unknown = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
      if (typeof json !== 'object' || json === null) throw new Error(`${modelDir}/model.json is not an object`);
      const { modelTopology, weightsManifest } = json as { modelTopology?: unknown; weightsManifest?: unknown };
      if (typeof modelTopology !== 'object' || modelTopology === null) throw new Error('model.json has no modelTopology');
      if (!Array.isArray(weightsManifest) || !weightsManifest.every(isWeightsGroup)) {
        throw new Error('model.json has no valid weightsManifest');
      }
      const groups: WeightsGroup[] = weightsManifest;
      const shards = await Promise.all(groups.flatMap((g) => g.paths.map((p) => readFile(join(modelDir, p)))));
      const weightData = new Uint8Array(shards.reduce((n, s) => n + s.byteLength, 0));
      let offset = 0;
      for (const shard of shards) {
        weightData.set(shard, offset);
        offset += shard.byteLength;
      }
      return {
        modelTopology,
        weightSpecs: groups.flatMap((g) => g.weights),
        weightData: weightData.buffer,
        format: 'graph-model',
      };
    },
  };
}

/** One window of a text: its tokens and the text it belongs to. */
interface Window {
  text: number;
  ids: Int32Array;
}

/** A loaded USE-lite graph plus tokenizer. Not thread-safe: one call at a time per instance. */
export class UseModel {
  private constructor(
    /** The tokenizer matching the model's vocabulary. */
    readonly tokenizer: UseTokenizer,
    private readonly graph: tf.GraphModel,
    /** The model's vector for a text without tokens (empty or whitespace-only), unit length. */
    private readonly emptyVector: Float32Array,
  ) {}

  /** Initialises the WASM backend (once per thread) and loads vocabulary and graph from disk. */
  static async load(paths: UseAssetPaths = useAssetPaths()): Promise<UseModel> {
    await initWasmBackend(paths.wasmDir);
    const [vocabulary, graph] = await Promise.all([loadUseVocabulary(paths.modelDir), tf.loadGraphModel(localModelHandler(paths.modelDir))]);
    const tokenizer = new UseTokenizer(vocabulary);
    // A batch whose first row is empty gives the model's vector for "no tokens"; the graph derives
    // the batch size from the largest row index, so the second row must not be empty. This also
    // warms up the kernels.
    const probe = tokenizer.encode('.');
    const out = await runGraph(graph, [new Int32Array(0), probe]);
    const emptyVector = normalise(Float64Array.from(out.subarray(0, USE_DIMENSIONS)));
    return new UseModel(tokenizer, graph, emptyVector);
  }

  /** One L2-normalised 512-d vector per text, in order. Throws TypeError for a non-string. */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const windows: Window[] = [];
    const tokenCounts = new Int32Array(texts.length);
    texts.forEach((text, t) => {
      const ids = this.tokenizer.encode(text);
      tokenCounts[t] = ids.length;
      for (let start = 0; start < ids.length; start += USE_MAX_TOKENS) {
        windows.push({ text: t, ids: ids.subarray(start, start + USE_MAX_TOKENS) });
      }
    });

    // Similar lengths together, so little padding is computed (see fitsBatch).
    windows.sort((a, b) => a.ids.length - b.ids.length);
    const sums = texts.map(() => new Float64Array(USE_DIMENSIONS));
    for (let i = 0; i < windows.length;) {
      const batch: Window[] = [];
      const shortest = (windows[i] as Window).ids.length;
      while (i < windows.length) {
        const w = windows[i] as Window;
        if (batch.length > 0 && !fitsBatch(shortest, w.ids.length, batch.length)) break;
        batch.push(w);
        i++;
      }
      const out = await runGraph(
        this.graph,
        batch.map((w) => w.ids),
      );
      batch.forEach((w, row) => {
        const sum = sums[w.text] as Float64Array;
        const weight = w.ids.length;
        const base = row * USE_DIMENSIONS;
        for (let d = 0; d < USE_DIMENSIONS; d++) sum[d] = (sum[d] as number) + weight * (out[base + d] as number);
      });
    }

    return sums.map((sum, t) => (tokenCounts[t] === 0 ? this.emptyVector.slice() : normalise(sum)));
  }

  /** Releases the graph's weights. */
  dispose(): void {
    this.graph.dispose();
  }
}

/** Runs the graph on token rows (sparse input: `[row, position]` indices + ids); rows × 512 out. */
async function runGraph(graph: tf.GraphModel, rows: readonly Int32Array[]): Promise<Float32Array> {
  const total = rows.reduce((n, r) => n + r.length, 0);
  const indices = new Int32Array(total * 2);
  const values = new Int32Array(total);
  let k = 0;
  rows.forEach((row, r) => {
    for (let p = 0; p < row.length; p++, k++) {
      indices[2 * k] = r;
      indices[2 * k + 1] = p;
      values[k] = row[p] as number;
    }
  });
  const indicesT = tf.tensor2d(indices, [total, 2], 'int32');
  const valuesT = tf.tensor1d(values, 'int32');
  try {
    const result = await graph.executeAsync({ indices: indicesT, values: valuesT });
    const outputs = Array.isArray(result) ? result : [result];
    try {
      const out = outputs[0];
      if (outputs.length !== 1 || out === undefined || out.shape.length !== 2 || out.shape[0] !== rows.length || out.shape[1] !== USE_DIMENSIONS) {
        throw new Error(`USE graph returned shape ${JSON.stringify(outputs.map((o) => o.shape))} for ${rows.length} rows`);
      }
      return (await out.data()) as Float32Array;
    } finally {
      for (const o of outputs) o.dispose();
    }
  } finally {
    indicesT.dispose();
    valuesT.dispose();
  }
}

/** `v / |v|` as float32 (a zero vector stays zero). */
function normalise(v: Float64Array): Float32Array {
  let norm = 0;
  for (let d = 0; d < v.length; d++) norm += (v[d] as number) * (v[d] as number);
  norm = Math.sqrt(norm);
  const out = new Float32Array(v.length);
  if (norm > 0) for (let d = 0; d < v.length; d++) out[d] = (v[d] as number) / norm;
  return out;
}
