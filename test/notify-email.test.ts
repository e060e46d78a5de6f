/**
 * Notification email end to end, through a loopback SMTP server: a mention reaches the
 * mentioned person's mailbox once, with a working link and RFC 8058 one-click unsubscribe
 * that turns their email off; several notifications in the window go out as one digest;
 * nothing goes out when email is off (workspace or person) or the person lost access
 * during the window; two senders on one database never send the same email; the SMTP server's answer decides between a retry and a failure; and
 * a sender killed (or cut off) after the message went out but before it was recorded never
 * sends it again.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { TokenService } from '../core/tokens.js';
import { signUnsubscribeToken, verifyUnsubscribeToken } from '../core/unsubscribe-tokens.js';
import { Mailer } from '../ml-workers/notify/mailer.js';
import type { ApiClient, Session } from './helpers/api.js';
import { TEST_DATABASE_URL } from './helpers/env.js';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { startServer, testKeys, type Dialect, type TestServer } from './helpers/server.js';
import { startMailbox, type ReceivedMail, type TestMailbox } from './helpers/smtp.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { eventually } from './helpers/wait.js';

const PUBLIC_URL = 'http://quire.test';
/**
 * Waits for mail: the relay, the notifier, the batch window and the mailer's poll. The relay
 * publishes only what every transaction older than it has left behind, so a long
 * transaction of another test on the same Postgres holds it back for a while.
 */
const MAIL_WITHIN_MS = 60_000;

const mention = (s: Session, name: string) => `@[${name}](user:${s.user.id})`;

function mailEnv(mailbox: TestMailbox, batchMs: number): Record<string, string> {
  return { SMTP_URL: mailbox.url, EMAIL_BATCH_MS: String(batchMs), NOTIFY_POLL_MS: '50', PUBLIC_URL, MAIL_FROM: 'Quire <notify@quire.test>' };
}

