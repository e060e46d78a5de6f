/**
 * Webhooks end to end: a receiving server on loopback checks every request's Standard
 * Webhooks signature (computed here independently) and idempotency id. Registration,
 * signed deliveries from the change feed, secret rotation (both signatures), retries then
 * a failing endpoint, a deliverer stopped or killed mid-request (nothing lost), one
 * workspace's hanging endpoint not holding up another's, the SSRF guard, admin-only
 * access, tenant isolation, and replay with the same ids.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { verifyWebhook } from '../core/webhooks.js';
import { WebhookDeliverer } from '../ml-workers/webhooks/deliverer.js';
import type { Session } from './helpers/api.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

interface Received {
  id: string;
  timestamp: string;
  signatures: string[];
  body: string;
  event: { id: string; type: string; createdAt: string; tenantId: string; data: Record<string, any> };
  at: number;
}

type Answer = number | 'hang';

/** A webhook receiver on loopback: records every request; `answer` decides each one's fate. */
async function receiver(t: TestContext, answer: (r: Received) => Answer = () => 200) {
  const got: Received[] = [];
  let hanging = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const r: Received = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signatures: String(req.headers['webhook-signature'] ?? '').split(' '),
        body,
        event: JSON.parse(body),
        at: Date.now(),
      };
      got.push(r);
      const a = answer(r);
      if (a === 'hang') {
        hanging++;
        req.socket.on('close', () => hanging--);
        return;
      }
      res.writeHead(a, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    port,
    got,
    get hanging() {
      return hanging;
    },
  };
}

/** Verifies a request the way docs/WEBHOOKS.md tells receivers to (independently of the server's code). */
function signedWith(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
  return r.signatures.some((s) => {
    const [v, sig] = s.split(',');
    return v === 'v1' && sig !== undefined && sig.length === expected.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
  });
}

const ALLOW = { WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOKS_POLL_MS: '50', FEED_POLL_MS: '50' };

async function register(s: TestServer, owner: Session, url: string, events: string[]) {
  const r = await s.api.post('/api/v1/webhooks', { url, events, description: 'test receiver' }, owner.accessToken);
  assert.equal(r.status, 201, r.text);
  assert.match(r.body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'the secret is shown once, in the whsec_ form');
  return r.body as { endpoint: { id: string }; secret: string };
}

async function deliveries(s: TestServer, owner: Session, endpointId: string, query = '') {
  const r = await s.api.get(`/api/v1/webhooks/${endpointId}/deliveries${query}`, owner.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body as { deliveries: any[]; nextCursor: string | null };
}

for (const dialect of DIALECTS) {
  test(`${dialect}: document and comment events arrive signed, with stable ids, and show in the delivery log`, async (t) => {
    const s = await startServer(t, { dialect, env: ALLOW });
    const owner = await s.api.signup();
    const rx = await receiver(t);
    const { endpoint, secret } = await register(s, owner, rx.url, ['document.created', 'document.changed', 'comment.created']);

    const doc = await s.api.createDocument(owner, 'Quarterly plan');
    const created = await eventually(() => {
      const r = rx.got.find((g) => g.event.type === 'document.created' && g.event.data.documentId === doc.id);
      assert.ok(r, 'document.created arrives');
      return r;
    });
    assert.ok(signedWith(secret, created), 'signed with the endpoint secret');
    assert.equal(created.id, created.event.id, 'webhook-id is the event id');
    assert.match(created.id, /^msg_[0-9a-f]{32}$/, 'an opaque idempotency id');
    assert.ok(Math.abs(Number(created.timestamp) - Date.now() / 1000) < 300, 'webhook-timestamp is now, in seconds');
    assert.equal(created.event.tenantId, owner.user.tenantId, 'the event names its workspace');
    assert.equal(created.event.data.title, 'Quarterly plan', 'the title is included for an admin-created endpoint');

    const put = await s.api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Budget first, hiring second.' }, owner.accessToken);
    assert.equal(put.status, 204, put.text);
    const changed = await eventually(() => {
      const r = rx.got.find((g) => g.event.type === 'document.changed' && g.event.data.documentId === doc.id);
      assert.ok(r, 'document.changed arrives after an edit');
      return r;
    });
    assert.ok(signedWith(secret, changed), 'the change is signed too');
    assert.ok(!changed.body.includes('Budget first'), 'payloads never carry document content');

    const c = await s.api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'Can we cut the travel line?' }, owner.accessToken);
    assert.equal(c.status, 201, c.text);
    const comment = await eventually(() => {
      const r = rx.got.find((g) => g.event.type === 'comment.created');
      assert.ok(r, 'comment.created arrives');
      return r;
    });
    assert.equal(comment.event.data.commentId, c.body.id, 'it names the comment');
    assert.ok(!comment.body.includes('travel line'), 'not the comment body');

    const ids = rx.got.map((g) => g.id);
    assert.equal(new Set(ids).size, ids.length, `each event once: ${ids.join(', ')}`);
    const log = await eventually(async () => {
      const l = await deliveries(s, owner, endpoint.id);
      assert.ok(l.deliveries.length >= 3 && l.deliveries.every((d) => d.status === 'delivered'), `all delivered: ${JSON.stringify(l.deliveries)}`);
      return l;
    });
    assert.ok(
      log.deliveries.every((d) => d.lastStatus === 200 && d.attempts === 1 && typeof d.lastDurationMs === 'number'),
      'the log shows the response code, attempts and duration',
    );
    const page = await deliveries(s, owner, endpoint.id, '?limit=1');
    assert.equal(page.deliveries.length, 1, 'the log pages');
    assert.ok(page.nextCursor, 'with a cursor to the next page');
    const next = await deliveries(s, owner, endpoint.id, `?limit=1&cursor=${page.nextCursor}`);
    assert.notEqual(next.deliveries[0].id, page.deliveries[0].id, 'the next page goes on');

    const audit = await s.api.get('/api/v1/audit?action=webhook.created', owner.accessToken);
    assert.equal(audit.status, 200, audit.text);
    assert.ok(JSON.stringify(audit.body).includes(endpoint.id), 'creation is audited');
  });
}

