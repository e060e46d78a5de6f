/**
 * Share links: link access (every member of the workspace who is not a guest gets the
 * document's link level with its address — on REST and the sync socket, never in lists or
 * search of its own, in their recently viewed list once opened; lowering it closes or
 * downgrades live sockets, on every instance), public read-only links (create, read without
 * any token, replace, revoke; no-store and noindex; tenant-scoped tokens) and the workspace's
 * switch for public links.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { DocumentMeta, PublicDocument, PublicLink, PublicLinkState, Workspace } from '../contract/api.js';
import { levelFor, levelSql, readableSql, roleConditions } from '../core/access.js';
import { withTenant, type Tx } from '../db/store.js';
import { TEST_REDIS_URL } from './helpers/env.js';
import type { ApiClient, Session } from './helpers/api.js';
import { acked, connect, paragraphText, readParagraph, synced, type Client } from './helpers/provider.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, targetOf } from './helpers/tcp-proxy.js';
import { eventually, quietFor } from './helpers/wait.js';

/** Waits until the client's socket was closed with exactly these (code, reason) pairs. */
function closedWith(c: Client, expected: [number, string][], timeoutMs = 10_000): Promise<void> {
  return eventually(
    () =>
      assert.deepEqual(
        c.closes.map((x) => [x.code, x.reason]),
        expected,
      ),
    { timeoutMs },
  );
}

/** Waits until the server told the client its level is now `level`. */
function toldLevel(c: Client, level: string, timeoutMs = 10_000): Promise<void> {
  return eventually(
    () =>
      assert.ok(
        c.notices.some((n) => n?.type === 'quire.access' && n.level === level),
        JSON.stringify(c.notices),
      ),
    { timeoutMs },
  );
}

const ids = (docs: { id: string }[]) => docs.map((d) => d.id);

async function newDocument(api: ApiClient, s: Session, title: string, text?: string): Promise<DocumentMeta> {
  const r = await api.post('/api/v1/documents', text === undefined ? { title } : { title, text }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as DocumentMeta;
}

async function setLink(api: ApiClient, s: Session, id: string, linkAccess: string): Promise<DocumentMeta> {
  const r = await api.patch(`/api/v1/documents/${id}`, { linkAccess }, s.accessToken);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.linkAccess, linkAccess);
  return r.body as DocumentMeta;
}

