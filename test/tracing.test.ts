/**
 * Distributed tracing (lib/tracing.ts) against a loopback OTLP/HTTP receiver: a plain
 * node:http server that keeps what the exporter posts (OTLP/JSON, `http/json`).
 *
 * - An HTTP request with a `traceparent` gets a server span in that trace, with the
 *   database transactions as its children, and its log lines carry the trace id.
 * - A socket update is one trace from its arrival to the index write: `sync.update` →
 *   `sync.commit` (child of the update, linked to it) → `publish document.changed` (the
 *   relay, continuing the context stored with the log row) → `indexer process` (the
 *   consumer, from the message's `traceparent` header) → `index.upsert`; the socket's
 *   upgrade request's own `traceparent` is a link of the update span. On NATS JetStream
 *   and on the embedded default (PGlite, in-process bus).
 * - Off (the default, or `OTEL_SDK_DISABLED`, or `OTEL_TRACES_EXPORTER=none`): no tracer
 *   provider is registered and the receiver gets nothing.
 *
 * Tests of one file run one after another; tracing is process-wide, and each server stops
 * it when it closes.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { loadConfig, ConfigError } from '../lib/config.js';
import { createLogger } from '../lib/log.js';
import { tracingOn } from '../lib/tracing.js';
import { startQuire, type Quire } from '../server/app.js';
import { ApiClient } from './helpers/api.js';
import { wsUrl } from './helpers/provider.js';
import { authFrame, frameType, updateFrame } from './helpers/raw-socket.js';
import { dropSchema, dropStream, sharedPGlite, testConfig, testKeys, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: OtlpValue }[];
  links?: { traceId: string; spanId: string }[];
}
/** OTLP's span kinds (the API's plus one). */
const KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

interface Receiver {
  url: string;
  spans: OtlpSpan[];
  posts: { path: string; contentType: string; bytes: number }[];
  services: Set<string>;
}

/** The loopback OTLP/HTTP receiver: answers 200 to every export and keeps its spans. */
async function receiver(t: TestContext): Promise<Receiver> {
  const r: Receiver = { url: '', spans: [], posts: [], services: new Set() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      r.posts.push({ path: req.url ?? '', contentType, bytes: body.length });
      if (contentType.includes('json')) {
        const parsed = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: { resource?: { attributes?: { key: string; value: OtlpValue }[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
        };
        for (const rs of parsed.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
          if (service) r.services.add(service);
          for (const ss of rs.scopeSpans ?? []) r.spans.push(...(ss.spans ?? []));
        }
      }
      res.writeHead(200, { 'content-type': contentType.includes('json') ? 'application/json' : 'application/x-protobuf' });
      res.end(contentType.includes('json') ? '{}' : '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return r;
}

const attr = (s: OtlpSpan, key: string): string | number | boolean | undefined => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.boolValue);
};

/** Tracing on, pointed at the receiver, exporting every 100 ms. */
const tracingEnv = (r: Receiver, extra: Record<string, string> = {}) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_SERVICE_NAME: 'quire-test',
  OTEL_BSP_SCHEDULE_DELAY: '100',
  ...extra,
});

interface Started {
  quire: Quire;
  api: ApiClient;
  url: string;
  lines: Record<string, unknown>[];
}

/** A server in its own namespace with its log lines kept (debug level), closed with the test. */
async function start(t: TestContext, opts: StartServerOptions & { env: Record<string, string> }): Promise<Started> {
  const schema = uniqueName('t');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-test-'));
  const config = testConfig(schema, { ...opts, env: { LOG_LEVEL: 'debug', ...opts.env } }, dataDir);
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const pglite = opts.dialect === 'pglite' ? await sharedPGlite() : undefined;
  const quire = await startQuire({ config, keys: (await testKeys()).keys, log: createLogger('debug', sink), pglite });
  t.after(async () => {
    await quire.close();
    await fs.rm(dataDir, { recursive: true, force: true });
    await dropSchema(quire.store.kind, schema);
    if (opts.nats) await dropStream(config.feed.stream);
  });
  const url = `http://127.0.0.1:${quire.port}`;
  return { quire, api: new ApiClient(url), url, lines };
}

