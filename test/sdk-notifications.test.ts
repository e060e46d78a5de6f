/** The SDK's notification calls and live stream against a running server, and its SSE parser. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NotificationStreamEvent } from '../clients/sdk/index.js';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { parseEvents } from '../clients/sdk/notifications.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const email = (who: string) => `${who}-${Math.random().toString(36).slice(2)}@example.test`;

test('the SSE parser: events split across reads, comments, multi-line data, CRLF', () => {
  const seen: [string, string][] = [];
  let rest = parseEvents(': open\n\nevent: unread\ndata: {"a"', (e, d) => seen.push([e, d]));
  assert.equal(seen.length, 0, 'an unfinished event waits for its end');
  rest = parseEvents(`${rest}:1}\n\ndata: one\r\ndata: two\r\n\r\nevent: x`, (e, d) => seen.push([e, d]));
  assert.deepEqual(seen, [
    ['unread', '{"a":1}'],
    ['message', 'one\ntwo'],
  ]);
  assert.equal(rest, 'event: x');
});

test('streamNotifications: the count when it opens, each new notification live, and the settings calls', async (t) => {
  const { url } = await startServer(t);
  const owner = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await owner.signup({ tenant: 'Org', email: email('owner'), password: 'correct horse battery' }));
  const memberEmail = email('member');
  const member = unwrap(await owner.createUser({ email: memberEmail, password: 'another good password', role: 'member' }));
  const bob = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await bob.login({ email: memberEmail, password: 'another good password' }));

  const events: NotificationStreamEvent[] = [];
  const states: boolean[] = [];
  const stream = bob.streamNotifications({ onEvent: (e) => events.push(e), onState: (open) => states.push(open), retryMs: 50 });
  t.after(() => stream.close());
  await eventually(() => assert.deepEqual(events[0], { type: 'unread', unread: 0 }, 'the stream opens with the count'));

  const doc = unwrap(await owner.createDocument({ title: 'Spec' }));
  unwrap(await owner.setPermission(doc.id, member.id, 'comment'));
  const thread = unwrap(await owner.createComment(doc.id, { body: `Thoughts, @[Bob](user:${member.id})?` }));
  const mention = await eventually(() => {
    const e = events.find((x) => x.type === 'notification' && x.notification.kind === 'mention');
    assert.ok(e && e.type === 'notification', `the mention arrives live (${JSON.stringify(events.map((x) => (x.type === 'notification' ? x.notification.kind : x.unread)))})`);
    return e.notification;
  });
  assert.equal(mention.data['commentId'], thread.id);

  const page = unwrap(await bob.listNotifications({ unread: true }));
  assert.deepEqual(page.notifications.map((n) => n.kind).sort(), ['mention', 'share']);
  assert.equal(unwrap(await bob.markNotificationsRead({ all: true })).unread, 0);
  await eventually(() => assert.deepEqual(events.at(-1), { type: 'unread', unread: 0 }, 'reading is heard on the stream'));

  const prefs = unwrap(await bob.setNotificationPreferences({ reply: { email: false } }));
  assert.equal(prefs.preferences.reply.email, false);
  assert.equal(unwrap(await bob.getNotificationPreferences()).preferences.reply.inApp, true);
  const denied = await bob.setNotificationDefaults({ reply: { push: false } });
  assert.ok(!denied.ok && denied.error.code === 'forbidden', 'members do not set workspace defaults');
  assert.equal(unwrap(await owner.setNotificationDefaults({ reply: { push: false } })).defaults.reply.push, false);
  assert.ok(states.includes(true), 'the stream reported itself open');
});
