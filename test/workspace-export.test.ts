/**
 * A workspace's export archive, its complete deletion, and operator-created workspaces —
 * through the REST API and `quire workspace …` (runCli), on Postgres with a schema per test:
 * the archive holds everything listed in docs/OPERATIONS.md and nothing of another
 * workspace; deletion leaves no row of the tenant in any table with a `tenant_id` column (so
 * a table added later is checked too), no file and no search index entry, and the other
 * workspace exactly as it was.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { sql } from 'kysely';
import { runCli } from '../server/cli/main.js';
import { extractArchive } from '../server/backup/archive.js';
import { tenantTables } from '../server/commands/workspace-delete.js';
import { TEST_DATABASE_URL, TEST_MEILI_URL } from './helpers/env.js';
import { startServer, type TestServer } from './helpers/server.js';
import { seedWorkspace, withoutBackgroundFields, workspaceState, type Seeded } from './helpers/workspace-seed.js';
import { eventually } from './helpers/wait.js';

function cliIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, text: () => [...out, ...err].join('\n') };
}

/** The environment of an operator's `quire` run against this test server's installation. */
function cliEnv(server: TestServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: server.schema,
    DATA_DIR: server.config.dataDir,
    LOG_LEVEL: 'silent',
    PASSWORD_SCRYPT_COST: '10',
    ...(server.config.search.meiliUrl ? { MEILI_URL: server.config.search.meiliUrl, MEILI_INDEX: server.config.search.meiliIndex } : {}),
    ...extra,
  };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-export-test-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every text file of an unpacked archive, by path. */
async function texts(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string) => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (/\.(json|md)$/.test(e.name)) out.set(r, await fs.readFile(path.join(dir, r), 'utf8'));
    }
  };
  await walk('');
  return out;
}

async function checkArchive(file: string, dir: string, a: Seeded, b: Seeded, tenantId: string): Promise<void> {
  const files = await extractArchive(file, dir);
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as {
    format: string;
    version: number;
    workspace: { id: string };
    counts: Record<string, number>;
    files: { path: string; bytes: number; sha256: string }[];
  };
  assert.equal(manifest.format, 'quire-workspace-export');
  assert.equal(manifest.version, 1);
  assert.equal(manifest.workspace.id, tenantId);
  assert.deepEqual(
    manifest.files,
    files.filter((f) => f.path !== 'manifest.json'),
    'the manifest lists every entry with its checksum',
  );
  assert.deepEqual(manifest.counts, { documents: 2, versions: manifest.counts.versions, comments: 4, attachments: 1, users: 2 });
  assert.ok(manifest.counts.versions! >= 2, 'the named versions are in the history');
  const all = await texts(dir);
  const users = JSON.parse(all.get('users.json')!) as Record<string, unknown>[];
  assert.deepEqual(users.map((u) => u.email).sort(), [a.ownerEmail, a.member.user.email].sort(), 'the people of the workspace');
  for (const [p, text] of all) {
    for (const secret of ['password_hash', 'scrypt', 'mfa_secret', 'token_hash', 'key_hash', 'client_secret']) assert.ok(!text.includes(secret), `${p} holds no ${secret}`);
    for (const foreign of [b.ownerEmail, ...b.documentIds, b.attachmentId]) assert.ok(!text.includes(foreign), `${p} holds nothing of the other workspace (${foreign})`);
  }
  for (const id of a.documentIds) {
    const doc = JSON.parse(all.get(`documents/${id}/document.json`)!) as { title: string; permissions: { user_id: string; level: string }[] };
    assert.match(doc.title, /Export Co (plan|notes)/);
    assert.deepEqual(
      doc.permissions.filter((p) => p.user_id === a.member.user.id).map((p) => p.level),
      ['comment'],
      "the member's permission",
    );
    assert.match(all.get(`documents/${id}/content.md`)!, /second draft, with more words/, 'content as Markdown');
    assert.match(all.get(`documents/${id}/content.json`)!, /second draft, with more words/, 'content as ProseMirror JSON');
    const yjs = await fs.readFile(path.join(dir, 'documents', id, 'content.yjs'));
    const Y = await import('yjs');
    const ydoc = new Y.Doc();
    Y.applyUpdate(ydoc, yjs);
    assert.ok(ydoc.share.size > 0, 'content as a Yjs update that applies');
    const history = JSON.parse(all.get(`documents/${id}/versions.json`)!) as { seq: number; name: string | null }[];
    const named = history.find((v) => v.name === 'first draft');
    assert.ok(named, 'the named version is in the history');
    assert.match(all.get(`documents/${id}/versions/${named.seq}.json`)!, /first draft/, "the version's own content");
    assert.ok((await fs.stat(path.join(dir, 'documents', id, 'versions', `${named.seq}.yjs`))).size > 0, "the version's Yjs state");
    const comments = JSON.parse(all.get(`documents/${id}/comments.json`)!) as { comments: { id: string; body: string; parent_id: string | null }[] };
    const root = comments.comments.find((c) => c.parent_id === null);
    assert.match(root?.body ?? '', /A remark on/, 'the thread');
    assert.deepEqual(
      comments.comments.filter((c) => c.parent_id === root?.id).map((c) => c.body),
      ['A reply'],
      'its reply',
    );
  }
  const attachments = JSON.parse(all.get('attachments.json')!) as { id: string; name: string; path: string; sha256: string }[];
  assert.equal(attachments[0]?.id, a.attachmentId);
  assert.equal(attachments[0]?.name, 'report.txt');
  assert.ok((await fs.readFile(path.join(dir, 'attachments', a.attachmentId))).equals(a.fileBytes), "the file's bytes");
  assert.equal(attachments[0]?.sha256, crypto.createHash('sha256').update(a.fileBytes).digest('hex'));
}