async function comment(api: ApiClient, s: Session, docId: string, body: string): Promise<{ id: string }> {
  const r = await api.post(`/api/v1/documents/${docId}/comments`, { body }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as { id: string };
}

interface DeliveryRow {
  id: string;
  status: string;
  error: string | null;
  kind: string;
  excerpt: string | null;
}

/** A person's email deliveries, oldest first. */
async function deliveries(owner: Kysely<unknown>, userId: string): Promise<DeliveryRow[]> {
  const r = await sql<DeliveryRow>`
    select d.id, d.status, d.error, n.kind, n.data->>'excerpt' as excerpt
    from notification_deliveries d join notifications n on n.id = d.notification_id
    where d.user_id = ${userId} and d.channel = 'email' order by d.created_at, d.id`.execute(owner);
  return r.rows;
}

async function notificationCount(owner: Kysely<unknown>, userId: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*)::int as n from notifications where user_id = ${userId}`.execute(owner);
  return r.rows[0]!.n;
}

/** Where a person's notifications are (a timeout's message). */
async function progress(owner: Kysely<unknown>, userId: string): Promise<string> {
  const feed = await sql<{ n: number }>`select count(*)::int as n from document_events where type = 'document.commented'`.execute(owner);
  return `comment events ${feed.rows[0]!.n}, notifications ${await notificationCount(owner, userId)}, email deliveries ${JSON.stringify((await deliveries(owner, userId)).map((d) => d.status))}`;
}

/** Makes a person's pending email due now (the batch window has passed). */
async function windowPasses(owner: Kysely<unknown>, userId: string): Promise<void> {
  await sql`update notification_deliveries set due_at = now() where user_id = ${userId} and channel = 'email' and status = 'pending'`.execute(owner);
}

async function emailPrefs(owner: Kysely<unknown>, userId: string): Promise<Record<string, Record<string, boolean>>> {
  const r = await sql<{ p: Record<string, Record<string, boolean>> }>`select notification_preferences as p from users where id = ${userId}`.execute(owner);
  return r.rows[0]!.p;
}

/** The unsubscribe link of a message (its `List-Unsubscribe` header), and the same path on the test server. */
function unsubscribeLink(mail: ReceivedMail, server: string): { header: string; local: string } {
  const header = mail.header('list-unsubscribe') ?? '';
  const m = /^<(http:\/\/quire\.test(\/api\/v1\/unsubscribe\?token=[A-Za-z0-9_\-.%]+))>$/.exec(header);
  assert.ok(m, `List-Unsubscribe: ${header}`);
  return { header, local: `${server}${m[2]}` };
}

async function setup(t: TestContext, batchMs: number, dialect: Dialect = 'postgres'): Promise<{ web: TestServer; mailbox: TestMailbox; owner: Session; bob: Session; doc: { id: string } }> {
  const mailbox = await startMailbox(t);
  const web = await startServer(t, { dialect, env: mailEnv(mailbox, batchMs) });
  const owner = await web.api.signup('Acme');
  // An admin reads every document of the workspace: no share (and its own notification) needed.
  const bob = await web.api.addUser(owner, 'admin');
  const doc = await web.api.createDocument(owner, 'Plan');
  return { web, mailbox, owner, bob, doc };
}

test('a mention reaches the mentioned person once, with a working link and a one-click unsubscribe that turns their email off', async (t) => {
  const { web, mailbox, owner, bob, doc } = await setup(t, 200);
  const { api, quire } = web;
  const c = await comment(api, owner, doc.id, `Hi ${mention(bob, 'Bob')}, can you look at <b>this</b> & that?`);

  const mail = await eventually(
    async () => {
      const got = mailbox.to(bob.user.email);
      assert.equal(got.length, 1, await progress(quire.store.owner, bob.user.id));
      return got[0]!;
    },
    { timeoutMs: MAIL_WITHIN_MS, message: 'the mention email' },
  );
  await eventually(
    async () =>
      assert.deepEqual(
        (await deliveries(quire.store.owner, bob.user.id)).map((d) => d.status),
        ['sent'],
      ),
    { message: 'the delivery is recorded sent' },
  );
  assert.equal(mailbox.to(bob.user.email).length, 1, 'sent once');
  const metrics = await quire.metrics.registry.getMetricsAsJSON();
  const sentCount = (name: string) => metrics.find((m) => m.name === name)?.values.find((v) => !v.labels['outcome'] || v.labels['outcome'] === 'sent')?.value;
  assert.equal(sentCount('quire_email_messages_total'), 1, 'counted as a message');
  assert.equal(sentCount('quire_email_deliveries_total'), 1, 'counted as a sent delivery');

  const author = owner.user.email.split('@')[0]!;
  assert.equal(mail.parsed.subject, `${author} mentioned you in “Plan”`);
  assert.equal(mail.from, 'notify@quire.test');
  const link = `${PUBLIC_URL}/d/${doc.id}?comment=${c.id}`;
  assert.ok(mail.parsed.text?.includes(link), mail.parsed.text);
  assert.ok(mail.parsed.text?.includes('Hi @Bob, can you look at <b>this</b> & that?'), 'the excerpt, as readers see it');
  const html = String(mail.parsed.html);
  assert.ok(html.includes(`href="${link.replace(/&/g, '&amp;')}"`), 'the HTML links to the comment');
  assert.ok(html.includes('&lt;b&gt;this&lt;/b&gt; &amp; that'), 'the excerpt is escaped in HTML');
  assert.ok(!html.includes('<b>this</b>'), 'no markup from the comment in the HTML');
  assert.ok(html.includes(`${PUBLIC_URL}/account#notifications`), 'a link to the notification settings');
  assert.equal(mail.header('list-unsubscribe-post'), 'List-Unsubscribe=One-Click');
  assert.match(mail.header('message-id') ?? '', /^<[0-9a-f]{40}\.notify@quire\.test>$/);
  const unsub = unsubscribeLink(mail, web.url);
  assert.ok(html.includes(unsub.header.slice(1, -1)), 'the footer has the same unsubscribe link');

  // The link the email points to opens: the comment's document, readable by Bob.
  const opened = await api.get(`/api/v1/documents/${doc.id}`, bob.accessToken);
  assert.equal(opened.status, 200);

  // A mail scanner fetching the link changes nothing; the page has the button.
  const page = await fetch(unsub.local, { headers: { accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await page.text(), /<form method="post" action="\/api\/v1\/unsubscribe\?token=/);
  assert.equal(page.headers.get('cache-control'), 'no-store');
  assert.deepEqual(await emailPrefs(quire.store.owner, bob.user.id), {});

  // One-click (RFC 8058): no sign-in, form-encoded body; doing it again is fine.
  for (let i = 0; i < 2; i++) {
    const r = await fetch(unsub.local, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { unsubscribed: ['mention'] });
  }
  assert.deepEqual(await emailPrefs(quire.store.owner, bob.user.id), { mention: { email: false } });

  // A tampered or foreign token is refused in the API's error shape.
  const tampered = unsub.local.replace(/token=([^.]+)\.([^.]+)\./, (_m, h: string, p: string) => `token=${h}.${p.slice(0, -2)}AA.`);
  for (const url of [tampered, `${web.url}/api/v1/unsubscribe?token=${owner.accessToken}`, `${web.url}/api/v1/unsubscribe`]) {
    const r = await fetch(url, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'invalid_token');
  }

  // A browser following a bad link gets a page that says so, and the way to the settings.
  const bad = await fetch(tampered, { headers: { accept: 'text/html' } });
  assert.equal(bad.status, 400);
  assert.match(bad.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await bad.text(), /not valid or has expired[\s\S]*http:\/\/quire\.test\/account#notifications/);

  // The next mention is in the app but not in the mailbox.
  await comment(api, owner, doc.id, `Again ${mention(bob, 'Bob')}`);
  await eventually(async () => assert.equal(await notificationCount(quire.store.owner, bob.user.id), 2), { timeoutMs: MAIL_WITHIN_MS, message: 'the second notification' });
  assert.equal((await deliveries(quire.store.owner, bob.user.id)).length, 1, 'no email delivery for the second mention');
  assert.equal(mailbox.to(bob.user.email).length, 1);
});

for (const dialect of ['postgres', 'pglite'] as const) {
  test(`several notifications within the batch window go out as one digest listing them all (${dialect})`, async (t) => {
    // A window longer than the test: it "passes" when the test says so.
    const { web, mailbox, owner, bob, doc } = await setup(t, 600_000, dialect);
    const { api, quire } = web;
    const other = await api.createDocument(owner, 'Budget');
    const comments = [
      { doc: doc.id, c: await comment(api, owner, doc.id, `First ${mention(bob, 'Bob')}`) },
      { doc: doc.id, c: await comment(api, owner, doc.id, `Second ${mention(bob, 'Bob')}`) },
      { doc: other.id, c: await comment(api, owner, other.id, `Third ${mention(bob, 'Bob')}`) },
    ];
    await eventually(
      async () =>
        assert.deepEqual(
          (await deliveries(quire.store.owner, bob.user.id)).map((d) => d.status),
          ['pending', 'pending', 'pending'],
        ),
      {
        timeoutMs: MAIL_WITHIN_MS,
        message: 'three pending deliveries',
      },
    );
    assert.equal(mailbox.to(bob.user.email).length, 0, 'nothing before the window passes');

    await windowPasses(quire.store.owner, bob.user.id);
    const mail = await eventually(
      async () => {
        const got = mailbox.to(bob.user.email);
        assert.equal(got.length, 1, await progress(quire.store.owner, bob.user.id));
        return got[0]!;
      },
      { timeoutMs: MAIL_WITHIN_MS, message: 'the digest' },
    );
    await eventually(async () =>
      assert.deepEqual(
        (await deliveries(quire.store.owner, bob.user.id)).map((d) => d.status),
        ['sent', 'sent', 'sent'],
      ),
    );
    assert.equal(mailbox.to(bob.user.email).length, 1, 'one message for the three');
    assert.equal(mail.parsed.subject, '3 new notifications in Quire');
    const text = mail.parsed.text ?? '';
    for (const [i, word] of ['First', 'Second', 'Third'].entries()) {
      assert.ok(text.includes(`${word} @Bob`), `lists ${word}`);
      assert.ok(text.includes(`${PUBLIC_URL}/d/${comments[i]!.doc}?comment=${comments[i]!.c.id}`), `links ${word}`);
    }
    assert.ok(text.includes('“Plan”') && text.includes('“Budget”'), 'names both documents');

    // A digest's unsubscribe turns email off for every kind; the page's button (a browser's form post) gets a page.
    const r = await fetch(unsubscribeLink(mail, web.url).local, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'List-Unsubscribe=One-Click',
    });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /You are unsubscribed[\s\S]*no longer get email about notifications/);
    const prefs = await emailPrefs(quire.store.owner, bob.user.id);
    for (const kind of ['mention', 'reply', 'share', 'review_assigned', 'review_decided', 'deadline']) assert.equal(prefs[kind]?.email, false, kind);
  });
}

test('no email when the workspace or the person has it off, or the person lost access during the window', async (t) => {
  const { web, mailbox, owner, bob, doc } = await setup(t, 600_000);
  const { api, quire } = web;
  const db = quire.store.owner;

  // The workspace's default: mention email off. The notification is made, no email.
  await sql`update tenants set notification_defaults = ${JSON.stringify({ mention: { email: false } })}::jsonb where id = ${owner.user.tenantId}`.execute(db);
  await comment(api, owner, doc.id, `Workspace says no ${mention(bob, 'Bob')}`);
  await eventually(async () => assert.equal(await notificationCount(db, bob.user.id), 1), { timeoutMs: MAIL_WITHIN_MS, message: 'the notification' });
  assert.deepEqual(await deliveries(db, bob.user.id), []);

  // On again; the person turns it off while the email waits for the window: skipped.
  await sql`update tenants set notification_defaults = '{}'::jsonb where id = ${owner.user.tenantId}`.execute(db);
  await comment(api, owner, doc.id, `Bob changes his mind ${mention(bob, 'Bob')}`);
  await eventually(
    async () =>
      assert.deepEqual(
        (await deliveries(db, bob.user.id)).map((d) => d.status),
        ['pending'],
      ),
    { timeoutMs: MAIL_WITHIN_MS },
  );
  await sql`update users set notification_preferences = ${JSON.stringify({ mention: { email: false } })}::jsonb where id = ${bob.user.id}`.execute(db);
  await windowPasses(db, bob.user.id);
  await eventually(
    async () =>
      assert.deepEqual(
        (await deliveries(db, bob.user.id)).map((d) => [d.status, d.error]),
        [['skipped', 'email for this kind is off']],
      ),
    { timeoutMs: MAIL_WITHIN_MS },
  );

  // A member shared the document, mentioned, then unshared before the window passed: both skipped.
  const carol = await api.addUser(owner, 'member');
  const shared = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: carol.user.id, level: 'read' }, owner.accessToken);
  assert.equal(shared.status, 200, shared.text);
  await comment(api, owner, doc.id, `Carol, see ${mention(carol, 'Carol')}`);
  await eventually(
    async () =>
      assert.deepEqual((await deliveries(db, carol.user.id)).map((d) => [d.kind, d.status]).sort(), [
        ['mention', 'pending'],
        ['share', 'pending'],
      ]),
    {
      timeoutMs: MAIL_WITHIN_MS,
    },
  );
  const unshared = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: carol.user.id, level: 'none' }, owner.accessToken);
  assert.equal(unshared.status, 200, unshared.text);
  await windowPasses(db, carol.user.id);
  await eventually(
    async () =>
      assert.deepEqual(
        (await deliveries(db, carol.user.id)).map((d) => [d.status, d.error]),
        [
          ['skipped', 'the recipient can no longer read the document'],
          ['skipped', 'the recipient can no longer read the document'],
        ],
      ),
    { timeoutMs: MAIL_WITHIN_MS },
  );
  assert.equal(mailbox.to(bob.user.email).length, 0);
  assert.equal(mailbox.to(carol.user.email).length, 0);
});