test('a rotated secret signs beside the new one until it expires', async (t) => {
  const s = await startServer(t, { env: ALLOW });
  const owner = await s.api.signup();
  const rx = await receiver(t);
  const { endpoint, secret: first } = await register(s, owner, rx.url, ['document.created']);

  const rot = await s.api.post(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, {}, owner.accessToken);
  assert.equal(rot.status, 200, rot.text);
  const second = rot.body.secret as string;
  assert.notEqual(second, first, 'a new secret');
  assert.ok(rot.body.endpoint.previousSecretExpiresAt, 'the previous one is still live');
  const ping = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  assert.equal(ping.status, 202, ping.text);
  const during = await eventually(() => {
    const r = rx.got.find((g) => g.id === ping.body.delivery.eventId);
    assert.ok(r, 'the test event arrives');
    return r;
  });
  assert.equal(during.event.type, 'webhook.test', 'a test event');
  assert.equal(during.signatures.length, 2, 'two signatures during the rotation');
  assert.ok(signedWith(first, during) && signedWith(second, during), 'one per secret');
  const headers = { id: during.id, timestamp: during.timestamp, signature: during.signatures.join(' ') };
  assert.ok(verifyWebhook(first, headers, during.body) && verifyWebhook(second, headers, during.body), 'the server-side verifier agrees');
  assert.ok(!verifyWebhook(first, headers, during.body + ' '), 'and refuses a changed body');
  assert.ok(!verifyWebhook(first, headers, during.body, 300, Number(during.timestamp) + 301), 'and an old timestamp');

  const expired = await s.api.del(`/api/v1/webhooks/${endpoint.id}/previous-secret`, owner.accessToken);
  assert.equal(expired.status, 200, expired.text);
  assert.equal(expired.body.previousSecretExpiresAt, null, 'the previous secret is expired on request');
  const ping1 = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  const alone = await eventually(() => {
    const r = rx.got.find((g) => g.id === ping1.body.delivery.eventId);
    assert.ok(r, 'the next test event arrives');
    return r;
  });
  assert.equal(alone.signatures.length, 1, 'one signature once the previous secret is expired');
  assert.ok(signedWith(second, alone) && !signedWith(first, alone), 'by the current secret');

  const cut = await s.api.post(`/api/v1/webhooks/${endpoint.id}/rotate-secret`, { previousSecretHours: 0 }, owner.accessToken);
  assert.equal(cut.status, 200, cut.text);
  const third = cut.body.secret as string;
  const ping2 = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  const after = await eventually(() => {
    const r = rx.got.find((g) => g.id === ping2.body.delivery.eventId);
    assert.ok(r, 'the second test event arrives');
    return r;
  });
  assert.equal(after.signatures.length, 1, 'one signature once the previous secret is expired');
  assert.ok(signedWith(third, after) && !signedWith(second, after) && !signedWith(first, after), 'only the newest secret signs');
});