async function listed(api: ApiClient, s: Session, query = ''): Promise<DocumentMeta[]> {
  const r = await api.get(`/api/v1/documents${query}`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.documents as DocumentMeta[];
}

async function auditActions(server: TestServer): Promise<{ action: string; detail: unknown }[]> {
  const r = await sql<{ action: string; detail: unknown }>`select action, detail from audit_log order by id`.execute(server.quire.store.owner);
  return r.rows;
}

async function createLink(api: ApiClient, s: Session, id: string): Promise<PublicLink> {
  const r = await api.post(`/api/v1/documents/${id}/public-link`, undefined, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as PublicLink;
}

/** The public read, with no authorization header at all. */
function readPublic(api: ApiClient, token: string) {
  return api.request<PublicDocument>('GET', `/api/v1/public/${encodeURIComponent(token)}`);
}

async function assertPublicGone(api: ApiClient, token: string): Promise<void> {
  const r = await readPublic(api, token);
  assert.equal(r.status, 404, r.text);
  assert.equal((r.body as unknown as { error: { code: string } }).error.code, 'public_link_not_found');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  assert.equal(r.headers.get('x-robots-tag'), 'noindex');
}

test('link access: members without a grant read or write with the address, on REST and the socket; guests and other workspaces get nothing', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const reader = await api.addUser(owner, 'member');
  const editor = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');
  const doc = await newDocument(api, owner, 'Roadmap', 'Goals\nRisks');
  assert.equal(doc.linkAccess, 'none');
  assert.equal(doc.publicLink, false);
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: editor.user.id, level: 'write' }, owner.accessToken);

  // Without link access the member has nothing: 404 on REST, refused on the socket.
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 404);
  const early = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  await eventually(() => assert.deepEqual(early.authFailures, ['forbidden']));

  // Setting it needs admin on the document; only none, read, comment and write exist.
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: 'read' }, member.accessToken)).status, 404);
  const byEditor = await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: 'read' }, editor.accessToken);
  assert.equal(byEditor.status, 403, byEditor.text);
  for (const bad of ['admin', 'public', '', null, 1]) {
    const r = await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: bad }, owner.accessToken);
    assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
    assert.equal(r.body.error.code, 'validation_failed');
  }

  // Read with the link: REST metadata and content, the socket read-only; no writes.
  await setLink(api, owner, doc.id, 'read');
  const asMember = await api.get(`/api/v1/documents/${doc.id}`, member.accessToken);
  assert.equal(asMember.status, 200, asMember.text);
  assert.equal(asMember.body.access, 'read');
  assert.equal(asMember.body.linkAccess, 'read');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, member.accessToken)).text, 'Goals\nRisks');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'mine' }, member.accessToken)).status, 403);
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { title: 'Mine' }, member.accessToken)).status, 403);
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { linkAccess: 'write' }, member.accessToken)).status, 403);
  const ro = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  await synced(ro);
  assert.equal(ro.provider.authorizedScope, 'readonly');
  await eventually(() => assert.equal(readParagraph(ro.doc), 'Goals'));
  paragraphText(ro.doc).insert(0, 'HACKED ');
  // A stateless message after the update: its refusal says the server has handled the update too.
  ro.provider.sendStateless('after the update');
  await eventually(() =>
    assert.ok(
      ro.notices.some((n) => n?.type === 'quire.refused' && n.what === 'stateless'),
      JSON.stringify(ro.notices),
    ),
  );
  assert.equal(ro.provider.hasUnsyncedChanges, true, 'a read-only update is never acknowledged');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken)).text, 'Goals\nRisks');

  // Guests and other workspaces get nothing from it, on either path.
  for (const who of [guest, stranger]) {
    assert.equal((await api.get(`/api/v1/documents/${doc.id}`, who.accessToken)).status, 404);
    assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, who.accessToken)).status, 404);
    assert.equal((await api.post(`/api/v1/documents/${doc.id}/views`, undefined, who.accessToken)).status, 404);
    const refused = connect(t, url, doc.id, who.accessToken, { reconnect: false });
    await eventually(() => assert.deepEqual(refused.authFailures, ['forbidden']));
  }

  // Write with the link: the higher of the link and a grant counts; an admin stays admin.
  await setLink(api, owner, doc.id, 'write');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).body.access, 'write');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, reader.accessToken)).body.access, 'write');
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).body.access, 'admin');
  const rw = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  await synced(rw);
  assert.equal(rw.provider.authorizedScope, 'read-write');
  await eventually(() => assert.equal(readParagraph(rw.doc), 'Goals'));
  paragraphText(rw.doc).insert(0, 'Linked ');
  await acked(rw);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken)).text, 'Linked Goals\nRisks');
  assert.equal((await api.patch(`/api/v1/documents/${doc.id}`, { title: 'Roadmap 2' }, member.accessToken)).status, 200);
  // Sharing still needs admin, which a link never gives.
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: guest.user.id, level: 'read' }, member.accessToken)).status, 403);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, guest.accessToken)).status, 404);
});

test('levelSql is levelFor in SQL, and readableSql is levelFor without link access, for every role, kind, link level and grant', async (t) => {
  const { quire } = await startServer(t);
  const roles = ['owner', 'admin', 'member', 'guest'] as const;
  const cases = roles.flatMap((role) =>
    (['document', 'template'] as const).flatMap((kind) =>
      (['none', 'read', 'comment', 'write'] as const).flatMap((linkAccess) => ([null, 'read', 'comment', 'write', 'admin'] as const).map((grant) => ({ role, kind, linkAccess, grant }))),
    ),
  );
  const values = sql.join(cases.map((c, i) => sql`(${i}::int, ${c.role}::text, ${c.kind}::text, ${c.linkAccess}::text, ${c.grant}::text)`));
  const { rows } = await sql<{ i: number; level: string | null; readable: boolean }>`
    select c.i, ${levelSql({ document: 'c', grant: 'c', ...roleConditions('c') })} as level, ${readableSql({ document: 'c', grant: 'c', ...roleConditions('c') })} as readable
    from (values ${values}) as c(i, role, kind, link_access, level) order by c.i`.execute(quire.store.db);
  assert.equal(rows.length, cases.length);
  for (const [i, c] of cases.entries()) {
    const expected = levelFor(c.role, c, c.grant);
    assert.equal(rows[i]!.level, expected, `levelSql ${JSON.stringify(c)}`);
    assert.equal(rows[i]!.readable, levelFor(c.role, { ...c, linkAccess: 'none' }, c.grant) !== null, `readableSql ${JSON.stringify(c)}`);
  }
});

