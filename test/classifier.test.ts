// Softmax document classifier: metrics, training (split, determinism, validation), the model
// format, the shipped default model, and a real-text run (Brown Corpus, hashed bag of words —
// no embedder needed) that must clearly beat the majority-class baseline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BROWN_GENRES, chunkSentences, detokenizeBrown, labelCounts, loadBrownPassages, loadSotuPassages, sotuEra, splitSentences } from '../bench/datasets.js';
import { fnv1a, hashingFeatures } from '../ml-workers/classifier/hashing-features.js';
import { accuracy, confusion, macroF1, majorityBaseline, majorityLabel, perLabelScores } from '../ml-workers/classifier/metrics.js';
import type { ClassifierModel } from '../ml-workers/classifier/model.js';
import { loadClassifierModel, parseClassifierModel, predict, roundSignificant, serializeClassifierModel } from '../ml-workers/classifier/model.js';
import type { HeldOutEvaluation, TrainingExample } from '../ml-workers/classifier/train.js';
import { createRng, selectL2, splitHeldOut, trainClassifier } from '../ml-workers/classifier/train.js';

const DEFAULT_MODEL = fileURLToPath(new URL('../ml-workers/classifier/default-model.json', import.meta.url));

/** Gaussian(ish) clusters: `perLabel` points around a random centre per label, L2-normalised. */
function clusters(opts: { labels: number; perLabel: number | number[]; dims: number; spread: number; seed: number; groupSize?: number }): TrainingExample[] {
  const rng = createRng(opts.seed);
  const gauss = (): number => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const out: TrainingExample[] = [];
  for (let c = 0; c < opts.labels; c++) {
    const centre = Array.from({ length: opts.dims }, gauss);
    const count = Array.isArray(opts.perLabel) ? (opts.perLabel[c] as number) : opts.perLabel;
    for (let i = 0; i < count; i++) {
      const v = Float32Array.from(centre, (m) => m + opts.spread * gauss());
      const norm = Math.hypot(...v);
      for (let j = 0; j < v.length; j++) v[j] = (v[j] as number) / norm;
      const ex: TrainingExample = { vector: v, label: `class-${c}` };
      if (opts.groupSize) ex.group = `c${c}-g${Math.floor(i / opts.groupSize)}`;
      out.push(ex);
    }
  }
  return out;
}