test('workspace export: REST for admins (403 for others) and the CLI; everything of the workspace, nothing of another', async (t) => {
  const server = await startServer(t);
  const { api, url } = server;
  const a = await seedWorkspace(api, url, 'Export Co');
  const b = await seedWorkspace(api, url, 'Other Co');
  const dir = await tempDir(t);

  // A member who is not an admin may not export.
  const refused = await api.post('/api/v1/workspace/export', undefined, a.member.accessToken);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.error.code, 'forbidden');

  const res = await fetch(`${url}/api/v1/workspace/export`, { method: 'POST', headers: { authorization: `Bearer ${a.owner.accessToken}` } });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="Export-Co-export\.tar\.gz"$/);
  const tenantId = (await api.get<{ id: string }>('/api/v1/workspace', a.owner.accessToken)).body.id;
  const file = path.join(dir, 'rest.tar.gz');
  await fs.writeFile(file, Buffer.from(await res.arrayBuffer()));
  await fs.mkdir(path.join(dir, 'rest'));
  await checkArchive(file, path.join(dir, 'rest'), a, b, tenantId);
  const auditLog = await api.get<{ entries: { action: string }[] }>('/api/v1/audit', a.owner.accessToken);
  assert.ok(JSON.stringify(auditLog.body).includes('workspace.export'), `the export is audited: ${auditLog.text.slice(0, 300)}`);

  // The operator's export of the same workspace, named by its id.
  const cliFile = path.join(dir, 'cli.tar.gz');
  const io = cliIo();
  assert.equal(await runCli(['workspace', 'export', tenantId, `--out=${cliFile}`], io.io, cliEnv(server)), 0, io.text());
  assert.match(io.text(), /2 documents, \d+ versions, 4 comments, 1 files, 2 people/, io.text());
  await fs.mkdir(path.join(dir, 'cli'));
  await checkArchive(cliFile, path.join(dir, 'cli'), a, b, tenantId);
});

async function tenantIdOf(server: TestServer, s: Seeded): Promise<string> {
  return (await server.api.get<{ id: string }>('/api/v1/workspace', s.owner.accessToken)).body.id;
}

/** Rows of the tenant left in each table that has a `tenant_id` column (only tables with rows are named). */
async function rowsLeft(server: TestServer, tenantId: string): Promise<Record<string, number>> {
  const { owner, schema } = server.quire.store;
  const left: Record<string, number> = {};
  const tables = await tenantTables(owner, schema);
  assert.ok(tables.includes('documents') && tables.includes('audit_log') && tables.length > 30, `the tenant tables were found: ${tables.join(', ')}`);
  for (const table of tables) {
    const r = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(`"${schema}"."${table}"`)} where tenant_id = ${tenantId}::uuid`.execute(owner);
    if (r.rows[0]!.n > 0) left[table] = r.rows[0]!.n;
  }
  const t = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(`"${schema}".tenants`)} where id = ${tenantId}::uuid`.execute(owner);
  if (t.rows[0]!.n > 0) left.tenants = t.rows[0]!.n;
  return left;
}