test('a failing endpoint is retried, then shown failing; a retry after it recovers delivers with the same id', async (t) => {
  const s = await startServer(t, { env: { ...ALLOW, WEBHOOKS_RETRY_SCHEDULE_MS: '20,20' } });
  const owner = await s.api.signup();
  let healthy = false;
  const rx = await receiver(t, () => (healthy ? 200 : 500));
  const { endpoint, secret } = await register(s, owner, rx.url, ['document.created']);
  const ping = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  const id = ping.body.delivery.id as string;

  const failed = await eventually(async () => {
    const l = await deliveries(s, owner, endpoint.id);
    const d = l.deliveries.find((x) => x.id === id);
    assert.equal(d?.status, 'failed', `failed after its retries: ${JSON.stringify(d)}`);
    return d;
  });
  assert.equal(failed.attempts, 3, 'the first attempt and two retries');
  assert.equal(failed.lastStatus, 500, 'the log shows the response code');
  const tries = rx.got.filter((g) => g.id === ping.body.delivery.eventId);
  assert.equal(tries.length, 3, 'three requests, all with one id');
  assert.ok(
    tries.every((g) => signedWith(secret, g)),
    'each signed',
  );
  const ep = await s.api.get(`/api/v1/webhooks/${endpoint.id}`, owner.accessToken);
  assert.equal(ep.body.status, 'failing', 'the endpoint shows failing');
  assert.equal(ep.body.consecutiveFailures, 3, 'with its consecutive failures');
  assert.ok(ep.body.failingSince, 'and since when');

  healthy = true;
  const retry = await s.api.post(`/api/v1/webhooks/${endpoint.id}/deliveries/${id}/retry`, {}, owner.accessToken);
  assert.equal(retry.status, 200, retry.text);
  await eventually(async () => {
    const d = (await deliveries(s, owner, endpoint.id)).deliveries.find((x) => x.id === id);
    assert.equal(d?.status, 'delivered', 'delivered on the manual retry');
  });
  assert.equal(rx.got.filter((g) => g.id === ping.body.delivery.eventId).length, 4, 'the same id again');
  const healthyNow = await s.api.get(`/api/v1/webhooks/${endpoint.id}`, owner.accessToken);
  assert.equal(healthyNow.body.status, 'active', 'a success clears the failing state');
  const metrics = await s.api.get('/metrics');
  assert.equal(metrics.status, 200, metrics.text);
  assert.match(metrics.text, /quire_webhook_attempts_total\{outcome="retry"\} 2/, 'retries are counted');
  assert.match(metrics.text, /quire_webhook_attempts_total\{outcome="failed"\} 1/, 'the final failure too');
  assert.match(metrics.text, /quire_webhook_attempts_total\{outcome="delivered"\} 1/, 'and the delivery');
  assert.match(metrics.text, /quire_webhook_backlog \d+/, 'the backlog is served');
  assert.match(metrics.text, /quire_webhook_request_duration_seconds_count \d+/, 'request durations are observed');
});

