/**
 * The label a document shows (embedded profile, real sentence encoder, the built-in model):
 * none for an empty or short document, a readable name once there is enough text, and the
 * same label after a small edit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBrownPassages } from '../bench/datasets.js';
import { LABEL_POLICY } from '../ml-workers/classifier/label-policy.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('documents show a readable label only with enough text, and keep it through a small edit', async (t) => {
  const { api } = await startServer(t, { dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } });
  const owner = await api.signup();
  const classification = (id: string, check: (body: any) => void) =>
    eventually(
      async () => {
        const r = await api.get(`/api/v1/documents/${id}/classification`, owner.accessToken);
        assert.equal(r.status, 200, r.text);
        assert.notEqual(r.body.reason, 'not_classified', 'classified');
        check(r.body);
        return r.body;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );

  // A title and nothing else, and a single sentence: classified, but no label shown.
  const empty = await api.post('/api/v1/documents', { title: 'Quarterly planning' }, owner.accessToken);
  const e = await classification(empty.body.id, () => undefined);
  assert.equal(e.label, null);
  assert.equal(e.name, null);
  assert.equal(e.reason, 'too_little_text');
  const short = await api.post('/api/v1/documents', { title: 'Note', text: 'The jury said the election was conducted fairly.' }, owner.accessToken);
  assert.equal((await classification(short.body.id, () => undefined)).reason, 'too_little_text');

  // Two fiction passages of the Brown Corpus: enough text, a confident model, a readable name.
  const fiction = loadBrownPassages({ minWords: 100, maxWords: 200, maxPassagesPerDocument: 1 }).filter((p) => p.documentId === 'cn01' || p.documentId === 'cn02');
  const text = fiction.map((p) => p.text).join('\n');
  assert.ok(text.split(/\s+/).length > LABEL_POLICY.minWords, 'text.split(/\\s+/).length > LABEL_POLICY.minWords');
  const doc = await api.post('/api/v1/documents', { title: 'Chapter one', text }, owner.accessToken);
  const first = await classification(doc.body.id, (b) => assert.notEqual(b.label, null, JSON.stringify(b)));
  assert.equal(first.model, 'default');
  assert.equal(first.label, 'fiction');
  assert.equal(first.name, 'Fiction & stories');
  assert.equal(first.reason, null);

  // A small edit: a new version is classified, and the label stays.
  const edit = await api.put(`/api/v1/documents/${doc.body.id}/content`, { text: 'Then the report said the committee met on Monday.', mode: 'append' }, owner.accessToken);
  assert.equal(edit.status, 204, edit.text);
  const after = await classification(doc.body.id, (b) => assert.notEqual(b.version, first.version));
  assert.equal(after.label, first.label);
});
