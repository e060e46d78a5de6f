/**
 * Trains the default document classifier and measures the pipeline on real text.
 *
 *   node --import tsx scripts/train-default.ts [--threads=2] [--cache=FILE] [--no-results]
 *
 * 1. Brown Corpus passages (coarse genre labels, see `BROWN_GENRES`) are embedded with the
 *    Universal Sentence Encoder lite embedder; L2 is chosen by inner validation on the training
 *    side; the classifier is trained with a document-grouped held-out split, and written to
 *    `ml-workers/classifier/default-model.json` (weights rounded to 6 significant digits).
 * 2. The same pipeline is evaluated on State of the Union passages labelled by era (not saved).
 * 3. Both are compared with the majority-class baseline and with a hashed bag-of-words model
 *    on the same split, printed, and written to the "## Classifier quality" section of
 *    `bench/RESULTS.md` (appended, or replaced in place if the section already exists).
 *
 * `--cache=FILE` keeps the embeddings in FILE (JSON) to skip re-embedding on later runs (for
 * experiments only; the cache is keyed by embedder model, passage id and text hash).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import type { LabelledPassage, PassageOptions } from '../bench/datasets.js';
import { BROWN_GENRES, SOTU_ERAS, labelCounts, loadBrownPassages, loadSotuPassages } from '../bench/datasets.js';
import { fnv1a, hashingFeatures } from '../ml-workers/classifier/hashing-features.js';
import { majorityBaseline, perLabelScores } from '../ml-workers/classifier/metrics.js';
import type { ClassifierModel } from '../ml-workers/classifier/model.js';
import { serializeClassifierModel } from '../ml-workers/classifier/model.js';
import type { HeldOutEvaluation, L2Selection, TrainingExample } from '../ml-workers/classifier/train.js';
import { selectL2, trainClassifier } from '../ml-workers/classifier/train.js';

/** Fixed seed for splits and training (the Brown Corpus texts are from 1961). */
const SEED = 1961;
const HELD_OUT_FRACTION = 0.2;
/** ≤ 120 words ≈ 1–2 USE windows of 128 tokens; 3 per Brown file → 1,500 passages. */
const BROWN_PASSAGES: PassageOptions = { minWords: 60, maxWords: 120, maxPassagesPerDocument: 3 };
/** 4 per address → 932 passages from 233 addresses. */
const SOTU_PASSAGES: PassageOptions = { minWords: 60, maxWords: 120, maxPassagesPerDocument: 4 };
const HASH_DIMENSIONS = 1024;

const root = new URL('../', import.meta.url);
const MODEL_PATH = fileURLToPath(new URL('ml-workers/classifier/default-model.json', root));
const RESULTS_PATH = fileURLToPath(new URL('bench/RESULTS.md', root));
const SECTION_TITLE = '## Classifier quality';

