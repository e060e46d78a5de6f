/**
 * Files of documents through the REST API, against real servers: resumable uploads (tus)
 * that survive a cut connection, downloads by the document's permission, the limits (file
 * size, workspace quota), types checked against bytes, files that must not run as pages,
 * and the scaled profile (S3-compatible storage, two instances, an upload resumed on the
 * other instance).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import * as tus from 'tus-js-client';
import { QuireClient, memoryTokenStorage, type Session as SdkSession } from '../clients/sdk/index.js';
import type { Attachment } from '../contract/api.js';
import type { Session } from './helpers/api.js';
import { TEST_S3 } from './helpers/env.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** A real 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

async function create(url: string, s: Session, documentId: string, size: number, name: string, type: string): Promise<Response> {
  return fetch(`${url}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.accessToken}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(size),
      'upload-metadata': `documentId ${b64(documentId)},filename ${b64(name)},filetype ${b64(type)}`,
    },
  });
}

async function offsetOf(url: string, s: Session, location: string): Promise<number> {
  const r = await fetch(url + location, { method: 'HEAD', headers: { authorization: `Bearer ${s.accessToken}`, 'tus-resumable': '1.0.0' } });
  assert.equal(r.status, 200, `HEAD ${location}`);
  return Number(r.headers.get('upload-offset'));
}

async function patch(url: string, s: Session, location: string, offset: number, bytes: Uint8Array): Promise<Response> {
  return fetch(url + location, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.accessToken}`, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
    body: bytes as BodyInit,
  });
}

/** Sends `sent` bytes of a PATCH that announced `bytes.length`, then cuts the connection, as a dropped network would. */
async function cutPatch(url: string, s: Session, location: string, offset: number, bytes: Buffer, sent: number): Promise<void> {
  const u = new URL(url + location);
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${s.accessToken}`,
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(bytes.length),
      },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(bytes.subarray(0, sent), () => setTimeout(() => req.destroy(), 300));
  });
}

async function download(url: string, s: Session, id: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const r = await fetch(`${url}/api/v1/attachments/${id}/content`, { headers: { authorization: `Bearer ${s.accessToken}`, ...headers } });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

/** The piece-by-piece upload every profile must get right: cut, resumed, whole. */
async function uploadResumed(a: TestServer, b: TestServer, s: Session, documentId: string, opts: { killFirst?: boolean } = {}): Promise<Attachment> {
  const file = crypto.randomBytes(3 * 1_048_576 + 17);
  const created = await create(a.url, s, documentId, file.length, 'report.bin', 'application/octet-stream');
  assert.equal(created.status, 201, await created.text());
  const location = created.headers.get('location') ?? '';
  assert.match(location, /^\/api\/v1\/uploads\/[0-9a-f-]{36}$/);
  await cutPatch(a.url, s, location, 0, file, 1_048_576 + 5);
  // The instance that took the first bytes may be gone: the upload goes on elsewhere.
  if (opts.killFirst) await a.quire.close();
  // What arrived before the cut is kept (all of it, or what had left the socket buffers). The
  // instance that took the cut request may still be storing it when the other is asked, so
  // this resumes as tus clients do: ask for the offset, send from there, ask again on a conflict.
  let done: Response | null = null;
  let offset = 0;
  for (let attempt = 0; attempt < 20 && done?.status !== 200; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 200));
    offset = await offsetOf(b.url, s, location);
    if (offset === 0) continue;
    done = await patch(b.url, s, location, offset, file.subarray(offset));
    assert.ok(done.status === 200 || done.status === 409, `resumed (${done.status})`);
  }
  assert.ok(offset > 0 && offset <= 1_048_576 + 5, `resumes after the bytes that arrived (offset ${offset})`);
  assert.equal(done?.status, 200, await done?.clone().text());
  if (!done) throw new Error('the upload never finished');
  const attachment = (await done.json()) as Attachment;
  assert.equal(attachment.size, file.length);
  assert.equal(attachment.id, location.split('/').pop());
  const got = await download(b.url, s, attachment.id);
  assert.equal(got.status, 200);
  assert.ok(got.bytes.equals(file), 'the downloaded bytes are the uploaded bytes');
  return attachment;
}

test('files: a resumable upload survives a cut connection; downloads have safe headers and byte ranges', async (t) => {
  const srv = await startServer(t);
  const { url, api } = srv;
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Report');
  const attachment = await uploadResumed(srv, srv, owner, doc.id);
  assert.equal(attachment.kind, 'file');
  assert.equal(attachment.status, 'ready');

  const whole = await download(url, owner, attachment.id);
  assert.equal(whole.headers.get('content-type'), 'application/octet-stream');
  assert.match(whole.headers.get('content-disposition') ?? '', /^attachment; filename="report.bin"/);
  assert.equal(whole.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(whole.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(whole.headers.get('content-length'), String(attachment.size));
  const part = await download(url, owner, attachment.id, { range: 'bytes=10-19' });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${attachment.size}`);
  assert.ok(part.bytes.equals(whole.bytes.subarray(10, 20)), 'the range is those bytes');
  assert.equal((await download(url, owner, attachment.id, { range: `bytes=${attachment.size}-` })).status, 416);

  const listed = await api.get(`/api/v1/documents/${doc.id}/attachments`, owner.accessToken);
  assert.deepEqual(
    listed.body.attachments.map((x: Attachment) => x.id),
    [attachment.id],
  );
  const storage = await api.get('/api/v1/workspace/storage', owner.accessToken);
  assert.equal(storage.body.usedBytes, attachment.size);

  // tus-js-client, the browser's client, through a proxy that drops the connection mid-upload.
  const proxy = await startTcpProxy(t, targetOf(url));
  const big = crypto.randomBytes(2 * 1_048_576);
  let dropped = false;
  const viaClient = await new Promise<string>((resolve, reject) => {
    const up = new tus.Upload(big, {
      endpoint: `${proxy.url(url).replace(/\/$/, '')}/api/v1/uploads`,
      headers: { authorization: `Bearer ${owner.accessToken}` },
      metadata: { documentId: doc.id, filename: 'big.bin', filetype: 'application/octet-stream' },
      chunkSize: 512 * 1024,
      retryDelays: [100, 300, 600, 1000, 2000],
      onChunkComplete: (_c, sent) => {
        if (!dropped && sent >= 1_048_576) {
          dropped = true;
          proxy.reset();
        }
      },
      onError: reject,
      onSuccess: () => resolve(up.url ?? ''),
    });
    up.start();
  });
  assert.ok(dropped, 'the connection was dropped mid-upload');
  const id = viaClient.split('/').pop() ?? '';
  const back = await download(url, owner, id);
  assert.ok(back.bytes.equals(big), 'the client resumed and the file is whole');
});

