/**
 * The SDK's account calls: `updateMe`, `changePassword` (the new session is stored and this
 * device's open documents carry on with it; every other device's session ends) and
 * `logoutEverywhere` (every device, this one included, is signed out).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import * as Y from 'yjs';
import { memoryTokenStorage, openDocument, QuireClient, unwrap, type DocumentSession, type PasswordStrength, type SessionListener } from '../clients/sdk/node.js';
import { QuietWebSocket } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const STRONG = 'correct horse battery';
const NEXT = 'violet kettle on the stairs';

/** The first status that satisfies `predicate`, or a failure naming what never happened. */
async function reaches(session: DocumentSession, predicate: (s: DocumentSession['status']) => boolean, what: string): Promise<DocumentSession['status']> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within 20 s; status: ${JSON.stringify(session.status)}`)), 20_000);
  });
  try {
    return await Promise.race([session.waitFor(predicate), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function open(t: TestContext, client: QuireClient, id: string): Promise<DocumentSession> {
  const s = await openDocument(client, id, { WebSocket: QuietWebSocket, followNetwork: false, reconnectDelay: { min: 50, max: 400 } });
  t.after(() => s.destroy());
  return s;
}

/** One person signed in on two devices (two clients with their own token storage), each with the document open. */
async function twoDevices(t: TestContext) {
  const { url } = await startServer(t);
  const email = `acct-${Math.random().toString(36).slice(2)}@example.test`;
  const device = (events: string[]) => {
    const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
    client.onSession(((u, reason) => events.push(`${u ? 'user' : 'none'}:${reason}`)) satisfies SessionListener);
    return client;
  };
  const hereEvents: string[] = [];
  const thereEvents: string[] = [];
  const here = device(hereEvents);
  const there = device(thereEvents);
  unwrap(await here.signup({ tenant: 'Account', email, password: STRONG }));
  unwrap(await there.login({ email, password: STRONG }));
  const doc = unwrap(await here.createDocument({ title: 'Shared', text: 'start' }));
  const [a, b] = await Promise.all([open(t, here, doc.id), open(t, there, doc.id)]);
  await Promise.all([reaches(a, (x) => x.synced, 'synced here'), reaches(b, (x) => x.synced, 'synced there')]);
  return { url, email, here, there, hereEvents, thereEvents, doc, a, b };
}

test('updateMe sets and clears the display name; errors are values', async (t) => {
  const { url } = await startServer(t);
  const client = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await client.signup({ tenant: 'Me', email: `me-${Math.random().toString(36).slice(2)}@example.test`, password: STRONG }));
  const me = unwrap(await client.updateMe({ displayName: ' Grace ' }));
  assert.equal(me.displayName, 'Grace');
  assert.equal(unwrap(await client.me()).displayName, 'Grace');
  assert.equal(unwrap(await client.updateMe({ displayName: null })).displayName, null);
  const bad = await client.updateMe({ displayName: '' });
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'validation_failed');
});

test('changePassword: refusals are values and keep the session; success stores the new session, this device carries on, the other is signed out', async (t) => {
  const { email, here, there, hereEvents, thereEvents, a, b, url } = await twoDevices(t);
  const before = here.user;

  const wrong = await here.changePassword({ currentPassword: 'not my password at all', newPassword: NEXT });
  assert.ok(!wrong.ok, '!wrong.ok');
  assert.equal(wrong.error.code, 'wrong_password');
  assert.equal(wrong.error.status, 403);
  const weak = await here.changePassword({ currentPassword: STRONG, newPassword: 'aaaaaaaaaa' });
  assert.ok(!weak.ok, '!weak.ok');
  assert.equal(weak.error.code, 'weak_password');
  assert.ok((weak.error.details as PasswordStrength).score < 3, '(weak.error.details as PasswordStrength).score < 3');
  assert.ok(here.user, 'refusals keep the session');
  assert.deepEqual(hereEvents, ['user:signed-in']);

  const changed = unwrap(await here.changePassword({ currentPassword: STRONG, newPassword: NEXT }));
  assert.deepEqual(here.user, before, 'the same person');
  assert.deepEqual(hereEvents, ['user:signed-in', 'user:refreshed']);
  assert.ok(unwrap(await here.listDocuments()).documents.length === 1, 'the stored session works');
  assert.equal(unwrap(await here.accessToken()), changed.accessToken);

  // This device's open document was closed with the old session and comes back with the new one.
  a.doc.getXmlFragment('default').insert(0, [new Y.XmlText('after the change')]);
  await reaches(a, (x) => x.connection === 'connected' && x.synced && x.pendingChanges === 0, 'saved with the new session');
  assert.equal(a.status.error, null);

  // The other device: its session ends on the next contact, over the socket or REST.
  await reaches(b, (x) => x.connection === 'closed' || x.error !== null, 'the other device stops');
  await eventually(() => assert.equal(there.user, null));
  assert.ok(thereEvents.includes('none:expired'), thereEvents.join());
  const after = await there.listDocuments();
  assert.ok(!after.ok && after.error.code === 'not_signed_in', "!after.ok && after.error.code === 'not_signed_in'");
  // It signs in again with the new password only.
  const third = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  assert.equal((await third.login({ email, password: STRONG })).ok, false);
  unwrap(await third.login({ email, password: NEXT }));
});

test('logoutEverywhere signs out this device and every other one', async (t) => {
  const { here, there, hereEvents, thereEvents, a, b } = await twoDevices(t);
  unwrap(await here.logoutEverywhere());
  assert.equal(here.user, null);
  assert.deepEqual(hereEvents, ['user:signed-in', 'none:signed-out'], 'this device signed out, it did not expire');
  await reaches(a, (x) => x.connection === 'closed' || x.error !== null, 'this device’s document stops');
  await reaches(b, (x) => x.connection === 'closed' || x.error !== null, 'the other device’s document stops');
  await eventually(() => assert.equal(there.user, null));
  assert.ok(thereEvents.includes('none:expired'), thereEvents.join());
  const again = await here.logoutEverywhere();
  assert.ok(!again.ok && again.error.code === 'not_signed_in', "!again.ok && again.error.code === 'not_signed_in'");
});
