/**
 * Organising a workspace over REST and the sync socket: restore, duplicate, templates,
 * collections, moves, stars, recent views, and the document list's orders and filters with
 * their cursors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiClient, ApiResponse, Session } from './helpers/api.js';
import { connect, readParagraph, synced, type Client } from './helpers/provider.js';
import { sql } from 'kysely';
import { withTenant, type Tx } from '../db/store.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

type Meta = { id: string; title: string; access: string; kind: string; collectionId: string | null; starred: boolean; lastViewedAt: string | null; createdAt: string; updatedAt: string };

/** Waits until the client's socket was closed with this code. */
function closedWith(c: Client, code: number, reason: string): Promise<void> {
  return eventually(
    () =>
      assert.ok(
        c.closes.some((x) => x.code === code && x.reason === reason),
        JSON.stringify(c.closes),
      ),
    { timeoutMs: 10_000 },
  );
}

/** Every page of a list query (`limit` per page): the documents in order, and how many pages it took. */
async function walk(api: ApiClient, s: Session, params: string, limit: number): Promise<{ docs: Meta[]; pages: number }> {
  const docs: Meta[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = params ? '&' : '';
    const r: ApiResponse = await api.get(`/api/v1/documents?${params}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, s.accessToken);
    assert.equal(r.status, 200, r.text);
    docs.push(...(r.body.documents as Meta[]));
    cursor = r.body.nextCursor;
    pages++;
    assert.ok(pages < 100, 'the cursor moves forward');
  } while (cursor);
  return { docs, pages };
}

const titles = (docs: { title: string }[]) => docs.map((d) => d.title);
const ids = (docs: { id: string }[]) => docs.map((d) => d.id);

async function text(api: ApiClient, s: Session, id: string): Promise<string> {
  const r = await api.get(`/api/v1/documents/${id}/content?format=text`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.text;
}

async function newCollection(api: ApiClient, s: Session, name: string, parentId?: string | null): Promise<{ id: string; parentId: string | null; name: string }> {
  const r = await api.post('/api/v1/collections', parentId === undefined ? { name } : { name, parentId }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('restore undoes a delete: the content is intact, the list shows it, the socket opens it; only for those who could delete it', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  const stranger = await api.signup('Other Co');
  const doc = (await api.post('/api/v1/documents', { title: 'Plans', text: 'first line\nsecond line' }, owner.accessToken)).body as Meta;
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken);
  const restore = (s: Session, id = doc.id) => api.post(`/api/v1/documents/${id}/restore`, undefined, s.accessToken);

  const notDeleted = await restore(owner);
  assert.equal(notDeleted.status, 404);
  assert.equal(notDeleted.body.error.code, 'document_not_found');

  const live = connect(t, url, doc.id, owner.accessToken, { reconnect: false });
  await synced(live);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
  await closedWith(live, 4404, 'document_deleted');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 404);
  assert.deepEqual(ids((await api.get('/api/v1/documents', owner.accessToken)).body.documents), []);

  // Writing is not enough (delete needs admin, so does restore); another workspace and a
  // document that never existed look the same.
  for (const [who, id] of [
    [writer, doc.id],
    [stranger, doc.id],
    [owner, crypto.randomUUID()],
  ] as const) {
    const r = await restore(who, id);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error.code, 'document_not_found');
  }

  const restored = await restore(owner);
  assert.equal(restored.status, 200, restored.text);
  assert.equal(restored.body.id, doc.id);
  assert.equal(restored.body.title, 'Plans');
  assert.equal(restored.body.access, 'admin');
  assert.equal(restored.body.kind, 'document');
  assert.equal(await text(api, owner, doc.id), 'first line\nsecond line');
  assert.deepEqual(ids((await api.get('/api/v1/documents', owner.accessToken)).body.documents), [doc.id]);
  // Grants were kept: the writer is back too.
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, writer.accessToken)).body.access, 'write');
  const again = connect(t, url, doc.id, writer.accessToken, { reconnect: false });
  await synced(again);
  await eventually(() => assert.equal(readParagraph(again.doc), 'first line'));
  assert.equal(again.provider.authorizedScope, 'read-write');
  // Restored once: a second restore finds nothing deleted.
  assert.equal((await restore(owner)).status, 404);
});

test('duplicate copies the content for REST and the socket, the caller alone is its admin, into the source collection by default', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const outsider = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');
  const folder = await newCollection(api, owner, 'Specs');
  const source = (await api.post('/api/v1/documents', { title: 'Launch plan', text: 'Goals\nRisks', collectionId: folder.id }, owner.accessToken)).body as Meta;
  assert.equal(source.collectionId, folder.id);
  // A live edit, acknowledged, is part of what is copied.
  const writer = connect(t, url, source.id, owner.accessToken);
  await synced(writer);
  await api.put(`/api/v1/documents/${source.id}/content`, { text: 'Budget', mode: 'append' }, owner.accessToken);
  await api.put(`/api/v1/documents/${source.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  await api.put(`/api/v1/documents/${source.id}/permissions`, { userId: guest.user.id, level: 'read' }, owner.accessToken);
  const duplicate = (s: Session, body?: unknown) => api.post(`/api/v1/documents/${source.id}/duplicate`, body, s.accessToken);

  // No read access, another workspace: not found. A guest who reads it still cannot create.
  for (const who of [outsider, stranger]) {
    const r = await duplicate(who, {});
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.error.code, 'document_not_found');
  }
  const byGuest = await duplicate(guest, {});
  assert.equal(byGuest.status, 400);
  assert.equal(byGuest.body.error.code, 'guest_cannot_create');

  // A reader duplicates (no body at all is `{}`).
  const copy = await duplicate(member);
  assert.equal(copy.status, 201, copy.text);
  const c = copy.body as Meta;
  assert.notEqual(c.id, source.id);
  assert.equal(c.title, 'Copy of Launch plan');
  assert.equal(c.access, 'admin');
  assert.equal(c.kind, 'document');
  assert.equal(c.collectionId, folder.id);
  assert.equal(c.starred, false);
  assert.equal(c.lastViewedAt, null);
  assert.equal(await text(api, member, c.id), 'Goals\nRisks\nBudget');
  // Grants are not copied: the member alone; the source's owner does not even see it (a member's own document).
  const perms = (await api.get(`/api/v1/documents/${c.id}/permissions`, member.accessToken)).body.permissions;
  assert.deepEqual(
    perms.map((p: { userId: string; level: string }) => [p.userId, p.level]),
    [[member.user.id, 'admin']],
  );
  // Over the socket: the same content, and edits to the copy leave the source alone.
  const onCopy = connect(t, url, c.id, member.accessToken);
  await synced(onCopy);
  await eventually(() => assert.equal(readParagraph(onCopy.doc), 'Goals'));
  await api.put(`/api/v1/documents/${c.id}/content`, { text: 'Copy only', mode: 'append' }, member.accessToken);
  assert.equal(await text(api, owner, source.id), 'Goals\nRisks\nBudget');

  // Title, collection (null: the top level), validation.
  const named = await duplicate(owner, { title: '  Launch plan v2 ', collectionId: null });
  assert.equal(named.status, 201, named.text);
  assert.equal(named.body.title, 'Launch plan v2');
  assert.equal(named.body.collectionId, null);
  const elsewhere = await newCollection(api, owner, 'Archive');
  assert.equal((await duplicate(owner, { collectionId: elsewhere.id.toUpperCase() })).body.collectionId, elsewhere.id);
  const missing = await duplicate(owner, { collectionId: crypto.randomUUID() });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'collection_not_found');
  const foreign = await newCollection(api, stranger, 'Theirs');
  assert.equal((await duplicate(owner, { collectionId: foreign.id })).body.error.code, 'collection_not_found');
  for (const body of [{ title: '' }, { title: 'x'.repeat(501) }, { kind: 'folder' }, { collectionId: 'not-a-uuid' }, { extra: true }, []]) {
    const r = await duplicate(owner, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, 'validation_failed');
  }
  // A long title stays within the limit.
  const long = (await api.post('/api/v1/documents', { title: 'L'.repeat(500) }, owner.accessToken)).body as Meta;
  const longCopy = await api.post(`/api/v1/documents/${long.id}/duplicate`, {}, owner.accessToken);
  assert.equal(longCopy.status, 201);
  assert.equal(longCopy.body.title, `Copy of ${'L'.repeat(492)}`);
  // An empty document duplicates to an empty document.
  const empty = (await api.createDocument(owner, 'Blank')) as Meta;
  const emptyCopy = (await api.post(`/api/v1/documents/${empty.id}/duplicate`, {}, owner.accessToken)).body as Meta;
  assert.equal(await text(api, owner, emptyCopy.id), '');
  assert.equal(writer.provider.isSynced, true);
});

