/**
 * Tenant classifiers through the API on the embedded profile: train from labelled Brown
 * Corpus passages (real text, real embeddings: every candidate), read held-out metrics,
 * predict; a worse version is kept but not promoted; bad input and non-admins are refused;
 * documents show the workspace's classifier once it is chosen as the default.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBrownPassages } from '../bench/datasets.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

function examples(perLabel: number, labels: string[]): { text: string; label: string }[] {
  const passages = loadBrownPassages({ maxWords: 60, minWords: 30, maxPassagesPerDocument: 2 });
  return labels.flatMap((label) =>
    passages
      .filter((p) => p.label === label)
      .slice(0, perLabel)
      .map((p) => ({ text: p.text, label })),
  );
}

test('train a tenant classifier, read its metrics, predict, and promote only a better version', async (t) => {
  const { api } = await startServer(t, { dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } });
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const good = examples(16, ['press', 'fiction', 'religion']);

  assert.equal((await api.post('/api/v1/ml/classifiers', { name: 'genre', examples: good }, member.accessToken)).status, 403);
  const one = await api.post('/api/v1/ml/classifiers', { name: 'genre', examples: good.filter((e) => e.label === 'press') }, owner.accessToken);
  assert.equal(one.status, 400);
  assert.equal(one.body.error.code, 'too_few_labels');
  assert.equal((await api.post('/api/v1/ml/classifiers', { name: 'genre', examples: [{ text: 'x', label: 'a' }] }, owner.accessToken)).status, 400);

  const created = await api.post('/api/v1/ml/classifiers', { name: 'genre', examples: good }, owner.accessToken);
  assert.equal(created.status, 202, created.text);
  const v1 = await eventually(
    async () => {
      const r = await api.get(`/api/v1/ml/classifiers/${created.body.id}`, owner.accessToken);
      assert.equal(r.body.status, 'ready', r.text);
      assert.equal(r.body.stage, 'final', r.text);
      return r.body;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  assert.equal(v1.active, true);
  assert.deepEqual(v1.labels, ['fiction', 'press', 'religion']);
  assert.ok(v1.metrics.accuracy > 1 / 3, `held-out accuracy ${v1.metrics.accuracy} beats chance`);
  assert.ok(v1.metrics.macroF1 > 0 && v1.metrics.macroF1 <= 1, 'v1.metrics.macroF1 > 0 && v1.metrics.macroF1 <= 1');
  // With the sentence encoder, all three candidates were trained and one was kept.
  assert.deepEqual(v1.candidates.map((c: { name: string }) => c.name).sort(), ['combined', 'embedding', 'ngrams']);
  assert.ok(['combined', 'embedding', 'ngrams'].includes(v1.selected), "['combined', 'embedding', 'ngrams'].includes(v1.selected)");

  const p = await api.post(`/api/v1/ml/classifiers/${created.body.id}/predict`, { text: 'The senator told reporters on Tuesday that the bill would pass the legislature.' }, member.accessToken);
  assert.equal(p.status, 200, p.text);
  assert.ok(['fiction', 'press', 'religion'].includes(p.body.label), "['fiction', 'press', 'religion'].includes(p.body.label)");
  assert.ok(p.body.confidence > 0 && p.body.confidence <= 1, 'p.body.confidence > 0 && p.body.confidence <= 1');

  // Shuffled labels learn nothing: the new version is kept, evaluated, and not promoted.
  const shuffled = good.map((e, i) => ({ text: e.text, label: good[(i * 7) % good.length]!.label }));
  const v2req = await api.post('/api/v1/ml/classifiers', { name: 'genre', examples: shuffled }, owner.accessToken);
  assert.equal(v2req.body.version, 2);
  const v2 = await eventually(
    async () => {
      const r = await api.get(`/api/v1/ml/classifiers/${v2req.body.id}`, owner.accessToken);
      assert.ok(['ready', 'rejected'].includes(r.body.status) && r.body.stage === 'final', r.text);
      return r.body;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  if (v2.metrics.macroF1 < v1.metrics.macroF1) {
    assert.equal(v2.status, 'rejected');
    assert.equal((await api.get(`/api/v1/ml/classifiers/${created.body.id}`, owner.accessToken)).body.active, true);
  }
  // Documents show the workspace's classifier once it is the workspace default.
  assert.equal((await api.put('/api/v1/ml/settings', { defaultClassifier: 'genre' }, member.accessToken)).status, 403);
  assert.equal((await api.put('/api/v1/ml/settings', { defaultClassifier: 'nonexistent' }, owner.accessToken)).status, 404);
  const chosen = await api.put('/api/v1/ml/settings', { defaultClassifier: 'genre' }, owner.accessToken);
  assert.equal(chosen.status, 200, chosen.text);
  assert.equal((await api.get('/api/v1/ml/settings', member.accessToken)).body.defaultClassifier, 'genre');
  const doc = await api.post('/api/v1/documents', { title: 'Sermon', text: 'The church gathered to pray, and the minister spoke of faith, grace and the Lord.' }, owner.accessToken);
  const cls = await eventually(
    async () => {
      const r = await api.get(`/api/v1/documents/${doc.body.id}/classification`, owner.accessToken);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.model, 'tenant:genre', r.text);
      return r.body;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  assert.ok(['fiction', 'press', 'religion'].includes(cls.predicted), "['fiction', 'press', 'religion'].includes(cls.predicted)");
  assert.ok(cls.label === null || cls.label === cls.predicted, 'cls.label === null || cls.label === cls.predicted');
  assert.deepEqual(cls.all.map((c: { model: string }) => c.model).sort(), ['default', 'tenant:genre']);
  // Another tenant cannot see either version.
  const other = await api.signup('Other');
  assert.equal((await api.get(`/api/v1/ml/classifiers/${created.body.id}`, other.accessToken)).status, 404);
  assert.equal((await api.post(`/api/v1/ml/classifiers/${created.body.id}/predict`, { text: 'hello' }, other.accessToken)).status, 404);
  assert.equal((await api.get('/api/v1/ml/settings', other.accessToken)).body.defaultClassifier, null);
  assert.equal((await api.put('/api/v1/ml/settings', { defaultClassifier: 'genre' }, other.accessToken)).status, 404);
});