test('link access lists nothing by itself: not in lists, filters or search; in the recently viewed and starred lists once the member opened or starred it', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const sharedWith = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const folder = (await api.post('/api/v1/collections', { name: 'Plans' }, owner.accessToken)).body as { id: string };
  const doc = await newDocument(api, owner, 'Aardvark plan', 'The aardvark digs at night');
  await api.patch(`/api/v1/documents/${doc.id}`, { collectionId: folder.id }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: sharedWith.user.id, level: 'read' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: guest.user.id, level: 'read' }, owner.accessToken);
  await setLink(api, owner, doc.id, 'write');

  // Search: indexed (the owner and a member with a grant find it), the link alone finds nothing.
  const find = async (s: Session) => ids((await api.get('/api/v1/search?q=aardvark&mode=fulltext', s.accessToken)).body.hits.map((h: { documentId: string }) => ({ id: h.documentId })));
  await eventually(async () => assert.deepEqual(await find(owner), [doc.id]), { timeoutMs: 30_000 });
  await eventually(async () => assert.deepEqual(await find(sharedWith), [doc.id]), { timeoutMs: 30_000 });
  assert.deepEqual(await find(member), []);

  // Lists: in none of the member's lists, orders or filters.
  for (const q of ['', '?sort=recent', '?sort=title', `?collectionId=${folder.id}`, '?q=aardvark', '?starred=true', '?recent=true']) {
    assert.deepEqual(ids(await listed(api, member, q)), [], q);
  }
  // The member with a grant lists it, at the level the link gives (the higher one).
  assert.deepEqual(
    (await listed(api, sharedWith)).map((d) => [d.id, d.access, d.linkAccess]),
    [[doc.id, 'write', 'write']],
  );
  // A guest with a grant lists it at their grant's level: the link gives guests nothing.
  assert.deepEqual(
    (await listed(api, guest)).map((d) => [d.id, d.access]),
    [[doc.id, 'read']],
  );

  // Opened: the member records the view and finds it in their recently viewed list, and
  // still in no other list; starred, in their starred list.
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/views`, undefined, member.accessToken)).status, 204);
  assert.deepEqual(
    (await listed(api, member, '?recent=true')).map((d) => [d.id, d.access, d.lastViewedAt !== null]),
    [[doc.id, 'write', true]],
  );
  assert.deepEqual(ids(await listed(api, member, '?recent=true&q=aardvark')), [doc.id]);
  assert.deepEqual(ids(await listed(api, member)), []);
  assert.deepEqual(ids(await listed(api, member, '?starred=true')), []);
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/star`, undefined, member.accessToken)).status, 204);
  assert.deepEqual(ids(await listed(api, member, '?starred=true')), [doc.id]);
  assert.deepEqual(ids(await listed(api, member, '?starred=true&sort=title')), [doc.id]);
  assert.deepEqual(await find(member), [], 'opening it does not make it searchable');

  // Link access gone: gone from the recently viewed and starred lists too.
  await setLink(api, owner, doc.id, 'none');
  assert.deepEqual(ids(await listed(api, member, '?recent=true')), []);
  assert.deepEqual(ids(await listed(api, member, '?starred=true')), []);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 404);

  // Every change was audited, with what it was before.
  const changes = (await auditActions(server)).filter((a) => a.action === 'document.link_access').map((a) => a.detail);
  assert.deepEqual(changes, [
    { from: 'none', to: 'write' },
    { from: 'write', to: 'none' },
  ]);
});

