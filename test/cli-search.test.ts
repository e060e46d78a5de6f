/**
 * `quire search reindex`: a wiped full-text index is rebuilt from the database, one
 * workspace (`--workspace`) or all of them; trashed documents are removed, not indexed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';

import { runCli } from '../server/cli/main.js';
import { TEST_DATABASE_URL, TEST_SECRETS_KEY } from './helpers/env.js';
import { startServer } from './helpers/server.js';
import type { Session } from './helpers/api.js';
import { eventually } from './helpers/wait.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

test('search reindex rebuilds a wiped index from the database, per workspace or all', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: server.schema, SECRETS_KEY: TEST_SECRETS_KEY, DATA_DIR: server.config.dataDir, SEMANTIC_SEARCH: 'false', LOG_LEVEL: 'silent' };
  const one = await api.signup('Reindex One');
  const two = await api.signup('Reindex Two');
  const made = async (s: Session, title: string) => {
    const r = await api.post<{ id: string }>('/api/v1/documents', { title, text: 'Notes about the aardvark and its burrow.' }, s.accessToken);
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  };
  const docOne = await made(one, 'Aardvark field notes');
  const docTwo = await made(two, 'Aardvark burrows');
  const trashed = await made(one, 'Aardvark draft');
  assert.equal((await api.del(`/api/v1/documents/${trashed}`, one.accessToken)).status, 204, 'a document goes to the trash');
  const found = async (s: Session) => ((await api.get<{ hits: { documentId: string }[] }>('/api/v1/search?q=aardvark&mode=fulltext', s.accessToken)).body.hits ?? []).map((h) => h.documentId);
  await eventually(
    async () => {
      assert.deepEqual(await found(one), [docOne], 'the first workspace finds its live document');
      assert.deepEqual(await found(two), [docTwo], 'the second workspace finds its document');
    },
    { timeoutMs: 90_000, intervalMs: 250, message: 'the worker indexes both workspaces' },
  );

  // The index is lost (and the records of what it held with it).
  const owner = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await owner.connect();
  t.after(() => owner.end());
  await owner.query(`delete from "${server.schema}".search_documents`);
  await owner.query(`delete from "${server.schema}".index_state`);
  assert.deepEqual(await found(one), [], 'nothing is found once the index is wiped');

  const tenantOne = one.user.tenantId;
  const first = io();
  assert.equal(await runCli(['search', 'reindex', `--workspace=${tenantOne}`], first.io, env), 0, `reindex of one workspace succeeds: ${first.err.join('\n')}`);
  assert.match(first.out.join('\n'), /reindexed: 1 documents indexed, 1 deleted ones removed, 0 failed/, 'it reports the live document indexed and the trashed one removed');
  assert.deepEqual(await found(one), [docOne], 'the reindexed workspace finds its document again');
  assert.deepEqual(await found(two), [], 'the other workspace was left alone');

  const byName = io();
  assert.equal(await runCli(['search', 'reindex', '--workspace=Reindex Two'], byName.io, env), 0, `a workspace named by its name: ${byName.err.join('\n')}`);
  assert.deepEqual(await found(two), [docTwo], 'the second workspace finds its document again');

  const all = io();
  assert.equal(await runCli(['search', 'reindex'], all.io, env), 0, `reindex of everything succeeds: ${all.err.join('\n')}`);
  assert.match(all.out.join('\n'), /reindexed: 2 documents indexed, 1 deleted ones removed, 0 failed/, 'every workspace is walked');
  assert.deepEqual(await found(one), [docOne], 'still found after a second run');

  const unknown = io();
  assert.equal(await runCli(['search', 'reindex', '--workspace=No Such Workspace'], unknown.io, env), 1, 'an unknown workspace fails');
  assert.match(unknown.err.join('\n'), /no workspace "No Such Workspace"/, 'and says so');
});
