/**
 * Web Push end to end, against a loopback push service that checks what a real one checks:
 * the VAPID token (`Authorization: vapid t=<ES256 JWT>, k=<public key>`: signed by the key
 * the API serves, for the push service's origin, expiring within 24 h, naming our contact)
 * and a body it can decrypt only with the browser's keys (RFC 8291 `aes128gcm`, made here
 * as a browser makes them). A mention reaches a subscribed reader's browser with a payload
 * that names and links the document; nobody without access hears of it; a 410 removes the
 * subscription; access lost before the send skips it; the SSRF guard refuses private and
 * non-https endpoints when subscribing and when sending; keys are generated once per data
 * dir and shared by the processes using it.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { importJWK, jwtVerify } from 'jose';
import { isPublicAddress, parsePushEndpoint, PushEndpointRefused } from '../core/push-endpoint.js';
import { checkVapidKeys, loadVapidKeys } from '../core/vapid-keys.js';
import { withTenant } from '../db/store.js';
import { PushSender } from '../ml-workers/notify/push.js';
import type { Session } from './helpers/api.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(body: Buffer, params: { version: 'aes128gcm'; privateKey: crypto.ECDH; authSecret: string }): Buffer;
};

const SUBJECT = 'mailto:push-test@example.test';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A loopback push service: records every POST and answers what `answer` says for its path (201 by default). */
async function pushService(t: { after: (fn: () => Promise<void>) => void }) {
  const received: Received[] = [];
  const answer = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.get(req.url ?? '') ?? 201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, received, answer, at: (p: string) => received.filter((r) => r.path === p) };
}

/** What `PushManager.subscribe` makes in a browser: an ECDH P-256 key pair and a 16-byte auth secret. */
function browser(endpoint: string) {
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = crypto.randomBytes(16).toString('base64url');
  return { ecdh, auth, subscription: { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth } } };
}

/** Checks the VAPID header as a push service does; returns the token's claims. */
async function verifyVapid(r: Received, audience: string, publicKey: string) {
  const m = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(r.headers['authorization'] ?? '');
  assert.ok(m, `VAPID authorization header: ${r.headers['authorization']}`);
  assert.equal(m[2], publicKey, 'k is the key the API serves');
  const point = Buffer.from(m[2]!, 'base64url');
  const key = await importJWK({ kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, 'ES256');
  const { payload, protectedHeader } = await jwtVerify(m[1]!, key, { algorithms: ['ES256'], audience });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, SUBJECT);
  const now = Date.now() / 1000;
  assert.ok(typeof payload.exp === 'number' && payload.exp > now && payload.exp <= now + 24 * 3600 + 60, `exp within 24 h: ${payload.exp}`);
  return payload;
}

function decrypt(r: Received, b: ReturnType<typeof browser>): Record<string, unknown> {
  assert.equal(r.headers['content-encoding'], 'aes128gcm');
  return JSON.parse(ece.decrypt(r.body, { version: 'aes128gcm', privateKey: b.ecdh, authSecret: b.auth }).toString('utf8')) as Record<string, unknown>;
}

async function subscriptionsOf(server: TestServer, s: Session) {
  return withTenant(server.quire.store.db, s.user.tenantId, (tx) => tx.selectFrom('push_subscriptions').select(['endpoint', 'last_error']).where('user_id', '=', s.user.id).execute());
}

async function pushDeliveries(server: TestServer, s: Session) {
  return withTenant(server.quire.store.db, s.user.tenantId, (tx) =>
    tx
      .selectFrom('notification_deliveries as d')
      .innerJoin('notifications as n', 'n.id', 'd.notification_id')
      .select(['d.id', 'd.status', 'd.error', 'd.attempts', 'n.kind', 'n.data'])
      .where('d.user_id', '=', s.user.id)
      .where('d.channel', '=', 'push')
      .execute(),
  );
}