test('killed -9 after the message went out but before it was recorded, the sender never sends it again', async (t) => {
  const mailbox = await startMailbox(t);
  // The API in this process; the worker (relay, notifier, mailer) is a child process.
  const web = await startServer(t, { roles: ['api', 'sync'], env: mailEnv(mailbox, 200) });
  const { api, quire } = web;
  const db = quire.store.owner;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-mailer-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const { privatePem, publicPem } = await testKeys();
  const env = {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: web.schema,
    DATA_DIR: dataDir,
    SEMANTIC_SEARCH: 'false',
    WEB_APP: 'false',
    LOG_LEVEL: 'warn',
    JWT_PRIVATE_KEY: privatePem,
    JWT_PUBLIC_KEY: publicPem,
    ...mailEnv(mailbox, 200),
  };
  const owner = await api.signup('Acme');
  const bob = await api.addUser(owner, 'admin');
  const doc = await api.createDocument(owner, 'Plan');

  const w1 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w1.kill());
  await ready(w1);
  const held = mailbox.holdNext();
  await comment(api, owner, doc.id, `Only once ${mention(bob, 'Bob')}`);
  const first = await Promise.race([
    held.arrived,
    new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`no email within ${MAIL_WITHIN_MS} ms: ${w1.output()}`)), MAIL_WITHIN_MS).unref()),
  ]);
  assert.ok(first.parsed.text?.includes('Only once @Bob'), 'the held message is the mention');
  // The message is in the mailbox; the sender has not heard back. Killed now.
  assert.deepEqual(
    (await deliveries(db, bob.user.id)).map((d) => d.status),
    ['sending'],
  );
  await w1.kill();
  held.release();

  const w2 = spawnQuire(env, await freePort(), ['--roles=worker']);
  t.after(() => w2.kill());
  await ready(w2);
  // The new sender runs: a later mention goes out on its own, the first is not in it.
  await comment(api, owner, doc.id, `After the restart ${mention(bob, 'Bob')}`);
  const second = await eventually(
    () => {
      const got = mailbox.to(bob.user.email).filter((m) => m.parsed.text?.includes('After the restart @Bob'));
      assert.equal(got.length, 1);
      return got[0]!;
    },
    { timeoutMs: MAIL_WITHIN_MS, message: `the later email: ${w2.output()}` },
  );
  assert.ok(!second.parsed.text?.includes('Only once'), 'the first is not sent again in the next message');
  assert.equal(second.parsed.subject?.includes('mentioned you'), true);

  // Its lease runs out (ten minutes, moved back here): it is marked unknown, never resent.
  const [stuck] = await deliveries(db, bob.user.id);
  assert.equal(stuck!.status, 'sending');
  await sql`update notification_deliveries set claimed_at = claimed_at - interval '11 minutes', due_at = now() where id = ${stuck!.id}`.execute(db);
  await eventually(
    async () =>
      assert.deepEqual(
        (await deliveries(db, bob.user.id)).map((d) => d.status),
        ['unknown', 'sent'],
      ),
    {
      timeoutMs: MAIL_WITHIN_MS,
      message: 'the stuck delivery is marked unknown',
    },
  );
  assert.equal(mailbox.to(bob.user.email).filter((m) => m.parsed.text?.includes('Only once @Bob')).length, 1, 'exactly one copy of the first');
  assert.equal(mailbox.to(bob.user.email).length, 2);
  await w2.stop();
});

