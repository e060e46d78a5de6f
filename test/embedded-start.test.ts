/**
 * The README's first command on the embedded default: a real `server/main.ts` process on
 * PGlite in a fresh DATA_DIR, nothing else configured; a second start reuses the data;
 * SIGTERM shuts it down cleanly.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ApiClient } from './helpers/api.js';
import { eventually } from './helpers/wait.js';

async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function start(dataDir: string, port: number): { child: ChildProcess; output: () => string } {
  let out = '';
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', PASSWORD_SCRYPT_COST: '10' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  return exited;
}

test('npm start on the embedded default serves, keeps data across restarts, and stops on SIGTERM', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-embedded-'));
  t.after(() => fs.rm(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const api = new ApiClient(`http://127.0.0.1:${port}`);

  const first = start(dataDir, port);
  t.after(() => first.child.kill('SIGKILL'));
  await eventually(async () => assert.equal((await api.get('/ready')).status, 200), { timeoutMs: 60_000, message: 'first start' });
  const s = await api.signup('Embedded Co', 'e@example.test');
  await api.createDocument(s, 'Survives restarts');
  assert.equal(await stop(first.child), 0, first.output());
  assert.match(first.output(), /"step":"store"/, 'the store closed during ordered shutdown');

  const second = start(dataDir, port);
  t.after(() => second.child.kill('SIGKILL'));
  await eventually(async () => assert.equal((await api.get('/ready')).status, 200), { timeoutMs: 60_000, message: 'second start' });
  const l = await api.post('/api/v1/auth/login', { email: 'e@example.test', password: 'correct horse battery' });
  assert.equal(l.status, 200, 'the account and signing key survived');
  // The old access token still verifies: the key in DATA_DIR was reused, not regenerated.
  const docs = await api.get('/api/v1/documents', s.accessToken);
  assert.deepEqual(docs.body.documents.map((d: { title: string }) => d.title), ['Survives restarts']);
  assert.equal(await stop(second.child), 0);
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
