/**
 * The classifier registry through the API (embedded profile, no sentence encoder, so versions
 * train the n-gram candidate): list versions with metrics and candidates, pin, roll back,
 * delete; predictions cached by content; everything confined to the workspace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/index.js';
import { loadBrownPassages } from '../bench/datasets.js';
import type { ApiClient, Session } from './helpers/api.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

function examples(perLabel: number, labels: string[], offset = 0): { text: string; label: string }[] {
  const passages = loadBrownPassages({ maxWords: 60, minWords: 30, maxPassagesPerDocument: 2 });
  return labels.flatMap((label) =>
    passages
      .filter((p) => p.label === label)
      .slice(offset, offset + perLabel)
      .map((p) => ({ text: p.text, label })),
  );
}

async function trained(api: ApiClient, s: Session, id: string) {
  return eventually(
    async () => {
      const r = await api.get(`/api/v1/ml/classifiers/${id}`, s.accessToken);
      assert.ok(['ready', 'rejected'].includes(r.body.status) && r.body.stage === 'final', r.text);
      return r.body;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

test('registry: versions with metrics, pin, roll back, delete, cached predictions, workspace isolation', async (t) => {
  const { api, url } = await startServer(t, { dialect: 'pglite' });
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const other = await api.signup('Other');
  const data = examples(24, ['press', 'religion']);

  const v1req = await api.post('/api/v1/ml/classifiers', { name: 'topic', examples: data }, owner.accessToken);
  assert.equal(v1req.status, 202, v1req.text);
  const v1 = await trained(api, owner, v1req.body.id);
  assert.equal(v1.active, true);
  assert.equal(v1.selected, 'ngrams');
  assert.equal(v1.examples, 48);
  assert.equal(v1.candidates.length, 1);
  assert.ok(v1.candidates[0].validation.macroF1 >= 0 && v1.candidates[0].test.accuracy >= 0, JSON.stringify(v1.candidates));
  assert.ok(v1.split.train > 0 && v1.split.validation > 0 && v1.split.test > 0, 'v1.split.train > 0 && v1.split.validation > 0 && v1.split.test > 0');

  // A version trained on shuffled labels: kept, listed, not promoted over a better one.
  const shuffled = data.map((e, i) => ({ text: e.text, label: data[(i * 7) % data.length]!.label }));
  const v2req = await api.post('/api/v1/ml/classifiers', { name: 'topic', examples: shuffled }, owner.accessToken);
  const v2 = await trained(api, owner, v2req.body.id);
  assert.equal(v2req.body.version, 2);

  const list = await api.get('/api/v1/ml/classifiers', member.accessToken);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.classifiers.length, 1);
  const topic = list.body.classifiers[0];
  assert.equal(topic.name, 'topic');
  assert.deepEqual(
    topic.versions.map((v: { version: number }) => v.version),
    [2, 1],
  );
  assert.ok(
    topic.versions.every((v: { metrics: { accuracy: number; macroF1: number } }) => v.metrics.accuracy >= 0 && v.metrics.macroF1 >= 0),
    'topic.versions.every((v: { metrics: { accuracy: number; macroF1: number } }) => v.metrics.accuracy…',
  );
  const activeBefore = topic.activeVersion;
  assert.equal(activeBefore, v2.active ? 2 : 1);

  // Pin the version that is not active: it becomes active and stays pinned.
  const notActive = v2.active ? v1 : v2;
  assert.equal((await api.post(`/api/v1/ml/classifiers/${notActive.id}/pin`, {}, member.accessToken)).status, 403);
  const pinned = await api.post(`/api/v1/ml/classifiers/${notActive.id}/pin`, {}, owner.accessToken);
  assert.equal(pinned.status, 200, pinned.text);
  assert.equal(pinned.body.active, true);
  assert.equal(pinned.body.pinned, true);
  let after = (await api.get('/api/v1/ml/classifiers', owner.accessToken)).body.classifiers[0];
  assert.equal(after.activeVersion, notActive.version);
  assert.equal(after.pinned, true);

  // Roll back: the version active before the pin comes back.
  const back = await api.post(`/api/v1/ml/classifiers/${notActive.id}/rollback`, {}, owner.accessToken);
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.version, activeBefore);
  after = (await api.get('/api/v1/ml/classifiers', owner.accessToken)).body.classifiers[0];
  assert.equal(after.activeVersion, activeBefore);

  // Predictions: the same text twice is answered from the cache the second time.
  const activeId = activeBefore === 1 ? v1.id : v2.id;
  const text = 'The congregation prayed together and the pastor read from the Gospel about grace and salvation.';
  const p1 = await api.post(`/api/v1/ml/classifiers/${activeId}/predict`, { text }, member.accessToken);
  assert.equal(p1.status, 200, p1.text);
  assert.equal(p1.body.cached, false);
  assert.ok(['press', 'religion'].includes(p1.body.label), "['press', 'religion'].includes(p1.body.label)");
  assert.ok(Math.abs(p1.body.scores.press + p1.body.scores.religion - 1) < 1e-6, 'Math.abs(p1.body.scores.press + p1.body.scores.religion - 1) < 1e-6');
  const p2 = await api.post(`/api/v1/ml/classifiers/${activeId}/predict`, { text }, member.accessToken);
  assert.equal(p2.body.cached, true);
  assert.deepEqual({ label: p2.body.label, confidence: p2.body.confidence }, { label: p1.body.label, confidence: p1.body.confidence });
  const p3 = await api.post(`/api/v1/ml/classifiers/${activeId}/predict`, { text: `${text} Amen.` }, member.accessToken);
  assert.equal(p3.body.cached, false);

  // Another workspace sees none of it and can change none of it.
  assert.deepEqual((await api.get('/api/v1/ml/classifiers', other.accessToken)).body.classifiers, []);
  for (const [method, path] of [
    ['GET', `/api/v1/ml/classifiers/${v1.id}`],
    ['POST', `/api/v1/ml/classifiers/${v1.id}/pin`],
    ['DELETE', `/api/v1/ml/classifiers/${v1.id}/pin`],
    ['POST', `/api/v1/ml/classifiers/${v1.id}/rollback`],
    ['DELETE', `/api/v1/ml/classifiers/${v1.id}`],
    ['POST', `/api/v1/ml/classifiers/${v1.id}/predict`],
  ] as const) {
    const r = await api.request(method, path, { token: other.accessToken, ...(method === 'POST' ? { json: path.endsWith('predict') ? { text } : {} } : {}) });
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
  }

  // The same registry through the SDK.
  const inactiveId = activeId === v1.id ? v2.id : v1.id;
  const sdk = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage({ ...owner, user: { ...owner.user, role: 'owner' } }) });
  assert.deepEqual(
    unwrap(await sdk.listClassifiers()).map((c) => [c.name, c.activeVersion]),
    [['topic', activeBefore]],
  );
  assert.equal(unwrap(await sdk.pinClassifier(inactiveId)).active, true);
  assert.equal(unwrap(await sdk.rollbackClassifier(inactiveId)).id, activeId);
  assert.equal(unwrap(await sdk.unpinClassifier(activeId)).pinned, false);
  assert.equal(unwrap(await sdk.predict(activeId, text)).cached, true);
  const refused = await sdk.deleteClassifier(activeId);
  assert.equal(refused.ok ? 'deleted' : refused.error.code, 'classifier_active');

  // Delete: the active version alone is refused; the other version goes; then the whole classifier.
  const activeNow = await api.del(`/api/v1/ml/classifiers/${activeId}`, owner.accessToken);
  assert.equal(activeNow.status, 409);
  assert.equal(activeNow.body.error.code, 'classifier_active');
  assert.equal((await api.del(`/api/v1/ml/classifiers/${inactiveId}`, member.accessToken)).status, 403);
  const gone = await api.del(`/api/v1/ml/classifiers/${inactiveId}`, owner.accessToken);
  assert.equal(gone.status, 200, gone.text);
  assert.equal(gone.body.deleted, 1);
  assert.equal((await api.get(`/api/v1/ml/classifiers/${inactiveId}`, owner.accessToken)).status, 404);
  assert.equal((await api.get('/api/v1/ml/classifiers', owner.accessToken)).body.classifiers[0].versions.length, 1);
  const nothing = await api.post(`/api/v1/ml/classifiers/${activeId}/rollback`, {}, owner.accessToken);
  assert.equal(nothing.status, 409);
  assert.equal(nothing.body.error.code, 'nothing_to_roll_back');
  const all = await api.del(`/api/v1/ml/classifiers/${activeId}?scope=classifier`, owner.accessToken);
  assert.equal(all.status, 200, all.text);
  assert.deepEqual((await api.get('/api/v1/ml/classifiers', owner.accessToken)).body.classifiers, []);
});