test("the SMTP server's answer decides: not now (4xx) is tried again later, never (5xx) fails, a connection cut after the message went out is unknown", async (t) => {
  const mailbox = await startMailbox(t);
  const proxy = await startTcpProxy(t, { host: '127.0.0.1', port: mailbox.port });
  const web = await startServer(t, { env: { ...mailEnv(mailbox, 200), SMTP_URL: `smtp://${proxy.host}` } });
  const { api, quire } = web;
  const db = quire.store.owner;
  const owner = await api.signup('Acme');
  const bob = await api.addUser(owner, 'admin');
  const doc = await api.createDocument(owner, 'Plan');
  const state = async () =>
    (
      await sql<{ status: string; attempts: number; error: string | null; later: boolean }>`
        select status, attempts, error, due_at > now() + interval '20 seconds' as later
        from notification_deliveries where user_id = ${bob.user.id} and channel = 'email' order by created_at, id`.execute(db)
    ).rows;

  // 451: the server did not take it; it waits for a retry (30 s, then doubling).
  let held = mailbox.holdNext();
  await comment(api, owner, doc.id, `Not now ${mention(bob, 'Bob')}`);
  await held.arrived;
  held.release({ code: 451, message: 'Try again later' });
  await eventually(
    async () => {
      const [d] = await state();
      assert.deepEqual([d!.status, d!.attempts, d!.later], ['pending', 1, true]);
      assert.match(d!.error ?? '', /451/);
    },
    { message: 'back to pending' },
  );

  // Its retry comes due; 550: the server will never take it.
  held = mailbox.holdNext();
  await windowPasses(db, bob.user.id);
  await held.arrived;
  held.release({ code: 550, message: 'No such user' });
  await eventually(async () => {
    const [d] = await state();
    assert.deepEqual([d!.status, d!.attempts], ['failed', 2]);
    assert.match(d!.error ?? '', /550/);
  });

  // The connection drops while the server has the message and the sender awaits its answer.
  held = mailbox.holdNext();
  await comment(api, owner, doc.id, `Cut off ${mention(bob, 'Bob')}`);
  await held.arrived;
  proxy.reset();
  await eventually(async () => {
    const [, d] = await state();
    assert.deepEqual([d!.status, d!.attempts], ['unknown', 1]);
    assert.match(d!.error ?? '', /after the message was sent/);
  });
  held.release();
  assert.equal(mailbox.to(bob.user.email).filter((m) => m.parsed.text?.includes('Cut off @Bob')).length, 1, 'it arrived once and is never sent again');
});

