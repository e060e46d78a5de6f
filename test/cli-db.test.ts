/** `quire db migrate`: migrations without a server (the Kubernetes migration Job runs it). */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';

import { runCli } from '../server/cli/main.js';
import { migrations } from '../db/migrations/index.js';
import { TEST_DATABASE_URL } from './helpers/env.js';
import { dropSchema, uniqueName } from './helpers/server.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

const latest = (schema: string) =>
  Object.keys(migrations({ schema, appRole: 'quire_app' }))
    .sort()
    .at(-1)!;

test('quire db migrate brings a Postgres schema to the latest migration, and again finds nothing to do', async (t) => {
  const schema = uniqueName('cli_db');
  t.after(() => dropSchema('postgres', schema));
  const env = { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: schema, LOG_LEVEL: 'silent' };
  const first = io();
  assert.equal(await runCli(['db', 'migrate'], first.io, env), 0, `migrate succeeds: ${first.err.join('\n')}`);
  assert.match(first.out.join('\n'), new RegExp(`at migration ${latest(schema)} `), 'it names the latest migration');

  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    const tables = await client.query<{ n: string }>('select count(*)::text as n from information_schema.tables where table_schema = $1', [schema]);
    assert.ok(Number(tables.rows[0]?.n) > 10, `the schema holds Quire's tables: ${tables.rows[0]?.n}`);
  } finally {
    await client.end();
  }

  const again = io();
  assert.equal(await runCli(['db', 'migrate'], again.io, env), 0, `a second run succeeds: ${again.err.join('\n')}`);
  assert.deepEqual(again.out, first.out, 'the second run reports the same level');
});

test('quire db migrate creates the embedded database in DATA_DIR when no DATABASE_URL is set', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-cli-db-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const run = io();
  assert.equal(await runCli(['db', 'migrate'], run.io, { DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), 0, `migrate succeeds: ${run.err.join('\n')}`);
  assert.match(run.out.join('\n'), new RegExp(`embedded database .* at migration ${latest('public')} `), 'it names the embedded database and its level');
  assert.ok((await fs.stat(path.join(dataDir, 'pg'))).isDirectory(), 'the database files are in DATA_DIR/pg');
});

test('quire db migrate with a database that refuses the connection fails with a message, not a crash', async () => {
  const run = io();
  const env = { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', DATABASE_CONNECT_TIMEOUT_MS: '1000', LOG_LEVEL: 'silent' };
  assert.equal(await runCli(['db', 'migrate'], run.io, env), 1, 'exit status 1');
  assert.match(run.err.join('\n'), /failed: /, `the reason is on stderr: ${run.err.join('\n')}`);
});