async function meiliDocs(server: TestServer): Promise<string> {
  const r = await fetch(`${TEST_MEILI_URL}/indexes/${server.config.search.meiliIndex}/documents?limit=1000`);
  return r.status === 404 ? '' : JSON.stringify(await r.json());
}

test('workspace delete (CLI): no row of the tenant in any table, no file, no index entry; the other workspace untouched', async (t) => {
  const server = await startServer(t, { meili: true });
  const { api, url } = server;
  const a = await seedWorkspace(api, url, 'Doomed Co');
  const b = await seedWorkspace(api, url, 'Kept Co');
  const aId = await tenantIdOf(server, a);
  // Indexed first, so there is something to remove from the search engine.
  await eventually(
    async () => {
      const docs = await meiliDocs(server);
      for (const id of [...a.documentIds, ...b.documentIds]) assert.ok(docs.includes(id), `${id} is indexed`);
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  const bBefore = withoutBackgroundFields(await workspaceState(api, url, b.owner, b));
  assert.ok(Object.keys(await rowsLeft(server, aId)).length > 10, 'the workspace has rows in many tables');

  const wrong = cliIo();
  assert.equal(await runCli(['workspace', 'delete', aId, '--confirm=Doomed Co'], wrong.io, cliEnv(server)), 1, wrong.text());
  assert.match(wrong.text(), /--confirm must be the workspace's id .*nothing was deleted/, wrong.text());
  assert.ok((await api.get('/api/v1/me', a.owner.accessToken)).status === 200, 'nothing was deleted');

  const io = cliIo();
  assert.equal(await runCli(['workspace', 'delete', 'Doomed Co', `--confirm=${aId}`], io.io, cliEnv(server)), 0, io.text());
  assert.match(io.text(), /deleted: \d+ rows in \d+ tables, 1 files, 2 documents removed from the search indexes/, io.text());

  assert.deepEqual(await rowsLeft(server, aId), {}, 'no row of the workspace is left in any tenant table');
  const blobs: string[] = [];
  for await (const blob of server.quire.svc.blobs.list(`t/${aId}/`)) blobs.push(blob.key);
  assert.deepEqual(blobs, [], 'no file of the workspace is left');
  const docs = await meiliDocs(server);
  for (const id of a.documentIds) assert.ok(!docs.includes(id), `${id} is gone from the search engine`);
  for (const id of b.documentIds) assert.ok(docs.includes(id), `${id} of the other workspace is still indexed`);

  // Its people are signed out and cannot sign in; the other workspace is exactly as it was.
  assert.equal((await api.get('/api/v1/me', a.owner.accessToken)).status, 401, 'access tokens are refused');
  assert.equal((await api.post('/api/v1/auth/refresh', { refreshToken: a.member.refreshToken })).status, 401, 'refresh tokens are refused');
  assert.equal((await api.post('/api/v1/auth/login', { email: a.ownerEmail, password: a.ownerPassword })).status, 401, 'the account is gone');
  assert.deepEqual(withoutBackgroundFields(await workspaceState(api, url, b.owner, b)), bBefore, 'the other workspace is untouched');
  const missing = cliIo();
  assert.equal(await runCli(['workspace', 'delete', aId, `--confirm=${aId}`], missing.io, cliEnv(server)), 1, missing.text());
  assert.match(missing.text(), /no workspace/, missing.text());
});

test('workspace delete (REST): an owner, with their password and the id; others refused', async (t) => {
  const server = await startServer(t);
  const { api, url } = server;
  const a = await seedWorkspace(api, url, 'Leaving Co');
  const b = await seedWorkspace(api, url, 'Staying Co');
  const aId = await tenantIdOf(server, a);
  const bBefore = withoutBackgroundFields(await workspaceState(api, url, b.owner, b));

  const admin = await api.addUser(a.owner, 'admin');
  assert.equal((await api.request('DELETE', '/api/v1/workspace', { token: admin.accessToken, json: {} })).status, 400, 'the password and the id are required');
  const byAdmin = await api.request('DELETE', '/api/v1/workspace', { token: admin.accessToken, json: { confirm: aId, password: 'another good password' } });
  assert.equal(byAdmin.status, 403, `only an owner: ${byAdmin.text}`);
  const wrongPassword = await api.request('DELETE', '/api/v1/workspace', { token: a.owner.accessToken, json: { confirm: aId, password: 'not the password' } });
  assert.equal(wrongPassword.status, 403, wrongPassword.text);
  assert.equal(wrongPassword.body.error.code, 'wrong_password');
  const wrongId = await api.request('DELETE', '/api/v1/workspace', { token: a.owner.accessToken, json: { confirm: 'Leaving Co', password: a.ownerPassword } });
  assert.equal(wrongId.status, 400, wrongId.text);
  assert.notDeepEqual(await rowsLeft(server, aId), {}, 'nothing was deleted yet');

  const done = await api.request('DELETE', '/api/v1/workspace', { token: a.owner.accessToken, json: { confirm: aId, password: a.ownerPassword } });
  assert.equal(done.status, 204, done.text);
  assert.deepEqual(await rowsLeft(server, aId), {}, 'no row of the workspace is left in any tenant table');
  assert.equal((await api.get('/api/v1/me', a.owner.accessToken)).status, 401, 'its sessions are over');
  assert.deepEqual(withoutBackgroundFields(await workspaceState(api, url, b.owner, b)), bBefore, 'the other workspace is untouched');
});

test('quire workspace create and admin: the people they make sign in through the API', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const dir = await tempDir(t);
  const pwFile = path.join(dir, 'pw');
  await fs.writeFile(pwFile, 'a long operator chosen password\n');

  const made = cliIo();
  assert.equal(await runCli(['workspace', 'create', '--name=Made By Ops', '--email=Founder@Example.test', `--password-file=${pwFile}`], made.io, cliEnv(server)), 0, made.text());
  const tenantId = /workspace ([0-9a-f-]{36}) created/.exec(made.text())?.[1];
  assert.ok(tenantId, made.text());
  const founder = await api.post<{ accessToken: string; user: { role: string } }>('/api/v1/auth/login', { email: 'founder@example.test', password: 'a long operator chosen password' });
  assert.equal(founder.status, 200, founder.text);
  assert.equal(founder.body.user.role, 'owner');
  const ws = await api.get<{ id: string; name: string }>('/api/v1/workspace', founder.body.accessToken);
  assert.deepEqual([ws.body.id, ws.body.name], [tenantId, 'Made By Ops']);

  // An admin added by the operator, with a password made up and shown once.
  const added = cliIo();
  assert.equal(await runCli(['workspace', 'admin', tenantId, '--email=helper@example.test'], added.io, cliEnv(server)), 0, added.text());
  const password = /password: (\S+)/.exec(added.text())?.[1];
  assert.ok(password, added.text());
  const admin = await api.post<{ accessToken: string; user: { role: string } }>('/api/v1/auth/login', { email: 'helper@example.test', password });
  assert.equal(admin.status, 200, admin.text);
  assert.equal(admin.body.user.role, 'admin');
  const users = await api.get<{ email: string }[]>('/api/v1/users', admin.body.accessToken);
  assert.equal(users.status, 200, 'the admin manages users');

  // Refusals: a taken email, a weak password, an unknown workspace, missing flags.
  const taken = cliIo();
  assert.equal(await runCli(['workspace', 'create', '--name=Again', '--email=founder@example.test'], taken.io, cliEnv(server)), 1, taken.text());
  assert.match(taken.text(), /already exists/, taken.text());
  const weakFile = path.join(dir, 'weak');
  await fs.writeFile(weakFile, 'password\n');
  const weak = cliIo();
  assert.equal(await runCli(['workspace', 'create', '--name=Weak', '--email=weak@example.test', `--password-file=${weakFile}`], weak.io, cliEnv(server)), 1, weak.text());
  const unknown = cliIo();
  assert.equal(await runCli(['workspace', 'admin', crypto.randomUUID(), '--email=x@example.test'], unknown.io, cliEnv(server)), 1, unknown.text());
  assert.match(unknown.text(), /no workspace/, unknown.text());
  const usage = cliIo();
  assert.equal(await runCli(['workspace', 'create', '--name=No Email'], usage.io, cliEnv(server)), 2, usage.text());
  const listed = cliIo();
  assert.equal(await runCli(['workspace', 'list'], listed.io, cliEnv(server)), 0, listed.text());
  assert.match(listed.text(), new RegExp(`${tenantId}  Made By Ops  \\(2 people, 0 documents\\)`), listed.text());
});
