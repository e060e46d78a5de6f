/**
 * Large training requests at the HTTP edge: the training route alone takes bodies up to
 * TRAIN_MAX_BODY_BYTES (20,000 examples are accepted and stored), while every other route
 * keeps the 1 MiB limit, and a body declared beyond the route's limit is refused at once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { TRAIN_MAX_BODY_BYTES } from '../server/commands/classifiers.js';
import { startServer } from './helpers/server.js';

/** Sends headers announcing `declared` bytes and a few bytes of body; resolves with the status. */
function declareBody(url: string, path: string, token: string, declared: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(declared) },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write('{"name":');
  });
}

test('the training route accepts 20,000 examples; other routes keep the 1 MiB body limit', async (t) => {
  // No worker role: the request is stored and queued, nothing trains here.
  const { api, url } = await startServer(t, { dialect: 'pglite', roles: ['api'] });
  const owner = await api.signup();
  const examples = Array.from({ length: 20_000 }, (_, i) => ({
    text: `Message ${i}: ${i % 2 ? 'invoice overdue, please pay the balance of your account' : 'team lunch on friday, bring a dish to share'} (${'x'.repeat(40)})`,
    label: i % 2 ? 'billing' : 'social',
  }));
  const body = JSON.stringify({ name: 'bulk', examples });
  assert.ok(Buffer.byteLength(body) > 2 * 1024 * 1024, 'the request is well above the 1 MiB default limit');

  const r = await api.request('POST', '/api/v1/ml/classifiers', { body, token: owner.accessToken, headers: { 'content-type': 'application/json' } });
  assert.equal(r.status, 202, r.text.slice(0, 500));
  const v = await api.get(`/api/v1/ml/classifiers/${r.body.id}`, owner.accessToken);
  assert.equal(v.body.examples, 20_000);
  assert.equal(v.body.status, 'queued');
  assert.deepEqual(v.body.labels, ['billing', 'social']);

  // The same body on another route is refused by the edge.
  const elsewhere = await api.request('POST', '/api/v1/documents', { body, token: owner.accessToken, headers: { 'content-type': 'application/json' } });
  assert.equal(elsewhere.status, 413);
  assert.equal(elsewhere.body.error.code, 'payload_too_large');

  // Past the route's own limit: refused on the declared length, before the body is read.
  assert.equal(await declareBody(url, '/api/v1/ml/classifiers', owner.accessToken, TRAIN_MAX_BODY_BYTES + 1), 413);
});