test('a deliverer stopped or killed mid-request loses nothing: another sends it (after the lease, when killed)', async (t) => {
  // The api role only: the deliverers are the test's own, two instances on one database.
  const s = await startServer(t, { roles: ['api'], env: ALLOW });
  const owner = await s.api.signup();
  let holdFirst = true;
  const rx = await receiver(t, () => {
    if (holdFirst) {
      holdFirst = false;
      return 'hang';
    }
    return 200;
  });
  const { endpoint, secret } = await register(s, owner, rx.url, ['document.created']);
  const deliverer = (leaseMs: number) =>
    new WebhookDeliverer({ db: s.quire.store.db, secrets: s.quire.svc.secrets, log: s.quire.log, allowPrivateNetworks: true, pollMs: 50, leaseMs, timeoutMs: 60_000 });

  const a = deliverer(120_000);
  const b = deliverer(120_000);
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const ping = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  const eventId = ping.body.delivery.eventId as string;
  a.start();
  await eventually(() => assert.equal(rx.hanging, 1, 'instance A holds the request open'));
  b.start();
  // A is closed mid-request: its row goes back at once and B sends it.
  await a.stop();
  await eventually(() => assert.equal(rx.got.filter((g) => g.id === eventId).length, 2, 'B sent it again'));
  const log = await eventually(async () => {
    const d = (await deliveries(s, owner, endpoint.id)).deliveries.find((x) => x.eventId === eventId);
    assert.equal(d?.status, 'delivered', 'delivered by B');
    return d;
  });
  assert.equal(log.attempts, 1, 'the aborted attempt is not counted');
  await b.stop();

  // A worker that claims and dies: nothing records, and its lease runs out.
  const ping2 = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);
  const eventId2 = ping2.body.delivery.eventId as string;
  const claimed = await sql<{ event_id: string }>`select event_id from quire_webhook_claim(300, 10, 4)`.execute(s.quire.store.db);
  assert.deepEqual(
    claimed.rows.map((r) => r.event_id),
    [eventId2],
    'the dead worker held the delivery',
  );
  const c = deliverer(120_000);
  t.after(() => c.stop());
  c.start();
  const got = await eventually(() => {
    const r = rx.got.find((g) => g.id === eventId2);
    assert.ok(r, 'sent once the dead worker’s lease ran out');
    return r;
  });
  assert.ok(signedWith(secret, got), 'signed');
  const d2 = await eventually(async () => {
    const d = (await deliveries(s, owner, endpoint.id)).deliveries.find((x) => x.eventId === eventId2);
    assert.equal(d?.status, 'delivered', 'recorded delivered');
    return d;
  });
  assert.equal(d2.attempts, 2, 'the lost attempt counts');
});

test('one workspace’s hanging endpoint does not hold up another workspace’s deliveries', async (t) => {
  const s = await startServer(t, { env: { ...ALLOW, WEBHOOKS_TIMEOUT_MS: '120000' } });
  const slowOwner = await s.api.signup('Slow');
  const fastOwner = await s.api.signup('Fast');
  const dead = await receiver(t, () => 'hang');
  const live = await receiver(t);
  await register(s, slowOwner, dead.url, ['document.created']);
  await register(s, fastOwner, live.url, ['document.created']);
  for (let i = 0; i < 8; i++) await s.api.createDocument(slowOwner, `Slow ${i}`);
  await eventually(() => assert.ok(dead.hanging >= 1, 'the dead endpoint holds requests open'));
  const started = Date.now();
  const doc = await s.api.createDocument(fastOwner, 'Fast one');
  await eventually(() =>
    assert.ok(
      live.got.some((g) => g.event.data.documentId === doc.id),
      'the other workspace’s event arrives',
    ),
  );
  console.log(`# other tenant delivered in ${Date.now() - started} ms while ${dead.hanging} requests hang at the dead endpoint`);
  assert.ok(dead.hanging >= 1, 'while the dead endpoint still hangs');
  assert.ok(dead.hanging <= 4, `at most half the per-workspace cap hangs at one endpoint (${dead.hanging})`);
});

test('a hanging endpoint leaves room for its own workspace’s other endpoints', async (t) => {
  const s = await startServer(t, { env: { ...ALLOW, WEBHOOKS_TIMEOUT_MS: '120000' } });
  const owner = await s.api.signup();
  const dead = await receiver(t, () => 'hang');
  const live = await receiver(t);
  await register(s, owner, dead.url, ['document.created']);
  await register(s, owner, live.url, ['document.created']);
  const docs: string[] = [];
  for (let i = 0; i < 8; i++) docs.push((await s.api.createDocument(owner, `Doc ${i}`)).id);
  await eventually(() => {
    const got = new Set(live.got.map((g) => g.event.data.documentId));
    assert.ok(
      docs.every((d) => got.has(d)),
      `the live endpoint gets every event (${got.size} of ${docs.length})`,
    );
  });
  assert.ok(dead.hanging >= 1 && dead.hanging <= 4, `while the dead one holds its share of the slots (${dead.hanging})`);
});