test('files: access follows the document (read, none, revoked, other tenant, unauthenticated)', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const stranger = await api.addUser(owner, 'member');
  const other = await api.signup('Other');
  const doc = await api.createDocument(owner, 'Private');
  await api.put(`/api/v1/documents/${doc.id}`, { linkAccess: 'none' }, owner.accessToken);
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken)).status, 200);
  const up = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=pixel.png`, { token: owner.accessToken, body: PNG, headers: { 'content-type': 'image/png' } });
  assert.equal(up.status, 201, up.text);
  const a = up.body as Attachment;
  assert.equal(a.kind, 'image');

  const fromReader = await download(url, reader, a.id);
  assert.equal(fromReader.status, 200);
  assert.ok(fromReader.bytes.equals(PNG), 'a reader downloads the image');
  assert.match(fromReader.headers.get('content-disposition') ?? '', /^inline/);
  assert.equal((await create(url, reader, doc.id, 10, 'x.txt', 'text/plain')).status, 403, 'a reader cannot upload');
  const plainReader = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=x.txt`, { token: reader.accessToken, body: 'hello', headers: { 'content-type': 'text/plain' } });
  assert.equal(plainReader.status, 403);
  const linkAccess = (await api.get(`/api/v1/documents/${doc.id}`, stranger.accessToken)).status;
  if (linkAccess === 404) {
    assert.equal((await download(url, stranger, a.id)).status, 404, 'no access: not found');
    assert.equal((await api.get(`/api/v1/attachments/${a.id}`, stranger.accessToken)).status, 404);
  }
  assert.equal((await download(url, other, a.id)).status, 404, 'another workspace: not found');
  assert.equal((await fetch(`${url}/api/v1/attachments/${a.id}/content`)).status, 401, 'unauthenticated');

  // Revoked: the next download is refused at once.
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'none' }, owner.accessToken)).status, 200);
  const afterRevoke = await download(url, reader, a.id);
  assert.ok(afterRevoke.status === 404 || afterRevoke.status === 403, `revoked reader refused (${afterRevoke.status})`);

  // Someone else's upload cannot be continued or probed.
  const writer = await api.addUser(owner, 'member');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken);
  const started = await create(url, owner, doc.id, 100, 'notes.txt', 'text/plain');
  const location = started.headers.get('location') ?? '';
  const probe = await fetch(url + location, { method: 'HEAD', headers: { authorization: `Bearer ${writer.accessToken}`, 'tus-resumable': '1.0.0' } });
  assert.equal(probe.status, 404, "another user's upload is not found");
  assert.equal((await patch(url, writer, location, 0, Buffer.alloc(100, 1))).status, 404);
});

