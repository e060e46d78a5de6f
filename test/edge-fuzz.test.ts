/**
 * The HTTP edge never lets a request take the process down: malformed paths, hostile
 * bodies and a seeded fuzz of every route are answered with 4xx JSON, while a healthy
 * client keeps being served. Also the client address behind proxies and the NUL and
 * nesting limits of JSON bodies.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { createRng } from '../ml-workers/classifier/train.js';
import { clientAddress, parseTrustProxy } from '../lib/http/client-ip.js';
import { MAX_JSON_DEPTH } from '../server/http/validate.js';
import { startServer } from './helpers/server.js';

/** One raw HTTP/1.1 request (bytes exactly as given); resolves with the status and body. */
function raw(port: number, request: string | Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    /** The whole answer is here: its head, and as much body as its Content-Length says. */
    const complete = () => {
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf('\r\n\r\n');
      const length = end < 0 ? null : /\r\ncontent-length: *(\d+)/i.exec(buf.subarray(0, end).toString('latin1'));
      return length !== null && buf.length - (end + 4) >= Number(length[1]);
    };
    sock.on('data', (d) => {
      chunks.push(d);
      // A request the server answers may keep the connection open (keep-alive): close once the answer is complete.
      if (complete()) sock.end();
    });
    // The server may close as soon as it has answered (413 before the body was read): what
    // arrived before the reset is the answer.
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : reject(e)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    sock.write(request);
    // A server that goes silent without a whole answer fails the test instead of stalling it.
    sock.setTimeout(60_000, () => {
      sock.destroy();
      reject(new Error(`no complete answer after 60 s of silence (${Buffer.concat(chunks).length} bytes so far)`));
    });
  });
}

/** Every route with a path parameter, as the server registered them: a new route is fuzzed too. */
function paramRoutes(quire: { edge: { routes(): readonly { method: string; pattern: string }[] } }): [string, string][] {
  const routes = quire.edge.routes().filter((r) => r.pattern.includes('/:'));
  assert.ok(routes.length >= 12, `only ${routes.length} routes with parameters`);
  return routes.map((r) => [r.method === 'del' ? 'DELETE' : r.method.toUpperCase(), r.pattern]);
}

