/** The SDK's calls for organising a workspace, against a running server: typed values and typed errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTokenStorage, QuireClient, unwrap, type DocumentMeta } from '../clients/sdk/node.js';
import { startServer } from './helpers/server.js';

const email = (who: string) => `${who}-${Math.random().toString(36).slice(2)}@example.test`;

test('collections, moves, duplicates and templates, stars, views, restore and the list options through the SDK', async (t) => {
  const { url } = await startServer(t);
  const owner = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await owner.signup({ tenant: 'Org', email: email('owner'), password: 'correct horse battery' }));
  const memberEmail = email('member');
  unwrap(await owner.createUser({ email: memberEmail, password: 'another good password', role: 'member' }));
  const member = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await member.login({ email: memberEmail, password: 'another good password' }));

  // Collections.
  const team = unwrap(await owner.createCollection({ name: 'Team' }));
  const notes = unwrap(await member.createCollection({ name: 'Notes', parentId: team.id }));
  assert.equal(notes.parentId, team.id);
  assert.equal(unwrap(await member.updateCollection(notes.id, { name: 'Meeting notes' })).name, 'Meeting notes');
  const cycle = await owner.updateCollection(team.id, { parentId: notes.id });
  assert.ok(!cycle.ok && cycle.error.code === 'collection_cycle' && cycle.error.status === 400, "!cycle.ok && cycle.error.code === 'collection_cycle' && cycle.error.status === 400");
  assert.deepEqual(
    unwrap(await member.listCollections()).map((c) => c.name),
    ['Meeting notes', 'Team'],
  );

  // Documents: create in a collection, move, star, view, list.
  const doc = unwrap(await owner.createDocument({ title: 'Retro', text: 'Went well', collectionId: team.id }));
  assert.equal(doc.collectionId, team.id);
  assert.equal(unwrap(await owner.moveDocument(doc.id, notes.id)).collectionId, notes.id);
  const lost = await owner.moveDocument(doc.id, crypto.randomUUID());
  assert.ok(!lost.ok && lost.error.code === 'collection_not_found', "!lost.ok && lost.error.code === 'collection_not_found'");
  unwrap(await owner.starDocument(doc.id));
  unwrap(await owner.recordView(doc.id));
  const starred = unwrap(await owner.listDocuments({ starred: true, sort: 'title', collectionId: notes.id }));
  assert.deepEqual(
    starred.documents.map((d: DocumentMeta) => [d.id, d.starred, d.lastViewedAt !== null]),
    [[doc.id, true, true]],
  );
  assert.deepEqual(
    unwrap(await owner.listDocuments({ recent: true })).documents.map((d) => d.id),
    [doc.id],
  );
  unwrap(await owner.unstarDocument(doc.id));
  assert.equal(unwrap(await owner.getDocument(doc.id)).starred, false);
  const bad = await owner.listDocuments({ recent: true, sort: 'title' });
  assert.ok(!bad.ok && bad.error.code === 'invalid_query', "!bad.ok && bad.error.code === 'invalid_query'");

  // Templates: save as template, new from template (the member reads it without a grant).
  const tpl = unwrap(await owner.duplicateDocument(doc.id, { kind: 'template' }));
  assert.equal(tpl.kind, 'template');
  assert.deepEqual(
    unwrap(await member.listDocuments({ kind: 'template' })).documents.map((d) => [d.id, d.access]),
    [[tpl.id, 'read']],
  );
  const fresh = unwrap(await member.duplicateDocument(tpl.id, { collectionId: null }));
  assert.deepEqual([fresh.title, fresh.kind, fresh.access, fresh.collectionId], ['Retro', 'document', 'admin', null]);
  assert.equal(unwrap(await member.getText(fresh.id)), 'Went well');
  assert.equal(unwrap(await owner.updateDocument(tpl.id, { kind: 'document', title: 'Retro (old template)' })).kind, 'document');
  const gone = await member.getDocument(tpl.id);
  assert.ok(!gone.ok && gone.error.code === 'document_not_found', "!gone.ok && gone.error.code === 'document_not_found'");

  // Delete and restore; deleting a collection moves what it holds up.
  unwrap(await owner.deleteDocument(doc.id));
  const restored = unwrap(await owner.restoreDocument(doc.id));
  assert.equal(restored.id, doc.id);
  const twice = await owner.restoreDocument(doc.id);
  assert.ok(!twice.ok && twice.error.code === 'document_not_found', "!twice.ok && twice.error.code === 'document_not_found'");
  unwrap(await member.deleteCollection(notes.id));
  assert.equal(unwrap(await owner.getDocument(doc.id)).collectionId, team.id);
  const again = await member.deleteCollection(notes.id);
  assert.ok(!again.ok && again.error.code === 'collection_not_found' && again.error.status === 404, "!again.ok && again.error.code === 'collection_not_found' && again.error.status === 404");
});
