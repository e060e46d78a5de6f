/**
 * Webhook delivery (docs/WEBHOOKS.md): commit → endpoint latency, and deliveries per second
 * of one worker instance.
 *
 * 1. Starts a loopback receiver in this process (answers 200 at once, verifies nothing: the
 *    tests do) and a Quire server (all roles in one process, as `npm start` runs it, server
 *    Postgres in a schema of its own) with `WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true` and the
 *    product's other defaults (FEED_POLL_MS 100 ms; the deliverer is woken by its enqueuer).
 * 2. Latency: `--samples` times, one after another, an owner creates a document. The commit
 *    time is when the POST's answer arrives (the document and its outbox row are committed
 *    before the server answers); measured until the receiver has that document's
 *    `document.created`. The path: the relay's poll, the bus, the enqueuer's transaction,
 *    the deliverer's claim, signing and the POST.
 * 3. Throughput: `--tenants` workspaces with one endpoint each create `--docs` documents in
 *    all (delivered as they come), then every endpoint replays since the start at once:
 *    the deliverer faces the whole backlog. Measured from the replay calls to the last
 *    arrival: deliveries per second of one instance (WEBHOOKS_CONCURRENCY 32, the default;
 *    `--per-tenant` → WEBHOOKS_PER_TENANT_CONCURRENCY, default 8 as in the product).
 *
 * Usage: npm run bench:webhooks -- [--samples=100] [--tenants=4] [--docs=1000] [--per-tenant=4] [--json=<file>]
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { arg, benchDirs, createDocument, dropSchema, signup, startQuire } from './lib.js';

const SAMPLES = Number(arg('samples', '100'));
const TENANTS = Number(arg('tenants', '4'));
const DOCS = Number(arg('docs', '1000'));
const PER_TENANT = arg('per-tenant', '8');
const JSON_OUT = arg('json', '');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const summary = (xs: number[]) => ({ p50: Math.round(pct(xs, 50)), p95: Math.round(pct(xs, 95)), max: Math.round(Math.max(...xs)) });

/** Arrival times of `document.created` per document, and a count of every request. */
async function startReceiver(): Promise<{ url: string; created: Map<string, number>; count: () => number; close: () => Promise<void> }> {
  const created = new Map<string, number>();
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      n++;
      const ev = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { documentId?: string } };
      if (ev.type === 'document.created' && ev.data.documentId && !created.has(ev.data.documentId)) created.set(ev.data.documentId, at);
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    created,
    count: () => n,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function api(base: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const rx = await startReceiver();
  const dirs = benchDirs();
  const q = await startQuire({
    schema: dirs.schema,
    dataDir: dirs.dataDir,
    roles: 'api,sync,worker',
    env: {
      WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOKS_PER_TENANT_CONCURRENCY: PER_TENANT,
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_BURST: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_BURST: '100000',
    },
  });
  try {
    // 1. Latency, one document at a time.
    const owner = await signup(q.base, 'Latency');
    await api(q.base, 'POST', '/api/v1/webhooks', owner.accessToken, { url: rx.url, events: ['document.created'] });
    const latency: number[] = [];
    for (let i = 0; i < SAMPLES + 5; i++) {
      const id = await createDocument(q.base, owner.accessToken, `Sample ${i}`);
      const committed = performance.now();
      await waitFor(() => rx.created.has(id), 30_000, `document ${id}`);
      if (i >= 5) latency.push(rx.created.get(id)! - committed); // the first few warm up
    }
    // 2. Throughput: a backlog of DOCS deliveries over TENANTS workspaces, replayed at once.
    const tenants = await Promise.all(Array.from({ length: TENANTS }, (_, i) => signup(q.base, `Tenant ${i}`)));
    const hooks = await Promise.all(tenants.map((t) => api(q.base, 'POST', '/api/v1/webhooks', t.accessToken, { url: rx.url, events: ['document.created'] })));
    const since = new Date(Date.now() - 1000).toISOString();
    const before = rx.created.size;
    for (let i = 0; i < DOCS; i += TENANTS) await Promise.all(tenants.map((t, k) => (i + k < DOCS ? createDocument(q.base, t.accessToken, `Doc ${i + k}`) : null)));
    await waitFor(() => rx.created.size >= before + DOCS, 300_000, 'the documents to be delivered once');
    const start = rx.count();
    const t0 = performance.now();
    const queued = await Promise.all(hooks.map((h, k) => api(q.base, 'POST', `/api/v1/webhooks/${h.endpoint.id}/replay`, tenants[k]!.accessToken, { since })));
    const total = queued.reduce((n, r: { queued: number }) => n + r.queued, 0);
    await waitFor(() => rx.count() - start >= total, 600_000, 'the replayed deliveries');
    const seconds = (performance.now() - t0) / 1000;
    const result = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      samples: latency.length,
      commitToEndpointMs: summary(latency),
      throughput: { tenants: TENANTS, perTenantConcurrency: Number(PER_TENANT), deliveries: total, seconds: Math.round(seconds * 100) / 100, perSecond: Math.round(total / seconds) },
    };
    console.log(JSON.stringify(result, null, 2));
    if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify(result, null, 2) + '\n');
  } finally {
    await q.stop();
    await rx.close();
    await dropSchema(dirs.schema);
    fs.rmSync(dirs.dataDir, { recursive: true, force: true });
  }
}

await main();
