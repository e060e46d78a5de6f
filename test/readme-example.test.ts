/**
 * The README works as written against a running server: its shell lines (curl, capturing
 * ids in shell variables) pasted in order, and its provider snippet (examples/connect.mjs).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../lib/config.js';
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

/** The ```sh blocks of one `## ` section of README.md. */
async function shellBlocks(section: string): Promise<string[]> {
  const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf(`\n## ${section}\n`);
  assert.ok(start >= 0, `README has a section "${section}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const body = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...body.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length > 0, `README section "${section}" has a shell block`);
  return blocks;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

test('the README shell lines run as pasted: sign up, create, list, add a colleague, share, edit, search, classify', async (t) => {
  const { api, url } = await startServer(t);
  // The README's lines, in order: the curl section, then the lines of later sections that use its
  // variables (content read and write, search and the document's label).
  const lines = [...(await shellBlocks('Use it with curl')), ...(await shellBlocks('Edit live with a Yjs provider')), (await shellBlocks('Search and classification'))[0]!].join('\n');
  assert.match(lines, /localhost:8080/);
  const script = lines.replaceAll('localhost:8080', url.replace(/^http:\/\//, ''));
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-readme-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  // Strict mode makes a failed capture (`TOKEN=$(… | json …)`) stop the script; a person pasting does not need it.
  const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}\nprintf '\\nVARS %s %s %s\\n' "$TOKEN" "$DOC" "$BOB"\n`], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
  assert.equal(run.stderr, '');
  const vars = /\nVARS (\S+) (\S+) (\S+)\n/.exec(run.stdout);
  assert.ok(vars, run.stdout);
  const [, token, doc, bob] = vars;
  assert.equal(token!.split('.').length, 3, `TOKEN is an access token: ${token}`);
  assert.match(doc!, UUID);
  assert.match(bob!, UUID);

  // What the lines did, seen through the API.
  assert.equal((await api.get(`/api/v1/documents/${doc}`, token)).body.title, 'Roadmap');
  const permissions = (await api.get(`/api/v1/documents/${doc}/permissions`, token)).body.permissions;
  assert.deepEqual(
    permissions.filter((p: { userId: string }) => p.userId === bob).map((p: { email: string; level: string }) => [p.email, p.level]),
    [['bob@acme.test', 'write']],
  );
  const bobSession = await api.post('/api/v1/auth/login', { email: 'bob@acme.test', password: 'another good one' });
  assert.equal(bobSession.status, 200, bobSession.text);
  const bobDocs = (await api.get('/api/v1/documents', bobSession.body.accessToken)).body.documents;
  assert.deepEqual(
    bobDocs.map((d: { id: string; access: string }) => [d.id, d.access]),
    [[doc, 'write']],
  );
  assert.match((await api.get(`/api/v1/documents/${doc}/content?format=text`, token)).text, /a new paragraph/);
  // Every answer the lines printed is JSON (the listing, the share, the content read, the search, the label).
  assert.match(run.stdout, /"title":"Roadmap"/);
  assert.match(run.stdout, /"label":/);
});

test("the README's run section names PORT, HOST and DATA_DIR with the server's defaults", async () => {
  const readme = await fs.readFile(new URL('../README.md', import.meta.url), 'utf8');
  const run = readme.slice(readme.indexOf('\n## Run it\n'), readme.indexOf('\n## ', readme.indexOf('\n## Run it\n') + 1));
  const defaults = loadConfig({}, ['node', 'main']);
  const stated = (name: string) => new RegExp(`\`${name}\`[^\\n]*?default \`([^\`]+)\``).exec(run)?.[1];
  assert.equal(stated('PORT'), String(defaults.port));
  assert.equal(stated('HOST'), defaults.host);
  assert.equal(path.resolve(stated('DATA_DIR') ?? ''), defaults.dataDir);
  assert.match(run, /Quire is running at http:\/\/localhost:8080/);
});
