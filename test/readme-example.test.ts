/** The README's provider snippet (examples/connect.mjs) works as written against a running server. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startServer } from './helpers/server.js';

test('examples/connect.mjs logs in, creates a document, types, and reads it back', async (t) => {
  const { api, url } = await startServer(t);
  await api.signup('Readme', 'readme@example.test', 'correct horse battery');
  const { stdout } = await promisify(execFile)(process.execPath, ['examples/connect.mjs', url, 'readme@example.test', 'correct horse battery'], {
    timeout: 30_000,
  });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(out.text, 'Hello, Quire!');
  const s = await api.post('/api/v1/auth/login', { email: 'readme@example.test', password: 'correct horse battery' });
  assert.equal((await api.get(`/api/v1/documents/${out.documentId}/content`, s.body.accessToken)).text, 'Hello, Quire!');
});

test('examples/connect.mjs without arguments prints its usage and exits with 2', async () => {
  const child = spawn(process.execPath, ['examples/connect.mjs'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 2, err);
  assert.match(err, /^Usage: node examples\/connect\.mjs <baseUrl> <email> <password> \[documentId\]/);
  assert.equal(out, '');
});
