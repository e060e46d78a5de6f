/**
 * A workspace with something of everything a backup or an export must carry: users,
 * documents with content, named versions, comment threads and a file, made through the
 * REST API; and `workspaceState`, which reads it all back for comparison.
 */
import assert from 'node:assert/strict';
import type { ApiClient, Session } from './api.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Uploads `bytes` as a file of the document (tus: create, then one PATCH); resolves to its id. */
export async function uploadFile(url: string, s: Session, documentId: string, name: string, type: string, bytes: Buffer): Promise<string> {
  const created = await fetch(`${url}/api/v1/uploads`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.accessToken}`,
      'tus-resumable': '1.0.0',
      'upload-length': String(bytes.length),
      'upload-metadata': `documentId ${b64(documentId)},filename ${b64(name)},filetype ${b64(type)}`,
    },
  });
  assert.equal(created.status, 201, `upload created: ${await created.clone().text()}`);
  const location = created.headers.get('location') ?? '';
  const done = await fetch(url + location, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${s.accessToken}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
    body: bytes as BodyInit,
  });
  assert.ok(done.status === 200 || done.status === 204, `upload finished: ${done.status}`);
  return location.split('/').pop()!;
}

export interface Seeded {
  owner: Session;
  ownerEmail: string;
  ownerPassword: string;
  member: Session;
  documentIds: string[];
  attachmentId: string;
  fileBytes: Buffer;
}

/** Makes a workspace with two users, two documents (content, versions, comments) and a file. */
export async function seedWorkspace(api: ApiClient, url: string, name: string): Promise<Seeded> {
  const ownerEmail = `owner-${Math.random().toString(36).slice(2)}@example.test`;
  const ownerPassword = 'correct horse battery';
  const owner = await api.signup(name, ownerEmail, ownerPassword);
  const member = await api.addUser(owner, 'member');
  const documentIds: string[] = [];
  for (const title of [`${name} plan`, `${name} notes`]) {
    const doc = await api.createDocument(owner, title);
    documentIds.push(doc.id);
    const put = async (text: string) => assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text }, owner.accessToken)).status, 204, 'content written');
    await put(`${title}: first draft`);
    const v = await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'first draft' }, owner.accessToken);
    assert.equal(v.status, 201, `version made: ${v.text}`);
    await put(`${title}: second draft, with more words`);
    const g = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'comment' }, owner.accessToken);
    assert.equal(g.status, 200, `permission granted: ${g.text}`);
    const c = await api.post<{ id: string }>(`/api/v1/documents/${doc.id}/comments`, { body: `A remark on ${title}` }, owner.accessToken);
    assert.equal(c.status, 201, `comment made: ${c.text}`);
    const r = await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'A reply', parentId: c.body.id }, member.accessToken);
    assert.equal(r.status, 201, `reply made: ${r.text}`);
  }
  const fileBytes = Buffer.from(`${name}: the bytes of a file, ${'x'.repeat(3000)}`);
  const attachmentId = await uploadFile(url, owner, documentIds[0]!, 'report.txt', 'text/plain', fileBytes);
  return { owner, ownerEmail, ownerPassword, member, documentIds, attachmentId, fileBytes };
}

/** Without what the server's background work changes on its own (last-edited times, a file's text extraction). */
export function withoutBackgroundFields(state: unknown): unknown {
  return JSON.parse(JSON.stringify(state, (k, v: unknown) => (k === 'updatedAt' || k === 'extraction' ? undefined : v)));
}

/** Everything of the workspace the REST API shows its owner, for comparison before and after. */
export async function workspaceState(api: ApiClient, url: string, s: Session, seeded: Seeded): Promise<unknown> {
  const get = async (path: string) => {
    const r = await api.get(path, s.accessToken);
    assert.equal(r.status, 200, `GET ${path}: ${r.status} ${r.text}`);
    return r.body as unknown;
  };
  const docs: unknown[] = [];
  for (const id of seeded.documentIds) {
    docs.push({
      meta: await get(`/api/v1/documents/${id}`),
      text: (await api.get(`/api/v1/documents/${id}/content?format=text`, s.accessToken)).text,
      json: await get(`/api/v1/documents/${id}/content?format=json`),
      versions: await get(`/api/v1/documents/${id}/versions`),
      comments: await get(`/api/v1/documents/${id}/comments`),
      attachments: await get(`/api/v1/documents/${id}/attachments`),
    });
  }
  const file = await fetch(`${url}/api/v1/attachments/${seeded.attachmentId}/content`, { headers: { authorization: `Bearer ${s.accessToken}` } });
  assert.equal(file.status, 200, 'the file downloads');
  return {
    workspace: await get('/api/v1/workspace'),
    users: await get('/api/v1/users'),
    docs,
    file: Buffer.from(await file.arrayBuffer()).toString('base64'),
  };
}