test('templates: read by every member who is not a guest on REST and the socket, written only with a grant; listed apart; kind changes need admin', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const editor = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');
  const doc = (await api.post('/api/v1/documents', { title: 'Meeting notes', text: 'Agenda\nActions' }, owner.accessToken)).body as Meta;
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: editor.user.id, level: 'write' }, owner.accessToken);

  // Save as template: the same title, kind template, content copied.
  const saved = await api.post(`/api/v1/documents/${doc.id}/duplicate`, { kind: 'template' }, owner.accessToken);
  assert.equal(saved.status, 201, saved.text);
  const tpl = saved.body as Meta;
  assert.equal(tpl.kind, 'template');
  assert.equal(tpl.title, 'Meeting notes');
  // Lists: documents by default, templates with kind=template (for the member too, without a grant).
  assert.deepEqual(ids((await api.get('/api/v1/documents', owner.accessToken)).body.documents), [doc.id]);
  assert.deepEqual(ids((await api.get('/api/v1/documents?kind=template', owner.accessToken)).body.documents), [tpl.id]);
  const memberTemplates = (await api.get('/api/v1/documents?kind=template', member.accessToken)).body.documents as Meta[];
  assert.deepEqual(
    memberTemplates.map((d) => [d.id, d.access]),
    [[tpl.id, 'read']],
  );
  assert.deepEqual((await api.get('/api/v1/documents', member.accessToken)).body.documents, []);
  // The member reads it (REST, content, permissions), cannot write or rename it.
  assert.equal((await api.get(`/api/v1/documents/${tpl.id}`, member.accessToken)).body.access, 'read');
  assert.equal(await text(api, member, tpl.id), 'Agenda\nActions');
  assert.equal((await api.patch(`/api/v1/documents/${tpl.id}`, { title: 'Mine now' }, member.accessToken)).status, 403);
  assert.equal((await api.put(`/api/v1/documents/${tpl.id}/content`, { text: 'x' }, member.accessToken)).status, 403);
  // Guests and other workspaces do not see templates.
  for (const who of [guest, stranger]) {
    assert.equal((await api.get(`/api/v1/documents/${tpl.id}`, who.accessToken)).status, 404);
    assert.deepEqual((await api.get('/api/v1/documents?kind=template', who.accessToken)).body.documents, []);
    assert.equal((await api.post(`/api/v1/documents/${tpl.id}/duplicate`, {}, who.accessToken)).status, 404);
  }
  // Over the socket: the member syncs it read-only; the guest is refused.
  const reader = connect(t, url, tpl.id, member.accessToken, { reconnect: false });
  await synced(reader);
  assert.equal(reader.provider.authorizedScope, 'readonly');
  await eventually(() => assert.equal(readParagraph(reader.doc), 'Agenda'));
  const refused = connect(t, url, tpl.id, guest.accessToken, { reconnect: false });
  await eventually(() => assert.deepEqual(refused.authFailures, ['forbidden']));

  // New from template: a document with the template's title, the member its admin.
  const fromTemplate = await api.post(`/api/v1/documents/${tpl.id}/duplicate`, {}, member.accessToken);
  assert.equal(fromTemplate.status, 201, fromTemplate.text);
  assert.equal(fromTemplate.body.kind, 'document');
  assert.equal(fromTemplate.body.title, 'Meeting notes');
  assert.equal(fromTemplate.body.access, 'admin');
  assert.equal(await text(api, member, fromTemplate.body.id), 'Agenda\nActions');

  // Kind changes need admin: a writer may not, nor may a reader.
  const byEditor = await api.patch(`/api/v1/documents/${doc.id}`, { kind: 'template' }, editor.accessToken);
  assert.equal(byEditor.status, 403);
  assert.equal((await api.patch(`/api/v1/documents/${tpl.id}`, { kind: 'document' }, member.accessToken)).status, 403);
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { kind: 'page' }, owner.accessToken)).status, 400);
  // Back to a document: the member's read is gone, their socket closes.
  const back = await api.patch(`/api/v1/documents/${tpl.id}`, { kind: 'document' }, owner.accessToken);
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.kind, 'document');
  await closedWith(reader, 4403, 'access_revoked');
  assert.equal((await api.get(`/api/v1/documents/${tpl.id}`, member.accessToken)).status, 404);
  assert.deepEqual((await api.get('/api/v1/documents?kind=template', member.accessToken)).body.documents, []);
  // And a template again, by PATCH: readable again.
  assert.equal((await api.patch(`/api/v1/documents/${tpl.id}`, { kind: 'template' }, owner.accessToken)).body.kind, 'template');
  assert.equal((await api.get(`/api/v1/documents/${tpl.id}`, member.accessToken)).body.access, 'read');
});

