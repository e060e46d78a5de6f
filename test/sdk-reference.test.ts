/**
 * The SDK reference (docs/sdk/reference, TypeDoc from typedoc.json) is what the source says:
 * regenerated into a scratch folder it matches the committed copy file for file, and the
 * generation fails on an export without documentation (`validation.notDocumented` with
 * `treatWarningsAsErrors`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMMITTED = path.join(ROOT, 'docs', 'sdk', 'reference');

/** Every file under `dir`, relative to it, sorted. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

function typedoc(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--options', 'typedoc.json', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('close', (code) => resolve({ code, out }));
  });
}

test('the committed SDK reference is what `npm run docs:sdk` generates, and every export is documented', async (t) => {
  const config = JSON.parse(await fs.readFile(path.join(ROOT, 'typedoc.json'), 'utf8')) as { treatWarningsAsErrors?: boolean; validation?: { notDocumented?: boolean } };
  assert.equal(config.treatWarningsAsErrors, true, 'TypeDoc warnings fail the generation');
  assert.equal(config.validation?.notDocumented, true, 'an undocumented export is a warning');

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-sdk-reference-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const r = await typedoc(['--out', dir]);
  assert.equal(r.code, 0, `TypeDoc generates the reference without a warning (an export without a TSDoc comment is one):\n${r.out}`);

  const [generated, committed] = await Promise.all([listFiles(dir), listFiles(COMMITTED)]);
  const stale = 'docs/sdk/reference is out of date: run `npm run docs:sdk` and commit the result';
  assert.deepEqual(committed, generated, `${stale} (files differ)`);
  const differing: string[] = [];
  for (const file of generated) {
    const [a, b] = await Promise.all([fs.readFile(path.join(dir, file), 'utf8'), fs.readFile(path.join(COMMITTED, file), 'utf8')]);
    if (a !== b) differing.push(file);
  }
  assert.deepEqual(differing, [], `${stale} (contents differ)`);
});