function randomUnitVector(dims: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const v = Float32Array.from({ length: dims }, () => rng() - 0.5);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

describe('metrics', () => {
  const truth = ['a', 'a', 'a', 'b', 'b', 'c'];
  const predicted = ['a', 'a', 'b', 'b', 'c', 'c'];

  it('accuracy counts exact matches', () => {
    assert.equal(accuracy(truth, predicted), 4 / 6);
    assert.equal(accuracy(['x'], ['x']), 1);
    assert.throws(() => accuracy(['a'], ['a', 'b']), /1 true labels but 2 predictions/);
    assert.throws(() => accuracy([], []), /no examples/);
  });

  it('confusion matrix rows are truth, columns predictions', () => {
    assert.deepEqual(confusion(truth, predicted), {
      labels: ['a', 'b', 'c'],
      matrix: [
        [2, 1, 0],
        [0, 1, 1],
        [0, 0, 1],
      ],
    });
    assert.deepEqual(confusion(['b'], ['b'], ['b', 'a']).matrix, [
      [1, 0],
      [0, 0],
    ]);
    assert.throws(() => confusion(['z'], ['a'], ['a']), /"z" is not in the label list/);
  });

  it('per-label scores and macro-F1 match hand-computed values', () => {
    // a: tp 2, fp 0, fn 1 → P 1, R 2/3, F1 0.8; b: tp 1, fp 1, fn 1 → 0.5; c: tp 1, fp 1, fn 0 → 2/3.
    const scores = perLabelScores(truth, predicted);
    assert.deepEqual(
      scores.map((s) => s.label),
      ['a', 'b', 'c'],
    );
    assert.equal(scores[0]?.precision, 1);
    assert.ok(Math.abs((scores[0]?.recall as number) - 2 / 3) < 1e-12, 'Math.abs((scores[0]?.recall as number) - 2 / 3) < 1e-12');
    assert.ok(Math.abs((scores[0]?.f1 as number) - 0.8) < 1e-12, 'Math.abs((scores[0]?.f1 as number) - 0.8) < 1e-12');
    assert.equal(scores[1]?.f1, 0.5);
    assert.ok(Math.abs((scores[2]?.f1 as number) - 2 / 3) < 1e-12, 'Math.abs((scores[2]?.f1 as number) - 2 / 3) < 1e-12');
    assert.equal(scores[0]?.support, 3);
    assert.ok(Math.abs(macroF1(truth, predicted) - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12, 'Math.abs(macroF1(truth, predicted) - (0.8 + 0.5 + 2 / 3) / 3) < 1e-12');
    // No correct prediction at all: every F1 is 0 (zero division → 0).
    assert.equal(macroF1(['a', 'a'], ['b', 'b']), 0);
    // A label with no true or predicted example counts as 0 when it is named explicitly.
    assert.equal(macroF1(['a', 'b'], ['a', 'b'], ['a', 'b', 'c']), 2 / 3);
  });

  it('majority baseline predicts the most frequent training label', () => {
    assert.equal(majorityLabel(['b', 'a', 'b', 'a']), 'a'); // tie → first in label order
    const baseline = majorityBaseline(['x', 'y', 'y'], ['y', 'x', 'y', 'z'], ['x', 'y', 'z']);
    assert.equal(baseline.label, 'y');
    assert.equal(baseline.accuracy, 0.5);
    // y: tp 2, fp 2, fn 0 → F1 2/3; x and z: 0.
    assert.ok(Math.abs(baseline.macroF1 - 2 / 9) < 1e-12, 'Math.abs(baseline.macroF1 - 2 / 9) < 1e-12');
  });
});

describe('trainClassifier on synthetic clusters', () => {
  it('separable clusters are classified almost perfectly, and the model predicts its own training points', () => {
    const examples = clusters({ labels: 4, perLabel: 60, dims: 32, spread: 0.3, seed: 11 });
    const model = trainClassifier(examples, { embedderModel: 'synthetic', seed: 5 });
    assert.deepEqual(model.labels, ['class-0', 'class-1', 'class-2', 'class-3']);
    assert.equal(model.dimensions, 32);
    assert.equal(model.metrics.heldOut, 48); // 20 % of 60 per label
    assert.equal(model.metrics.trainedOn, 240);
    assert.ok(model.metrics.accuracy >= 0.98, `held-out accuracy ${model.metrics.accuracy}`);
    assert.ok(model.metrics.macroF1 >= 0.98, `held-out macro-F1 ${model.metrics.macroF1}`);
    const p = predict(model, (examples[70] as TrainingExample).vector);
    assert.equal(p.label, 'class-1');
    assert.ok(p.confidence > 0.5, 'p.confidence > 0.5');
    const total = Object.values(p.scores).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-9, 'Math.abs(total - 1) < 1e-9');
    assert.equal(p.confidence, Math.max(...Object.values(p.scores)));
  });

  it('noisy imbalanced clusters: class weights keep the rare class recognised', () => {
    const examples = clusters({ labels: 3, perLabel: [300, 300, 24], dims: 16, spread: 0.9, seed: 3 });
    const evals: HeldOutEvaluation[] = [];
    const model = trainClassifier(examples, { embedderModel: 'synthetic', seed: 2, onHeldOut: (e) => evals.push(e) });
    const evaluation = evals[0] as HeldOutEvaluation;
    const rare = perLabelScores(evaluation.truth, evaluation.predicted, model.labels).find((s) => s.label === 'class-2');
    assert.ok(rare && rare.recall >= 0.6, `rare-class recall ${rare?.recall}`);
    assert.ok(model.metrics.macroF1 > 0.7, `macro-F1 ${model.metrics.macroF1}`);
  });

  it('is deterministic for a seed, and the seed changes the split', () => {
    const examples = clusters({ labels: 3, perLabel: 40, dims: 24, spread: 0.8, seed: 9 });
    const now = (): Date => new Date('2024-01-01T00:00:00Z');
    const a = trainClassifier(examples, { embedderModel: 'synthetic', seed: 42, now });
    const b = trainClassifier(examples, { embedderModel: 'synthetic', seed: 42, now });
    assert.deepEqual(a, b);
    const splitA = splitHeldOut(examples, { seed: 42 });
    const splitC = splitHeldOut(examples, { seed: 43 });
    assert.deepEqual(splitA, splitHeldOut(examples, { seed: 42 }));
    assert.notDeepEqual(splitA.heldOut, splitC.heldOut);
  });

  it('selectL2 scores every candidate on the training side of the split only', () => {
    const examples = clusters({ labels: 3, perLabel: 30, dims: 8, spread: 1.2, seed: 8, groupSize: 3 });
    const selection = selectL2(examples, { seed: 3, grid: [0.01, 1, 100] });
    assert.deepEqual(
      selection.candidates.map((c) => c.l2),
      [0.01, 1, 100],
    );
    const best = Math.max(...selection.candidates.map((c) => c.macroF1));
    assert.equal(selection.candidates.find((c) => c.l2 === selection.l2)?.macroF1, best);
    // Huge penalty → near-constant scores → clearly worse than a sensible one.
    assert.ok((selection.candidates[2]?.macroF1 as number) < best, '(selection.candidates[2]?.macroF1 as number) < best');
    assert.throws(() => selectL2(examples, { grid: [] }), /empty grid/);
  });

  it('survives a JSON round trip with rounded weights and still validates', () => {
    const examples = clusters({ labels: 3, perLabel: 20, dims: 8, spread: 0.3, seed: 1 });
    const model = trainClassifier(examples, { embedderModel: 'synthetic', seed: 1 });
    const loaded = parseClassifierModel(JSON.parse(serializeClassifierModel(model)));
    assert.equal(loaded.labels.length, 3);
    const v = (examples[0] as TrainingExample).vector;
    const before = predict(model, v);
    const after = predict(loaded, v);
    assert.equal(after.label, before.label);
    assert.ok(Math.abs(after.confidence - before.confidence) < 1e-4, 'Math.abs(after.confidence - before.confidence) < 1e-4');
    assert.equal(roundSignificant(1.23456789, 6), 1.23457);
    assert.equal(roundSignificant(-0.000123456789, 3), -0.000123);
  });
});

describe('held-out split', () => {
  it('is stratified: every label with ≥ 2 examples is on both sides', () => {
    const examples = [...['a', 'a'].map((label) => ({ label })), ...Array.from({ length: 50 }, () => ({ label: 'b' })), ...Array.from({ length: 7 }, () => ({ label: 'c' })), { label: 'd' }];
    for (let seed = 1; seed <= 20; seed++) {
      const { train, heldOut } = splitHeldOut(examples, { seed, heldOutFraction: 0.2 });
      assert.equal(train.length + heldOut.length, examples.length);
      assert.equal(new Set([...train, ...heldOut]).size, examples.length);
      const heldLabels = heldOut.map((i) => examples[i]?.label);
      const trainLabels = train.map((i) => examples[i]?.label);
      for (const label of ['a', 'b', 'c']) {
        assert.ok(heldLabels.includes(label), `seed ${seed}: no held-out "${label}"`);
        assert.ok(trainLabels.includes(label), `seed ${seed}: no training "${label}"`);
      }
      assert.ok(trainLabels.includes('d') && !heldLabels.includes('d'), "trainLabels.includes('d') && !heldLabels.includes('d')");
      assert.equal(heldLabels.filter((l) => l === 'b').length, 10);
    }
  });

  it('never puts one group on both sides', () => {
    const examples = clusters({ labels: 5, perLabel: [40, 33, 12, 60, 9], dims: 4, spread: 1, seed: 4, groupSize: 3 });
    // Mix in a few groups with several labels.
    examples.slice(0, 6).forEach((ex) => (ex.group = 'mixed-1'));
    (examples[40] as TrainingExample).group = 'mixed-1';
    for (let seed = 1; seed <= 20; seed++) {
      const { train, heldOut } = splitHeldOut(examples, { seed, heldOutFraction: 0.25 });
      const trainGroups = new Set(train.map((i) => examples[i]?.group));
      for (const i of heldOut) assert.ok(!trainGroups.has(examples[i]?.group), `seed ${seed}: group ${examples[i]?.group} leaked`);
      for (const label of new Set(examples.map((e) => e.label))) {
        assert.ok(
          heldOut.some((i) => examples[i]?.label === label),
          `seed ${seed}: no held-out "${label}"`,
        );
        assert.ok(
          train.some((i) => examples[i]?.label === label),
          `seed ${seed}: no training "${label}"`,
        );
      }
    }
  });

  it('refuses a grouped split that would have to break a group', () => {
    const examples = [
      { label: 'a', group: 'g1' },
      { label: 'a', group: 'g2' },
      { label: 'b', group: 'g3' },
      { label: 'b', group: 'g3' },
    ];
    assert.throws(() => splitHeldOut(examples), /cannot split label "b".*1 group\(s\) \(g3\)/);
    assert.throws(() => splitHeldOut(examples, { heldOutFraction: 1 }), /heldOutFraction must be in \(0, 1\)/);
  });
});

describe('input validation', () => {
  const v = (...xs: number[]): Float32Array => Float32Array.from(xs);
  const opts = { embedderModel: 'synthetic' };

  it('rejects too few labels or examples with a clear message', () => {
    assert.throws(() => trainClassifier([], opts), /no training examples/);
    assert.throws(
      () =>
        trainClassifier(
          [
            { vector: v(1, 0), label: 'a' },
            { vector: v(0, 1), label: 'a' },
          ],
          opts,
        ),
      /at least 2 distinct labels, got 1/,
    );
    assert.throws(
      () =>
        trainClassifier(
          [
            { vector: v(1, 0), label: 'a' },
            { vector: v(0, 1), label: 'a' },
            { vector: v(0, 1), label: 'b' },
          ],
          opts,
        ),
      /at least 2 examples per label; too few for "b" \(1\)/,
    );
  });

  it('rejects inconsistent dimensions and non-finite values', () => {
    const base = [
      { vector: v(1, 0), label: 'a' },
      { vector: v(1, 0), label: 'a' },
      { vector: v(0, 1), label: 'b' },
    ];
    assert.throws(() => trainClassifier([...base, { vector: v(0, 1, 0), label: 'b' }], opts), /inconsistent dimensions: example 3 has 3/);
    assert.throws(() => trainClassifier([...base, { vector: v(0, Number.NaN), label: 'b' }], opts), /example 3 has a non-finite value at index 1/);
    assert.throws(() => trainClassifier([...base, { vector: v(0, Infinity), label: 'b' }], opts), /non-finite/);
    assert.throws(() => trainClassifier([...base, { vector: v(0, 1), label: '' }], opts), /empty label/);
    assert.throws(() => trainClassifier([...base, { vector: v(0, 1), label: 'b' }], { ...opts, epochs: 0 }), /epochs must be a positive integer/);
    assert.throws(() => trainClassifier([...base, { vector: v(0, 1), label: 'b' }], { embedderModel: '' }), /embedderModel is required/);
  });

  it('model validation rejects malformed JSON models, predict rejects wrong dimensions', () => {
    const model: ClassifierModel = {
      version: 1,
      kind: 'softmax',
      embedderModel: 'm',
      labels: ['a', 'b'],
      dimensions: 2,
      weights: [
        [1, 0],
        [0, 1],
      ],
      bias: [0, 0],
      metrics: { accuracy: 1, macroF1: 1, heldOut: 2, trainedOn: 4 },
      trainedAt: '2024-01-01T00:00:00.000Z',
    };
    assert.equal(parseClassifierModel(model).labels[1], 'b');
    assert.equal(predict(model, v(0.2, 0.9)).label, 'b');
    assert.throws(() => predict(model, v(1, 2, 3)), /3 dimensions, model expects 2/);
    assert.throws(() => parseClassifierModel({ ...model, weights: [[1, 0]] }), /weights: expected 2 rows/);
    assert.throws(() => parseClassifierModel({ ...model, weights: [[1, 0], [0]] }), /weights\.1: expected 2 columns/);
    assert.throws(() => parseClassifierModel({ ...model, bias: [0] }), /bias: expected 2 entries/);
    assert.throws(() => parseClassifierModel({ ...model, labels: ['a', 'a'] }), /labels must be unique/);
    assert.throws(() => parseClassifierModel({ ...model, version: 2 }), /version/);
    assert.throws(() => parseClassifierModel('nope'), /invalid classifier model/);
  });
});

describe('default model', () => {
  it('loads, validates and predicts a label of its label set for a random unit vector', async () => {
    const model = await loadClassifierModel(DEFAULT_MODEL);
    assert.equal(model.dimensions, 512);
    assert.deepEqual(model.labels, [...new Set(Object.values(BROWN_GENRES))].sort());
    assert.ok(model.metrics.heldOut > 0 && model.metrics.trainedOn > model.metrics.heldOut, 'model.metrics.heldOut > 0 && model.metrics.trainedOn > model.metrics.heldOut');
    for (let seed = 1; seed <= 3; seed++) {
      const p = predict(model, randomUnitVector(512, seed));
      assert.ok(model.labels.includes(p.label), 'model.labels.includes(p.label)');
      assert.ok(p.confidence > 0 && p.confidence <= 1, 'p.confidence > 0 && p.confidence <= 1');
    }
  });
});

describe('datasets and hashing features', () => {
  it('detokenizes tagged Brown sentences', () => {
    assert.equal(
      detokenizeBrown("\t``/`` Only/rb a/at handful/nn ,/, (/( e.g./rb 1-1/2/cd )/) ,/, was/bedz received/vbn ''/'' ;/. **zg/nn ok/uh ./."),
      '"Only a handful, (e.g. 1-1/2), was received"; ok.',
    );
    assert.deepEqual(splitSentences('One. Two? "Three," he said. 4 more! end'), ['One.', 'Two?', '"Three," he said.', '4 more! end']);
  });

  it('packs sentences into bounded passages', () => {
    const sentence = (n: number): string => Array.from({ length: n }, (_, i) => `w${i}`).join(' ');
    const passages = chunkSentences([sentence(30), sentence(30), sentence(50), sentence(250), sentence(10)], { minWords: 40, maxWords: 100 });
    assert.deepEqual(
      passages.map((p) => p.split(' ').length),
      [60, 50, 100, 100, 50 + 10],
    );
  });

  it('SOTU passages carry an era label and a per-address document id', () => {
    assert.equal(sotuEra(1790), '1790-1860');
    assert.equal(sotuEra(1933), '1933-1980');
    assert.throws(() => sotuEra(1700), /no SOTU era/);
    const passages = loadSotuPassages({ minWords: 60, maxWords: 120, maxPassagesPerDocument: 2 });
    const counts = labelCounts(passages);
    assert.deepEqual(Object.keys(counts), ['1790-1860', '1861-1932', '1933-1980', '1981-2021']);
    for (const [label, count] of Object.entries(counts)) assert.ok(count >= 60, `${label}: ${count}`);
    assert.ok(
      passages.every((p) => p.words >= 60 && p.words <= 120),
      'passages.every((p) => p.words >= 60 && p.words <= 120)',
    );
    assert.equal(new Set(passages.map((p) => p.documentId)).size, 233);
  });

  it('hashing features are deterministic and L2-normalised', () => {
    assert.equal(fnv1a('a'), 0xe40c292c);
    const a = hashingFeatures('The jury said, the jury did.', { dimensions: 64 });
    assert.deepEqual(a, hashingFeatures('the JURY said the jury did', { dimensions: 64 }));
    assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-6, 'Math.abs(Math.hypot(...a) - 1) < 1e-6');
    assert.deepEqual(hashingFeatures('...', { dimensions: 8 }), new Float32Array(8));
    assert.equal(hashingFeatures('x y', { dimensions: 16, bigrams: true }).length, 16);
  });

  it('Brown genres from hashed bag-of-words beat the majority-class baseline by a clear margin', () => {
    const passages = loadBrownPassages({ minWords: 100, maxWords: 200, maxPassagesPerDocument: 4 });
    const examples: TrainingExample[] = passages.map((p) => ({
      vector: hashingFeatures(p.text, { dimensions: 1024 }),
      label: p.label,
      group: p.documentId,
    }));
    let evaluation: HeldOutEvaluation | undefined;
    const model = trainClassifier(examples, { embedderModel: 'hashing-1024', seed: 1, l2: 0.3, onHeldOut: (e) => (evaluation = e) });
    assert.ok(evaluation, 'evaluation is set');
    // Grouped by document: no Brown file has passages on both sides.
    const trainDocs = new Set(evaluation.split.train.map((i) => passages[i]?.documentId));
    assert.ok(
      evaluation.split.heldOut.every((i) => !trainDocs.has(passages[i]?.documentId)),
      'evaluation.split.heldOut.every((i) => !trainDocs.has(passages[i]?.documentId))',
    );
    const baseline = majorityBaseline(
      evaluation.split.train.map((i) => passages[i]?.label as string),
      evaluation.truth,
      model.labels,
    );
    const report = `accuracy ${model.metrics.accuracy.toFixed(3)} vs baseline ${baseline.accuracy.toFixed(3)}, macro-F1 ${model.metrics.macroF1.toFixed(3)} vs ${baseline.macroF1.toFixed(3)}`;
    assert.ok(model.metrics.accuracy >= baseline.accuracy + 0.2, report);
    assert.ok(model.metrics.macroF1 >= baseline.macroF1 + 0.3, report);
    assert.equal(model.metrics.heldOut, evaluation.split.heldOut.length);
  });
});