test('collections: every member who is not a guest manages the tree; cycles and depth are refused; deleting one moves what it holds to its parent', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');

  const top = await newCollection(api, member, '  Projects ');
  assert.equal(top.name, 'Projects');
  assert.equal(top.parentId, null);
  const created = (await api.post('/api/v1/collections', { name: 'Design', parentId: top.id }, owner.accessToken)).body;
  assert.deepEqual(Object.keys(created).sort(), ['createdAt', 'createdBy', 'id', 'name', 'parentId', 'updatedAt']);
  assert.equal(created.parentId, top.id);
  assert.equal(created.createdBy, owner.user.id);
  const list = (await api.get('/api/v1/collections', member.accessToken)).body.collections as { id: string; name: string; parentId: string | null }[];
  assert.deepEqual(
    list.map((c) => [c.name, c.parentId]),
    [
      ['Design', top.id],
      ['Projects', null],
    ],
  );

  // Guests: 403 on every collection path.
  for (const [method, path, json] of [
    ['GET', '/api/v1/collections'],
    ['POST', '/api/v1/collections', { name: 'g' }],
    ['PATCH', `/api/v1/collections/${top.id}`, { name: 'g' }],
    ['DELETE', `/api/v1/collections/${top.id}`],
  ] as const) {
    const r = await api.request(method, path, { token: guest.accessToken, json });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.body.error.code, 'forbidden');
  }
  // Another workspace: its own (empty) tree; ours is not found there.
  assert.deepEqual((await api.get('/api/v1/collections', stranger.accessToken)).body.collections, []);
  for (const [method, path, json] of [
    ['PATCH', `/api/v1/collections/${top.id}`, { name: 'pwned' }],
    ['DELETE', `/api/v1/collections/${top.id}`],
    ['POST', '/api/v1/collections', { name: 'x', parentId: top.id }],
  ] as const) {
    const r = await api.request(method, path, { token: stranger.accessToken, json });
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.body.error.code, 'collection_not_found');
  }
  const theirs = await newCollection(api, stranger, 'Theirs');
  assert.equal((await api.patch(`/api/v1/collections/${top.id}`, { parentId: theirs.id }, owner.accessToken)).body.error.code, 'collection_not_found');

  // Validation.
  for (const body of [{}, { name: '' }, { name: 'x'.repeat(121) }, { name: 'ok', parentId: 'nope' }, { name: 'ok', color: 'red' }]) {
    const r = await api.post('/api/v1/collections', body, owner.accessToken);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, 'validation_failed');
  }
  assert.equal((await api.patch(`/api/v1/collections/${top.id}`, {}, owner.accessToken)).body.error.code, 'validation_failed');
  assert.equal((await api.patch('/api/v1/collections/not-a-uuid', { name: 'x' }, owner.accessToken)).body.error.code, 'collection_not_found');
  assert.equal((await api.post('/api/v1/collections', { name: 'x', parentId: crypto.randomUUID() }, owner.accessToken)).body.error.code, 'collection_not_found');

  // Rename, move to the top level and back.
  const renamed = await api.patch(`/api/v1/collections/${created.id}`, { name: 'UX' }, member.accessToken);
  assert.equal(renamed.status, 200);
  assert.equal(renamed.body.name, 'UX');
  assert.equal(renamed.body.parentId, top.id);
  assert.equal((await api.patch(`/api/v1/collections/${created.id}`, { parentId: null }, member.accessToken)).body.parentId, null);
  assert.equal((await api.patch(`/api/v1/collections/${created.id}`, { parentId: top.id }, member.accessToken)).body.parentId, top.id);

  // Cycles: under itself, under what it holds.
  for (const parentId of [top.id, created.id]) {
    const r = await api.patch(`/api/v1/collections/${top.id}`, { parentId }, member.accessToken);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'collection_cycle');
  }
  // Depth: 8 levels nest, a 9th does not, and no subtree moves below the 8th level.
  const chain = [top.id];
  for (let level = 2; level <= 8; level++) chain.push((await newCollection(api, member, `Level ${level}`, chain[chain.length - 1])).id);
  const ninth = await api.post('/api/v1/collections', { name: 'Level 9', parentId: chain[7] }, member.accessToken);
  assert.equal(ninth.status, 400);
  assert.equal(ninth.body.error.code, 'collection_too_deep');
  const pair = await newCollection(api, member, 'Pair');
  await newCollection(api, member, 'Inside pair', pair.id);
  assert.equal((await api.patch(`/api/v1/collections/${pair.id}`, { parentId: chain[6] }, member.accessToken)).body.error.code, 'collection_too_deep');
  assert.equal((await api.patch(`/api/v1/collections/${pair.id}`, { parentId: chain[5] }, member.accessToken)).status, 200);

  // Deleting a collection moves its documents and sub-collections to its parent.
  const level3 = chain[2]!;
  const level4 = chain[3]!;
  const inside = (await api.post('/api/v1/documents', { title: 'In level 4', collectionId: level4 }, member.accessToken)).body as Meta;
  const deletedInside = (await api.post('/api/v1/documents', { title: 'Deleted in level 4', collectionId: level4 }, member.accessToken)).body as Meta;
  await api.del(`/api/v1/documents/${deletedInside.id}`, member.accessToken);
  assert.equal((await api.del(`/api/v1/collections/${level4}`, member.accessToken)).status, 204);
  assert.equal((await api.del(`/api/v1/collections/${level4}`, member.accessToken)).status, 404);
  const after = (await api.get('/api/v1/collections', member.accessToken)).body.collections as { id: string; parentId: string | null }[];
  assert.equal(
    after.find((c) => c.id === level4),
    undefined,
  );
  assert.equal(after.find((c) => c.id === chain[4])!.parentId, level3);
  assert.equal((await api.get(`/api/v1/documents/${inside.id}`, member.accessToken)).body.collectionId, level3);
  // A deleted document moved too, and comes back restored into the parent.
  assert.equal((await api.post(`/api/v1/documents/${deletedInside.id}/restore`, undefined, member.accessToken)).body.collectionId, level3);
  // At the top level, contents move to the top level.
  const topDoc = (await api.post('/api/v1/documents', { title: 'In projects', collectionId: top.id }, owner.accessToken)).body as Meta;
  assert.equal((await api.del(`/api/v1/collections/${top.id}`, owner.accessToken)).status, 204);
  assert.equal((await api.get(`/api/v1/documents/${topDoc.id}`, owner.accessToken)).body.collectionId, null);
  assert.equal(((await api.get('/api/v1/collections', owner.accessToken)).body.collections as { id: string; parentId: string | null }[]).find((c) => c.id === created.id)!.parentId, null);
  // Nothing of another workspace moved.
  assert.deepEqual(
    ((await api.get('/api/v1/collections', stranger.accessToken)).body.collections as { id: string }[]).map((c) => c.id),
    [theirs.id],
  );
});

