/**
 * `GET /api/v1/documents/:id/classification` before any model has classified the document:
 * a reader gets 200 with no label (`reason: not_classified`, the model's fields null), while
 * a document that is missing, deleted or not shared with the caller is still 404.
 * The sentence encoder is off here, so the built-in model never labels anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from './helpers/server.js';

const UNCLASSIFIED = { label: null, name: null, reason: 'not_classified', predicted: null, confidence: null, model: null, version: null, classifiedAt: null, all: [] };

test('a readable document not classified yet answers 200 with label null; no access is still 404', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup('Pending Co');
  const path = (id: string) => `/api/v1/documents/${id}/classification`;

  const doc = await api.createDocument(owner, 'Fresh');
  const fresh = await api.get(path(doc.id), owner.accessToken);
  assert.equal(fresh.status, 200, fresh.text);
  assert.deepEqual(fresh.body, UNCLASSIFIED);

  // A reader it was shared with sees the same; a member it was not shared with does not learn it exists.
  const reader = await api.addUser(owner, 'member');
  const stranger = await api.addUser(owner, 'member');
  const share = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  assert.equal(share.status, 200, share.text);
  const shared = await api.get(path(doc.id), reader.accessToken);
  assert.equal(shared.status, 200, shared.text);
  assert.deepEqual(shared.body, UNCLASSIFIED);
  const hidden = await api.get(path(doc.id), stranger.accessToken);
  assert.equal(hidden.status, 404, hidden.text);
  assert.equal(hidden.body.error.code, 'document_not_found');

  // Another workspace, a document that never existed, a deleted one, no token.
  const other = await api.signup('Other Co');
  assert.equal((await api.get(path(doc.id), other.accessToken)).status, 404);
  const missing = await api.get(path('00000000-0000-4000-8000-000000000000'), owner.accessToken);
  assert.equal(missing.status, 404, missing.text);
  assert.equal(missing.body.error.code, 'document_not_found');
  const gone = await api.createDocument(owner, 'Deleted');
  assert.equal((await api.get(path(gone.id), owner.accessToken)).status, 200);
  const del = await api.del(`/api/v1/documents/${gone.id}`, owner.accessToken);
  assert.ok(del.status === 204 || del.status === 200, del.text);
  const deleted = await api.get(path(gone.id), owner.accessToken);
  assert.equal(deleted.status, 404, deleted.text);
  assert.equal(deleted.body.error.code, 'document_not_found');
  assert.equal((await api.get(path(doc.id))).status, 401);
});