async function share(server: TestServer, owner: Session, docId: string, user: Session, level: string) {
  const r = await server.api.put(`/api/v1/documents/${docId}/permissions`, { userId: user.user.id, level }, owner.accessToken);
  assert.equal(r.status, 200, r.text);
}

async function comment(server: TestServer, s: Session, docId: string, body: string): Promise<string> {
  const r = await server.api.post(`/api/v1/documents/${docId}/comments`, { body }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body.id as string;
}

for (const dialect of DIALECTS) {
  test(`a mention reaches the reader’s browser (${dialect}): VAPID signed with the served key, payload decrypted with the browser’s keys; no push without access; 410 drops the subscription`, async (t) => {
    const service = await pushService(t);
    const server = await startServer(t, { dialect, env: { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true', NOTIFY_POLL_MS: '50', VAPID_SUBJECT: SUBJECT } });
    const { api } = server;
    const alice = await api.signup();
    const bob = await api.addUser(alice, 'member');
    const carol = await api.addUser(alice, 'member');
    const doc = await api.createDocument(alice, 'Quarterly plan');
    await share(server, alice, doc.id, bob, 'read');

    assert.equal((await api.get('/api/v1/push/vapid-public-key')).status, 401, 'signed-in users only');
    const key = await api.get('/api/v1/push/vapid-public-key', bob.accessToken);
    assert.equal(key.status, 200, key.text);
    const publicKey = key.body.publicKey as string;
    assert.equal(Buffer.from(publicKey, 'base64url').length, 65);

    const bobsBrowser = browser(`${service.origin}/push/bob`);
    const carolsBrowser = browser(`${service.origin}/push/carol`);
    for (const [s, b] of [
      [bob, bobsBrowser],
      [carol, carolsBrowser],
    ] as const) {
      const r = await api.post('/api/v1/me/push-subscriptions', b.subscription, s.accessToken);
      assert.equal(r.status, 201, r.text);
    }

    // Alice mentions both; only Bob can read the document.
    const commentId = await comment(server, alice, doc.id, `Can you check the numbers, @[Bob](user:${bob.user.id}) and @[Carol](user:${carol.user.id})?`);
    const push = await eventually(
      () => {
        const found = service.at('/push/bob').find((r) => String(decrypt(r, bobsBrowser)['url']).includes(`comment=${commentId}`));
        assert.ok(found, 'the mention’s push reached Bob’s push service');
        return found;
      },
      { message: 'waiting for the mention push' },
    );
    const claims = await verifyVapid(push, service.origin, publicKey);
    assert.equal(claims.aud, service.origin);
    const payload = decrypt(push, bobsBrowser);
    assert.match(String(payload['title']), /mentioned you in “Quarterly plan”/);
    assert.match(String(payload['body']), /check the numbers/);
    assert.equal(payload['url'], `${server.config.notifications.publicUrl}/d/${doc.id}?comment=${commentId}`);
    assert.equal(typeof payload['notificationId'], 'string');
    assert.equal(payload['tag'], `quire-${String(payload['notificationId'])}`);
    assert.equal(push.headers['ttl'], String(24 * 3600));
    assert.equal(push.headers['urgency'], 'normal');
    assert.equal(push.headers['topic'], String(payload['notificationId']).replace(/-/g, ''));
    await eventually(async () => assert.deepEqual((await pushDeliveries(server, bob)).find((d) => d.kind === 'mention')?.status, 'sent'));

    // Carol was mentioned in the same event, handled in the same transaction: she has no access, so nothing.
    await quietFor(300, 'a push to a person who cannot read the document', { check: () => assert.equal(service.at('/push/carol').length, 0) });
    assert.deepEqual(await pushDeliveries(server, carol), []);

    // Bob's browser unsubscribed: the push service answers 410 and the subscription goes.
    service.answer.set('/push/bob', 410);
    const before = service.at('/push/bob').length;
    const second = await comment(server, alice, doc.id, `And the totals, @[Bob](user:${bob.user.id})`);
    await eventually(() => assert.ok(service.at('/push/bob').length > before, 'the second push was tried'));
    await eventually(async () => assert.deepEqual(await subscriptionsOf(server, bob), []));
    await eventually(async () => {
      const d = (await pushDeliveries(server, bob)).find((x) => x.data['commentId'] === second);
      assert.deepEqual([d?.status, d?.error], ['failed', 'HTTP 410']);
    });

    // Unsubscribing is idempotent and takes the endpoint away.
    const del = await api.request('DELETE', '/api/v1/me/push-subscriptions', { json: { endpoint: carolsBrowser.subscription.endpoint }, token: carol.accessToken });
    assert.equal(del.status, 204, del.text);
    assert.deepEqual(await subscriptionsOf(server, carol), []);
    assert.equal((await api.request('DELETE', '/api/v1/me/push-subscriptions', { json: { endpoint: carolsBrowser.subscription.endpoint }, token: carol.accessToken })).status, 204);
  });
}

test('subscriptions: keys validated, at most 10 per person (the oldest goes), one person per browser', async (t) => {
  const server = await startServer(t, { env: { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true' } });
  const { api } = server;
  const alice = await api.signup();
  const bob = await api.addUser(alice, 'member');
  const good = browser('http://127.0.0.1:9/push/x').subscription;
  const offCurve = Buffer.from(good.keys.p256dh, 'base64url');
  offCurve[64] = offCurve[64]! ^ 1;
  for (const [why, body] of [
    ['p256dh not on the curve', { ...good, keys: { ...good.keys, p256dh: offCurve.toString('base64url') } }],
    ['p256dh compressed', { ...good, keys: { ...good.keys, p256dh: Buffer.concat([Buffer.from([2]), offCurve.subarray(1, 33)]).toString('base64url') } }],
    ['auth 15 bytes', { ...good, keys: { ...good.keys, auth: crypto.randomBytes(15).toString('base64url') } }],
    ['auth not base64url', { ...good, keys: { ...good.keys, auth: 'a+b/c'.repeat(5) } }],
    ['endpoint not a URL', { ...good, endpoint: 'push service' }],
    ['endpoint ftp', { ...good, endpoint: 'ftp://127.0.0.1/x' }],
    ['no keys', { endpoint: good.endpoint }],
  ] as const) {
    const r = await api.post('/api/v1/me/push-subscriptions', body, alice.accessToken);
    assert.deepEqual([r.status, r.body?.error?.code], [400, 'validation_failed'], `${why}: ${r.text}`);
  }
  // What a browser's toJSON() gives (with expirationTime) is accepted as is.
  assert.equal((await api.post('/api/v1/me/push-subscriptions', { ...good, expirationTime: null }, alice.accessToken)).status, 201);
  for (let i = 0; i < 11; i++) {
    const r = await api.post('/api/v1/me/push-subscriptions', browser(`http://127.0.0.1:9/push/${i}`).subscription, alice.accessToken);
    assert.equal(r.status, 201, r.text);
  }
  const kept = (await subscriptionsOf(server, alice)).map((s) => s.endpoint).sort();
  assert.deepEqual(kept, Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:9/push/${i + 1}`).sort());
  // Bob signs in on the browser Alice used: it is his now.
  assert.equal((await api.post('/api/v1/me/push-subscriptions', browser('http://127.0.0.1:9/push/5').subscription, bob.accessToken)).status, 201);
  assert.equal((await subscriptionsOf(server, alice)).length, 9);
  assert.deepEqual(
    (await subscriptionsOf(server, bob)).map((s) => s.endpoint),
    ['http://127.0.0.1:9/push/5'],
  );
  assert.equal((await api.post('/api/v1/me/push-subscriptions', good, 'not a token')).status, 401);
});

test('SSRF guard: without PUSH_ALLOW_PRIVATE_ENDPOINTS only public https endpoints are accepted', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const alice = await api.signup();
  for (const endpoint of [
    'https://127.0.0.1/push',
    'https://10.1.2.3/push',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/push',
    'https://[::ffff:192.168.1.1]/push',
    'https://localhost/push',
    'http://fcm.googleapis.com/fcm/send/abc',
    'https://fcm.googleapis.com:8443/fcm/send/abc',
    'https://user:pw@fcm.googleapis.com/fcm/send/abc',
  ]) {
    const r = await api.post('/api/v1/me/push-subscriptions', browser(endpoint).subscription, alice.accessToken);
    assert.deepEqual([r.status, r.body?.error?.code], [400, 'validation_failed'], `${endpoint}: ${r.text}`);
  }
  assert.deepEqual(await subscriptionsOf(server, alice), []);
});

test('address check: loopback, private, link-local, shared, reserved and embedded IPv4 are not public', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '142.250.1.1', '2606:4700:4700::1111', '2a00:1450:4001:80b::200a', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
    assert.ok(isPublicAddress(ip), ip);
  }
  for (const ip of [
    '127.0.0.1',
    '127.255.0.9',
    '0.0.0.0',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '198.18.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd12:3456::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:7f00:1::',
    '2001:db8::1',
    '2001::1',
    'not an address',
  ]) {
    assert.ok(!isPublicAddress(ip), ip);
  }
  assert.throws(() => parsePushEndpoint('https://127.0.0.1/x', false), PushEndpointRefused);
  assert.throws(() => parsePushEndpoint('http://push.example.com/x', false), PushEndpointRefused);
  assert.equal(parsePushEndpoint('https://push.example.com/x', false).hostname, 'push.example.com');
  assert.equal(parsePushEndpoint('http://127.0.0.1:8080/x', true).port, '8080');
});

test('send-time checks: access lost before the send skips it; an endpoint the guard refuses is never contacted', async (t) => {
  const service = await pushService(t);
  // The server's own sender waits ten minutes between rounds: the test runs the rounds.
  const server = await startServer(t, { env: { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true', NOTIFY_POLL_MS: '600000', VAPID_SUBJECT: SUBJECT } });
  // The server's own sender is parked: this test runs senders of its own, one round at a time.
  await server.quire.senders!.push.stop();
  const { api } = server;
  const alice = await api.signup();
  const bob = await api.addUser(alice, 'member');
  const doc = await api.createDocument(alice, 'Budget');
  await share(server, alice, doc.id, bob, 'read');
  const bobsBrowser = browser(`${service.origin}/push/bob`);
  assert.equal((await api.post('/api/v1/me/push-subscriptions', bobsBrowser.subscription, bob.accessToken)).status, 201);
  const sender = (allowPrivate: boolean) =>
    new PushSender({
      db: server.quire.store.db,
      log: server.quire.log,
      notifications: { ...server.config.notifications, pushAllowPrivateEndpoints: allowPrivate },
      dataDir: server.config.dataDir,
    });

  // Access taken away after the notification was written, before the push went out.
  const first = await comment(server, alice, doc.id, `Look, @[Bob](user:${bob.user.id})`);
  await eventually(async () =>
    assert.ok(
      (await pushDeliveries(server, bob)).some((d) => d.data['commentId'] === first && d.status === 'pending'),
      'the first mention’s push delivery is pending',
    ),
  );
  await share(server, alice, doc.id, bob, 'none');
  await sender(true).runOnce();
  const skipped = (await pushDeliveries(server, bob)).find((d) => d.data['commentId'] === first);
  assert.deepEqual([skipped?.status, skipped?.error], ['skipped', 'the recipient can no longer read the document']);

  // Access back; then push turned off for mentions after the notification was written.
  await share(server, alice, doc.id, bob, 'read');
  const quiet = await comment(server, alice, doc.id, `Psst, @[Bob](user:${bob.user.id})`);
  await eventually(async () =>
    assert.ok(
      (await pushDeliveries(server, bob)).some((d) => d.data['commentId'] === quiet && d.status === 'pending'),
      'the quiet mention’s push delivery is pending',
    ),
  );
  const off = await api.put('/api/v1/me/notification-preferences', { preferences: { mention: { push: false } } }, bob.accessToken);
  assert.equal(off.status, 200, off.text);
  await sender(true).runOnce();
  const turnedOff = (await pushDeliveries(server, bob)).find((d) => d.data['commentId'] === quiet);
  assert.deepEqual([turnedOff?.status, turnedOff?.error], ['skipped', 'the recipient turned push off']);
  assert.equal((await api.put('/api/v1/me/notification-preferences', { preferences: { mention: { push: true } } }, bob.accessToken)).status, 200);

  // The same subscription with the guard on: refused at send time, nothing reaches the endpoint.
  const second = await comment(server, alice, doc.id, `Again, @[Bob](user:${bob.user.id})`);
  await eventually(async () =>
    assert.ok(
      (await pushDeliveries(server, bob)).some((d) => d.data['commentId'] === second && d.status === 'pending'),
      'the second mention’s push delivery is pending',
    ),
  );
  await sender(false).runOnce();
  const refused = (await pushDeliveries(server, bob)).find((d) => d.data['commentId'] === second);
  assert.equal(refused?.status, 'failed');
  assert.equal(refused?.error, 'the endpoint must be an https URL');
  assert.equal(service.received.filter((r) => r.path === '/push/bob' && String(decrypt(r, bobsBrowser)['url']).includes('comment=')).length, 0);
});

test('sender outcomes: several waiting become one summary; a 503 is tried again later; a delivery left sending past its lease is unknown, never sent', async (t) => {
  const service = await pushService(t);
  // The server's own sender waits ten minutes between rounds: the test runs the rounds.
  const server = await startServer(t, { env: { PUSH_ALLOW_PRIVATE_ENDPOINTS: 'true', NOTIFY_POLL_MS: '600000', VAPID_SUBJECT: SUBJECT } });
  // The server's own sender is parked: this test runs senders of its own, one round at a time.
  await server.quire.senders!.push.stop();
  const { api } = server;
  const alice = await api.signup();
  const bob = await api.addUser(alice, 'member');
  const doc = await api.createDocument(alice, 'Roadmap');
  await share(server, alice, doc.id, bob, 'read');
  // The share is told before Bob subscribes, so it has no push of its own.
  await eventually(async () => {
    const n = await withTenant(server.quire.store.db, bob.user.tenantId, (tx) => tx.selectFrom('notifications').select('kind').where('user_id', '=', bob.user.id).execute());
    assert.deepEqual(
      n.map((x) => x.kind),
      ['share'],
    );
  });
  const bobsBrowser = browser(`${service.origin}/push/bob`);
  assert.equal((await api.post('/api/v1/me/push-subscriptions', bobsBrowser.subscription, bob.accessToken)).status, 201);
  const sender = new PushSender({ db: server.quire.store.db, log: server.quire.log, notifications: server.config.notifications, dataDir: server.config.dataDir });
  const deliveries = async (status: string, count: number) =>
    eventually(async () => {
      const d = (await pushDeliveries(server, bob)).filter((x) => x.status === status);
      assert.equal(d.length, count, `${count} push deliveries ${status}`);
      return d;
    });

  for (let i = 1; i <= 4; i++) await comment(server, alice, doc.id, `Point ${i}, @[Bob](user:${bob.user.id})`);
  await deliveries('pending', 4);
  await sender.runOnce();
  assert.equal(service.at('/push/bob').length, 1, 'one push for the four');
  const summary = decrypt(service.at('/push/bob')[0]!, bobsBrowser);
  assert.equal(summary['title'], '4 new notifications');
  assert.equal(summary['count'], 4);
  assert.equal(summary['notificationId'], null);
  assert.equal(summary['url'], `${server.config.notifications.publicUrl}/`);
  assert.match(String(summary['body']), /mentioned you in “Roadmap”/);
  await deliveries('sent', 4);

  // The push service is down: the delivery waits and is tried again.
  service.answer.set('/push/bob', 503);
  await comment(server, alice, doc.id, `Still there, @[Bob](user:${bob.user.id})?`);
  await deliveries('pending', 1);
  await sender.runOnce();
  const [waiting] = await deliveries('pending', 1);
  assert.deepEqual([waiting!.attempts, waiting!.error], [1, 'HTTP 503']);
  assert.equal(service.at('/push/bob').length, 2);
  await sender.runOnce();
  assert.equal(service.at('/push/bob').length, 2, 'not tried again before its delay');
  service.answer.delete('/push/bob');
  await withTenant(server.quire.store.db, bob.user.tenantId, (tx) =>
    tx
      .updateTable('notification_deliveries')
      .set({ due_at: new Date(Date.now() - 1000) })
      .where('id', '=', waiting!.id)
      .execute(),
  );
  await sender.runOnce();
  assert.equal(service.at('/push/bob').length, 3);
  const retried = (await pushDeliveries(server, bob)).find((d) => d.id === waiting!.id);
  assert.deepEqual([retried?.status, retried?.attempts, retried?.error], ['sent', 2, null]);

  // A sender that stopped mid-send left this one 'sending': whether it went out is unknown, so it is never sent again.
  await comment(server, alice, doc.id, `Last one, @[Bob](user:${bob.user.id})`);
  const [lost] = await deliveries('pending', 1);
  await withTenant(server.quire.store.db, bob.user.tenantId, (tx) =>
    tx
      .updateTable('notification_deliveries')
      .set({ status: 'sending', claimed_at: new Date(Date.now() - 3_600_000), due_at: new Date(Date.now() - 1000) })
      .where('id', '=', lost!.id)
      .execute(),
  );
  await sender.runOnce();
  const unknown = (await pushDeliveries(server, bob)).find((d) => d.id === lost!.id);
  assert.equal(unknown?.status, 'unknown');
  assert.equal(service.at('/push/bob').length, 3, 'nothing sent for it');
});

test('VAPID keys: generated once per data dir (mode 0600), the same for every process using it; configured keys must match', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-vapid-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const racing = await Promise.all(Array.from({ length: 5 }, () => loadVapidKeys({ dataDir })));
  for (const k of racing) assert.deepEqual(k, racing[0]);
  const file = path.join(dataDir, 'keys', 'vapid.json');
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(await loadVapidKeys({ dataDir }), racing[0], 'a restart reads the same keys');
  assert.deepEqual(checkVapidKeys(racing[0]!), racing[0]);
  const other = await loadVapidKeys({ dataDir: path.join(dataDir, 'other') });
  assert.throws(() => checkVapidKeys({ publicKey: other.publicKey, privateKey: racing[0]!.privateKey }), /not the private key/);
  assert.deepEqual(await loadVapidKeys({ ...other, dataDir }), other, 'configured keys win over the file');

  // Two servers on one data dir serve one key.
  const shared = { DATA_DIR: dataDir, VAPID_SUBJECT: SUBJECT };
  const a = await startServer(t, { env: shared, roles: ['api'] });
  const b = await startServer(t, { env: shared, roles: ['api'] });
  const s = await a.api.signup();
  const s2 = await b.api.signup();
  const ka = await a.api.get('/api/v1/push/vapid-public-key', s.accessToken);
  const kb = await b.api.get('/api/v1/push/vapid-public-key', s2.accessToken);
  assert.equal(ka.body.publicKey, racing[0]!.publicKey);
  assert.equal(kb.body.publicKey, racing[0]!.publicKey);
});

/** The service worker run in a context of its own, with stand-ins for the browser's worker globals. */
async function loadServiceWorker(windows: { url: string; focused?: boolean; controlled?: boolean }[]) {
  const handlers = new Map<string, (event: unknown) => void>();
  const shown: { title: string; options: Record<string, unknown> }[] = [];
  const navigated: string[] = [];
  const opened: string[] = [];
  const focused: string[] = [];
  const clients = windows.map((w) => {
    const c = {
      url: w.url,
      focused: w.focused ?? false,
      focus: async () => (focused.push(c.url), c),
      navigate: async (to: string) => {
        if (!w.controlled) throw new TypeError('not controlled');
        navigated.push(to);
        return c;
      },
    };
    return c;
  });
  const self = {
    location: new URL('https://quire.example.com/sw.js'),
    addEventListener: (type: string, fn: (event: unknown) => void) => handlers.set(type, fn),
    registration: { showNotification: async (title: string, options: Record<string, unknown>) => void shown.push({ title, options }) },
    clients: { matchAll: async () => clients, openWindow: async (url: string) => void opened.push(url), claim: async () => undefined },
  };
  const vm = await import('node:vm');
  vm.runInNewContext(await fs.readFile(new URL('../clients/web/public/sw.js', import.meta.url), 'utf8'), { self, URL, caches: {}, fetch });
  const dispatch = async (type: string, event: Record<string, unknown>) => {
    let work: Promise<unknown> = Promise.resolve();
    handlers.get(type)!({ ...event, waitUntil: (p: Promise<unknown>) => (work = p) });
    await work;
  };
  return { dispatch, shown, navigated, opened, focused };
}

test('service worker: a push shows the notification; a click focuses an open window and navigates it, or opens one', async () => {
  const payload = { title: 'Ada mentioned you in “Plan”', body: 'Can you check?', url: 'https://quire.example.com/d/1?comment=2', tag: 'quire-n1', notificationId: 'n1', count: 1 };
  const sw = await loadServiceWorker([{ url: 'https://quire.example.com/', focused: true, controlled: true }, { url: 'https://elsewhere.example/' }]);
  await sw.dispatch('push', { data: { json: () => payload, text: () => JSON.stringify(payload) } });
  assert.equal(sw.shown.length, 1);
  assert.equal(sw.shown[0]!.title, payload.title);
  assert.equal(sw.shown[0]!.options['body'], payload.body);
  assert.equal(sw.shown[0]!.options['tag'], 'quire-n1');
  assert.equal(sw.shown[0]!.options['icon'], '/icon-192.png');
  const data = sw.shown[0]!.options['data'] as { url: string; notificationId: string };
  assert.deepEqual({ ...data }, { url: payload.url, notificationId: 'n1' });

  let closed = false;
  await sw.dispatch('notificationclick', { notification: { data, close: () => (closed = true) } });
  assert.ok(closed, 'the notification is closed');
  assert.deepEqual(sw.focused, ['https://quire.example.com/']);
  assert.deepEqual(sw.navigated, [payload.url]);
  assert.deepEqual(sw.opened, []);

  // No window of ours open: a new one; a link to another origin keeps its path on ours.
  const cold = await loadServiceWorker([{ url: 'https://elsewhere.example/' }]);
  await cold.dispatch('push', { data: { json: () => ({ ...payload, url: 'https://evil.example/d/1' }), text: () => '' } });
  const coldData = cold.shown[0]!.options['data'] as { url: string };
  assert.equal(coldData.url, 'https://quire.example.com/d/1');
  await cold.dispatch('notificationclick', { notification: { data: coldData, close: () => undefined } });
  assert.deepEqual(cold.opened, ['https://quire.example.com/d/1']);

  // A push without a readable payload still shows something.
  await cold.dispatch('push', { data: null });
  assert.equal(cold.shown[1]!.title, 'Quire');
});