test('the SSRF guard refuses private, loopback, link-local and plain-http URLs, at registration and at delivery', async (t) => {
  const s = await startServer(t);
  const owner = await s.api.signup();
  for (const url of [
    'http://example.com/hook',
    'https://127.0.0.1/hook',
    'https://10.1.2.3/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://[fd00::1]/hook',
    'https://[::ffff:127.0.0.1]/hook',
    'https://0x7f.1/hook',
    'https://[fe80::1]/hook',
    'https://224.0.0.1/hook',
    'https://localhost/hook',
    'https://user:pw@example.com/',
  ]) {
    const r = await s.api.post('/api/v1/webhooks', { url, events: ['document.created'] }, owner.accessToken);
    assert.equal(r.status, 400, `${url}: ${r.text}`);
    assert.equal(r.body.error.code, 'validation_failed', url);
  }
  assert.equal((await s.api.get('/api/v1/webhooks', owner.accessToken)).body.endpoints.length, 0, 'nothing registered');

  // A name that resolves to loopback at delivery time is refused on the connection itself.
  const open = await startServer(t, { roles: ['api'], env: ALLOW });
  const admin = await open.api.signup();
  const rx = await receiver(t);
  const { endpoint } = await register(open, admin, `https://localhost:${rx.port}/hook`, ['document.created']);
  const guarded = new WebhookDeliverer({ db: open.quire.store.db, secrets: open.quire.svc.secrets, log: open.quire.log, allowPrivateNetworks: false, pollMs: 50, retryScheduleMs: [3_600_000] });
  t.after(() => guarded.stop());
  guarded.start();
  await open.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, admin.accessToken);
  const d = await eventually(async () => {
    const x = (await deliveries(open, admin, endpoint.id)).deliveries[0];
    assert.ok(x?.lastError, `the attempt failed: ${JSON.stringify(x)}`);
    return x;
  });
  assert.match(d.lastError, /private|loopback/, 'refused by the guard');
  assert.equal(rx.got.length, 0, 'the receiver was never contacted');
});

test('webhooks are for owners and admins of their own workspace only', async (t) => {
  const s = await startServer(t, { env: ALLOW });
  const owner = await s.api.signup();
  const member = await s.api.addUser(owner, 'member');
  const admin = await s.api.addUser(owner, 'admin');
  const other = await s.api.signup('Other');
  const rx = await receiver(t);
  const { endpoint } = await register(s, owner, rx.url, ['document.created']);
  const ping = await s.api.post(`/api/v1/webhooks/${endpoint.id}/test`, {}, owner.accessToken);

  for (const [m, p] of [
    ['GET', '/api/v1/webhooks'],
    ['POST', '/api/v1/webhooks'],
    ['GET', `/api/v1/webhooks/${endpoint.id}`],
    ['GET', `/api/v1/webhooks/${endpoint.id}/deliveries`],
    ['POST', `/api/v1/webhooks/${endpoint.id}/rotate-secret`],
  ] as const) {
    const r = await s.api.request(m, p, { token: member.accessToken, json: p === '/api/v1/webhooks' && m === 'POST' ? { url: rx.url, events: ['document.created'] } : m === 'POST' ? {} : undefined });
    assert.equal(r.status, 403, `a member: ${m} ${p}: ${r.text}`);
  }
  assert.equal((await s.api.get('/api/v1/webhooks', admin.accessToken)).body.endpoints.length, 1, 'an admin sees it');
  // API keys: the admin scope, and only that, reaches webhooks.
  const key = async (scopes: string[]) => {
    const r = await s.api.post('/api/v1/api-keys', { name: `k-${scopes.join('-')}`, scopes }, owner.accessToken);
    assert.equal(r.status, 201, r.text);
    return r.body.secret as string;
  };
  const writeKey = await key(['read', 'write', 'search']);
  const refused = await s.api.get('/api/v1/webhooks', writeKey);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.error.code, 'insufficient_scope', 'a key without the admin scope is refused');
  assert.equal((await s.api.get('/api/v1/webhooks', await key(['admin']))).status, 200, 'an admin-scoped key of an owner reaches them');

  assert.equal((await s.api.get('/api/v1/webhooks', other.accessToken)).body.endpoints.length, 0, 'another workspace lists none');
  for (const [m, p] of [
    ['GET', `/api/v1/webhooks/${endpoint.id}`],
    ['PATCH', `/api/v1/webhooks/${endpoint.id}`],
    ['DELETE', `/api/v1/webhooks/${endpoint.id}`],
    ['GET', `/api/v1/webhooks/${endpoint.id}/deliveries`],
    ['POST', `/api/v1/webhooks/${endpoint.id}/deliveries/${ping.body.delivery.id}/retry`],
    ['POST', `/api/v1/webhooks/${endpoint.id}/replay`],
    ['POST', `/api/v1/webhooks/${endpoint.id}/test`],
  ] as const) {
    const body = m === 'PATCH' ? { enabled: false } : p.endsWith('/replay') ? { since: new Date(0).toISOString() } : m === 'POST' ? {} : undefined;
    const r = await s.api.request(m, p, { token: other.accessToken, json: body });
    assert.equal(r.status, 404, `another workspace: ${m} ${p}: ${r.text}`);
  }
  const bad = await s.api.post('/api/v1/webhooks', { url: rx.url, events: ['document.exploded'] }, owner.accessToken);
  assert.equal(bad.status, 400, 'an unknown event is refused');
  const still = await s.api.get(`/api/v1/webhooks/${endpoint.id}`, owner.accessToken);
  assert.equal(still.body.enabled, true, 'untouched by the other workspace');
});