test('lowering link access downgrades, then closes, the live sockets of members who had only the link; raising it lets them write again', async (t) => {
  const { api, url } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const granted = await api.addUser(owner, 'member');
  const demoted = await api.addUser(owner, 'member');
  const doc = await newDocument(api, owner, 'Live', 'start');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: granted.user.id, level: 'write' }, owner.accessToken);
  await setLink(api, owner, doc.id, 'write');
  const m = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  const g = connect(t, url, doc.id, granted.accessToken, { reconnect: false });
  const d = connect(t, url, doc.id, demoted.accessToken, { reconnect: false });
  await Promise.all([synced(m), synced(g), synced(d)]);
  assert.equal(m.provider.authorizedScope, 'read-write');

  await setLink(api, owner, doc.id, 'read');
  await toldLevel(m, 'read');
  assert.equal(
    g.notices.some((n) => n?.type === 'quire.access'),
    false,
    'a member with a write grant keeps writing',
  );
  paragraphText(m.doc).insert(0, 'refused ');
  m.provider.sendStateless('after the update');
  await eventually(() =>
    assert.ok(
      m.notices.some((n) => n?.type === 'quire.refused' && n.what === 'stateless'),
      JSON.stringify(m.notices),
    ),
  );
  assert.equal(m.provider.hasUnsyncedChanges, true, 'a read-only update is never acknowledged');
  paragraphText(g.doc).insert(0, 'granted ');
  await acked(g);
  assert.doesNotMatch((await api.get(`/api/v1/documents/${doc.id}/content?format=text`, owner.accessToken)).text, /refused/);

  // Raised again: told at once, and writes are acknowledged again.
  await setLink(api, owner, doc.id, 'write');
  await toldLevel(m, 'write');
  const again = connect(t, url, doc.id, member.accessToken, { reconnect: false });
  await synced(again);
  paragraphText(again.doc).insert(0, 'back ');
  await acked(again);

  // A member demoted to guest loses what the link gave them.
  await api.patch(`/api/v1/users/${demoted.user.id}`, { role: 'guest' }, owner.accessToken);
  await closedWith(d, [[4403, 'access_revoked']]);

  // Removed: the member's sockets close, the member with a grant keeps theirs.
  await setLink(api, owner, doc.id, 'none');
  await closedWith(m, [[4403, 'access_revoked']]);
  await closedWith(again, [[4403, 'access_revoked']]);
  await quietFor(300, 'the socket of a member with a grant must stay open after link access is removed', { check: () => assert.deepEqual(g.closes, []) });
  assert.equal(g.provider.authorizedScope, 'read-write');
});

test('with two instances, lowering link access on one downgrades and closes the socket on the other (the relayed access event)', async (t) => {
  // The access-version poll is put out of reach: only the event relayed through Redis can reach it in time.
  const env = { ACCESS_RECHECK_SECONDS: '300' };
  const one = await startServer(t, { redis: true, env });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { ...env, REDIS_PREFIX: one.config.redis.prefix } });
  const owner = await one.api.signup();
  const member = await one.api.addUser(owner, 'member');
  const doc = await newDocument(one.api, owner, 'Across');
  await setLink(one.api, owner, doc.id, 'write');
  const m = connect(t, two.url, doc.id, member.accessToken, { reconnect: false });
  await synced(m);
  assert.equal(m.provider.authorizedScope, 'read-write');
  await setLink(one.api, owner, doc.id, 'read');
  await toldLevel(m, 'read');
  const at = Date.now();
  await setLink(one.api, owner, doc.id, 'none');
  await closedWith(m, [[4403, 'access_revoked']]);
  t.diagnostic(`closed on the other instance ${Date.now() - at} ms after link access was removed`);
});

test('removing link access reaches a socket on an instance whose Redis link is down, within the access re-check', async (t) => {
  const redisProxy = await startTcpProxy(t, targetOf(TEST_REDIS_URL));
  const env = { ACCESS_RECHECK_SECONDS: '1' };
  const one = await startServer(t, { redis: true, env });
  const two = await startServer(t, { redis: true, schema: one.schema, env: { ...env, REDIS_PREFIX: one.config.redis.prefix, REDIS_URL: redisProxy.url(TEST_REDIS_URL) } });
  t.after(() => redisProxy.resume());
  const owner = await one.api.signup();
  const member = await one.api.addUser(owner, 'member');
  const doc = await newDocument(one.api, owner, 'Across');
  await setLink(one.api, owner, doc.id, 'read');
  const m = connect(t, two.url, doc.id, member.accessToken, { reconnect: false });
  await synced(m);
  redisProxy.blackhole();
  const at = Date.now();
  await setLink(one.api, owner, doc.id, 'none');
  await closedWith(m, [[4403, 'access_revoked']], 20_000);
  t.diagnostic(`closed on the instance without Redis ${Date.now() - at} ms after the change (re-check every 1 s)`);
});