test('files: limits and types (file too large, quota, declared type against bytes, SVG and polyglots served inert)', async (t) => {
  const { url, api } = await startServer(t, { env: { MAX_UPLOAD_BYTES: '200000', WORKSPACE_STORAGE_QUOTA_BYTES: '300000' } });
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Limits');

  const tooBig = await create(url, owner, doc.id, 200_001, 'big.bin', 'application/octet-stream');
  assert.equal(tooBig.status, 413);
  assert.equal(((await tooBig.json()) as { error: { code: string } }).error.code, 'file_too_large');

  const first = await create(url, owner, doc.id, 180_000, 'a.bin', 'application/octet-stream');
  assert.equal(first.status, 201);
  // The upload in flight counts: a second one that would pass the quota is refused before a byte is sent.
  const second = await create(url, owner, doc.id, 180_000, 'b.bin', 'application/octet-stream');
  assert.equal(second.status, 413);
  const refusal = (await second.json()) as { error: { code: string; message: string; details: { quotaBytes: number } } };
  assert.equal(refusal.error.code, 'quota_exceeded');
  assert.equal(refusal.error.details.quotaBytes, 300_000);
  const simple = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=c.bin`, {
    token: owner.accessToken,
    body: Buffer.alloc(150_000),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(simple.status, 413);
  assert.equal(simple.body.error.code, 'quota_exceeded');
  // Abandoning the first upload frees its room.
  const del = await fetch(url + (first.headers.get('location') ?? ''), { method: 'DELETE', headers: { authorization: `Bearer ${owner.accessToken}`, 'tus-resumable': '1.0.0' } });
  assert.equal(del.status, 204);
  assert.equal((await api.get('/api/v1/workspace/storage', owner.accessToken)).body.usedBytes, 0);
  // An admin gives the workspace more room.
  const raised = await api.put('/api/v1/workspace/storage', { quotaBytes: 1_000_000 }, owner.accessToken);
  assert.equal(raised.body.quotaBytes, 1_000_000);

  // Sent as a PNG, but HTML: refused, nothing kept.
  const html = Buffer.from('<html><script>alert(1)</script></html>');
  const fake = await create(url, owner, doc.id, html.length, 'cat.png', 'image/png');
  const fakeDone = await patch(url, owner, fake.headers.get('location') ?? '', 0, html);
  assert.equal(fakeDone.status, 415);
  assert.equal(((await fakeDone.json()) as { error: { code: string } }).error.code, 'content_type_mismatch');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/attachments`, owner.accessToken)).body.attachments.length, 0);
  const fakeSimple = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=cat.png`, { token: owner.accessToken, body: html, headers: { 'content-type': 'image/png' } });
  assert.equal(fakeSimple.status, 415);
  const noType = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=x`, { token: owner.accessToken, body: html });
  assert.equal(noType.status, 415);

  // An SVG with a script is a file: downloaded, never shown inline, and sandboxed if opened.
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>');
  const svgUp = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=${encodeURIComponent('logo".svg')}`, {
    token: owner.accessToken,
    body: svg,
    headers: { 'content-type': 'image/svg+xml' },
  });
  assert.equal(svgUp.status, 201, svgUp.text);
  assert.equal(svgUp.body.kind, 'file');
  const svgGot = await download(url, owner, svgUp.body.id);
  assert.match(svgGot.headers.get('content-disposition') ?? '', /^attachment; filename="logo_.svg"; filename\*=UTF-8''logo%22\.svg$/);
  assert.equal(svgGot.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(svgGot.headers.get('x-content-type-options'), 'nosniff');
  // A PNG that is also HTML: shown as an image only, never sniffed into a page.
  const polyglot = Buffer.concat([PNG, Buffer.from('<html><script>alert(1)</script></html>')]);
  const polyUp = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=poly.png`, { token: owner.accessToken, body: polyglot, headers: { 'content-type': 'image/png' } });
  assert.equal(polyUp.status, 201);
  const polyGot = await download(url, owner, polyUp.body.id);
  assert.equal(polyGot.headers.get('content-type'), 'image/png');
  assert.equal(polyGot.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(polyGot.headers.get('content-security-policy'), "default-src 'none'; sandbox");
});