test('a malformed percent-encoding in any :id route is a 400, and the process serves on', async (t) => {
  const { quire, api } = await startServer(t);
  const s = await api.signup();
  for (const [method, pattern] of paramRoutes(quire)) {
    for (const bad of ['%E0%A4%A', '%', '%zz', '%C0%AF', '%ED%A0%80']) {
      const r = await raw(
        quire.port,
        `${method} ${pattern.replace(/:[a-zA-Z]+/, bad)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.accessToken}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(r.status, 400, `${method} ${pattern} with ${bad}: ${r.body}`);
      assert.equal(JSON.parse(r.body).error.code, 'invalid_path');
    }
  }
  assert.equal((await api.get('/health')).status, 200);
  assert.equal((await api.get('/api/v1/documents', s.accessToken)).status, 200);
});

test('fuzzing every route: no answer is a 5xx, nothing crashes, a healthy client is served throughout', async (t) => {
  const { quire, api } = await startServer(t);
  const s = await api.signup();
  const own = (await api.post('/api/v1/documents', { title: 'Fuzzed', text: 'anything' }, s.accessToken)).body;
  // The healthy client is another workspace; the fuzz also aims at its document.
  const healthyUser = await api.signup();
  const doc = (await api.post('/api/v1/documents', { title: 'Healthy', text: 'still here' }, healthyUser.accessToken)).body;
  const rnd = createRng(14); // seeded: the fuzz is the same on every run
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // Every route the server registered (a route added later is fuzzed too) — but the
  // notification stream, whose answer never ends (this client reads to the end): its
  // refusals are fuzzed below, and its own tests cover what it sends.
  const STREAMS = new Set(['/api/v1/notifications/stream']);
  const ROUTES = quire.edge
    .routes()
    .filter((r) => !STREAMS.has(r.pattern))
    .map((r) => [r.method === 'del' ? 'DELETE' : r.method.toUpperCase(), r.pattern] as const);
  assert.ok(ROUTES.length >= 25, `only ${ROUTES.length} routes registered`);
  const SEGMENTS = [own.id, doc.id, '%E0%A4%A', '%00', '..', '%2F..%2F', 'x'.repeat(300), '%F0%9F%98%80', crypto.randomUUID(), '%FF%FE', '%20', '%25'];
  const QUERIES = ['', '?q=%00', '?q=%E0%A4%A', '?limit=-1', '?limit=1e309', '?cursor=%ZZ', '?format=yjs', '?q=' + 'a'.repeat(5000), '?mode=semantic&q=x', '?a&&&=&='];
  const BODIES: (() => string)[] = [
    () => '',
    () => '{',
    () => 'null',
    () => '[]',
    () => '"\\u0000"',
    () => JSON.stringify({ title: 'a\u0000b' }),
    () => JSON.stringify({ title: 'x', text: 'y'.repeat(10) }),
    () => '['.repeat(100_000),
    () => '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
    () => JSON.stringify({ json: nestedDoc(2_000) }),
    () => JSON.stringify({ email: 'a@b.c', password: 'p'.repeat(2000) }),
    () => JSON.stringify({ userId: doc.id, level: 'admin\u0000' }),
    () => Buffer.from(Array.from({ length: 64 }, () => Math.floor(rnd() * 256))).toString('latin1'),
    () => JSON.stringify({ text: '\ud800' }),
    () => '{"__proto__":{"polluted":1}}',
  ];
  const TYPES = ['application/json', 'text/plain', 'application/json; charset=latin1', ''];
  const statuses = new Map<number, number>();
  for (let i = 0; i < 600; i++) {
    const [method, pattern] = pick(ROUTES);
    const path = pattern.replace(/:[a-zA-Z]+/g, () => pick(SEGMENTS)) + pick(QUERIES);
    const body = Buffer.from(pick(BODIES)(), 'latin1');
    const type = pick(TYPES);
    const auth = rnd() < 0.7 ? `Authorization: Bearer ${s.accessToken}\r\n` : rnd() < 0.5 ? 'Authorization: Bearer x.y.z\r\n' : '';
    const head = `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${body.length}\r\n\r\n`;
    const r = await raw(quire.port, Buffer.concat([Buffer.from(head, 'latin1'), body]));
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    assert.ok(r.status >= 200 && r.status < 500, `${method} ${path} (${type}, ${body.length} bytes) answered ${r.status}: ${r.body.slice(0, 300)}`);
    if (r.status >= 400) assert.ok(typeof JSON.parse(r.body).error.code === 'string', `${method} ${path}: ${r.body.slice(0, 200)}`);
    if (i % 25 === 0) {
      const healthy = await api.get(`/api/v1/documents/${doc.id}/content?format=text`, healthyUser.accessToken);
      assert.equal(healthy.status, 200);
      assert.equal(healthy.text, 'still here');
    }
  }
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);

  // The stream refuses what it cannot serve with an answer that ends, like every route.
  for (const [auth, query] of [
    ['', ''],
    ['Authorization: Bearer x.y.z\r\n', ''],
    ['Authorization: Basic Zm9vOmJhcg==\r\n', '?q=%00'],
  ]) {
    const r = await raw(quire.port, Buffer.from(`GET /api/v1/notifications/stream${query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth}\r\n`, 'latin1'));
    assert.equal(r.status, 401, `the stream without a valid token answers 401 (${r.body.slice(0, 200)})`);
  }
});

function nestedDoc(depth: number): unknown {
  let node: unknown = { type: 'paragraph', content: [{ type: 'text', text: 'deep' }] };
  for (let i = 0; i < depth; i++) node = { type: 'blockquote', content: [node] };
  return { type: 'doc', content: [node] };
}

test('NUL in a title or a search query, and JSON nested past the limit, are clear 400s', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const nul = await api.post('/api/v1/documents', { title: 'bad\u0000title' }, s.accessToken);
  assert.equal(nul.status, 400);
  assert.equal(nul.body.error.code, 'invalid_characters');
  const q = await api.get('/api/v1/search?q=a%00b', s.accessToken);
  assert.equal(q.status, 400);
  assert.equal(q.body.error.code, 'invalid_characters');
  const d = (await api.post('/api/v1/documents', { title: 'Deep' }, s.accessToken)).body;
  const deep = await api.request('PUT', `/api/v1/documents/${d.id}/content`, { token: s.accessToken, json: { json: nestedDoc(MAX_JSON_DEPTH) } });
  assert.equal(deep.status, 400);
  assert.equal(deep.body.error.code, 'too_deep');
  // Inside the limit the same shape is accepted.
  const ok = await api.request('PUT', `/api/v1/documents/${d.id}/content`, { token: s.accessToken, json: { json: nestedDoc(10) } });
  assert.ok(ok.status < 300, ok.text);
  assert.equal((await api.get('/api/v1/documents', s.accessToken)).body.documents.length, 1);
});

test('behind trusted proxies the client address is the entry they added, never one the client wrote', () => {
  const one = parseTrustProxy('true');
  assert.ok(!('error' in one), "!('error' in one)");
  // The client sent "X-Forwarded-For: 6.6.6.6"; our one proxy appended the real peer.
  assert.equal(clientAddress(one, '10.0.0.2', '6.6.6.6, 203.0.113.9'), '203.0.113.9');
  assert.equal(clientAddress(one, '10.0.0.2', '203.0.113.9'), '203.0.113.9');
  const two = parseTrustProxy('2');
  assert.ok(!('error' in two), "!('error' in two)");
  assert.equal(clientAddress(two, '10.0.0.2', '6.6.6.6, 203.0.113.9, 10.0.0.7'), '203.0.113.9');
  // Fewer entries than proxies: the request bypassed one of them, so the peer counts.
  assert.equal(clientAddress(two, '10.0.0.2', '203.0.113.9'), '10.0.0.2');
  const nets = parseTrustProxy('10.0.0.0/8, ::1');
  assert.ok(!('error' in nets), "!('error' in nets)");
  assert.equal(clientAddress(nets, '10.1.2.3', '6.6.6.6, 203.0.113.9, 10.9.9.9'), '203.0.113.9');
  assert.equal(clientAddress(nets, '::ffff:10.1.2.3', '203.0.113.9'), '203.0.113.9');
  // A peer that is not a trusted proxy: its header is the client's own words.
  assert.equal(clientAddress(nets, '198.51.100.4', '203.0.113.9'), '198.51.100.4');
  assert.equal(clientAddress(nets, '10.1.2.3', 'not-an-ip'), '10.1.2.3');
  assert.ok('error' in parseTrustProxy('10.0.0.0/99'), "'error' in parseTrustProxy('10.0.0.0/99')");
  assert.ok('error' in parseTrustProxy('example.com'), "'error' in parseTrustProxy('example.com')");
});

test('TRUST_PROXY=true: a spoofed X-Forwarded-For does not escape the per-IP login limit; logins are also limited per account', async (t) => {
  const { api } = await startServer(t, {
    env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_PER_MINUTE: '1', RATE_LIMIT_AUTH_BURST: '5', RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1', RATE_LIMIT_LOGIN_ACCOUNT_BURST: '3' },
  });
  const creds = { email: 'victim@acme.test', password: 'wrong password here' };
  const codes: number[] = [];
  for (let i = 0; i < 8; i++) {
    // Each attempt claims a fresh address; the proxy (here: the loopback peer) appended 127.0.0.1.
    const r = await api.request('POST', '/api/v1/auth/login', { json: { ...creds, email: `u${i}@acme.test` }, headers: { 'x-forwarded-for': `198.51.100.${i}, 127.0.0.1` } });
    codes.push(r.status);
  }
  assert.ok(
    codes.slice(5).every((c) => c === 429),
    `per-IP limit applies whatever the client writes: ${codes.join(',')}`,
  );

  const { api: api2 } = await startServer(t, {
    env: { TRUST_PROXY: 'true', RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1', RATE_LIMIT_LOGIN_ACCOUNT_BURST: '3' },
  });
  const perAccount: number[] = [];
  for (let i = 0; i < 5; i++) {
    // Different real addresses (as the proxy reports them), one account.
    const r = await api2.request('POST', '/api/v1/auth/login', { json: creds, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    perAccount.push(r.status);
  }
  assert.deepEqual(perAccount, [401, 401, 401, 429, 429]);
});

test('/metrics is not public: loopback only by default, a bearer token when METRICS_TOKEN is set', async (t) => {
  const { api } = await startServer(t, { env: { TRUST_PROXY: 'true' } });
  assert.equal((await api.get('/metrics')).status, 200);
  // Through the proxy from outside: not this machine.
  const outside = await api.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.5' } });
  assert.equal(outside.status, 403);
  assert.equal(outside.body.error.code, 'metrics_forbidden');

  const token = 'scrape-token-0123456789';
  const { api: withToken } = await startServer(t, { env: { METRICS_TOKEN: token } });
  assert.equal((await withToken.get('/metrics')).status, 401);
  assert.equal((await withToken.request('GET', '/metrics', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
  const ok = await withToken.request('GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /quire_http_requests_total/);
});