interface Args {
  threads: number;
  cache?: string;
  results: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { threads: Math.min(2, availableParallelism()), results: true };
  for (const arg of argv) {
    const [key, value] = arg.split('=', 2) as [string, string | undefined];
    if (key === '--threads' && value && /^\d+$/.test(value)) args.threads = Number(value);
    else if (key === '--cache' && value) args.cache = value;
    else if (key === '--no-results') args.results = false;
    else throw new Error(`unknown argument ${arg}; usage: scripts/train-default.ts [--threads=N] [--cache=FILE] [--no-results]`);
  }
  return args;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const f3 = (x: number): string => x.toFixed(3);

/** Embedding cache (experiments only). */
class VectorCache {
  private entries: Record<string, number[]> = {};
  constructor(
    private readonly path: string | undefined,
    private readonly model: string,
  ) {
    if (path && existsSync(path)) {
      const raw = JSON.parse(readFileSync(path, 'utf8')) as { model?: string; entries?: Record<string, number[]> };
      if (raw.model === model && raw.entries) this.entries = raw.entries;
    }
  }
  key(dataset: string, p: LabelledPassage): string {
    return `${dataset}:${p.id}:${fnv1a(p.text).toString(16)}`;
  }
  get(key: string): Float32Array | undefined {
    const v = this.entries[key];
    return v ? Float32Array.from(v) : undefined;
  }
  set(key: string, v: Float32Array): void {
    this.entries[key] = Array.from(v);
  }
  save(): void {
    if (this.path) writeFileSync(this.path, JSON.stringify({ model: this.model, entries: this.entries }));
  }
}

async function embedPassages(embedder: Embedder, cache: VectorCache, dataset: string, passages: LabelledPassage[]): Promise<{ vectors: Float32Array[]; ms: number; embedded: number }> {
  const started = Date.now();
  const vectors: (Float32Array | undefined)[] = passages.map((p) => cache.get(cache.key(dataset, p)));
  const missing = passages.map((_, i) => i).filter((i) => vectors[i] === undefined);
  const BATCH = 64;
  let done = 0;
  let lastLog = Date.now();
  const batches: Promise<void>[] = [];
  for (let start = 0; start < missing.length; start += BATCH) {
    const idx = missing.slice(start, start + BATCH);
    batches.push(
      embedder.embed(idx.map((i) => (passages[i] as LabelledPassage).text)).then((out) => {
        idx.forEach((i, k) => {
          const v = out[k] as Float32Array;
          vectors[i] = v;
          cache.set(cache.key(dataset, passages[i] as LabelledPassage), v);
        });
        done += idx.length;
        if (Date.now() - lastLog > 10_000 || done === missing.length) {
          lastLog = Date.now();
          const rate = done / ((Date.now() - started) / 1000);
          console.log(`  ${dataset}: embedded ${done}/${missing.length} (${rate.toFixed(1)} passages/s)`);
        }
      }),
    );
  }
  await Promise.all(batches);
  return { vectors: vectors as Float32Array[], ms: Date.now() - started, embedded: missing.length };
}

interface Scores {
  accuracy: number;
  macroF1: number;
}

interface DatasetReport {
  name: string;
  passages: LabelledPassage[];
  documents: number;
  labels: string[];
  counts: Record<string, number>;
  heldOut: number;
  heldOutDocuments: number;
  baseline: Scores & { label: string };
  hashed: Scores & { l2: number };
  use: Scores & { l2: number; selection: L2Selection; perLabelF1: Record<string, number> };
  embedMs: number;
  embedded: number;
  trainMs: number;
  model: ClassifierModel;
}

/** L2 by inner validation, then train/evaluate; returns the model and its held-out evaluation. */
function trainWithSelection(examples: TrainingExample[], embedderModel: string, grid?: number[]): { model: ClassifierModel; evaluation: HeldOutEvaluation; selection: L2Selection } {
  const selection = selectL2(examples, { seed: SEED, heldOutFraction: HELD_OUT_FRACTION, grid });
  let evaluation: HeldOutEvaluation | undefined;
  const model = trainClassifier(examples, {
    embedderModel,
    seed: SEED,
    heldOutFraction: HELD_OUT_FRACTION,
    l2: selection.l2,
    onHeldOut: (e) => (evaluation = e),
  });
  if (!evaluation) throw new Error('trainClassifier did not report its held-out evaluation');
  return { model, evaluation, selection };
}

async function runDataset(name: string, passages: LabelledPassage[], embedder: Embedder, cache: VectorCache): Promise<DatasetReport> {
  const counts = labelCounts(passages);
  const documents = new Set(passages.map((p) => p.documentId)).size;
  console.log(`\n${name}: ${passages.length} passages from ${documents} documents; labels ${JSON.stringify(counts)}`);

  const { vectors, ms: embedMs, embedded } = await embedPassages(embedder, cache, name, passages);
  cache.save();
  const examples: TrainingExample[] = passages.map((p, i) => ({ vector: vectors[i] as Float32Array, label: p.label, group: p.documentId }));

  const trainStarted = Date.now();
  const { model, evaluation, selection } = trainWithSelection(examples, embedder.model);
  const trainMs = Date.now() - trainStarted;
  console.log(`  L2 selection (inner validation macro-F1): ${selection.candidates.map((c) => `${c.l2}: ${f3(c.macroF1)}`).join(', ')} → ${selection.l2}`);

  const baseline = majorityBaseline(
    evaluation.split.train.map((i) => (passages[i] as LabelledPassage).label),
    evaluation.truth,
    model.labels,
  );
  const perLabelF1 = Object.fromEntries(perLabelScores(evaluation.truth, evaluation.predicted, model.labels).map((s) => [s.label, s.f1]));

  // Same split (same seed and grouping), hashed bag-of-words features instead of embeddings.
  const hashedExamples: TrainingExample[] = passages.map((p) => ({ vector: hashingFeatures(p.text, { dimensions: HASH_DIMENSIONS }), label: p.label, group: p.documentId }));
  // Sparse hashed features want a stronger penalty than dense embeddings: shift the grid up.
  const hashed = trainWithSelection(hashedExamples, `hashing-${HASH_DIMENSIONS}`, [0.1, 0.3, 1, 3, 10]);

  const heldOutDocuments = new Set(evaluation.split.heldOut.map((i) => (passages[i] as LabelledPassage).documentId)).size;
  const report: DatasetReport = {
    name,
    passages,
    documents,
    labels: model.labels,
    counts,
    heldOut: model.metrics.heldOut,
    heldOutDocuments,
    baseline,
    hashed: { accuracy: hashed.model.metrics.accuracy, macroF1: hashed.model.metrics.macroF1, l2: hashed.selection.l2 },
    use: { accuracy: model.metrics.accuracy, macroF1: model.metrics.macroF1, l2: selection.l2, selection, perLabelF1 },
    embedMs,
    embedded,
    trainMs,
    model,
  };
  console.log(`  held-out: ${report.heldOut} passages from ${heldOutDocuments} documents (none of them in training)`);
  console.log(`  USE + softmax:      accuracy ${f3(report.use.accuracy)}, macro-F1 ${f3(report.use.macroF1)} (l2 ${selection.l2})`);
  console.log(`  hashed BoW softmax: accuracy ${f3(report.hashed.accuracy)}, macro-F1 ${f3(report.hashed.macroF1)} (l2 ${hashed.selection.l2})`);
  console.log(`  majority baseline:  accuracy ${f3(baseline.accuracy)}, macro-F1 ${f3(baseline.macroF1)} (always "${baseline.label}")`);
  console.log(
    `  per-label F1 (USE): ${Object.entries(perLabelF1)
      .map(([l, f]) => `${l} ${f3(f)}`)
      .join(', ')}`,
  );
  console.log(`  embedding ${seconds(embedMs)} (${embedded} passages embedded), training ${seconds(trainMs)}`);
  return report;
}

function resultsSection(reports: DatasetReport[], totalMs: number, threads: number, embedderModel: string): string {
  const row = (r: DatasetReport, what: string): string =>
    `| ${what} | ${r.passages.length} (${r.documents} docs) | ${r.heldOut} (${r.heldOutDocuments} docs) | ` +
    `${f3(r.baseline.accuracy)} / ${f3(r.baseline.macroF1)} | ${f3(r.hashed.accuracy)} / ${f3(r.hashed.macroF1)} | ` +
    `**${f3(r.use.accuracy)} / ${f3(r.use.macroF1)}** |`;
  const [brown, sotu] = reports as [DatasetReport, DatasetReport];
  const describe = (r: DatasetReport): string =>
    `- **${r.name}** labels (passages): ${Object.entries(r.counts)
      .map(([l, c]) => `${l} (${c})`)
      .join(', ')}. ` +
    `Per-label held-out F1 with USE: ${Object.entries(r.use.perLabelF1)
      .map(([l, f]) => `${l} ${f3(f)}`)
      .join(', ')}. ` +
    `L2 chosen by inner validation: ${r.use.l2} (USE), ${r.hashed.l2} (hashed). Embedding ${seconds(r.embedMs)}, training + L2 selection ${seconds(r.trainMs)}.`;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    SECTION_TITLE,
    '',
    `Command: \`node --import tsx scripts/train-default.ts\` (seed ${SEED}, ${threads} embedding thread(s)), ` +
      `${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} cores (${cpu}); whole script ${seconds(totalMs)}.`,
    '',
    `Softmax classifier (\`ml-workers/classifier/\`, multinomial logistic regression, balanced class weights) over ` +
      `\`${embedderModel}\` passage embeddings. Held-out split: ${HELD_OUT_FRACTION * 100} % of each label, **grouped by source ` +
      'document** (no document has passages on both sides); L2 chosen on the training side only; the stored weights are refit on ' +
      'all passages. Passages are 60–120 words, at most 3 per Brown file and 4 per address, evenly spaced through the document. ' +
      `Comparison rows on the same split: majority class of the training side; the same classifier on ${HASH_DIMENSIONS}-d hashed bag-of-words.`,
    '',
    '| dataset | passages | held out | majority baseline acc / macro-F1 | hashed BoW acc / macro-F1 | USE + softmax acc / macro-F1 |',
    '|---|---|---|---|---|---|',
    row(brown, 'Brown Corpus, 6 coarse genres → `default-model.json`'),
    row(sotu, `State of the Union, ${SOTU_ERAS.length} eras`),
    '',
    describe(brown),
    describe(sotu),
    `- Genre mapping (Brown category letters): ${Object.entries(
      Object.entries(BROWN_GENRES).reduce<Record<string, string[]>>((acc, [letter, genre]) => {
        (acc[genre] ??= []).push(letter.toUpperCase());
        return acc;
      }, {}),
    )
      .map(([genre, letters]) => `${genre} = ${letters.join('')}`)
      .join(', ')}; eras: ${SOTU_ERAS.map((e) => e.label).join(', ')}.`,
    '',
  ].join('\n');
}

