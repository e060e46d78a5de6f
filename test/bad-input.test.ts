import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { startServer } from './helpers/server.js';

async function counts(owner: Kysely<unknown>) {
  const r = await sql<{ t: string; u: string; d: string; p: string }>`
    select (select count(*) from tenants) t, (select count(*) from users) u,
           (select count(*) from documents) d, (select count(*) from document_permissions) p`.execute(owner);
  return r.rows[0];
}

test('malformed JSON, wrong types, unknown fields, wrong media type: clear 4xx, nothing written', async (t) => {
  const { api, quire } = await startServer(t, { env: { MAX_BODY_BYTES: '2048' } });
  const s = await api.signup();
  const before = await counts(quire.store.owner);
  const cases: { name: string; path: string; body?: string; json?: unknown; headers?: Record<string, string>; status: number; code: string }[] = [
    { name: 'malformed json', path: '/api/v1/documents', body: '{"title": ', headers: { 'content-type': 'application/json' }, status: 400, code: 'invalid_json' },
    { name: 'wrong type', path: '/api/v1/documents', json: { title: 42 }, status: 400, code: 'validation_failed' },
    { name: 'empty title', path: '/api/v1/documents', json: { title: '   ' }, status: 400, code: 'validation_failed' },
    { name: 'unknown field', path: '/api/v1/documents', json: { title: 'ok', tenant_id: 'x' }, status: 400, code: 'validation_failed' },
    { name: 'array body', path: '/api/v1/documents', json: [{ title: 'ok' }], status: 400, code: 'validation_failed' },
    { name: 'no body', path: '/api/v1/documents', headers: { 'content-type': 'application/json' }, status: 400, code: 'empty_body' },
    { name: 'form encoded', path: '/api/v1/documents', body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'unsupported_media_type' },
    { name: 'oversized body', path: '/api/v1/documents', json: { title: 'x'.repeat(5000) }, status: 413, code: 'payload_too_large' },
    { name: 'signup short password', path: '/api/v1/auth/signup', json: { tenant: 'T', email: 'a@b.test', password: 'short' }, status: 400, code: 'validation_failed' },
    { name: 'signup bad email', path: '/api/v1/auth/signup', json: { tenant: 'T', email: 'not-an-email', password: 'long enough password' }, status: 400, code: 'validation_failed' },
    { name: 'user bad role', path: '/api/v1/users', json: { email: 'c@d.test', password: 'long enough password', role: 'god' }, status: 400, code: 'validation_failed' },
  ];
  for (const c of cases) {
    const r = await api.request('POST', c.path, { token: s.accessToken, body: c.body, json: c.json, headers: c.headers });
    assert.equal(r.status, c.status, c.name);
    assert.equal(r.body.error.code, c.code, c.name);
    assert.equal(typeof r.body.error.message, 'string', c.name);
  }
  const perm = await api.put(`/api/v1/documents/${crypto.randomUUID()}/permissions`, { userId: 'nope', level: 'read' }, s.accessToken);
  assert.equal(perm.status, 400);
  const details = (await api.post('/api/v1/documents', { title: 1, extra: true }, s.accessToken)).body.error.details;
  assert.ok(Array.isArray(details) && details.length >= 2, 'every problem is listed');
  assert.deepEqual(await counts(quire.store.owner), before, 'nothing was written');
});

test('a body past the limit without content-length (chunked) is refused with 413', async (t) => {
  const { url, api } = await startServer(t, { env: { MAX_BODY_BYTES: '1024' } });
  const s = await api.signup();
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode('x'.repeat(512)));
      c.close();
    },
  });
  const r = await fetch(`${url}/api/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  assert.equal(r.status, 413);
  assert.equal((await r.json()).error.code, 'payload_too_large');
});

test('ids that are not UUIDs are 404, unknown routes are JSON 404', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const r = await api.get('/api/v1/documents/../../etc/passwd', s.accessToken);
  assert.equal(r.status, 404);
  const r2 = await api.get('/api/v1/documents/123', s.accessToken);
  assert.equal(r2.body.error.code, 'document_not_found');
  const r3 = await api.get('/api/v2/whatever');
  assert.equal(r3.status, 404);
  assert.equal(r3.body.error.code, 'route_not_found');
});
