/**
 * The README's first command on the embedded default: a real `server/main.ts` process on
 * PGlite in a fresh DATA_DIR, nothing else configured; a second start reuses the data;
 * SIGTERM shuts it down cleanly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, ready, spawnQuire } from './helpers/process.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';

test('npm start on the embedded default serves REST and live sync, keeps data across restarts, stops on SIGTERM', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-embedded-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();

  const first = spawnQuire({ DATA_DIR: dataDir }, port);
  t.after(() => first.kill());
  await ready(first);
  const api = first.api;
  const s = await api.signup('Embedded Co', 'e@example.test');
  const doc = await api.createDocument(s, 'Survives restarts');
  const c = connect(null, first.url, doc.id, s.accessToken, { reconnect: false });
  await synced(c);
  paragraphText(c.doc).insert(0, 'typed live on PGlite');
  await acked(c);
  c.destroy();
  assert.equal(await first.stop(), 0, first.output());
  assert.match(first.output(), /"step":"store"/, 'the store closed during ordered shutdown');
  assert.match(first.output(), /"step":"sync"/, 'the sync tier flushed during ordered shutdown');

  const second = spawnQuire({ DATA_DIR: dataDir }, port);
  t.after(() => second.kill());
  await ready(second);
  const l = await api.post('/api/v1/auth/login', { email: 'e@example.test', password: 'correct horse battery' });
  assert.equal(l.status, 200, 'the account survived');
  // The old access token still verifies: the key in DATA_DIR was reused, not regenerated.
  const docs = await api.get('/api/v1/documents', s.accessToken);
  assert.deepEqual(
    docs.body.documents.map((d: { title: string }) => d.title),
    ['Survives restarts'],
  );
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, 'typed live on PGlite');
  assert.equal(await second.stop(), 0);
  const keyStat = await fs.stat(path.join(dataDir, 'keys', 'jwt-private.pem'));
  assert.equal(keyStat.mode & 0o777, 0o600);
});

test('a bad configuration stops the start with every problem listed', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', '--roles=nope'], {
    env: { PATH: process.env.PATH ?? '', PORT: 'x', DATABASE_URL: 'http://nope' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 2);
  assert.match(err, /--roles/);
  assert.match(err, /PORT/);
  assert.match(err, /DATABASE_URL/);
});
