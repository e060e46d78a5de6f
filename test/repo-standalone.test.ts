/**
 * The repository stands alone: what the tests, benchmarks and app read is inside it, and
 * the docs describe files that exist.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

test('no code reads a path outside the repository (a sibling folder of shared files)', () => {
  const code = tracked.filter((f) => /\.(ts|tsx|mts|mjs|js|cjs|sh|json)$/.test(f) && !f.startsWith('test/fixtures/') && f !== 'package-lock.json');
  const offenders: string[] = [];
  for (const f of code) {
    const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
    text.split('\n').forEach((line, i) => {
      if (/['"`](?:\.\.\/)+shared\//.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

test('the editing traces the tests replay are in the repository, with their licence notes', () => {
  const dir = path.join(ROOT, 'test/fixtures/traces');
  const traces = fs.readdirSync(dir).filter((f) => f.endsWith('.json.gz'));
  assert.ok(traces.length >= 4, `traces found: ${traces.join(', ')}`);
  const notes = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  for (const t of traces) assert.match(notes, new RegExp(t.replace(/\./g, '\\.')), `${t} has a licence line`);
});

/** Built or generated at run time, so not tracked. */
const GENERATED = ['clients/web/dist', 'dist/', 'test-output/', '.services/', './data'];
const TOP = ['contract', 'lib', 'core', 'server', 'sync', 'ml-workers', 'clients', 'db', 'ops', 'bench', 'docs', 'test', 'scripts', 'examples', '.ci'];

test('every repository path the README and the architecture notes name exists', () => {
  const missing: string[] = [];
  for (const doc of ['README.md', 'docs/ARCHITECTURE.md', 'bench/RESULTS.md']) {
    const text = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    for (const m of text.matchAll(/`([A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]*)`/g)) {
      const p = m[1]!;
      if (!TOP.includes(p.split('/')[0]!) || GENERATED.some((g) => p.startsWith(g))) continue;
      if (!fs.existsSync(path.join(ROOT, p))) missing.push(`${doc}: ${p}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('the README promises deployment manifests only when ops/ has them', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const manifests = tracked.filter((f) => f.startsWith('ops/') && /\.(ya?ml|json)$/.test(f));
  if (/Kubernetes manifests|Prometheus rules|Grafana dashboard/i.test(readme)) assert.ok(manifests.length > 0, 'README names manifests that ops/ lacks');
});