test('two senders on one database send each person their email once', async (t) => {
  const mailbox = await startMailbox(t);
  const web = await startServer(t, { env: mailEnv(mailbox, 200) });
  const { api, quire } = web;
  // A second sender beside the worker's, as another instance's worker would be.
  const { keys } = await testKeys();
  const other = new Mailer({
    db: quire.store.db,
    log: quire.log,
    smtpUrl: mailbox.url,
    from: 'Quire <notify@quire.test>',
    publicUrl: PUBLIC_URL,
    pollMs: 20,
    signUnsubscribe: (c) => signUnsubscribeToken(keys, web.config.jwt.issuer, c),
  });
  other.start();
  try {
    const owner = await api.signup('Acme');
    const people = await Promise.all(Array.from({ length: 6 }, () => api.addUser(owner, 'admin')));
    const doc = await api.createDocument(owner, 'Plan');
    for (const [i, p] of people.entries()) await comment(api, owner, doc.id, `Number ${i} ${mention(p, `P${i}`)}`);
    await eventually(
      async () => {
        for (const p of people)
          assert.deepEqual(
            (await deliveries(quire.store.owner, p.user.id)).map((d) => d.status),
            ['sent'],
            await progress(quire.store.owner, p.user.id),
          );
      },
      { timeoutMs: MAIL_WITHIN_MS, message: 'every delivery sent' },
    );
    for (const p of people) assert.equal(mailbox.to(p.user.email).length, 1, `one email to ${p.user.email}`);
    assert.equal(mailbox.messages.length, people.length);
  } finally {
    await other.stop();
  }
});

