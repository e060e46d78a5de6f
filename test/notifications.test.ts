/**
 * In-app notifications end to end: comments, replies and shares become notifications for
 * the right people (never for someone who cannot read the document), open streams get
 * them live, lists page and count, marking read reaches other tabs, preferences and the
 * workspace defaults decide what is made, and a redelivered feed event makes nothing twice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FeedEvent } from '../contract/feed.js';
import { Notifier } from '../ml-workers/notify/notifier.js';
import type { ApiClient, Session } from './helpers/api.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';
import { openNotificationStream } from './helpers/notification-stream.js';

const mention = (s: Session, name = 'You') => `@[${name}](user:${s.user.id})`;

const openStream = openNotificationStream;

async function share(api: ApiClient, owner: Session, docId: string, user: Session, level: string) {
  const r = await api.put(`/api/v1/documents/${docId}/permissions`, { userId: user.user.id, level }, owner.accessToken);
  assert.equal(r.status, 200, r.text);
}

async function comment(api: ApiClient, s: Session, docId: string, body: string, parentId?: string) {
  const r = await api.post(`/api/v1/documents/${docId}/comments`, parentId ? { body, parentId } : { body }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as { id: string };
}

const list = async (api: ApiClient, s: Session, query = '') => {
  const r = await api.get(`/api/v1/notifications${query}`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body as { notifications: any[]; nextCursor: string | null; unread: number };
};

test('a mention reaches the open stream of the person mentioned; lists, counts and marking read follow', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const bea = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Launch plan');

  const stream = await openStream(url, bea.accessToken);
  t.after(() => stream.close());
  await eventually(() =>
    assert.ok(
      stream.events.some((e) => e.event === 'unread'),
      'the stream opens with the unread count',
    ),
  );
  // Sharing the document with her is a notification too.
  await share(api, owner, doc.id, bea, 'comment');
  await eventually(() =>
    assert.ok(
      stream.events.some((e) => e.event === 'notification' && e.data.notification.kind === 'share'),
      'the share arrives on the open stream',
    ),
  );

  const c = await comment(api, owner, doc.id, `Can you check the dates, ${mention(bea, 'Bea')}?`);
  const live = await eventually(() => {
    const e = stream.events.find((x) => x.event === 'notification' && x.data.notification.kind === 'mention');
    assert.ok(e, 'the mention arrives on the open stream');
    return e.data;
  });
  assert.equal(live.notification.documentId, doc.id);
  assert.equal(live.notification.documentTitle, 'Launch plan');
  assert.equal(live.notification.data.commentId, c.id);
  assert.equal(live.notification.data.excerpt, 'Can you check the dates, @Bea?');
  assert.match(live.notification.text, /mentioned you in “Launch plan”/);
  assert.equal(live.notification.link, `/d/${doc.id}?comment=${c.id}`);
  assert.equal(live.unread, 2);

  const page = await list(api, bea);
  assert.deepEqual(
    page.notifications.map((n) => n.kind),
    ['mention', 'share'],
  );
  assert.equal(page.unread, 2);
  // The author hears nothing of their own comment.
  assert.equal((await list(api, owner)).notifications.length, 0);

  // Paging: one at a time, by cursor.
  const first = await list(api, bea, '?limit=1');
  assert.equal(first.notifications[0].kind, 'mention');
  const second = await list(api, bea, `?limit=1&cursor=${first.nextCursor}`);
  assert.equal(second.notifications[0].kind, 'share');
  assert.equal(second.nextCursor, null);

  // Read in one tab: the other's stream hears the new count.
  const other = await openStream(url, bea.accessToken);
  t.after(() => other.close());
  await eventually(() => assert.ok(other.events.length > 0, 'the second stream opened'));
  const read = await api.post('/api/v1/notifications/read', { ids: [live.notification.id] }, bea.accessToken);
  assert.equal(read.status, 200);
  assert.equal(read.body.unread, 1);
  await eventually(() =>
    assert.ok(
      other.events.some((e) => e.event === 'unread' && e.data.unread === 1),
      'the other tab hears the new count',
    ),
  );
  assert.deepEqual(
    (await list(api, bea, '?unread=true')).notifications.map((n) => n.kind),
    ['share'],
  );
  assert.equal((await api.post('/api/v1/notifications/read', { all: true }, bea.accessToken)).body.unread, 0);
  assert.equal(
    (await list(api, bea)).notifications.every((n) => n.readAt !== null),
    true,
  );
});

test('a reply tells the others in the thread once each; nobody hears of a document they cannot read', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const ann = await api.addUser(owner, 'member');
  const ben = await api.addUser(owner, 'member');
  const outsider = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Budget');
  await share(api, owner, doc.id, ann, 'comment');
  await share(api, owner, doc.id, ben, 'comment');

  const thread = await comment(api, ann, doc.id, 'Is the total right?');
  await comment(api, ben, doc.id, 'I think so.', thread.id);
  // The outsider is mentioned but cannot read the document: nothing for them.
  await comment(api, owner, doc.id, `Checked. ${mention(ann, 'Ann')} ${mention(outsider, 'Out')}`, thread.id);

  await eventually(async () => {
    const kinds = (await list(api, ann)).notifications.map((n) => n.kind).filter((k) => k !== 'share');
    assert.deepEqual(kinds.sort(), ['mention', 'reply']);
  });
  await eventually(async () => {
    const kinds = (await list(api, ben)).notifications.map((n) => n.kind).filter((k) => k !== 'share');
    assert.deepEqual(kinds, ['reply']);
  });
  // Ann was mentioned in the owner's reply: one mention, not a mention and a reply for it.
  const annNotes = (await list(api, ann)).notifications.filter((n) => n.kind !== 'share');
  assert.equal(annNotes.filter((n) => n.kind === 'reply').length, 1);
  assert.equal(annNotes.find((n) => n.kind === 'reply').actor.id, ben.user.id);
  assert.equal((await list(api, outsider)).notifications.length, 0);

  // Access taken away: what was made no longer shows (the title and excerpt stay hidden).
  await share(api, owner, doc.id, ben, 'none');
  const after = await list(api, ben);
  assert.equal(after.notifications.length, 0);
  assert.equal(after.unread, 0);
});

test('preferences: a kind turned off in the app makes nothing there; workspace defaults apply until a person chooses', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const cy = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Notes');
  await share(api, owner, doc.id, cy, 'read');

  const prefs = await api.get('/api/v1/me/notification-preferences', cy.accessToken);
  assert.equal(prefs.status, 200);
  assert.deepEqual(prefs.body.preferences.mention, { inApp: true, email: true, push: true });

  // Members cannot set the workspace defaults; admins can.
  assert.equal((await api.put('/api/v1/workspace/notification-defaults', { preferences: { reply: { email: false } } }, cy.accessToken)).status, 403);
  const set = await api.put('/api/v1/workspace/notification-defaults', { preferences: { reply: { email: false } } }, owner.accessToken);
  assert.equal(set.status, 200, set.text);
  const mine = await api.get('/api/v1/me/notification-preferences', cy.accessToken);
  assert.equal(mine.body.defaults.reply.email, false);
  assert.equal(mine.body.preferences.reply.email, false);

  const off = await api.put('/api/v1/me/notification-preferences', { preferences: { mention: { inApp: false, email: false, push: false } } }, cy.accessToken);
  assert.equal(off.status, 200, off.text);
  assert.deepEqual(off.body.preferences.mention, { inApp: false, email: false, push: false });
  assert.equal(off.body.preferences.share.inApp, true, 'other kinds keep their settings');

  await comment(api, owner, doc.id, `FYI ${mention(cy, 'Cy')}`);
  // A later mention of someone who kept the default shows that the first was handled.
  const dee = await api.addUser(owner, 'member');
  await share(api, owner, doc.id, dee, 'read');
  await comment(api, owner, doc.id, `And ${mention(dee, 'Dee')}`);
  await eventually(async () =>
    assert.ok(
      (await list(api, dee)).notifications.some((n) => n.kind === 'mention'),
      'Dee was told',
    ),
  );
  assert.deepEqual(
    (await list(api, cy)).notifications.map((n) => n.kind),
    ['share'],
  );

  // Bad input gets a clear error.
  assert.equal((await api.put('/api/v1/me/notification-preferences', { preferences: { nope: { inApp: true } } }, cy.accessToken)).status, 400);
  assert.equal((await api.put('/api/v1/me/notification-preferences', { preferences: { mention: { inApp: 'yes' } } }, cy.accessToken)).status, 400);
  assert.equal((await api.get('/api/v1/notifications?cursor=garbage', cy.accessToken)).body.error.code, 'invalid_cursor');
  assert.equal((await api.get('/api/v1/notifications?limit=0', cy.accessToken)).status, 400);
  assert.equal((await api.post('/api/v1/notifications/read', { ids: ['not-a-uuid'] }, cy.accessToken)).status, 400);
  assert.equal((await api.get('/api/v1/notifications/stream')).status, 401);
});

test('a feed event handled twice (redelivered after a crash before its ack) notifies once', async (t) => {
  const { api, quire } = await startServer(t);
  const owner = await api.signup();
  const eve = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Twice');
  await share(api, owner, doc.id, eve, 'comment');
  const c = await comment(api, owner, doc.id, `Hi ${mention(eve, 'Eve')}`);
  await eventually(async () => assert.equal((await list(api, eve)).notifications.filter((n) => n.kind === 'mention').length, 1));

  const signals: string[] = [];
  const notifier = new Notifier({
    db: quire.store.db,
    log: quire.log,
    hub: { publish: (s: { type: string }) => signals.push(s.type) } as never,
    email: true,
    emailBatchMs: 0,
  });
  const ev: FeedEvent = { type: 'document.commented', tenantId: owner.user.tenantId, documentId: doc.id, subjectId: c.id, txid: '1', seq: '999999', at: new Date().toISOString() };
  assert.equal(await notifier.handle(ev), 0, 'the worker already made it: nothing new');
  assert.equal(await notifier.handle({ ...ev, seq: '1000000' }), 0, 'one comment tells each person once, whichever feed row carries it');
  assert.deepEqual(signals, []);
  assert.equal((await list(api, eve)).notifications.filter((n) => n.kind === 'mention').length, 1);
});

test('on the scaled profile the notifier consumes the JetStream feed: a mention arrives, once', async (t) => {
  const { api, url } = await startServer(t, { nats: true });
  const owner = await api.signup();
  const fay = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Scaled');
  await share(api, owner, doc.id, fay, 'comment');
  const stream = await openStream(url, fay.accessToken);
  t.after(() => stream.close());
  const c = await comment(api, owner, doc.id, `Over NATS, ${mention(fay, 'Fay')}`);
  await eventually(() =>
    assert.ok(
      stream.events.some((e) => e.event === 'notification' && e.data.notification.data.commentId === c.id),
      'the mention arrives over the JetStream feed',
    ),
  );
  const page = await list(api, fay);
  assert.deepEqual(page.notifications.map((n) => n.kind).sort(), ['mention', 'share']);
});

test('two instances with Redis: a stream open on one hears what the other made; after one stops, the other carries on', async (t) => {
  const one = await startServer(t, { redis: true });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { REDIS_PREFIX: one.config.redis.prefix } });
  const owner = await one.api.signup();
  const gus = await one.api.addUser(owner, 'member');
  const doc = await one.api.createDocument(owner, 'Two');
  await share(one.api, owner, doc.id, gus, 'comment');
  const stream = await openStream(two.url, gus.accessToken);
  t.after(() => stream.close());
  const heard = (id: string) => stream.events.some((e) => e.event === 'notification' && e.data.notification.data.commentId === id);

  const first = await comment(one.api, owner, doc.id, `Via one, ${mention(gus, 'Gus')}`);
  await eventually(() => assert.ok(heard(first.id), 'the stream on instance two hears a comment made on instance one'));
  await one.quire.close();
  const second = await comment(two.api, owner, doc.id, `Via two, ${mention(gus, 'Gus')}`);
  await eventually(() => assert.ok(heard(second.id), 'instance two alone still notifies'));
  const kinds = (await list(two.api, gus)).notifications.map((n) => n.kind);
  assert.deepEqual(kinds.sort(), ['mention', 'mention', 'share'], 'each once');
});
