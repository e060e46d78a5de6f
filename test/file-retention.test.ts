/**
 * The file collector (the worker's retention job): a file the document or any of its
 * versions shows is never removed; one nobody shows is marked, then removed after
 * FILE_ORPHAN_DAYS, bytes first; a file put back before that is kept; a purged document's
 * files and uploads that never finished go. Time is passed to the run, never waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attachment } from '../contract/api.js';
import { Retention } from '../server/retention.js';
import type { Session } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';

const DAY_MS = 86_400_000;
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

function retention(server: TestServer): Retention {
  return new Retention({
    db: server.quire.store.db,
    log: server.quire.log,
    trashRetentionDays: server.config.trashRetentionDays,
    historyRetentionDays: 0,
    intervalMs: 0,
    files: { blobs: server.quire.svc.blobs, orphanDays: 7, uploadExpiryHours: 24 },
  });
}

async function upload(server: TestServer, s: Session, documentId: string, name: string): Promise<Attachment> {
  const r = await server.api.request('POST', `/api/v1/documents/${documentId}/attachments?name=${name}`, { token: s.accessToken, body: PNG, headers: { 'content-type': 'image/png' } });
  assert.equal(r.status, 201, r.text);
  return r.body as Attachment;
}

const image = (id: string) => ({ type: 'image', attrs: { src: `attachment:${id}`, alt: null, title: null } });
const card = (a: Attachment) => ({ type: 'fileAttachment', attrs: { id: a.id, name: a.name, size: a.size, contentType: a.contentType } });
const para = (text: string) => ({ type: 'paragraph', content: [{ type: 'text', text }] });

test('files nobody shows are collected after FILE_ORPHAN_DAYS; shown ones, in the document or a version, never', async (t) => {
  const server = await startServer(t, { env: { RETENTION_INTERVAL_MS: '0' } });
  const { api } = server;
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Album');
  const shown = await upload(server, owner, doc.id, 'shown.png');
  const versioned = await upload(server, owner, doc.id, 'versioned.png');
  const never = await upload(server, owner, doc.id, 'never.png');
  const putBack = await upload(server, owner, doc.id, 'put-back.png');
  const put = async (content: unknown[]) => assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { json: { type: 'doc', content } }, owner.accessToken)).status, 204);
  // `versioned` is in a named version only; `shown` is in the text; `putBack` leaves and comes back.
  await put([para('v1'), image(versioned.id), card(shown)]);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'First draft' }, owner.accessToken)).status, 201);
  await put([para('v2'), card(shown)]);

  const now = Date.now();
  const r = retention(server);
  const first = await r.runOnce(new Date(now + 2 * DAY_MS));
  assert.deepEqual(first.files?.removed, [], 'nothing is removed the first time it is found unreferenced');
  await put([para('v3'), card(shown), image(putBack.id)]);
  await put([para('v4'), card(shown)]);
  await put([para('v5'), card(shown), image(putBack.id)]);
  const later = await r.runOnce(new Date(now + 10 * DAY_MS));
  assert.deepEqual(later.files?.removed, [never.id], 'only the file nobody showed for 7 days goes');
  assert.equal((await api.get(`/api/v1/attachments/${never.id}/content`, owner.accessToken)).status, 404);
  const keys: string[] = [];
  for await (const b of server.quire.svc.blobs.list('t/')) keys.push(b.key);
  assert.equal(keys.length, 3, 'its bytes are gone, the others stay');
  assert.ok(!keys.some((k) => k.endsWith(never.id)), 'its bytes are gone');
  for (const kept of [shown, versioned, putBack]) {
    const got = await api.get(`/api/v1/attachments/${kept.id}/content`, owner.accessToken);
    assert.equal(got.status, 200, `${kept.name} is kept`);
  }
  const again = await r.runOnce(new Date(now + 30 * DAY_MS));
  assert.deepEqual(again.files?.removed, [], 'a file shown again is kept, and its mark cleared');

  // An upload that never finished goes after UPLOAD_EXPIRY_HOURS, with its pieces.
  const started = await fetch(`${server.url}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${owner.accessToken}`,
      'tus-resumable': '1.0.0',
      'upload-length': '1000',
      'upload-metadata': `documentId ${Buffer.from(doc.id).toString('base64')},filename ${Buffer.from('half.bin').toString('base64')}`,
      'content-type': 'application/offset+octet-stream',
    },
    body: Buffer.alloc(400, 7),
  });
  assert.equal(started.status, 201);
  const half = (started.headers.get('location') ?? '').split('/').pop() ?? '';
  assert.equal((await api.get('/api/v1/workspace/storage', owner.accessToken)).body.usedBytes, 3 * PNG.length + 1000, 'the upload in flight counts at its declared length');
  const expired = await r.runOnce(new Date(now + 31 * DAY_MS));
  assert.ok(expired.files?.removed.includes(half), 'the abandoned upload is removed');
  const pieces: string[] = [];
  for await (const b of server.quire.svc.blobs.list(`uploads/${half}/`)) pieces.push(b.key);
  assert.deepEqual(pieces, [], 'its pieces are gone');

  // A purged document's files go with it.
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
  const purged = await r.runOnce(new Date(now + 100 * DAY_MS));
  assert.deepEqual(purged.purged, [doc.id]);
  assert.deepEqual([...(purged.files?.removed ?? [])].sort(), [shown.id, versioned.id, putBack.id].sort());
  assert.equal((await api.get('/api/v1/workspace/storage', owner.accessToken)).body.usedBytes, 0);
  const left: string[] = [];
  for await (const b of server.quire.svc.blobs.list('t/')) left.push(b.key);
  assert.deepEqual(left, [], 'no bytes are left');
});