test('moving a document needs write; unknown or foreign collections are 404; the list filters by collection for what the caller can read', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const writer = await api.addUser(owner, 'member');
  const stranger = await api.signup('Other Co');
  const folder = await newCollection(api, owner, 'Folder');
  const doc = (await api.createDocument(owner, 'Movable')) as Meta;
  const secret = (await api.post('/api/v1/documents', { title: 'Secret', collectionId: folder.id }, owner.accessToken)).body as Meta;
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken);
  const move = (s: Session, collectionId: string | null, id = doc.id) => api.patch(`/api/v1/documents/${id}`, { collectionId }, s.accessToken);

  assert.equal((await move(reader, folder.id)).status, 403);
  assert.equal((await move(stranger, folder.id)).status, 404);
  assert.equal((await move(reader, folder.id, secret.id)).body.error.code, 'document_not_found');
  const moved = await move(writer, folder.id);
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.collectionId, folder.id);
  assert.equal(moved.body.access, 'write');
  assert.equal(moved.body.updatedAt, doc.updatedAt, 'a move is not an edit');
  const unknown = await move(writer, crypto.randomUUID());
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, 'collection_not_found');
  const foreign = await newCollection(api, stranger, 'Theirs');
  assert.equal((await move(writer, foreign.id)).body.error.code, 'collection_not_found');
  assert.equal((await move(writer, 'nope' as string)).body.error.code, 'validation_failed');

  // The folder's documents: the owner sees both, the reader only the one shared with them.
  const inFolder = (s: Session) => api.get(`/api/v1/documents?collectionId=${folder.id}`, s.accessToken);
  assert.deepEqual(titles((await inFolder(owner)).body.documents).sort(), ['Movable', 'Secret']);
  assert.deepEqual(titles((await inFolder(reader)).body.documents), ['Movable']);
  assert.deepEqual(titles((await api.get('/api/v1/documents?collectionId=root', owner.accessToken)).body.documents), []);
  const missing = await api.get(`/api/v1/documents?collectionId=${crypto.randomUUID()}`, owner.accessToken);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, 'collection_not_found');
  assert.equal((await api.get(`/api/v1/documents?collectionId=${foreign.id}`, owner.accessToken)).body.error.code, 'collection_not_found');
  // To the top level, and a rename with a move at once.
  const both = await api.patch(`/api/v1/documents/${doc.id}`, { collectionId: null, title: 'Moved back' }, writer.accessToken);
  assert.equal(both.body.collectionId, null);
  assert.equal(both.body.title, 'Moved back');
  assert.deepEqual(titles((await api.get('/api/v1/documents?collectionId=root', reader.accessToken)).body.documents), ['Moved back']);
});

