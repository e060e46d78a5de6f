/**
 * The restore drill on the embedded default: a server on its own DATA_DIR with a workspace
 * (users, documents with content, versions, comments, a file); stop it, `quire backup
 * create`, destroy DATA_DIR, `quire backup restore`, start again — and everything is as it
 * was: content, history, comments, file bytes, passwords, and access tokens signed before
 * (the signing keys came back with the data).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../server/cli/main.js';
import { startQuire, type Quire } from '../server/app.js';
import { loadConfig } from '../lib/config.js';
import { ApiClient } from './helpers/api.js';
import { eventually } from './helpers/wait.js';
import { UNLIMITED_RATE_LIMITS } from './helpers/server.js';
import { seedWorkspace, withoutBackgroundFields, workspaceState } from './helpers/workspace-seed.js';

const ROOT = path.resolve(import.meta.dirname, '..');

function cliIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err, text: () => [...out, ...err].join('\n') };
}

/** `quire …` as its own process (`npm run quire`), with `env` for its environment. */
function runInChild(argv: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'server/cli/main.ts', ...argv], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

test('restore drill: back up, destroy, restore, and everything is equal', async (t) => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-drill-'));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  const dataDir = path.join(root, 'data');
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PASSWORD_SCRYPT_COST: '10',
    SEMANTIC_SEARCH: 'false',
    WEB_APP: 'false',
    ...UNLIMITED_RATE_LIMITS,
  };
  let quire: Quire | null = null;
  t.after(async () => {
    await quire?.close();
  });
  const start = async () => {
    quire = await startQuire({ config: loadConfig(env, ['node', 'main']) });
    const url = `http://127.0.0.1:${quire.port}`;
    return { url, api: new ApiClient(url) };
  };
  const stop = async () => {
    await quire?.close();
    quire = null;
  };

  let { url, api } = await start();
  const seeded = await seedWorkspace(api, url, 'Drill Co');
  // Let the server finish what it does after writes (the file's text extraction, the version
  // made when a document unloads), then read the state as a restart shows it.
  await eventually(
    async () => {
      const r = await api.get<{ attachments: { extraction: string }[] }>(`/api/v1/documents/${seeded.documentIds[0]}/attachments`, seeded.owner.accessToken);
      assert.ok(
        r.body.attachments.every((a) => a.extraction !== 'pending'),
        'the file was read',
      );
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  await stop();
  ({ url, api } = await start());
  const before = await workspaceState(api, url, seeded.owner, seeded);

  // While the server has DATA_DIR open, a backup is refused (the embedded database is one process's).
  const archive = path.join(root, 'backup.tar.gz');
  // (Another process, as an operator's would be: the lock names the server's process.)
  const busy = await runInChild(['backup', 'create', `--out=${archive}`], env);
  assert.equal(busy.code, 1, busy.output);
  assert.match(busy.output, /in use by process \d+.*server stopped/, busy.output);
  await assert.rejects(fs.stat(archive), 'nothing was written');

  await stop();
  const made = cliIo();
  assert.equal(await runCli(['backup', 'create', `--out=${archive}`], made.io, env), 0, made.text());
  assert.match(made.text(), /backup written to .* at migration \d{4}-/, made.text());
  const verified = cliIo();
  assert.equal(await runCli(['backup', 'verify', archive], verified.io, env), 0, verified.text());

  // Restoring over existing data needs --force.
  const notEmpty = cliIo();
  assert.equal(await runCli(['backup', 'restore', archive], notEmpty.io, env), 1, notEmpty.text());
  assert.match(notEmpty.text(), /not empty/, 'the refusal says why');

  await fs.rm(dataDir, { recursive: true, force: true });
  const restored = cliIo();
  assert.equal(await runCli(['backup', 'restore', archive], restored.io, env), 0, restored.text());

  ({ url, api } = await start());
  // The access token issued before the backup still verifies: the signing keys were restored.
  const me = await api.get('/api/v1/me', seeded.owner.accessToken);
  assert.equal(me.status, 200, `the old access token verifies: ${me.text}`);
  assert.deepEqual(await workspaceState(api, url, seeded.owner, seeded), before, 'documents, history, comments, files and users are as they were');
  const login = await api.post('/api/v1/auth/login', { email: seeded.ownerEmail, password: seeded.ownerPassword });
  assert.equal(login.status, 200, `the owner signs in with the same password: ${login.text}`);
  const refreshed = await api.post('/api/v1/auth/refresh', { refreshToken: seeded.member.refreshToken });
  assert.equal(refreshed.status, 200, `a refresh token from before the backup still works: ${refreshed.text}`);
  await stop();

  // --force replaces what DATA_DIR holds; a damaged archive is refused before anything is touched.
  const damaged = path.join(root, 'damaged.tar.gz');
  const bytes = await fs.readFile(archive);
  const middle = Math.floor(bytes.length / 2);
  bytes[middle] = bytes[middle]! ^ 0xff;
  await fs.writeFile(damaged, bytes);
  const bad = cliIo();
  assert.equal(await runCli(['backup', 'restore', damaged, '--force'], bad.io, env), 1, bad.text());
  assert.match(bad.text(), /cannot be read as a Quire backup|damaged/, bad.text());
  const forced = cliIo();
  assert.equal(await runCli(['backup', 'restore', archive, '--force'], forced.io, env), 0, forced.text());
  ({ url, api } = await start());
  assert.deepEqual(await workspaceState(api, url, seeded.owner, seeded), before, 'a forced restore brings back the same workspace');
  await stop();

  // The workspace commands on the embedded profile (server stopped): export by name, then delete.
  const exportFile = path.join(root, 'drill-export.tar.gz');
  const exported = cliIo();
  assert.equal(await runCli(['workspace', 'export', 'Drill Co', `--out=${exportFile}`], exported.io, env), 0, exported.text());
  assert.match(exported.text(), /2 documents, \d+ versions, 4 comments, 1 files, 2 people/, exported.text());
  const listed = cliIo();
  assert.equal(await runCli(['workspace', 'list'], listed.io, env), 0, listed.text());
  const tenantId = /^([0-9a-f-]{36}) {2}Drill Co/m.exec(listed.text())?.[1];
  assert.ok(tenantId, listed.text());
  const deleted = cliIo();
  assert.equal(await runCli(['workspace', 'delete', tenantId, `--confirm=${tenantId}`], deleted.io, env), 0, deleted.text());
  ({ api } = await start());
  assert.equal((await api.post('/api/v1/auth/login', { email: seeded.ownerEmail, password: seeded.ownerPassword })).status, 401, 'the deleted workspace is gone');
});