test('replay since a time sends those events again with their ids', async (t) => {
  const s = await startServer(t, { env: ALLOW });
  const owner = await s.api.signup();
  const rx = await receiver(t);
  const { endpoint } = await register(s, owner, rx.url, ['document.created']);
  const first = await s.api.createDocument(owner, 'Before');
  await eventually(() =>
    assert.ok(
      rx.got.some((g) => g.event.data.documentId === first.id),
      'the first event arrives',
    ),
  );
  const second = await s.api.createDocument(owner, 'After');
  const secondEvent = await eventually(() => {
    const r = rx.got.find((g) => g.event.data.documentId === second.id);
    assert.ok(r, 'the second event arrives');
    return r;
  });
  const log = (await deliveries(s, owner, endpoint.id)).deliveries;
  const since = log.find((d) => d.eventId === secondEvent.id).createdAt as string;
  assert.ok(
    log.some((d) => d.eventId !== secondEvent.id && d.createdAt < since),
    'the first event is older',
  );
  const before = rx.got.length;
  const replay = await s.api.post(`/api/v1/webhooks/${endpoint.id}/replay`, { since }, owner.accessToken);
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.body.queued, 1, 'only the events since then');
  await eventually(() => assert.equal(rx.got.length, before + 1, 'sent again'));
  const again = rx.got[rx.got.length - 1]!;
  assert.equal(again.id, secondEvent.id, 'with the same idempotency id');
  assert.equal(again.body, secondEvent.body, 'and the same body');
  const future = await s.api.post(`/api/v1/webhooks/${endpoint.id}/replay`, { since: new Date(Date.now() + 3_600_000).toISOString() }, owner.accessToken);
  assert.equal(future.status, 400, 'a time in the future is refused');
});