/** Appends the section, or replaces it in place when a previous run already wrote it. */
function writeResults(section: string): void {
  if (!existsSync(RESULTS_PATH)) {
    appendFileSync(RESULTS_PATH, `${section}`);
    return;
  }
  const current = readFileSync(RESULTS_PATH, 'utf8');
  const start = current.indexOf(`${SECTION_TITLE}\n`);
  if (start === -1) {
    appendFileSync(RESULTS_PATH, `${current.endsWith('\n\n') || current.length === 0 ? '' : current.endsWith('\n') ? '\n' : '\n\n'}${section}`);
    return;
  }
  const next = current.indexOf('\n## ', start + SECTION_TITLE.length);
  const end = next === -1 ? current.length : next + 1;
  writeFileSync(RESULTS_PATH, current.slice(0, start) + section + (next === -1 ? '' : '\n') + current.slice(end));
}

async function main(): Promise<void> {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const brown = loadBrownPassages(BROWN_PASSAGES);
  const sotu = loadSotuPassages(SOTU_PASSAGES);

  console.log(`starting the USE embedder with ${args.threads} thread(s)…`);
  const embedder = await createUseEmbedder({ threads: args.threads });
  const reports: DatasetReport[] = [];
  try {
    const cache = new VectorCache(args.cache, embedder.model);
    reports.push(await runDataset('Brown', brown, embedder, cache));
    const brownReport = reports[0] as DatasetReport;
    writeFileSync(MODEL_PATH, serializeClassifierModel(brownReport.model, 6));
    console.log(`  wrote ${MODEL_PATH}`);
    reports.push(await runDataset('SOTU', sotu, embedder, cache));
  } finally {
    await embedder.destroy();
  }

  const totalMs = Date.now() - started;
  console.log(`\ntotal ${seconds(totalMs)}`);
  if (args.results) {
    writeResults(resultsSection(reports, totalMs, args.threads, embedder.model));
    console.log(`updated "${SECTION_TITLE}" in ${RESULTS_PATH}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