test('an unsubscribe token works only as signed: not expired, not altered, RS256 with this server’s key, not an access token', async () => {
  const { keys } = await testKeys();
  const claims = { userId: crypto.randomUUID(), tenantId: crypto.randomUUID(), kind: 'mention' as const };
  const token = await signUnsubscribeToken(keys, 'quire', claims);
  assert.deepEqual(await verifyUnsubscribeToken(keys, 'quire', token), claims);
  const refused = async (tok: string, why: string, issuer = 'quire', now = Date.now()) =>
    assert.rejects(verifyUnsubscribeToken(keys, issuer, tok, now), (e: { status?: number; code?: string }) => e.status === 400 && e.code === 'invalid_token', why);
  await refused(await signUnsubscribeToken(keys, 'quire', claims, Date.now() - 366 * 24 * 3600 * 1000), 'expired after a year');
  await refused(token, 'another issuer', 'elsewhere');
  const [h, p] = token.split('.');
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  await refused(`${b64({ alg: 'none', typ: 'unsubscribe+jwt' })}.${p}.`, 'alg none');
  const forged = b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: crypto.randomUUID() });
  await refused(`${h}.${forged}.${token.split('.')[2]}`, 'claims changed');
  const access = await new TokenService(keys, { issuer: 'quire', audience: 'quire', accessTtlSeconds: 60 }).signAccess({ userId: claims.userId, tenantId: claims.tenantId, role: 'member' });
  await refused(access, 'an access token');
});
