/**
 * The audit log, read by owners and admins: what security and sharing events wrote, newest
 * first, filtered and paged, exported as NDJSON (the export itself audited); members are
 * refused and one workspace never sees another's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import { startServer } from './helpers/server.js';

test('admins read the audit log: filters, paging, NDJSON export (audited); members get 403; workspaces are apart', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup('Audited');
  const member = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Secret plan');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken)).status, 200, 'shared');
  assert.equal((await api.post('/api/v1/auth/login', { email: 'nobody@example.test', password: 'wrong password here' })).status, 401, 'a failed login');
  const other = await api.signup('Elsewhere');
  await api.createDocument(other, 'Not yours');

  const all = await api.get('/api/v1/audit', owner.accessToken);
  assert.equal(all.status, 200, all.text);
  const actions = all.body.entries.map((e: { action: string }) => e.action);
  for (const a of ['auth.signup', 'user.create', 'auth.login', 'document.create', 'document.permission_set']) assert.ok(actions.includes(a), `${a} is in the log (${actions})`);
  const ids = all.body.entries.map((e: { id: string }) => Number(e.id));
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => b - a),
    'newest first',
  );
  const shared = all.body.entries.find((e: { action: string }) => e.action === 'document.permission_set');
  assert.equal(shared.actor.id, owner.user.id);
  assert.equal(shared.targetId, doc.id);
  assert.deepEqual(shared.detail, { userId: member.user.id, level: 'read' });
  // The other workspace's rows (its signup, its document) never show.
  assert.ok(!all.body.entries.some((e: { actor: { id: string } | null }) => e.actor?.id === other.user.id), 'no row of another workspace');

  // Filters: exact action, a prefix, target, actor, time.
  const byAction = await api.get('/api/v1/audit?action=document.create', owner.accessToken);
  assert.deepEqual(
    byAction.body.entries.map((e: { action: string }) => e.action),
    ['document.create'],
  );
  const byPrefix = await api.get('/api/v1/audit?action=document.', owner.accessToken);
  assert.deepEqual(byPrefix.body.entries.map((e: { action: string }) => e.action).sort(), ['document.create', 'document.permission_set']);
  assert.equal((await api.get(`/api/v1/audit?target=${doc.id}`, owner.accessToken)).body.entries.length, 2, 'both entries about the document');
  assert.ok(
    (await api.get(`/api/v1/audit?actor=${member.user.id}`, owner.accessToken)).body.entries.every((e: { actor: { id: string } }) => e.actor.id === member.user.id),
    'only the member’s own actions',
  );
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.equal((await api.get(`/api/v1/audit?from=${encodeURIComponent(future)}`, owner.accessToken)).body.entries.length, 0, 'nothing from the future');

  // Paging by cursor covers everything once.
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { entries: { id: string }[]; nextCursor: string | null } } = await api.get(`/api/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`, owner.accessToken);
    seen.push(...page.body.entries.map((e) => e.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  assert.deepEqual(
    seen,
    all.body.entries.map((e: { id: string }) => e.id),
    'the pages hold every entry once, in order',
  );

  // NDJSON export: one entry per line, and the export is recorded.
  const exported = await api.request('GET', '/api/v1/audit?format=ndjson&action=document.', { token: owner.accessToken });
  assert.equal(exported.status, 200);
  assert.match(exported.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  const lines = exported.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { action: string });
  assert.deepEqual(lines.map((l) => l.action).sort(), ['document.create', 'document.permission_set']);
  const exports = (await api.get('/api/v1/audit?action=audit.export', owner.accessToken)).body.entries;
  assert.equal(exports.length, 1, 'the export is in the log once');
  assert.deepEqual(exports[0].detail, { entries: 2, filters: { action: 'document.' } });

  // Members are refused; bad queries are clear 400s.
  assert.equal((await api.get('/api/v1/audit', member.accessToken)).status, 403);
  assert.equal((await api.get('/api/v1/audit?format=ndjson', member.accessToken)).status, 403);
  assert.equal((await api.get('/api/v1/audit?cursor=nope', owner.accessToken)).body.error.code, 'invalid_cursor');
  for (const bad of ['actor=not-a-uuid', 'from=yesterday', 'limit=0', 'limit=201', 'action=DROP%20TABLE', 'nope=1', `from=${future}&to=2020-01-01T00:00:00Z`]) {
    const r = await api.get(`/api/v1/audit?${bad}`, owner.accessToken);
    assert.equal(r.status, 400, `${bad} is refused: ${r.text}`);
  }
});

test('the SDK reads and exports the audit log', async (t) => {
  const { url } = await startServer(t);
  const owner = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
  unwrap(await owner.signup({ tenant: 'Org', email: `owner-${Math.random().toString(36).slice(2)}@example.test`, password: 'correct horse battery' }));
  unwrap(await owner.createDocument({ title: 'Logged' }));
  const page = unwrap(await owner.listAudit({ action: 'document.', limit: 10 }));
  assert.deepEqual(
    page.entries.map((e) => e.action),
    ['document.create'],
  );
  const text = unwrap(await owner.exportAudit({ action: 'auth.' }));
  assert.deepEqual(
    text
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { action: string }).action),
    ['auth.signup'],
  );
});