/** A WebSocket to /sync whose upgrade request carries `headers`, authenticated for one document. */
async function socketFor(t: TestContext, url: string, documentId: string, token: string, headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(wsUrl(url), { headers });
  ws.binaryType = 'arraybuffer';
  ws.on('error', () => undefined);
  t.after(() => ws.close());
  const frames: Uint8Array[] = [];
  ws.on('message', (d: ArrayBuffer) => frames.push(new Uint8Array(d)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  ws.send(authFrame(documentId, token));
  await eventually(() => {
    if (!frames.some((f) => frameType(f).type === 2 && frameType(f).sub === 2)) throw new Error('not authenticated yet');
  });
  return ws;
}

/** A Yjs update writing one paragraph of `text`, as an editor would. */
function paragraphUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  const p = new Y.XmlElement('paragraph');
  p.insert(0, [new Y.XmlText(text)]);
  doc.getXmlFragment('default').insert(0, [p]);
  return Y.encodeStateAsUpdate(doc);
}

const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

test('configuration: tracing is on only when an OTLP exporter or endpoint is named, and OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none turn it off', () => {
  const tracing = (env: Record<string, string>) => loadConfig(env, ['node', 'main']).tracing;
  assert.equal(tracing({}).enabled, false, 'off by default');
  const on = tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s%3Dcret,tenant=a' });
  assert.equal(on.enabled, true, 'an endpoint turns it on');
  assert.equal(on.url, 'http://collector:4318/v1/traces');
  assert.equal(on.protocol, 'http/protobuf');
  assert.deepEqual(on.headers, { 'x-api-key': 's=cret', tenant: 'a' });
  assert.equal(on.sampler, 'parentbased_always_on');
  assert.equal(tracing({ OTEL_TRACES_EXPORTER: 'otlp' }).url, 'http://localhost:4318/v1/traces');
  assert.equal(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4318' }).url, 'http://jaeger:4318/v1/traces');
  assert.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).enabled, false, 'OTEL_SDK_DISABLED wins');
  assert.equal(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).enabled, false, 'exporter none wins');
  const ratio = tracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'docs' });
  assert.equal(ratio.samplerRatio, 0.25);
  assert.equal(ratio.serviceName, 'docs');
  assert.throws(() => tracing({ OTEL_TRACES_EXPORTER: 'zipkin' }), ConfigError);
  assert.throws(() => tracing({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), ConfigError);
  assert.throws(() => tracing({ OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' }), ConfigError);
});

test('tracing off: no tracer provider is registered, nothing is exported, and log lines carry no trace id', async (t) => {
  const r = await receiver(t);
  const envs: Record<string, string>[] = [{}, { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_SDK_DISABLED: 'true' }, { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_TRACES_EXPORTER: 'none' }];
  for (const env of envs) {
    const s = await start(t, { env });
    assert.equal(s.quire.config.tracing.enabled, false, `off for ${JSON.stringify(Object.keys(env))}`);
    assert.equal(tracingOn(), false, 'no spans are recorded');
    const provider = trace.getTracerProvider();
    assert.ok(provider instanceof ProxyTracerProvider, 'the API global is its proxy');
    assert.equal(provider.getDelegate().constructor.name, 'NoopTracerProvider', 'and the proxy has no SDK behind it');
    const owner = await s.api.signup();
    const doc = await s.api.request<{ id: string }>('POST', '/api/v1/documents', { token: owner.accessToken, json: { title: 'Quiet' }, headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` } });
    assert.equal(doc.status, 201);
    const ws = await socketFor(t, s.url, doc.body.id, owner.accessToken, { traceparent: `00-${hex(16)}-${hex(8)}-01` });
    ws.send(updateFrame(doc.body.id, paragraphUpdate('nothing traced here')));
    await eventually(async () => {
      const got = await s.api.get(`/api/v1/documents/${doc.body.id}/content?format=text`, owner.accessToken);
      if (!got.text.includes('nothing traced here')) throw new Error('update not stored yet');
    });
    assert.ok(
      s.lines.every((l) => l.trace_id === undefined),
      'no log line has a trace id',
    );
  }
  await quietFor(1_500, 'a span exporter would have posted by now (100 ms delay when on)', {
    check: () => assert.equal(r.posts.length, 0, 'the receiver got nothing'),
  });
});

test('an HTTP request continues the caller’s trace: a server span with its trace id, database transactions as children, and log lines with the trace id', async (t) => {
  const r = await receiver(t);
  const s = await start(t, { env: tracingEnv(r) });
  assert.equal(tracingOn(), true, 'tracing is on');
  const owner = await s.api.signup();
  const traceId = hex(16);
  const parentId = hex(8);
  const res = await s.api.request<{ id: string }>('POST', '/api/v1/documents', { token: owner.accessToken, json: { title: 'Traced' }, headers: { traceparent: `00-${traceId}-${parentId}-01` } });
  assert.equal(res.status, 201);
  const server = await eventually(
    () => {
      const span = r.spans.find((sp) => sp.traceId === traceId && sp.kind === KIND.server);
      if (!span) throw new Error(`no server span yet (${r.spans.length} spans)`);
      return span;
    },
    { timeoutMs: 30_000, message: 'server span exported' },
  );
  assert.equal(server.name, 'POST /api/v1/documents');
  assert.equal(server.parentSpanId, parentId, 'a child of the caller’s span');
  assert.equal(attr(server, 'http.response.status_code'), 201);
  assert.equal(attr(server, 'http.route'), '/api/v1/documents');
  const commits = await eventually(() => {
    const found = r.spans.filter((sp) => sp.traceId === traceId && sp.name === 'db.transaction' && sp.parentSpanId === server.spanId);
    if (found.length === 0) throw new Error('no database span under the request yet');
    return found;
  });
  assert.ok(
    commits.every((c) => c.kind === KIND.client && attr(c, 'db.system.name') === 'postgresql'),
    'database transactions are client spans',
  );
  assert.ok(r.services.has('quire-test'), 'OTEL_SERVICE_NAME names the service');
  const logged = s.lines.filter((l) => l.trace_id === traceId);
  assert.ok(logged.length > 0, 'log lines written while handling the request carry its trace id');
  assert.ok(
    logged.some((l) => l.msg === 'request' && l.span_id === server.spanId),
    'the request’s own line carries the server span’s id',
  );
});

test('a REST content write is one trace from the request to the index write', async (t) => {
  const r = await receiver(t);
  const s = await start(t, { dialect: 'pglite', env: tracingEnv(r) });
  const owner = await s.api.signup();
  const doc = await s.api.createDocument(owner, 'Written over REST');
  await eventually(
    () => {
      if (!r.spans.some((sp) => sp.name === 'indexer process' && String(attr(sp, 'messaging.destination.name')).endsWith('document.created'))) throw new Error('creation not indexed yet');
    },
    { timeoutMs: 60_000, message: 'the creation indexed' },
  );
  const traceId = hex(16);
  const res = await s.api.request('PUT', `/api/v1/documents/${doc.id}/content`, {
    token: owner.accessToken,
    json: { text: 'okapis written over rest' },
    headers: { traceparent: `00-${traceId}-${hex(8)}-01` },
  });
  assert.equal(res.status, 204);
  const named = (name: string) => {
    const span = r.spans.find((sp) => sp.traceId === traceId && sp.name === name);
    if (!span) throw new Error(`no ${name} in the request's trace yet`);
    return span;
  };
  const server = await eventually(() => named('PUT /api/v1/documents/:id/content'), { timeoutMs: 30_000, message: 'server span' });
  // The relay may publish the log row's change, or the change a compaction folded it into
  // (the content write closes its connection, so the document unloads and compacts): both
  // carry the request's context.
  const under = (name: string, parents: OtlpSpan[]) => {
    const found = r.spans.filter((sp) => sp.traceId === traceId && sp.name === name && parents.some((p) => p.spanId === sp.parentSpanId));
    if (found.length === 0) throw new Error(`no ${name} in the request's trace yet`);
    return found;
  };
  const publishes = await eventually(() => under('publish document.changed', [server]), { timeoutMs: 60_000, message: 'the relay continues the request’s trace' });
  const consumers = await eventually(() => under('indexer process', publishes), { timeoutMs: 60_000, message: 'consumer in the request’s trace' });
  await eventually(() => under('index.upsert', consumers), { timeoutMs: 60_000, message: 'index write in the request’s trace' });
});

for (const profile of ['nats', 'embedded'] as const) {
  test(`a socket update is one trace from its arrival to the index write, across the ${profile === 'nats' ? 'NATS JetStream bus (traceparent header)' : 'in-process bus of the embedded default'}`, async (t) => {
    const r = await receiver(t);
    const s = await start(t, profile === 'nats' ? { nats: true, env: tracingEnv(r) } : { dialect: 'pglite', env: tracingEnv(r) });
    const owner = await s.api.signup();
    const doc = await s.api.createDocument(owner, 'Traced over the socket');
    // The creation's own feed event is indexed first, so the update's is not folded into it.
    await eventually(
      () => {
        if (!r.spans.some((sp) => sp.name === 'indexer process' && String(attr(sp, 'messaging.destination.name')).endsWith('document.created'))) throw new Error('creation not indexed yet');
      },
      { timeoutMs: 60_000, message: 'the creation indexed' },
    );
    const upgradeTrace = hex(16);
    const upgradeSpan = hex(8);
    const ws = await socketFor(t, s.url, doc.id, owner.accessToken, { traceparent: `00-${upgradeTrace}-${upgradeSpan}-01` });
    ws.send(updateFrame(doc.id, paragraphUpdate('aardvarks follow the trace')));

    const update = await eventually(
      () => {
        const span = r.spans.find((sp) => sp.name === 'sync.update' && sp.links?.some((l) => l.traceId === upgradeTrace && l.spanId === upgradeSpan));
        if (!span) throw new Error('no update span yet');
        return span;
      },
      { timeoutMs: 30_000, message: 'update span exported' },
    );
    assert.equal(update.kind, KIND.server);
    assert.notEqual(update.traceId, upgradeTrace, 'each update is a trace of its own, linked to the connection');
    const inTrace = (name: string, parent: OtlpSpan) => {
      const span = r.spans.find((sp) => sp.traceId === update.traceId && sp.name === name && sp.parentSpanId === parent.spanId);
      if (!span) throw new Error(`no ${name} under ${parent.name} yet`);
      return span;
    };
    const commit = await eventually(() => inTrace('sync.commit', update), { message: 'commit span' });
    assert.ok(
      commit.links?.some((l) => l.spanId === update.spanId),
      'the commit links to the update it carries',
    );
    await eventually(() => inTrace('db.transaction', commit), { message: 'database span under the commit' });
    const publish = await eventually(() => inTrace('publish document.changed', update), { timeoutMs: 60_000, message: 'relay publish continuing the stored context' });
    assert.equal(publish.kind, KIND.producer);
    const consume = await eventually(() => inTrace('indexer process', publish), { timeoutMs: 60_000, message: 'consumer span from the message header' });
    assert.equal(consume.kind, KIND.consumer);
    assert.ok(String(attr(consume, 'messaging.destination.name')).endsWith('document.changed'), 'the consumer names the subject');
    const write = await eventually(() => inTrace('index.upsert', consume), { timeoutMs: 60_000, message: 'index write span' });
    assert.equal(attr(write, 'quire.document_id'), doc.id);
    // The indexer's line about its run is written in the consumer's span.
    assert.ok(
      s.lines.some((l) => l.msg === 'index run' && l.trace_id === update.traceId && l.span_id === consume.spanId),
      'log lines written along the way carry the trace id',
    );
  });
}

test('the default protocol is OTLP over HTTP with protobuf', async (t) => {
  const r = await receiver(t);
  const s = await start(t, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_BSP_SCHEDULE_DELAY: '100' } });
  assert.equal((await s.api.get('/health')).status, 200);
  await eventually(
    () => {
      if (!r.posts.some((p) => p.path === '/v1/traces' && p.contentType.startsWith('application/x-protobuf') && p.bytes > 0)) throw new Error('no protobuf export yet');
    },
    { timeoutMs: 30_000, message: 'protobuf export' },
  );
});
