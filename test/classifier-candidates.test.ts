/**
 * Candidate training and selection (hashed n-grams, embedding head, both combined), the
 * n-gram features, the stored model format, and the label policy (text and confidence
 * floors, hysteresis). Real text (Brown Corpus); the "embedding" here is a small hashed bag
 * of words, so no sentence encoder is needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EMBEDDING_MARGIN, trainCandidates, splitThreeWays } from '../ml-workers/classifier/candidates.js';
import { loadBrownPassages } from '../bench/datasets.js';
import { hashingFeatures } from '../ml-workers/classifier/hashing-features.js';
import { countWords, decideShownLabel, labelName, LABEL_POLICY } from '../ml-workers/classifier/label-policy.js';
import type { Prediction } from '../ml-workers/classifier/model.js';
import { DEFAULT_NGRAM_SPEC, ngramDimensionsFor, ngramVector } from '../ml-workers/classifier/ngram-features.js';
import { EMBEDDING_MAX_CHARS, embeddingText, LEGACY_EMBEDDING_CHARS, loadTenantModel } from '../ml-workers/classifier/tenant-model.js';

const passages = loadBrownPassages({ maxWords: 80, minWords: 40, maxPassagesPerDocument: 2 });
function sample(labels: string[], perLabel: number) {
  return labels.flatMap((label) => passages.filter((p) => p.label === label).slice(0, perLabel));
}

describe('n-gram features', () => {
  it('are deterministic, sorted, normalised per block, and bounded', () => {
    const spec = DEFAULT_NGRAM_SPEC;
    const a = ngramVector('The quick brown fox jumps over the lazy dog. The dog sleeps.', spec);
    const b = ngramVector('The quick brown fox jumps over the lazy dog. The dog sleeps.', spec);
    assert.deepEqual(a, b);
    for (let k = 1; k < a.indices.length; k++) assert.ok(a.indices[k]! > a.indices[k - 1]!, 'a.indices[k]! > a.indices[k - 1]!');
    assert.ok(
      a.indices.every((i) => i >= 0 && i < spec.dimensions),
      'a.indices.every((i) => i >= 0 && i < spec.dimensions)',
    );
    const norm = Math.hypot(...a.values);
    assert.ok(norm > 1 && norm <= Math.SQRT2 + 1e-6, `norm ${norm}`);
    assert.equal(ngramVector('  ... !!! ', spec).indices.length, 0);
    // Only the first maxChars characters count.
    const small = { ...spec, maxChars: 10 };
    assert.deepEqual(ngramVector('abcdefghij and much more text after it', small), ngramVector('abcdefghij', small));
    // Case does not matter; a different word does.
    assert.deepEqual(ngramVector('Invoice overdue', spec), ngramVector('invoice OVERDUE', spec));
    assert.notDeepEqual(ngramVector('invoice overdue', spec), ngramVector('invoice paid', spec));
    assert.equal(ngramDimensionsFor(2), 1 << 16);
    assert.equal(ngramDimensionsFor(50), 1 << 14);
  });
});

describe('trainCandidates', () => {
  const data = sample(['fiction', 'learned', 'press'], 40);
  const texts = data.map((p) => p.text);
  const labels = data.map((p) => p.label);
  const groups = data.map((p) => p.documentId);
  const vectors = texts.map((t) => hashingFeatures(embeddingText(t), { dimensions: 64 }));

  it('trains every candidate on one split, reports each one’s validation and test metrics, and keeps the best on validation', () => {
    const r = trainCandidates({ texts, labels, groups, vectors, embedderModel: 'hashed-64', seed: 7 });
    assert.deepEqual(r.candidates.map((c) => c.name).sort(), ['combined', 'embedding', 'ngrams']);
    assert.equal(r.split.train + r.split.validation + r.split.test, data.length);
    assert.ok(r.split.validation > 0 && r.split.test > 0, 'r.split.validation > 0 && r.split.test > 0');
    for (const c of r.candidates) {
      for (const m of [c.validation, c.test!]) {
        assert.ok(m.accuracy >= 0 && m.accuracy <= 1 && m.macroF1 >= 0 && m.macroF1 <= 1, JSON.stringify(c));
      }
      assert.ok(c.l2 > 0, 'c.l2 > 0');
    }
    const selected = r.candidates.filter((c) => c.selected);
    assert.equal(selected.length, 1);
    assert.equal(selected[0]!.name, r.selected);
    // The best on validation, where a candidate reading embeddings must clear the n-gram one by the margin.
    const ngrams = r.candidates.find((c) => c.name === 'ngrams')!;
    const eligible = r.candidates.filter((c) => c.name === 'ngrams' || c.validation.macroF1 >= ngrams.validation.macroF1 + EMBEDDING_MARGIN);
    assert.equal(selected[0]!.validation.macroF1, Math.max(...eligible.map((c) => c.validation.macroF1)));
    // The stored metrics are the selected candidate's test metrics; the model is refitted on everything.
    assert.equal(r.model.metrics.accuracy, selected[0]!.test!.accuracy);
    assert.equal(r.model.metrics.trainedOn, data.length);
    // Real text, three genres: far better than chance on the held-out test side.
    assert.ok(selected[0]!.test!.accuracy > 0.6, JSON.stringify(r.candidates));

    // The model survives JSON storage and predicts each kind of input it needs.
    const loaded = loadTenantModel(JSON.parse(JSON.stringify(r.model)));
    assert.equal(loaded.candidate, r.selected);
    assert.deepEqual(loaded.labels, ['fiction', 'learned', 'press']);
    const p = loaded.predict({ text: texts[0]!, vector: vectors[0] });
    assert.ok(Math.abs(Object.values(p.scores).reduce((a, b) => a + b, 0) - 1) < 1e-9, 'Math.abs(Object.values(p.scores).reduce((a, b) => a + b, 0) - 1) < 1e-9');
  });

  it('every candidate kind survives JSON storage and predicts its own training examples', () => {
    for (const name of ['ngrams', 'combined', 'embedding'] as const) {
      const r = trainCandidates({ texts, labels, groups, vectors, embedderModel: 'hashed-64', candidates: [name], seed: 3 });
      assert.equal(r.selected, name);
      assert.equal(r.candidates.length, 1);
      const loaded = loadTenantModel(JSON.parse(JSON.stringify(r.model)));
      assert.equal(loaded.embedderModel, name === 'ngrams' ? null : 'hashed-64');
      // The window of text its embedding reads is recorded, and predictions read the same.
      assert.equal(loaded.embeddingChars, name === 'ngrams' ? null : EMBEDDING_MAX_CHARS);
      if (name !== 'ngrams') {
        const legacy = JSON.parse(JSON.stringify(r.model)) as { embedding?: { chars?: number }; embeddingChars?: number };
        delete legacy.embeddingChars;
        if (legacy.embedding) delete legacy.embedding.chars;
        assert.equal(loadTenantModel(legacy).embeddingChars, LEGACY_EMBEDDING_CHARS, 'a model stored before the window was recorded reads 320 characters');
      }
      const correct = texts.filter((t, i) => loaded.predict({ text: t, vector: vectors[i] }).label === labels[i]).length;
      assert.ok(correct / texts.length > 0.8, `${name}: ${correct}/${texts.length} training examples right`);
      if (name !== 'ngrams') assert.throws(() => loaded.predict({ text: texts[0]! }), /needs the text embedding/);
    }
  });

  it('without embeddings only the n-gram candidate trains; tiny data has no test side', () => {
    const r = trainCandidates({ texts, labels, groups });
    assert.deepEqual(
      r.candidates.map((c) => c.name),
      ['ngrams'],
    );
    const tiny = sample(['fiction', 'press'], 2);
    const t = trainCandidates({ texts: tiny.map((p) => p.text), labels: tiny.map((p) => p.label) });
    assert.equal(t.split.test, 0);
    assert.equal(t.candidates[0]!.test, null);
    assert.throws(() => trainCandidates({ texts: ['a', 'b'], labels: ['x', 'x'] }), /at least 2 labels/);
    assert.throws(() => trainCandidates({ texts, labels, candidates: ['combined'] }), /need vectors/);
  });

  it('splits three ways without a group on two sides', () => {
    const s = splitThreeWays(labels, groups, 11);
    const side = new Map<string, string>();
    for (const [name, idx] of Object.entries(s)) {
      for (const i of idx) {
        const g = groups[i]!;
        assert.ok(!side.has(g) || side.get(g) === name, `group ${g} on two sides`);
        side.set(g, name);
      }
    }
  });
});

describe('label policy', () => {
  const p = (scores: Record<string, number>): Prediction => {
    const [label, confidence] = Object.entries(scores).sort((a, b) => b[1] - a[1])[0]!;
    return { label, confidence, scores };
  };
  const enough = LABEL_POLICY.minWords;

  it('shows nothing for too little text or an unsure model', () => {
    assert.deepEqual(decideShownLabel(0, p({ a: 0.99, b: 0.01 }), null), { label: null, reason: 'too_little_text' });
    assert.deepEqual(decideShownLabel(enough - 1, p({ a: 0.99, b: 0.01 }), 'a'), { label: null, reason: 'too_little_text' });
    assert.deepEqual(decideShownLabel(enough, p({ a: 0.5, b: 0.3, c: 0.2 }), null), { label: null, reason: 'low_confidence' });
    assert.deepEqual(decideShownLabel(enough, p({ a: 0.8, b: 0.2 }), null), { label: 'a', reason: null });
    assert.equal(countWords(''), 0);
    assert.equal(countWords('Two words.'), 2);
  });

  it('keeps the shown label through small changes and switches only on a clear win', () => {
    // Edits that move the probabilities a little around a tie: the label never flips.
    const drift = [
      { a: 0.62, b: 0.38 },
      { a: 0.48, b: 0.52 },
      { a: 0.44, b: 0.56 },
      { a: 0.51, b: 0.49 },
      { a: 0.43, b: 0.57 },
    ];
    let shown: string | null = null;
    const withHysteresis: (string | null)[] = [];
    const without: (string | null)[] = [];
    for (const scores of drift) {
      shown = decideShownLabel(enough, p(scores), shown).label;
      withHysteresis.push(shown);
      without.push(decideShownLabel(enough, p(scores), null).label);
    }
    assert.deepEqual(withHysteresis, ['a', 'a', 'a', 'a', 'a']);
    assert.notDeepEqual(without, withHysteresis, 'without the previous label the result flips');
    // A clear win switches; a label that stops fitting is dropped.
    assert.equal(decideShownLabel(enough, p({ a: 0.3, b: 0.7 }), 'a').label, 'b');
    assert.deepEqual(decideShownLabel(enough, p({ a: 0.35, b: 0.34, c: 0.31 }), 'a'), { label: null, reason: 'low_confidence' });
  });

  it('gives the built-in genres names people understand', () => {
    assert.equal(labelName('default', 'press'), 'News & commentary');
    assert.equal(labelName('default', 'learned'), 'Reports & research');
    assert.equal(labelName('tenant:topic', 'press'), 'press');
  });
});