test('stars and recent views are per user, need read access, and filter the list', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const outsider = await api.addUser(owner, 'member');
  const stranger = await api.signup('Other Co');
  const a = (await api.createDocument(owner, 'A')) as Meta;
  const b = (await api.createDocument(owner, 'B')) as Meta;
  await api.put(`/api/v1/documents/${a.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);

  for (const who of [outsider, stranger]) {
    for (const [method, path] of [
      ['PUT', `/api/v1/documents/${a.id}/star`],
      ['DELETE', `/api/v1/documents/${a.id}/star`],
      ['POST', `/api/v1/documents/${a.id}/views`],
    ] as const) {
      const r = await api.request(method, path, { token: who.accessToken });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.error.code, 'document_not_found');
    }
  }
  assert.equal((await api.put(`/api/v1/documents/${a.id}/star`, undefined, member.accessToken)).status, 204);
  assert.equal((await api.put(`/api/v1/documents/${a.id}/star`, undefined, member.accessToken)).status, 204, 'starring twice is fine');
  assert.equal((await api.get(`/api/v1/documents/${a.id}`, member.accessToken)).body.starred, true);
  assert.equal((await api.get(`/api/v1/documents/${a.id}`, owner.accessToken)).body.starred, false, 'stars are per user');
  assert.deepEqual(ids((await api.get('/api/v1/documents?starred=true', member.accessToken)).body.documents), [a.id]);
  assert.deepEqual(ids((await api.get('/api/v1/documents?starred=true', owner.accessToken)).body.documents), []);
  assert.equal((await api.get('/api/v1/documents?starred=false', owner.accessToken)).body.documents.length, 2, 'false is no filter');
  assert.equal((await api.del(`/api/v1/documents/${a.id}/star`, member.accessToken)).status, 204);
  assert.equal((await api.del(`/api/v1/documents/${a.id}/star`, member.accessToken)).status, 204);
  assert.equal((await api.get(`/api/v1/documents/${a.id}`, member.accessToken)).body.starred, false);

  // Views: one row per user and document, the latest time kept.
  assert.equal((await api.post(`/api/v1/documents/${a.id}/views`, undefined, owner.accessToken)).status, 204);
  assert.equal((await api.post(`/api/v1/documents/${b.id}/views`, undefined, owner.accessToken)).status, 204);
  const first = (await api.get(`/api/v1/documents/${a.id}`, owner.accessToken)).body.lastViewedAt as string;
  assert.match(first, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  assert.deepEqual(ids((await api.get('/api/v1/documents?recent=true', owner.accessToken)).body.documents), [b.id, a.id]);
  await eventually(async () => {
    assert.equal((await api.post(`/api/v1/documents/${a.id}/views`, undefined, owner.accessToken)).status, 204);
    assert.ok((await api.get(`/api/v1/documents/${a.id}`, owner.accessToken)).body.lastViewedAt > first, '(await api.get(`/api/v1/documents/${a.id}`, owner.accessToken)).body.lastViewedAt > first');
  });
  const recent = (await api.get('/api/v1/documents?recent=true', owner.accessToken)).body.documents as Meta[];
  assert.deepEqual(ids(recent), [a.id, b.id]);
  assert.ok(recent[0]!.lastViewedAt! > recent[1]!.lastViewedAt!, 'recent[0]!.lastViewedAt! > recent[1]!.lastViewedAt!');
  assert.deepEqual((await api.get('/api/v1/documents?recent=true', member.accessToken)).body.documents, [], 'views are per user');
  // A document the viewer lost access to leaves their recent list.
  await api.post(`/api/v1/documents/${a.id}/views`, undefined, member.accessToken);
  assert.deepEqual(ids((await api.get('/api/v1/documents?recent=true', member.accessToken)).body.documents), [a.id]);
  await api.put(`/api/v1/documents/${a.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
  assert.deepEqual((await api.get('/api/v1/documents?recent=true', member.accessToken)).body.documents, []);
});

test('the list in every order and filter walks every page once, in order; cursors belong to one order', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const folder = await newCollection(api, owner, 'Folder');
  // Titles with case variants, LIKE's special characters and a backslash.
  const names = ['beta', 'Alpha', 'alpha', 'Gamma 100%', 'delta_one', 'deltaXone', 'Back\\slash', 'epsilon', 'Zeta', 'eta'];
  const docs: Meta[] = [];
  for (const [i, title] of names.entries()) {
    const r = await api.post('/api/v1/documents', { title, ...(i % 3 === 0 ? { collectionId: folder.id } : {}) }, owner.accessToken);
    docs.push(r.body);
  }
  // Renames move `updatedAt` (in a different order than creation); some are starred and viewed.
  for (const i of [4, 0, 7]) await api.patch(`/api/v1/documents/${docs[i]!.id}`, { title: names[i]! }, owner.accessToken);
  for (const i of [1, 5, 8, 2]) await api.put(`/api/v1/documents/${docs[i]!.id}/star`, undefined, owner.accessToken);
  for (const i of [3, 9, 1, 6, 0]) await api.post(`/api/v1/documents/${docs[i]!.id}/views`, undefined, owner.accessToken);
  for (const i of [0, 2, 4, 6]) await api.put(`/api/v1/documents/${docs[i]!.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  for (const i of [2, 0]) await api.post(`/api/v1/documents/${docs[i]!.id}/views`, undefined, member.accessToken);
  const tpl = (await api.post(`/api/v1/documents/${docs[0]!.id}/duplicate`, { kind: 'template' }, owner.accessToken)).body as Meta;

  const queries = [
    '',
    'sort=created',
    'sort=recent',
    'sort=title',
    'recent=true',
    'starred=true',
    'starred=true&sort=title',
    `collectionId=${folder.id}&sort=recent`,
    'collectionId=root&sort=title',
    'q=ALPHA&sort=title',
    'q=delta&sort=recent',
    'kind=template',
    'kind=template&sort=title',
  ];
  for (const who of [owner, member]) {
    for (const params of queries) {
      const all = await walk(api, who, params, 200);
      assert.equal(all.pages, 1);
      for (const limit of [1, 2, 3]) {
        const paged = await walk(api, who, params, limit);
        assert.deepEqual(ids(paged.docs), ids(all.docs), `${params} by ${limit}`);
        // A full last page says there is no next one: no empty page at the end.
        assert.equal(paged.pages, Math.max(1, Math.ceil(all.docs.length / limit)), `${params} by ${limit}: pages`);
      }
    }
  }

  const list = async (params: string, s: Session = owner) => (await walk(api, s, params, 200)).docs;
  // created: newest first (the default); recent: last updated first; title: A–Z ignoring case, ties by id.
  assert.deepEqual(ids(await list('')), ids(docs).reverse());
  assert.deepEqual(ids(await list('sort=created')), ids(docs).reverse());
  const byUpdate = await list('sort=recent');
  assert.deepEqual(ids(byUpdate.slice(0, 3)), [docs[7]!.id, docs[0]!.id, docs[4]!.id]);
  for (let i = 1; i < byUpdate.length; i++) assert.ok(byUpdate[i - 1]!.updatedAt >= byUpdate[i]!.updatedAt, 'byUpdate[i - 1]!.updatedAt >= byUpdate[i]!.updatedAt');
  const byTitle = await list('sort=title');
  const lower = (d: Meta) => d.title.toLowerCase();
  const expected = [...docs].sort((x, y) => (lower(x) < lower(y) ? -1 : lower(x) > lower(y) ? 1 : x.id < y.id ? -1 : 1));
  assert.deepEqual(ids(byTitle), ids(expected));
  // recent=true: viewed documents only, last viewed first.
  assert.deepEqual(
    ids(await list('recent=true')),
    [0, 6, 1, 9, 3].map((i) => docs[i]!.id),
  );
  assert.deepEqual(
    ids(await list('recent=true', member)),
    [0, 2].map((i) => docs[i]!.id),
  );
  assert.deepEqual(ids(await list('starred=true&sort=title')), ids(expected.filter((d) => [1, 2, 5, 8].some((i) => docs[i]!.id === d.id))));
  // Filters: collection, top level, title text (LIKE's characters taken literally), kind.
  assert.deepEqual(
    ids(await list(`collectionId=${folder.id}`)),
    [9, 6, 3, 0].map((i) => docs[i]!.id),
  );
  assert.deepEqual(
    ids(await list(`collectionId=${folder.id}`, member)),
    [6, 0].map((i) => docs[i]!.id),
  );
  assert.equal((await list('collectionId=root')).length, 6);
  assert.deepEqual(titles(await list('q=ALPHA&sort=title')), titles(expected.filter((d) => lower(d) === 'alpha')));
  assert.deepEqual(titles(await list(`q=${encodeURIComponent('%')}`)), ['Gamma 100%']);
  assert.deepEqual(titles(await list(`q=${encodeURIComponent('_')}`)), ['delta_one']);
  assert.deepEqual(titles(await list(`q=${encodeURIComponent('a_o')}`)), ['delta_one']);
  assert.deepEqual(titles(await list(`q=${encodeURIComponent('k\\s')}`)), ['Back\\slash']);
  assert.deepEqual(titles(await list(`q=${encodeURIComponent('  eta  ')}&sort=title`)), ['beta', 'eta', 'Zeta']);
  assert.deepEqual(ids(await list('kind=template')), [tpl.id]);
  assert.deepEqual(ids(await list('kind=template', member)), [tpl.id], 'members read every template');
  assert.ok(!ids(await list('')).includes(tpl.id), "!ids(await list('')).includes(tpl.id)");

  // Cursors: of one order only; the first release's format still reads as `created`.
  const page = (await api.get('/api/v1/documents?sort=title&limit=2', owner.accessToken)).body;
  for (const other of ['', 'sort=recent&', 'sort=created&', 'recent=true&']) {
    const r = await api.get(`/api/v1/documents?${other}cursor=${encodeURIComponent(page.nextCursor)}`, owner.accessToken);
    assert.equal(r.status, 400, other);
    assert.equal(r.body.error.code, 'invalid_cursor');
  }
  assert.equal((await api.get(`/api/v1/documents?sort=title&q=a&cursor=${encodeURIComponent(page.nextCursor)}`, owner.accessToken)).status, 200, 'filters may change under a cursor');
  const newest = (await api.get('/api/v1/documents?limit=1', owner.accessToken)).body.documents[0] as Meta;
  const ts = (await api.get('/api/v1/documents?limit=1', owner.accessToken)).body.nextCursor as string;
  const [, key] = JSON.parse(Buffer.from(ts, 'base64url').toString()) as [string, string, string];
  const legacy = Buffer.from(JSON.stringify([key, newest.id])).toString('base64url');
  assert.deepEqual(ids((await api.get(`/api/v1/documents?limit=2&cursor=${legacy}`, owner.accessToken)).body.documents), [docs[8]!.id, docs[7]!.id]);
  for (const bad of [
    Buffer.from(JSON.stringify(['title', 'x', 'not-a-uuid'])).toString('base64url'),
    Buffer.from(JSON.stringify(['recent', 'yesterday', newest.id])).toString('base64url'),
    Buffer.from(JSON.stringify(['sideways', 'x', newest.id])).toString('base64url'),
    Buffer.from(JSON.stringify(['title', 'x'.repeat(2001), newest.id])).toString('base64url'),
  ]) {
    const r = await api.get(`/api/v1/documents?sort=title&cursor=${bad}`, owner.accessToken);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'invalid_cursor');
  }
  // Query validation.
  for (const params of ['sort=oldest', 'recent=true&sort=title', 'starred=yes', 'recent=1', 'kind=folder', 'collectionId=nope', `q=${'x'.repeat(501)}`, 'q=', 'limit=0']) {
    const r = await api.get(`/api/v1/documents?${params}`, owner.accessToken);
    assert.equal(r.status, 400, params);
    assert.equal(r.body.error.code, 'invalid_query', params);
  }
});

for (const dialect of DIALECTS) {
  test(`the main flows on ${dialect}: collections, move, duplicate as template, new from template, star, view, the orders, delete and restore`, async (t) => {
    const { api, url } = await startServer(t, { dialect });
    const owner = await api.signup();
    const member = await api.addUser(owner, 'member');
    const folder = await newCollection(api, owner, 'Team');
    const sub = await newCollection(api, member, 'Sub', folder.id);
    assert.equal((await api.patch(`/api/v1/collections/${folder.id}`, { parentId: sub.id }, member.accessToken)).body.error.code, 'collection_cycle');
    const doc = (await api.post('/api/v1/documents', { title: 'Weekly', text: 'Wins\nBlockers' }, owner.accessToken)).body as Meta;
    assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { collectionId: sub.id }, owner.accessToken)).body.collectionId, sub.id);
    const tpl = (await api.post(`/api/v1/documents/${doc.id}/duplicate`, { kind: 'template', title: 'Weekly template' }, owner.accessToken)).body as Meta;
    assert.equal(tpl.collectionId, sub.id);
    const reader = connect(t, url, tpl.id, member.accessToken, { reconnect: false });
    await synced(reader);
    assert.equal(reader.provider.authorizedScope, 'readonly');
    const mine = (await api.post(`/api/v1/documents/${tpl.id}/duplicate`, { collectionId: null }, member.accessToken)).body as Meta;
    assert.equal(mine.title, 'Weekly template');
    assert.equal(await text(api, member, mine.id), 'Wins\nBlockers');
    await api.put(`/api/v1/documents/${mine.id}/star`, undefined, member.accessToken);
    await api.post(`/api/v1/documents/${mine.id}/views`, undefined, member.accessToken);
    const listed = (await api.get('/api/v1/documents?starred=true&sort=title', member.accessToken)).body.documents as Meta[];
    assert.deepEqual(
      listed.map((d) => [d.id, d.starred, d.lastViewedAt !== null, d.access]),
      [[mine.id, true, true, 'admin']],
    );
    assert.deepEqual(ids((await walk(api, owner, 'sort=title', 1)).docs), [doc.id, mine.id]);
    assert.deepEqual(ids((await walk(api, owner, `q=${encodeURIComponent('KLY T')}&sort=title`, 1)).docs), [mine.id]);
    assert.deepEqual(ids((await walk(api, owner, `q=${encodeURIComponent('%')}`, 1)).docs), []);
    assert.deepEqual(ids((await walk(api, owner, 'sort=recent&kind=template', 1)).docs), [tpl.id]);
    assert.equal((await api.del(`/api/v1/collections/${folder.id}`, owner.accessToken)).status, 204);
    assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).body.collectionId, sub.id);
    assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
    const restored = await api.post(`/api/v1/documents/${doc.id}/restore`, undefined, owner.accessToken);
    assert.equal(restored.status, 200);
    assert.equal(await text(api, owner, doc.id), 'Wins\nBlockers');
    assert.deepEqual(
      ((await api.get('/api/v1/collections', member.accessToken)).body.collections as { name: string; parentId: string | null }[]).map((c) => [c.name, c.parentId]),
      [['Sub', null]],
    );
  });
}

for (const dialect of DIALECTS) {
  test(`collections, stars and views are isolated per tenant in the database (${dialect})`, async (t) => {
    const { api, quire } = await startServer(t, { dialect });
    const db = quire.store.db;
    const a = await api.signup('A');
    const b = await api.signup('B');
    const docA = (await api.createDocument(a, 'A1')) as Meta;
    const docB = (await api.createDocument(b, 'B1')) as Meta;
    const folderA = await newCollection(api, a, 'Folder A');
    const folderB = await newCollection(api, b, 'Folder B');
    await api.put(`/api/v1/documents/${docB.id}/star`, undefined, b.accessToken);
    await api.post(`/api/v1/documents/${docB.id}/views`, undefined, b.accessToken);
    // No tenant set: nothing; a tenant: its own rows only.
    for (const table of ['collections', 'document_stars', 'document_views']) {
      const none = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
      assert.equal(Number(none.rows[0]?.n), 0, `${table} without tenant`);
    }
    const seen = await withTenant(db, a.user.tenantId, (tx) => tx.selectFrom('collections').select('id').execute());
    assert.deepEqual(ids(seen), [folderA.id]);
    assert.equal((await withTenant(db, a.user.tenantId, (tx) => tx.selectFrom('document_stars').select('document_id').execute())).length, 0);
    // Under A, rows naming B's collection or document: the composite keys refuse them.
    const attempts: ((tx: Tx) => Promise<unknown>)[] = [
      (tx: Tx) => tx.updateTable('documents').set({ collection_id: folderB.id }).where('id', '=', docA.id).execute(),
      (tx: Tx) => tx.insertInto('collections').values({ tenant_id: a.user.tenantId, name: 'smuggled', parent_id: folderB.id, created_by: null }).execute(),
      (tx: Tx) => tx.insertInto('document_stars').values({ tenant_id: a.user.tenantId, document_id: docB.id, user_id: a.user.id }).execute(),
      (tx: Tx) => tx.insertInto('document_views').values({ tenant_id: a.user.tenantId, document_id: docB.id, user_id: a.user.id }).execute(),
    ];
    for (const attempt of attempts) await assert.rejects(withTenant(db, a.user.tenantId, attempt), /foreign key/);
    // And a row for another tenant is refused by the policy.
    await assert.rejects(
      withTenant(db, a.user.tenantId, (tx) => tx.insertInto('collections').values({ tenant_id: b.user.tenantId, name: 'smuggled', parent_id: null, created_by: null }).execute()),
      /row-level security/,
    );
  });
}