test('files: the scaled profile (S3-compatible storage, two instances): an upload started on one resumes on the other after the first is stopped', async (t) => {
  const s3 = {
    STORAGE_BACKEND: 's3',
    S3_ENDPOINT: TEST_S3.endpoint,
    S3_REGION: TEST_S3.region,
    S3_BUCKET: TEST_S3.bucket,
    S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
    S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
    S3_PREFIX: `test-${crypto.randomUUID()}`,
  };
  const a = await startServer(t, { redis: true, env: s3 });
  const b = await startServer(t, { redis: true, schema: a.schema, env: s3 });
  const owner = await a.api.signup();
  const doc = await a.api.createDocument(owner, 'Scaled');
  const attachment = await uploadResumed(a, b, owner, doc.id, { killFirst: true });
  assert.equal(attachment.status, 'ready');
  // A third instance serves it from object storage too.
  const c = await startServer(t, { redis: true, schema: a.schema, env: s3 });
  const fromC = await download(c.url, owner, attachment.id);
  assert.equal(fromC.status, 200);
  assert.equal(fromC.bytes.length, attachment.size);
});

test('files through the SDK: upload in one request, list, read, download, storage', async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'SDK');
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage(owner as unknown as SdkSession) });
  const up = await client.uploadAttachment(doc.id, new Uint8Array(PNG), { name: 'pixel.png', contentType: 'image/png' });
  assert.ok(up.ok, JSON.stringify(up));
  if (!up.ok) return;
  assert.equal(up.value.kind, 'image');
  const listed = await client.listAttachments(doc.id);
  assert.deepEqual(listed.ok && listed.value.map((a) => a.id), [up.value.id]);
  const bytes = await client.downloadAttachment(up.value.id);
  assert.ok(bytes.ok && Buffer.from(bytes.value).equals(PNG), 'the same bytes');
  const storage = await client.workspaceStorage();
  assert.equal(storage.ok && storage.value.usedBytes, PNG.length);
  const refused = await client.uploadAttachment(doc.id, new TextEncoder().encode('<svg onload=alert(1)>'), { name: 'x.png', contentType: 'image/png' });
  assert.equal(!refused.ok && refused.error.code, 'content_type_mismatch');
});

test("files on a public link: the linked document's files answer, no other file does, and none once the link is revoked", async (t) => {
  const { url, api } = await startServer(t);
  const owner = await api.signup();
  const shared = await api.createDocument(owner, 'Shared');
  const other = await api.createDocument(owner, 'Not shared');
  const post = (doc: string, name: string) =>
    api.request('POST', `/api/v1/documents/${doc}/attachments?name=${name}`, { token: owner.accessToken, body: PNG, headers: { 'content-type': 'image/png' } });
  const mine = (await post(shared.id, 'shared.png')).body as Attachment;
  const theirs = (await post(other.id, 'other.png')).body as Attachment;
  const link = await api.post(`/api/v1/documents/${shared.id}/public-link`, {}, owner.accessToken);
  assert.equal(link.status, 201, link.text);
  const token = link.body.token as string;
  const got = await fetch(`${url}/api/v1/public/${token}/attachments/${mine.id}`);
  assert.equal(got.status, 200);
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(PNG), 'anyone with the link reads the image');
  assert.equal(got.headers.get('cache-control'), 'no-store');
  assert.equal(got.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal((await fetch(`${url}/api/v1/public/${token}/attachments/${theirs.id}`)).status, 404, "another document's file is not reachable through the link");
  assert.equal((await fetch(`${url}/api/v1/public/qpl_nope/attachments/${mine.id}`)).status, 404);
  assert.equal((await api.del(`/api/v1/documents/${shared.id}/public-link`, owner.accessToken)).status, 204);
  assert.equal((await fetch(`${url}/api/v1/public/${token}/attachments/${mine.id}`)).status, 404, 'a revoked link reads nothing');
});
