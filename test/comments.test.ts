/**
 * Comments over REST and live: threads anchored on text, replies, resolve and reopen,
 * mentions, edit and delete rules; the `comment` level (comments, never edits — over REST or
 * the socket); 404 on every comment path without access; anchors that follow concurrent
 * typing on live sockets; and `quire.comments` reaching open clients, on another instance too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { Comment, DocumentMeta } from '../contract/api.js';
import type { ApiClient, Session } from './helpers/api.js';
import { acked, connect, paragraphText, readParagraph, synced } from './helpers/provider.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

async function newDocument(api: ApiClient, s: Session, title: string, text: string): Promise<DocumentMeta> {
  const r = await api.post('/api/v1/documents', { title, text }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as DocumentMeta;
}

async function comments(api: ApiClient, s: Session, id: string): Promise<Comment[]> {
  const r = await api.get(`/api/v1/documents/${id}/comments`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.comments as Comment[];
}

async function post(api: ApiClient, s: Session, id: string, body: unknown): Promise<Comment> {
  const r = await api.post(`/api/v1/documents/${id}/comments`, body, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Comment;
}

const errorOf = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];

for (const dialect of DIALECTS) {
  test(`comments (${dialect}): a thread on a phrase, replies, mentions, resolve and reopen; who may edit and delete what`, async (t) => {
    const { api } = await startServer(t, { dialect });
    const owner = await api.signup();
    const commenter = await api.addUser(owner, 'member');
    const reader = await api.addUser(owner, 'member');
    const editor = await api.addUser(owner, 'member');
    await api.patch('/api/v1/me', { displayName: 'Cora Commenter' }, commenter.accessToken);
    const doc = await newDocument(api, owner, 'Contract', 'The fee is due in 30 days.\nSigned by both parties.');
    for (const [u, level] of [
      [commenter, 'comment'],
      [reader, 'read'],
      [editor, 'write'],
    ] as const) {
      const r = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: u.user.id, level }, owner.accessToken);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.level, level);
    }
    assert.equal((await api.get(`/api/v1/documents/${doc.id}`, commenter.accessToken)).body.access, 'comment');

    // A thread on "30 days", by text offsets, mentioning the editor.
    const text = 'The fee is due in 30 days.\nSigned by both parties.';
    const from = text.indexOf('30 days');
    const thread = await post(api, commenter, doc.id, { body: `Should be 60, @[Ed](user:${editor.user.id})?`, anchor: { from, to: from + 7 } });
    assert.equal(thread.parentId, null);
    assert.deepEqual(thread.author, { id: commenter.user.id, name: 'Cora Commenter' });
    assert.deepEqual(thread.mentions, [editor.user.id]);
    assert.equal(thread.anchor?.quote, '30 days');
    assert.equal(thread.anchor?.from, from);
    assert.equal(thread.anchor?.to, from + 7);
    assert.equal(thread.anchor?.detached, false);
    assert.equal(thread.resolvedAt, null);

    // Replies: by the editor and the owner; the reader may read but not reply.
    const reply = await post(api, editor, doc.id, { body: 'Agreed.', parentId: thread.id });
    assert.equal(reply.parentId, thread.id);
    assert.equal(reply.anchor, null);
    await post(api, owner, doc.id, { body: 'Changing it.', parentId: thread.id.toUpperCase() });
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Me too' }, reader.accessToken)), [403, 'forbidden']);
    // A reply to a reply, a reply with an anchor, a parent from nowhere.
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'x', parentId: reply.id }, editor.accessToken)), [400, 'not_a_thread']);
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'x', parentId: thread.id, anchor: { from: 0, to: 3 } }, editor.accessToken)), [400, 'validation_failed']);
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'x', parentId: crypto.randomUUID() }, editor.accessToken)), [404, 'comment_not_found']);

    // A comment on the whole document (no anchor).
    const general = await post(api, owner, doc.id, { body: 'Overall fine.' });
    assert.equal(general.anchor, null);

    const list = await comments(api, reader, doc.id);
    assert.deepEqual(
      list.map((c) => [c.body, c.parentId === null]),
      [
        [`Should be 60, @[Ed](user:${editor.user.id})?`, true],
        ['Overall fine.', true],
        ['Agreed.', false],
        ['Changing it.', false],
      ],
    );

    // Resolve and reopen: anyone who may comment; only threads.
    const resolved = await api.patch(`/api/v1/documents/${doc.id}/comments/${thread.id}`, { resolved: true }, editor.accessToken);
    assert.equal(resolved.status, 200, resolved.text);
    assert.ok(resolved.body.resolvedAt, 'resolved.body.resolvedAt is set');
    assert.equal(resolved.body.resolvedBy.id, editor.user.id);
    assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${doc.id}/comments/${thread.id}`, { resolved: false }, reader.accessToken)), [403, 'forbidden']);
    assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${doc.id}/comments/${reply.id}`, { resolved: true }, editor.accessToken)), [400, 'not_a_thread']);
    const reopened = await api.patch(`/api/v1/documents/${doc.id}/comments/${thread.id}`, { resolved: false }, commenter.accessToken);
    assert.equal(reopened.status, 200, reopened.text);
    assert.equal(reopened.body.resolvedAt, null);
    assert.equal(reopened.body.resolvedBy, null);

    // Edits: the author only; mentions follow the body.
    assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${doc.id}/comments/${thread.id}`, { body: 'Hijacked' }, owner.accessToken)), [403, 'forbidden']);
    const edited = await api.patch(`/api/v1/documents/${doc.id}/comments/${thread.id}`, { body: `Should be 60, @[Owner](user:${owner.user.id})?` }, commenter.accessToken);
    assert.equal(edited.status, 200, edited.text);
    assert.ok(edited.body.editedAt, 'edited.body.editedAt is set');
    assert.deepEqual(edited.body.mentions, [owner.user.id]);

    // Deletes: the author, or a document admin; a thread takes its replies with it.
    assert.deepEqual(errorOf(await api.del(`/api/v1/documents/${doc.id}/comments/${reply.id}`, commenter.accessToken)), [403, 'forbidden']);
    assert.equal((await api.del(`/api/v1/documents/${doc.id}/comments/${reply.id}`, editor.accessToken)).status, 204);
    assert.equal((await api.del(`/api/v1/documents/${doc.id}/comments/${thread.id}`, owner.accessToken)).status, 204);
    assert.deepEqual(
      (await comments(api, owner, doc.id)).map((c) => c.body),
      ['Overall fine.'],
    );
    assert.deepEqual(errorOf(await api.del(`/api/v1/documents/${doc.id}/comments/${thread.id}`, owner.accessToken)), [404, 'comment_not_found']);

    // Bad input: a clear 400 each, nothing stored.
    for (const [body, code] of [
      [{ body: '' }, 'validation_failed'],
      [{ body: '   ' }, 'validation_failed'],
      [{ body: 'x'.repeat(10_001) }, 'validation_failed'],
      [{ body: 'x', anchor: { from: 5, to: 2 } }, 'invalid_anchor'],
      [{ body: 'x', anchor: { from: 0, to: 10_000 } }, 'invalid_anchor'],
      [{ body: 'x', anchor: { start: 'AAAA', end: 'AAAA' } }, 'invalid_anchor'],
      [{ body: 'x', anchor: { from: 0 } }, 'validation_failed'],
      [{ body: 'x', extra: 1 }, 'validation_failed'],
      [{ body: `@[Ghost](user:${crypto.randomUUID()})` }, 'validation_failed'],
    ] as const) {
      assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, body, owner.accessToken)), [400, code], JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await comments(api, owner, doc.id)).length, 1);
  });
}

test('without access every comment path answers 404; another workspace`s comment ids name nothing', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const outsider = await api.addUser(owner, 'member');
  const stranger = await api.signup('Other Co');
  const doc = await newDocument(api, owner, 'Private', 'Secret plans.');
  const c = await post(api, owner, doc.id, { body: 'Note', anchor: { from: 0, to: 6 } });
  for (const s of [outsider, stranger]) {
    assert.deepEqual(errorOf(await api.get(`/api/v1/documents/${doc.id}/comments`, s.accessToken)), [404, 'document_not_found']);
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'hi' }, s.accessToken)), [404, 'document_not_found']);
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'hi', anchor: { from: 0, to: 6 } }, s.accessToken)), [404, 'document_not_found']);
    assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${doc.id}/comments/${c.id}`, { resolved: true }, s.accessToken)), [404, 'document_not_found']);
    assert.deepEqual(errorOf(await api.del(`/api/v1/documents/${doc.id}/comments/${c.id}`, s.accessToken)), [404, 'document_not_found']);
  }
  // A comment id from another document of one's own names nothing here.
  const mine = await newDocument(api, stranger, 'Mine', 'Text');
  assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${mine.id}/comments/${c.id}`, { resolved: true }, stranger.accessToken)), [404, 'comment_not_found']);
  assert.deepEqual(errorOf(await api.del(`/api/v1/documents/${mine.id}/comments/not-a-uuid`, stranger.accessToken)), [404, 'comment_not_found']);
  assert.equal((await comments(api, owner, doc.id)).length, 1);
});

test('the comment level: comments over REST, is told its level on the socket, and cannot change content over REST or the socket; link access can give it', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const commenter = await api.addUser(owner, 'member');
  const member = await api.addUser(owner, 'member');
  const doc = await newDocument(api, owner, 'Draft', 'Original words.');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: commenter.user.id, level: 'comment' }, owner.accessToken);

  assert.deepEqual(errorOf(await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Replaced' }, commenter.accessToken)), [403, 'forbidden']);
  assert.deepEqual(errorOf(await api.patch(`/api/v1/documents/${doc.id}`, { title: 'Renamed' }, commenter.accessToken)), [403, 'forbidden']);
  const c = connect(t, url, doc.id, commenter.accessToken, { reconnect: false });
  await synced(c);
  assert.equal(c.provider.authorizedScope, 'readonly');
  await eventually(() =>
    assert.ok(
      c.notices.some((n) => n?.type === 'quire.access' && n.level === 'comment'),
      JSON.stringify(c.notices),
    ),
  );
  await eventually(() => assert.equal(readParagraph(c.doc), 'Original words.'));
  paragraphText(c.doc).insert(0, 'EDITED ');
  // A stateless message after the update: its refusal says the server has handled the update too.
  c.provider.sendStateless('after the update');
  await eventually(() =>
    assert.ok(
      c.notices.some((n) => n?.type === 'quire.refused' && n.what === 'stateless'),
      JSON.stringify(c.notices),
    ),
  );
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken)).text, 'Original words.');
  await post(api, commenter, doc.id, { body: 'Maybe "terms"?', anchor: { from: 9, to: 14 } });

  // "Anyone in the workspace with the link can comment".
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/comments`, member.accessToken)).status, 404);
  const linked = await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: 'comment' }, owner.accessToken);
  assert.equal(linked.status, 200, linked.text);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).body.access, 'comment');
  await post(api, member, doc.id, { body: 'Seen.' });
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'x' }, member.accessToken)).status, 403);

  // Raising a live commenter to write makes the socket writable; lowering it again follows.
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: commenter.user.id, level: 'write' }, owner.accessToken);
  await eventually(() =>
    assert.ok(
      c.notices.some((n) => n?.type === 'quire.access' && n.level === 'write'),
      JSON.stringify(c.notices),
    ),
  );
  // Granted read, the link's comment level still counts (the higher wins); without the link, read.
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: commenter.user.id, level: 'read' }, owner.accessToken);
  await eventually(() => assert.equal(c.notices.at(-1)?.level, 'comment', JSON.stringify(c.notices)));
  await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: 'none' }, owner.accessToken);
  await eventually(() => assert.equal(c.notices.at(-1)?.level, 'read', JSON.stringify(c.notices)));
  assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'x' }, commenter.accessToken)), [403, 'forbidden']);
});

test('an anchor follows its phrase while two people type around it on live sockets; deleting the phrase leaves the comment detached with its quote', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const editor = await api.addUser(owner, 'member');
  const doc = await newDocument(api, owner, 'Notes', 'Meet at noon on Friday.');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: editor.user.id, level: 'write' }, owner.accessToken);
  const a = connect(t, url, doc.id, owner.accessToken);
  const b = connect(t, url, doc.id, editor.accessToken);
  await Promise.all([synced(a), synced(b)]);
  await eventually(() => assert.equal(readParagraph(b.doc), 'Meet at noon on Friday.'));
  const thread = await post(api, owner, doc.id, { body: 'Which Friday?', anchor: { from: 16, to: 22 } });
  assert.equal(thread.anchor?.quote, 'Friday');

  // Both type at once: before the phrase, right after it, and at the start.
  paragraphText(a.doc).insert(0, 'Team: ');
  paragraphText(b.doc).insert('Meet at noon on Friday'.length, ' the 12th');
  paragraphText(b.doc).insert('Meet at '.length, 'about ');
  await Promise.all([acked(a), acked(b)]);
  await eventually(() => assert.equal(readParagraph(a.doc), readParagraph(b.doc)));
  const text = (await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken)).text;
  assert.equal(text, 'Team: Meet at about noon on Friday the 12th.');
  const [moved] = await comments(api, owner, doc.id);
  assert.equal(text.slice(moved!.anchor!.from!, moved!.anchor!.to!), 'Friday');

  // The phrase deleted: the comment stays, detached, with what it was made on.
  const p = paragraphText(a.doc);
  p.delete(p.toString().indexOf('Friday'), 'Friday'.length);
  await acked(a);
  const [detached] = await comments(api, owner, doc.id);
  assert.deepEqual(detached!.anchor && { ...detached!.anchor, start: '', end: '' }, { start: '', end: '', from: null, to: null, quote: 'Friday', detached: true });
  assert.equal(detached!.body, 'Which Friday?');
});

test('with two instances, a comment made through one reaches a client on the other as quire.comments; the mention is recorded', async (t) => {
  const one = await startServer(t, { redis: true });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { REDIS_PREFIX: one.config.redis.prefix } });
  const owner = await one.api.signup();
  const reader = await one.api.addUser(owner, 'member');
  const doc = await newDocument(one.api, owner, 'Shared', 'Hello there.');
  await one.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  const watcher = connect(t, two.url, doc.id, reader.accessToken);
  await synced(watcher);
  const c = await post(one.api, owner, doc.id, { body: `Look, @[Rae](user:${reader.user.id})`, anchor: { from: 0, to: 5 } });
  await eventually(() =>
    assert.ok(
      watcher.notices.some((n) => n?.type === 'quire.comments' && n.commentId === c.id),
      JSON.stringify(watcher.notices),
    ),
  );
  const resolved = await two.api.patch(`/api/v1/documents/${doc.id}/comments/${c.id}`, { resolved: true }, owner.accessToken);
  assert.equal(resolved.status, 200, resolved.text);
  await eventually(() => assert.equal(watcher.notices.filter((n) => n?.type === 'quire.comments').length, 2));
  const { rows } = await sql<{ user_id: string; document_id: string }>`select user_id, document_id from comment_mentions where comment_id = ${c.id}`.execute(one.quire.store.owner);
  assert.deepEqual(rows, [{ user_id: reader.user.id, document_id: doc.id }]);
});
