import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('health, readiness and Prometheus metrics by route and status', async (t) => {
  const { api } = await startServer(t);
  assert.deepEqual((await api.get('/health')).body, { status: 'ok' });
  const ready = await api.get('/ready');
  assert.equal(ready.status, 200);
  assert.equal(ready.body.status, 'ready');
  assert.equal(ready.body.dependencies.postgres.status, 'up');
  await api.get('/api/v1/documents');
  const m = await api.get('/metrics');
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(m.text, /quire_http_requests_total\{method="get",route="\/api\/v1\/documents",status="401"\} 1/);
  assert.match(m.text, /quire_http_request_duration_seconds_bucket\{le="0.005",method="get",route="\/health",status="200"\}/);
  assert.match(m.text, /quire_process_resident_memory_bytes/);
});

test('every response carries a request id; a valid incoming one is kept', async (t) => {
  const { api } = await startServer(t);
  const a = await api.get('/health');
  assert.match(a.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const b = await api.request('GET', '/health', { headers: { 'x-request-id': 'trace-abc.123' } });
  assert.equal(b.headers.get('x-request-id'), 'trace-abc.123');
  const c = await api.request('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } });
  assert.notEqual(c.headers.get('x-request-id'), 'bad id with spaces <script>');
  const err = await api.get('/api/v1/documents');
  assert.equal(err.body.error.code, 'unauthorized');
});

test('CORS: configured origins get the headers and preflights; others do not', async (t) => {
  const { url } = await startServer(t, { env: { CORS_ORIGINS: 'https://app.example.test' } });
  const pre = await fetch(`${url}/api/v1/documents`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.test');
  assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
  const ok = await fetch(`${url}/health`, { headers: { origin: 'https://app.example.test' } });
  assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example.test');
  const evil = await fetch(`${url}/health`, { headers: { origin: 'https://evil.example.test' } });
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  const evilPre = await fetch(`${url}/api/v1/documents`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.test' } });
  assert.equal(evilPre.headers.get('access-control-allow-origin'), null);
});

test('shutdown lets in-flight requests finish, then refuses new connections', async (t) => {
  const { api, quire, url } = await startServer(t);
  const s = await api.signup();
  // A request whose body is still arriving is in flight while the server closes.
  let push!: (chunk: string | null) => void;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      push = (chunk) => (chunk === null ? c.close() : c.enqueue(new TextEncoder().encode(chunk)));
    },
  });
  const inflight = fetch(`${url}/api/v1/documents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.accessToken}` },
    body,
    duplex: 'half',
  } as RequestInit);
  push('{"title":');
  await eventually(() => assert.ok(quire.edge.inflightCount > 0, `inflight ${quire.edge.inflightCount}`));
  const closing = quire.close();
  push('"Written during shutdown"}');
  push(null);
  const r = await inflight;
  assert.equal(r.status, 201);
  assert.equal((await r.json()).title, 'Written during shutdown');
  await closing;
  // A new connection is refused; a request on a kept-alive one is answered 503.
  const http = await import('node:http');
  await assert.rejects(new Promise((resolve, reject) => http.get(`${url}/health`, { agent: false }, resolve).on('error', reject)), /ECONNREFUSED/);
  const late = await fetch(`${url}/health`).catch(() => null);
  if (late) assert.equal(late.status, 503);
});

test('request logs carry the request id: what a handler logs, and every failure', async (t) => {
  const { Writable } = await import('node:stream');
  const { HttpEdge } = await import('../lib/http/edge.js');
  const { createLogger } = await import('../lib/log.js');
  const { Metrics } = await import('../lib/metrics.js');
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const edge = new HttpEdge({ log: createLogger('info', sink), metrics: new Metrics({ defaultMetrics: false }), corsOrigins: [], trustProxy: { kind: 'none' }, maxBodyBytes: 1024 });
  edge.route('get', '/quiet', () => ({ status: 200, json: { ok: true } }));
  edge.route('get', '/noted', (req) => {
    req.log.info({ step: 'noted' }, 'handler note');
    return { status: 200, json: { ok: true } };
  });
  edge.route('get', '/broken', () => {
    throw new Error('kaput');
  });
  const port = await edge.listen('127.0.0.1', 0);
  t.after(() => edge.close(1000));
  const get = async (p: string) => (await fetch(`http://127.0.0.1:${port}${p}`)).headers.get('x-request-id');
  await get('/quiet');
  const noted = await get('/noted');
  const broken = await get('/broken');
  await eventually(() => assert.equal(lines.length, 3, JSON.stringify(lines)));
  assert.deepEqual(
    lines.map((l) => [l.msg, l.reqId, l.cat]),
    [
      ['handler note', noted, 'http'],
      ['unhandled error', broken, 'http'],
      ['request failed', broken, 'http'],
    ],
  );
});