test('a backup from a newer schema, or one with a file changed, is refused', async (t) => {
  const { ArchiveWriter } = await import('../server/backup/archive.js');
  const { BACKUP_FORMAT } = await import('../server/backup/embedded.js');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-drill-'));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  const env = { DATA_DIR: path.join(root, 'data'), LOG_LEVEL: 'silent' };
  const make = async (name: string, migration: string, tamper: boolean) => {
    const file = path.join(root, name);
    const w = new ArchiveWriter(file);
    const f = await w.add('data/keys/example', 'key bytes');
    await w.addJson('manifest.json', {
      format: BACKUP_FORMAT,
      version: 1,
      profile: 'embedded',
      createdAt: new Date().toISOString(),
      schema: { name: 'public', migration, migrations: 99 },
      files: [{ ...f, sha256: tamper ? '0'.repeat(64) : f.sha256 }],
    });
    await w.finish();
    return file;
  };
  const newer = cliIo();
  assert.equal(await runCli(['backup', 'restore', await make('newer.tar.gz', '9999-from-the-future', false)], newer.io, env), 1, newer.text());
  assert.match(newer.text(), /migration 9999-from-the-future, which this build does not have/, newer.text());
  const changed = cliIo();
  assert.equal(await runCli(['backup', 'restore', await make('changed.tar.gz', '0001-foundation', true)], changed.io, env), 1, changed.text());
  assert.match(changed.text(), /data\/keys\/example does not match its checksum/, changed.text());
  await assert.rejects(fs.stat(path.join(root, 'data', 'keys')), 'nothing was restored');
});

test('scaled profile: quire backup create takes a pg_dump of the schema and the files while serving; restore brings both back', async (t) => {
  const { startServer } = await import('./helpers/server.js');
  const { TEST_DATABASE_URL } = await import('./helpers/env.js');
  const { sql } = await import('kysely');
  const first = await startServer(t);
  const seeded = await seedWorkspace(first.api, first.url, 'Scaled Co');
  await eventually(
    async () => {
      const r = await first.api.get<{ attachments: { extraction: string }[] }>(`/api/v1/documents/${seeded.documentIds[0]}/attachments`, seeded.owner.accessToken);
      assert.ok(
        r.body.attachments.every((a) => a.extraction !== 'pending'),
        'the file was read',
      );
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: first.schema, DATA_DIR: first.config.dataDir, LOG_LEVEL: 'silent' };
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-drill-'));
  t.after(() => fs.rm(root, { recursive: true, force: true }));
  const archive = path.join(root, 'scaled.tar.gz');
  // What a restart shows once the first server finished its work (versions made at unload) …
  await first.quire.close();
  const again = await startServer(t, { schema: first.schema, env: { DATA_DIR: first.config.dataDir } });
  const before = withoutBackgroundFields(await workspaceState(again.api, again.url, seeded.owner, seeded));
  // … backed up while that server runs.
  const made = cliIo();
  assert.equal(await runCli(['backup', 'create', `--out=${archive}`], made.io, env), 0, made.text());
  assert.match(made.text(), /backup written to .* at migration \d{4}-/, made.text());
  await again.quire.close();

  // Into a schema that holds tables, only with --force.
  const busy = cliIo();
  assert.equal(await runCli(['backup', 'restore', archive], busy.io, env), 1, busy.text());
  assert.match(busy.text(), /not empty/, busy.text());

  // Lose everything: the schema and the files.
  await sql
    .raw(`drop schema "${first.schema}" cascade`)
    .execute(first.quire.store.owner)
    .catch(async () => {
      const { dropSchema } = await import('./helpers/server.js');
      await dropSchema('postgres', first.schema);
    });
  await fs.rm(path.join(first.config.dataDir, 'blobs'), { recursive: true, force: true });
  const restored = cliIo();
  assert.equal(await runCli(['backup', 'restore', archive], restored.io, env), 0, restored.text());

  const after = await startServer(t, { schema: first.schema, env: { DATA_DIR: first.config.dataDir } });
  assert.deepEqual(withoutBackgroundFields(await workspaceState(after.api, after.url, seeded.owner, seeded)), before, 'documents, history, comments, files and users are back');
  const login = await after.api.post('/api/v1/auth/login', { email: seeded.ownerEmail, password: seeded.ownerPassword });
  assert.equal(login.status, 200, `the owner signs in with the same password: ${login.text}`);
});