test('shares, review decisions, classifications and deletions arrive as their own events; unsubscribed ones do not', async (t) => {
  const s = await startServer(t, { env: ALLOW });
  const owner = await s.api.signup();
  const member = await s.api.addUser(owner, 'member');
  const rx = await receiver(t);
  await register(s, owner, rx.url, ['document.shared', 'review.decided', 'document.classified', 'document.deleted']);
  const doc = await s.api.createDocument(owner, 'Contract');
  const shared = await s.api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  assert.equal(shared.status, 200, shared.text);
  const share = await eventually(() => {
    const r = rx.got.find((g) => g.event.type === 'document.shared');
    assert.ok(r, 'document.shared arrives');
    return r;
  });
  assert.deepEqual(share.event.data, { documentId: doc.id, userId: member.user.id, level: 'read', grantedBy: owner.user.id }, 'who, at which level, by whom');

  const wf = await s.api.post('/api/v1/workflows', { name: 'Sign-off', steps: [{ name: 'Look', assignees: { users: [member.user.id] } }] }, owner.accessToken);
  assert.equal(wf.status, 201, wf.text);
  const asked = await s.api.post(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.body.id }, owner.accessToken);
  assert.equal(asked.status, 201, asked.text);
  const tasks = await s.api.get('/api/v1/tasks?status=open', member.accessToken);
  const decided = await s.api.post(`/api/v1/tasks/${tasks.body.tasks[0].id}/decision`, { decision: 'approve' }, member.accessToken);
  assert.equal(decided.status, 200, decided.text);
  const decision = await eventually(() => {
    const r = rx.got.find((g) => g.event.type === 'review.decided' && g.event.data.decision === 'approved');
    assert.ok(r, 'review.decided arrives');
    return r;
  });
  assert.equal(decision.event.data.actorId, member.user.id, 'names who decided');
  assert.equal(decision.event.data.reviewId, asked.body.id, 'and the review');

  // What the classifier writes when a shown label changes: its labels and a feed event.
  await s.quire.store.db.tenants.withTenant(owner.user.tenantId, async (tx) => {
    await tx
      .insertInto('document_classifications')
      .values({ document_id: doc.id, tenant_id: owner.user.tenantId, model: 'default', label: 'legal', confidence: 0.9, version: '1', shown_label: 'legal', reason: null })
      .execute();
    await tx.insertInto('document_events').values({ tenant_id: owner.user.tenantId, document_id: doc.id, type: 'document.classified' }).execute();
  });
  const classified = await eventually(() => {
    const r = rx.got.find((g) => g.event.type === 'document.classified');
    assert.ok(r, 'document.classified arrives');
    return r;
  });
  assert.deepEqual(classified.event.data.labels, [{ model: 'default', label: 'legal' }], 'with the labels shown');

  const del = await s.api.del(`/api/v1/documents/${doc.id}`, owner.accessToken);
  assert.equal(del.status, 204, del.text);
  await eventually(() =>
    assert.ok(
      rx.got.some((g) => g.event.type === 'document.deleted' && g.event.data.documentId === doc.id),
      'document.deleted arrives',
    ),
  );
  assert.ok(!rx.got.some((g) => g.event.type === 'document.created'), 'document.created was not subscribed to');
});

test('the SDK manages endpoints and reads the delivery log', async (t) => {
  const s = await startServer(t, { env: ALLOW });
  const rx = await receiver(t);
  const client = new QuireClient({ baseUrl: s.url, tokens: memoryTokenStorage() });
  unwrap(await client.signup({ tenant: 'Org', email: `sdk-${crypto.randomUUID()}@example.test`, password: 'correct horse battery' }));
  const { endpoint, secret } = unwrap(await client.createWebhook({ url: rx.url, events: ['document.created'], description: 'CRM sync' }));
  assert.match(secret, /^whsec_/, 'the secret once');
  assert.deepEqual(
    unwrap(await client.listWebhooks()).endpoints.map((e) => e.id),
    [endpoint.id],
    'listed',
  );
  const changed = unwrap(await client.updateWebhook(endpoint.id, { events: ['document.created', 'document.deleted'] }));
  assert.deepEqual(changed.events, ['document.created', 'document.deleted'], 'events changed');
  const { delivery } = unwrap(await client.testWebhook(endpoint.id));
  await eventually(async () => {
    const log = unwrap(await client.listWebhookDeliveries(endpoint.id, { status: 'delivered' }));
    assert.ok(
      log.deliveries.some((d) => d.id === delivery.id && d.lastStatus === 200),
      'delivered, with its response code',
    );
  });
  assert.ok(signedWith(secret, rx.got[0]!), 'signed with the secret the SDK was given');
  const rotated = unwrap(await client.rotateWebhookSecret(endpoint.id, { previousSecretHours: 1 }));
  assert.notEqual(rotated.secret, secret, 'a new secret');
  assert.equal(unwrap(await client.replayWebhook(endpoint.id, new Date(Date.now() - 60_000))).queued, 1, 'the test event replayed');
  unwrap(await client.deleteWebhook(endpoint.id));
  assert.equal(unwrap(await client.listWebhooks()).endpoints.length, 0, 'deleted');
});
