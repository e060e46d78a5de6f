/**
 * Training from a workspace's own documents: people with write access set and clear a
 * document's label for a classifier; a version with `source: "documents"` trains on the
 * labelled documents' current text. Labels follow document access and stay in their workspace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBrownPassages } from '../bench/datasets.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('labels on documents train a classifier; labelling needs write access', async (t) => {
  const { api } = await startServer(t, { dialect: 'pglite' });
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const other = await api.signup('Other');
  const passages = loadBrownPassages({ maxWords: 60, minWords: 30, maxPassagesPerDocument: 1 });
  const pick = (label: string) => passages.filter((p) => p.label === label).slice(0, 10);
  const docs: { id: string; label: string }[] = [];
  for (const label of ['religion', 'press']) {
    for (const [i, p] of pick(label).entries()) {
      const r = await api.post('/api/v1/documents', { title: `${label} ${i}`, text: p.text }, owner.accessToken);
      assert.equal(r.status, 201, r.text);
      docs.push({ id: r.body.id, label });
    }
  }
  const first = docs[0]!;

  // Access: a member without a grant does not see the document; a reader may not label it.
  assert.equal((await api.put(`/api/v1/documents/${first.id}/labels/topic`, { label: 'religion' }, member.accessToken)).status, 404);
  await api.put(`/api/v1/documents/${first.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  assert.equal((await api.put(`/api/v1/documents/${first.id}/labels/topic`, { label: 'religion' }, member.accessToken)).status, 403);
  assert.equal((await api.get(`/api/v1/documents/${first.id}/labels`, member.accessToken)).status, 200);
  assert.equal((await api.put(`/api/v1/documents/${first.id}/labels/topic`, { label: 'religion' }, other.accessToken)).status, 404);
  await api.put(`/api/v1/documents/${first.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const set = await api.put(`/api/v1/documents/${first.id}/labels/topic`, { label: 'religion' }, member.accessToken);
  assert.equal(set.status, 200, set.text);
  assert.equal(set.body.label, 'religion');
  assert.equal(set.body.labelledBy, member.user.id);

  // Validation: an empty label and a too-long classifier name are refused.
  assert.equal((await api.put(`/api/v1/documents/${first.id}/labels/topic`, { label: '  ' }, owner.accessToken)).status, 400);
  assert.equal((await api.put(`/api/v1/documents/${first.id}/labels/${'n'.repeat(101)}`, { label: 'x' }, owner.accessToken)).status, 400);

  // Too few labelled documents yet.
  const early = await api.post('/api/v1/ml/classifiers', { name: 'topic', source: 'documents' }, owner.accessToken);
  assert.equal(early.status, 400);
  assert.equal(early.body.error.code, 'too_few_examples');

  for (const d of docs) assert.equal((await api.put(`/api/v1/documents/${d.id}/labels/topic`, { label: d.label }, owner.accessToken)).status, 200);
  // A label set by mistake is cleared (and clearing twice says there is none).
  const stray = docs[docs.length - 1]!;
  assert.equal((await api.put(`/api/v1/documents/${stray.id}/labels/other-topic`, { label: 'x' }, owner.accessToken)).status, 200);
  assert.equal((await api.del(`/api/v1/documents/${stray.id}/labels/other-topic`, owner.accessToken)).status, 204);
  const twice = await api.del(`/api/v1/documents/${stray.id}/labels/other-topic`, owner.accessToken);
  assert.equal(twice.status, 404);
  assert.equal(twice.body.error.code, 'label_not_found');
  assert.deepEqual(
    (await api.get(`/api/v1/documents/${stray.id}/labels`, owner.accessToken)).body.labels.map((l: { classifier: string; label: string }) => [l.classifier, l.label]),
    [['topic', stray.label]],
  );
  // A deleted document no longer counts.
  assert.equal((await api.del(`/api/v1/documents/${stray.id}`, owner.accessToken)).status, 204);

  assert.equal((await api.post('/api/v1/ml/classifiers', { name: 'topic', source: 'documents' }, member.accessToken)).status, 403);
  const mixed = await api.post('/api/v1/ml/classifiers', { name: 'topic', source: 'documents', examples: [{ text: 'a', label: 'b' }] }, owner.accessToken);
  assert.equal(mixed.status, 400);
  const job = await api.post('/api/v1/ml/classifiers', { name: 'topic', source: 'documents' }, owner.accessToken);
  assert.equal(job.status, 202, job.text);
  const v = await eventually(
    async () => {
      const r = await api.get(`/api/v1/ml/classifiers/${job.body.id}`, owner.accessToken);
      assert.equal(r.body.status, 'ready', r.text);
      assert.equal(r.body.stage, 'final', r.text);
      return r.body;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  assert.equal(v.source, 'documents');
  assert.equal(v.examples, docs.length - 1);
  assert.deepEqual(v.labels, ['press', 'religion']);
  const p = await api.post(
    `/api/v1/ml/classifiers/${job.body.id}/predict`,
    { text: 'The senator told reporters on Tuesday that the city council would vote on the budget next week.' },
    owner.accessToken,
  );
  assert.equal(p.status, 200, p.text);
  assert.ok(['press', 'religion'].includes(p.body.label), "['press', 'religion'].includes(p.body.label)");

  // Documents indexed before the classifier existed are labelled by it once it is active,
  // unedited; and with the sentence encoder off (as here) the n-gram model still labels.
  const labelled = docs[1]!;
  await eventually(
    async () => {
      const c = await api.get(`/api/v1/documents/${labelled.id}/classification`, owner.accessToken);
      assert.equal(c.status, 200, c.text);
      assert.ok(
        (c.body.all as { model: string }[]).some((v) => v.model === 'tenant:topic'),
        `labelled by the workspace's classifier: ${c.text}`,
      );
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );

  // The other workspace cannot train from this one's labels.
  const theirs = await api.post('/api/v1/ml/classifiers', { name: 'topic', source: 'documents' }, other.accessToken);
  assert.equal(theirs.status, 400);
  assert.equal(theirs.body.error.code, 'too_few_examples');
});