test('public links: created by a document admin, read by anyone without a token, replaced, revoked; no-store and noindex; only the hash is stored', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme Press');
  const editor = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');
  const doc = await newDocument(api, owner, 'Press release', 'Embargoed until Monday\nSecond line');
  await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: editor.user.id, level: 'write' }, owner.accessToken);

  // Before: no link; the state says so to readers, nothing to others.
  const none = await api.get(`/api/v1/documents/${doc.id}/public-link`, editor.accessToken);
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.body, { active: false, createdAt: null, url: null } satisfies PublicLinkState);
  for (const who of [guest, stranger]) assert.equal((await api.get(`/api/v1/documents/${doc.id}/public-link`, who.accessToken)).status, 404);
  // Creating and revoking need admin on the document.
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/public-link`, undefined, editor.accessToken)).status, 403);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}/public-link`, editor.accessToken)).status, 403);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/public-link`, undefined, stranger.accessToken)).status, 404);
  assert.equal((await api.post(`/api/v1/documents/${crypto.randomUUID()}/public-link`, undefined, owner.accessToken)).status, 404);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/public-link`, undefined)).status, 401);

  const link = await createLink(api, owner, doc.id);
  assert.match(link.token, new RegExp(`^qpl_${owner.user.tenantId}_[A-Za-z0-9_-]{43}$`));
  assert.equal(link.url, `/p/${link.token}`);
  assert.ok(Math.abs(Date.parse(link.createdAt) - Date.now()) < 60_000, 'Math.abs(Date.parse(link.createdAt) - Date.now()) < 60_000');
  const state = (await api.get(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken)).body as PublicLinkState;
  assert.deepEqual(state, { active: true, createdAt: link.createdAt, url: null });
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, editor.accessToken)).body.publicLink, true);
  assert.deepEqual(
    (await listed(api, owner)).map((d) => [d.id, d.publicLink]),
    [[doc.id, true]],
  );

  // Only the SHA-256 of the token is stored.
  const stored = await sql<{ token_hash: string }>`select token_hash from document_public_links`.execute(server.quire.store.owner);
  assert.deepEqual(
    stored.rows.map((r) => r.token_hash),
    [crypto.createHash('sha256').update(link.token).digest('hex')],
  );

  // Anyone reads it: no token, or a token that is not valid, changes nothing.
  const json = (await api.get(`/api/v1/documents/${doc.id}/content?format=json`, owner.accessToken)).body;
  for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
    const r = await api.request<PublicDocument>('GET', `/api/v1/public/${link.token}`, { headers });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body).sort(), ['json', 'text', 'title', 'updatedAt', 'workspace']);
    assert.equal(r.body.title, 'Press release');
    assert.equal(r.body.text, 'Embargoed until Monday\nSecond line');
    assert.deepEqual(r.body.json, json);
    assert.equal(r.body.workspace, 'Acme Press');
    assert.ok(!Number.isNaN(Date.parse(r.body.updatedAt)), '!Number.isNaN(Date.parse(r.body.updatedAt))');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.equal(r.headers.get('x-robots-tag'), 'noindex');
    // It names no id: not the document's, the workspace's or a person's.
    for (const id of [doc.id, owner.user.tenantId, owner.user.id]) assert.ok(!r.text.includes(id), `the answer names ${id}`);
  }

  // It follows edits (nothing is cached).
  await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Out now', mode: 'replace' }, editor.accessToken);
  assert.equal((await readPublic(api, link.token)).body.text, 'Out now');

  // Replaced: the old token stops working at once, the new one works.
  const next = await createLink(api, owner, doc.id);
  assert.notEqual(next.token, link.token);
  await assertPublicGone(api, link.token);
  assert.equal((await readPublic(api, next.token)).status, 200);

  // Deleted: 404; restored: the kept link works again.
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken)).status, 204);
  await assertPublicGone(api, next.token);
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/restore`, undefined, owner.accessToken)).status, 200);
  assert.equal((await readPublic(api, next.token)).status, 200);

  // Revoked: 404, the state says so, revoking again is fine.
  assert.equal((await api.del(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken)).status, 204);
  await assertPublicGone(api, next.token);
  assert.deepEqual((await api.get(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken)).body, { active: false, createdAt: null, url: null });
  assert.equal((await api.get(`/api/v1/documents/${doc.id}`, owner.accessToken)).body.publicLink, false);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken)).status, 204);

  const actions = (await auditActions(server)).filter((a) => a.action.startsWith('document.public_link'));
  assert.deepEqual(
    actions.map((a) => [a.action, a.detail]),
    [
      ['document.public_link_create', { replaced: false }],
      ['document.public_link_create', { replaced: true }],
      ['document.public_link_revoke', null],
    ],
  );
});

test('public tokens: malformed ones, another workspace named in one and a forged secret all answer the same 404', async (t) => {
  const { api } = await startServer(t);
  const a = await api.signup('A');
  const b = await api.signup('B');
  const docA = await newDocument(api, a, 'A doc', 'alpha');
  const docB = await newDocument(api, b, 'B doc', 'beta');
  const linkA = await createLink(api, a, docA.id);
  const linkB = await createLink(api, b, docB.id);
  const secretOf = (token: string) => token.slice(-43);
  const forged = [
    'nothing',
    'qpl_',
    linkA.token.toUpperCase(),
    `${linkA.token}x`,
    linkA.token.slice(0, -1),
    linkA.token.replace('_', '.'),
    // A's secret presented as B's, and B's as A's: each is looked up in the tenant it names.
    `qpl_${b.user.tenantId}_${secretOf(linkA.token)}`,
    `qpl_${a.user.tenantId}_${secretOf(linkB.token)}`,
    `qpl_${crypto.randomUUID()}_${secretOf(linkA.token)}`,
    `qpl_${a.user.tenantId}_${crypto.randomBytes(32).toString('base64url')}`,
    `qrt_${a.user.tenantId}.${secretOf(linkA.token)}`,
    'x'.repeat(4000),
  ];
  for (const token of forged) await assertPublicGone(api, token);
  assert.equal((await readPublic(api, linkA.token)).body.text, 'alpha');
  assert.equal((await readPublic(api, linkB.token)).body.text, 'beta');
});

test('the workspace: everyone reads it, owners and admins change it; public links off answer 404 at once and cannot be created, and work again when back on', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup('Acme');
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');
  const stranger = await api.signup('Other Co');
  for (const who of [owner, member, guest]) {
    const r = await api.get('/api/v1/workspace', who.accessToken);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { id: owner.user.tenantId, name: 'Acme', publicLinksEnabled: true } satisfies Workspace);
  }
  assert.equal((await api.get('/api/v1/workspace')).status, 401);
  assert.equal((await api.get('/api/v1/workspace', stranger.accessToken)).body.name, 'Other Co');

  // Changes: owners and admins only; names trimmed, 1–120 characters; at least one field.
  for (const who of [member, guest]) {
    const r = await api.patch('/api/v1/workspace', { publicLinksEnabled: false }, who.accessToken);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'forbidden');
  }
  for (const body of [{}, { name: '   ' }, { name: 'x'.repeat(121) }, { publicLinksEnabled: 'no' }, { name: 'Acme', plan: 'pro' }]) {
    const r = await api.patch('/api/v1/workspace', body, owner.accessToken);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.error.code, 'validation_failed');
  }
  const renamed = await api.patch('/api/v1/workspace', { name: '  Acme Inc  ' }, admin.accessToken);
  assert.equal(renamed.status, 200, renamed.text);
  assert.deepEqual(renamed.body, { id: owner.user.tenantId, name: 'Acme Inc', publicLinksEnabled: true });
  assert.equal((await api.get('/api/v1/me', member.accessToken)).body.tenantName, 'Acme Inc');

  const doc = await newDocument(api, owner, 'Public page', 'hello world');
  const other = await newDocument(api, owner, 'Another page', 'second');
  const link = await createLink(api, owner, doc.id);
  const otherLink = await createLink(api, owner, other.id);
  assert.equal((await readPublic(api, link.token)).body.workspace, 'Acme Inc');

  // Off: every link of the workspace answers 404 at once; none can be created; they are kept.
  const off = await api.patch('/api/v1/workspace', { publicLinksEnabled: false }, owner.accessToken);
  assert.equal(off.body.publicLinksEnabled, false);
  await assertPublicGone(api, link.token);
  await assertPublicGone(api, otherLink.token);
  const refused = await api.post(`/api/v1/documents/${doc.id}/public-link`, undefined, owner.accessToken);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.error.code, 'public_links_disabled');
  assert.deepEqual((await api.get(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken)).body.active, true);
  assert.equal((await api.get('/api/v1/workspace', member.accessToken)).body.publicLinksEnabled, false);
  // Another workspace's links are not affected.
  const strangerDoc = await newDocument(api, stranger, 'Theirs', 'their text');
  const strangerLink = await createLink(api, stranger, strangerDoc.id);
  assert.equal((await readPublic(api, strangerLink.token)).status, 200);
  // Revoking still works while off.
  assert.equal((await api.del(`/api/v1/documents/${other.id}/public-link`, owner.accessToken)).status, 204);

  // Back on: the kept link works again; the revoked one does not.
  assert.equal((await api.patch('/api/v1/workspace', { publicLinksEnabled: true }, admin.accessToken)).body.publicLinksEnabled, true);
  assert.equal((await readPublic(api, link.token)).body.text, 'hello world');
  await assertPublicGone(api, otherLink.token);
  // Unchanged values change nothing and are not audited.
  assert.equal((await api.patch('/api/v1/workspace', { publicLinksEnabled: true, name: 'Acme Inc' }, owner.accessToken)).status, 200);

  const actions = (await auditActions(server)).filter((a) => a.action.startsWith('workspace.'));
  assert.deepEqual(
    actions.map((a) => [a.action, a.detail]),
    [
      ['workspace.rename', { from: 'Acme', to: 'Acme Inc' }],
      ['workspace.public_links', { enabled: false }],
      ['workspace.public_links', { enabled: true }],
    ],
  );
});

test('the public read is rate-limited per address, and its 429 is no-store too', async (t) => {
  const { api } = await startServer(t, { env: { RATE_LIMIT_PUBLIC_PER_MINUTE: '1', RATE_LIMIT_PUBLIC_BURST: '3' } });
  const owner = await api.signup();
  const doc = await newDocument(api, owner, 'Busy page', 'x');
  const link = await createLink(api, owner, doc.id);
  const statuses: number[] = [];
  let limited: Awaited<ReturnType<typeof readPublic>> | undefined;
  for (let i = 0; i < 5; i++) {
    const r = await readPublic(api, i % 2 ? link.token : 'nothing');
    statuses.push(r.status);
    if (r.status === 429) limited = r;
  }
  assert.deepEqual(statuses.slice(0, 3), [404, 200, 404]);
  assert.ok(limited, JSON.stringify(statuses));
  assert.ok(Number(limited.headers.get('retry-after')) > 0, "Number(limited.headers.get('retry-after')) > 0");
  assert.equal(limited.headers.get('cache-control'), 'no-store');
  // Signed-in routes and sign-in itself are not spent by it.
  assert.equal((await api.get('/api/v1/documents', owner.accessToken)).status, 200);
  assert.equal((await api.post('/api/v1/auth/login', { email: owner.user.email, password: 'correct horse battery' })).status, 200);
});

test('a public link path is never written to the log: lines show the route pattern', async (t) => {
  const { Writable } = await import('node:stream');
  const { HttpEdge } = await import('../lib/http/edge.js');
  const { createLogger } = await import('../lib/log.js');
  const { Metrics } = await import('../lib/metrics.js');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const edge = new HttpEdge({ log: createLogger('debug', sink), metrics: new Metrics({ defaultMetrics: false }), corsOrigins: [], trustProxy: { kind: 'none' }, maxBodyBytes: 1024 });
  edge.route(
    'get',
    '/api/v1/public/:token',
    () => {
      throw new Error('kaput');
    },
    { secretPath: true },
  );
  edge.route('get', '/api/v1/open/:token', () => ({ status: 200, json: {} }));
  const port = await edge.listen('127.0.0.1', 0);
  t.after(() => edge.close(1000));
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/public/qpl_secret-value`)).status, 500);
  assert.equal((await fetch(`http://127.0.0.1:${port}/api/v1/open/visible-value`)).status, 200);
  await eventually(() => assert.ok(lines.some((l) => l.includes('visible-value')) && lines.filter((l) => l.includes('/api/v1/public/:token')).length >= 2, lines.join('\n')));
  assert.ok(!lines.some((l) => l.includes('secret-value')), lines.join('\n'));
});

