/**
 * Notification delivery latency (issue 19): from a comment's commit to the mentioned
 * person's open app, and to the SMTP server accepting the email.
 *
 * Per profile (`postgres`: server Postgres in a schema of its own; `pglite`: the embedded
 * default in DATA_DIR), from scratch:
 * 1. Starts a loopback SMTP server (the `smtp-server` package) in this process, then a Quire
 *    server (all roles in one process, as `npm start` runs it) with `SMTP_URL` pointing at
 *    it and the notification settings under test (`--batch-ms` → EMAIL_BATCH_MS, the digest
 *    window; `--poll-ms` → NOTIFY_POLL_MS, how often the email sender looks; defaults: the
 *    product's defaults would put a 60 s digest window in every figure, so the run states
 *    what it used).
 * 2. Signs up an owner, adds a member, shares a document with the member, and opens the
 *    member's live stream (`GET /api/v1/notifications/stream`, read with fetch as the web
 *    app does).
 * 3. `--samples` times, one after another: the owner posts a comment mentioning the
 *    member. The commit time is when the POST's answer arrives (the comment and its feed
 *    event are committed before the server answers). Measured: until the stream delivers
 *    that comment's notification (commit → in-app), and until the SMTP server has the whole
 *    message (commit → SMTP accepted). The next comment waits for both.
 * Reported: p50/p95/max of each. The path in between: the relay's poll (FEED_POLL_MS,
 * 100 ms), the event bus, the notifier's transaction, the live signal, the stream's read
 * of the notification; for email, the delivery's due time (commit + EMAIL_BATCH_MS), the
 * sender's poll, the claim, rendering and the SMTP conversation.
 * Peers (Hocuspocus, y-websocket) have no notifications: there is nothing to compare.
 *
 * Usage: npm run bench:notifications -- [--samples=60] [--profiles=postgres,pglite]
 *   [--batch-ms=0] [--poll-ms=1000] [--json=<file>]
 */
import fs from 'node:fs';
import os from 'node:os';
import { SMTPServer } from 'smtp-server';
import { parseEvents } from '../clients/sdk/notifications.js';
import { arg, benchDirs, createDocument, dropSchema, signup, startQuire } from './lib.js';

const SAMPLES = Number(arg('samples', '60'));
const PROFILES = arg('profiles', 'postgres,pglite').split(',');
const BATCH_MS = arg('batch-ms', '0');
const POLL_MS = arg('poll-ms', '1000');
const JSON_OUT = arg('json', '');

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const summary = (xs: number[]) => ({ p50: Math.round(pct(xs, 50)), p95: Math.round(pct(xs, 95)), max: Math.round(Math.max(...xs)) });

/** The loopback SMTP server: resolves each message's arrival time by the comment id its body carries. */
async function startSmtp(): Promise<{ port: number; arrived: Map<string, number>; close: () => Promise<void> }> {
  const arrived = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const at = performance.now();
        // Quoted-printable: soft line breaks out, `=3D` back to `=`.
        const text = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/=\r?\n/g, '')
          .replace(/=3D/gi, '=');
        for (const m of text.matchAll(/comment=([0-9a-f-]{36})/g)) if (!arrived.has(m[1]!)) arrived.set(m[1]!, at);
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { port, arrived, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function api(base: string, method: string, path: string, token: string, body?: unknown): Promise<any> {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

/** The member's live stream: arrival time per comment id of each mention notification. */
async function openStream(base: string, token: string): Promise<{ arrived: Map<string, number>; close: () => void }> {
  const arrived = new Map<string, number>();
  const ctrl = new AbortController();
  const res = await fetch(`${base}/api/v1/notifications/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
  if (!res.ok || !res.body) throw new Error(`stream: ${res.status}`);
  void (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = parseEvents(buf + value, (_event, data) => {
          const ev = JSON.parse(data) as { type: string; notification?: { data: Record<string, string> } };
          const id = ev.notification?.data['commentId'];
          if (ev.type === 'notification' && id && !arrived.has(id)) arrived.set(id, performance.now());
        });
      }
    } catch {
      // closed
    }
  })();
  return { arrived, close: () => ctrl.abort() };
}

async function waitFor(map: Map<string, number>, key: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!map.has(key)) {
    if (Date.now() > deadline) throw new Error(`nothing for ${key} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return map.get(key)!;
}

async function runProfile(profile: string): Promise<{ profile: string; inApp: ReturnType<typeof summary>; smtp: ReturnType<typeof summary> }> {
  const smtp = await startSmtp();
  const dirs = benchDirs();
  const q = await startQuire({
    ...dirs,
    roles: 'api,sync,worker',
    env: {
      ...(profile === 'pglite' ? { DATABASE_URL: '' } : {}),
      SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
      EMAIL_BATCH_MS: BATCH_MS,
      NOTIFY_POLL_MS: POLL_MS,
      SEMANTIC_SEARCH: 'false',
      WEB_APP: 'false',
    },
  });
  try {
    const owner = await signup(q.base);
    const email = `member-${Date.now()}@bench.test`;
    const member = await api(q.base, 'POST', '/api/v1/users', owner.accessToken, { email, password: 'benchmark password', role: 'member' });
    const login = await (
      await fetch(`${q.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'benchmark password' }) })
    ).json();
    const doc = await createDocument(q.base, owner.accessToken, 'Notifications bench', 'Some text to comment on.');
    await api(q.base, 'PUT', `/api/v1/documents/${doc}/permissions`, owner.accessToken, { userId: member.id, level: 'comment' });
    const stream = await openStream(q.base, login.accessToken);
    const inApp: number[] = [];
    const mail: number[] = [];
    try {
      for (let i = 0; i < SAMPLES + 2; i++) {
        const c = await api(q.base, 'POST', `/api/v1/documents/${doc}/comments`, owner.accessToken, { body: `Sample ${i}, @[Member](user:${member.id})` });
        const committed = performance.now();
        const [a, m] = await Promise.all([waitFor(stream.arrived, c.id, 30_000), waitFor(smtp.arrived, c.id, 30_000 + Number(BATCH_MS))]);
        // The first two warm the paths up (first query plans, the SMTP connection).
        if (i < 2) continue;
        inApp.push(a - committed);
        mail.push(m - committed);
      }
    } finally {
      stream.close();
    }
    return { profile, inApp: summary(inApp), smtp: summary(mail) };
  } finally {
    await q.stop();
    await smtp.close();
    if (profile === 'postgres') await dropSchema(dirs.schema);
    fs.rmSync(dirs.dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (const profile of PROFILES) {
  const r = await runProfile(profile);
  results.push(r);
  console.log(
    `${profile}: commit → in-app p50 ${r.inApp.p50} ms, p95 ${r.inApp.p95} ms, max ${r.inApp.max} ms; commit → SMTP accepted p50 ${r.smtp.p50} ms, p95 ${r.smtp.p95} ms, max ${r.smtp.max} ms`,
  );
}
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.log(`samples ${SAMPLES}, EMAIL_BATCH_MS=${BATCH_MS}, NOTIFY_POLL_MS=${POLL_MS}; ${machine}`);
if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ samples: SAMPLES, batchMs: Number(BATCH_MS), pollMs: Number(POLL_MS), machine, results }, null, 2));
process.exit(0);