for (const dialect of DIALECTS) {
  test(`the main flows on ${dialect}: link access on REST and the socket, a public link read without a token, public links off and on`, async (t) => {
    const { api, url } = await startServer(t, { dialect });
    const owner = await api.signup('Acme');
    const member = await api.addUser(owner, 'member');
    const doc = await newDocument(api, owner, 'Notes', 'first line');
    await setLink(api, owner, doc.id, 'read');
    assert.equal((await api.get(`/api/v1/documents/${doc.id}`, member.accessToken)).body.access, 'read');
    const ro = connect(t, url, doc.id, member.accessToken, { reconnect: false });
    await synced(ro);
    assert.equal(ro.provider.authorizedScope, 'readonly');
    await api.post(`/api/v1/documents/${doc.id}/views`, undefined, member.accessToken);
    assert.deepEqual(ids(await listed(api, member, '?recent=true')), [doc.id]);
    assert.deepEqual(ids(await listed(api, member)), []);
    await setLink(api, owner, doc.id, 'none');
    await closedWith(ro, [[4403, 'access_revoked']]);

    const link = await createLink(api, owner, doc.id);
    const r = await readPublic(api, link.token);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.text, 'first line');
    assert.equal(r.body.workspace, 'Acme');
    await api.patch('/api/v1/workspace', { publicLinksEnabled: false }, owner.accessToken);
    await assertPublicGone(api, link.token);
    await api.patch('/api/v1/workspace', { publicLinksEnabled: true }, owner.accessToken);
    assert.equal((await readPublic(api, link.token)).status, 200);
    await api.del(`/api/v1/documents/${doc.id}/public-link`, owner.accessToken);
    await assertPublicGone(api, link.token);
  });

  test(`the access version moves when link access is lowered or removed, not when it is raised (${dialect})`, async (t) => {
    const { quire, api } = await startServer(t, { dialect });
    const owner = await api.signup();
    const doc = await newDocument(api, owner, 'versions');
    const version = async () => {
      const r = await sql<{ version: string }>`select version::text as version from quire_access_versions(${[owner.user.tenantId]}::uuid[])`.execute(quire.store.db);
      return Number(r.rows[0]?.version ?? 0);
    };
    let last = await version();
    for (const [to, moves] of [
      ['read', false],
      ['write', false],
      ['read', true],
      ['write', false],
      ['none', true],
    ] as const) {
      await setLink(api, owner, doc.id, to);
      const v = await version();
      assert.equal(v > last, moves, `to ${to}: ${last} → ${v}`);
      last = v;
    }
  });

  test(`public links are isolated per tenant in the database (${dialect})`, async (t) => {
    const { api, quire } = await startServer(t, { dialect });
    const db = quire.store.db;
    const a = await api.signup('A');
    const b = await api.signup('B');
    const docA = await newDocument(api, a, 'A1');
    const docB = await newDocument(api, b, 'B1');
    await createLink(api, a, docA.id);
    await createLink(api, b, docB.id);
    // No tenant set: nothing; a tenant: its own row only.
    const none = await sql<{ n: string }>`select count(*) as n from document_public_links`.execute(db);
    assert.equal(Number(none.rows[0]?.n), 0);
    const seen = await withTenant(db, a.user.tenantId, (tx) => tx.selectFrom('document_public_links').select('document_id').execute());
    assert.deepEqual(
      seen.map((r) => r.document_id),
      [docA.id],
    );
    // Under A, a row naming B's document is refused by the composite key; a row for B by the policy.
    const attempts: [(tx: Tx) => Promise<unknown>, RegExp][] = [
      [(tx) => tx.insertInto('document_public_links').values({ tenant_id: a.user.tenantId, document_id: docB.id, token_hash: 'x', created_by: null }).execute(), /foreign key/],
      [(tx) => tx.insertInto('document_public_links').values({ tenant_id: b.user.tenantId, document_id: docB.id, token_hash: 'y', created_by: null }).execute(), /row-level security/],
    ];
    for (const [attempt, error] of attempts) await assert.rejects(withTenant(db, a.user.tenantId, attempt), error);
    // Nor can A turn B's public links off: B's workspace row is not there for A.
    const switched = await withTenant(db, a.user.tenantId, (tx) => tx.updateTable('tenants').set({ public_links_enabled: false }).where('id', '=', b.user.tenantId).executeTakeFirst());
    assert.equal(switched.numUpdatedRows, 0n);
    assert.equal((await api.get('/api/v1/workspace', b.accessToken)).body.publicLinksEnabled, true);
  });
}
