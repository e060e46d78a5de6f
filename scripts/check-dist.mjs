#!/usr/bin/env node
/**
 * Checks the production build (`npm run build`: dist/ and clients/web/dist), as the
 * container image runs it:
 *
 * 1. every file the runtime folders hold besides TypeScript (models, data) is in dist/;
 * 2. every package the built code imports or resolves is a runtime dependency in
 *    package.json (the image installs no devDependencies) or part of Node;
 * 3. `node dist/server/main.js` starts on the embedded default (a temporary DATA_DIR, a free
 *    port), answers /health and /ready, serves the web app, converts a document to PDF with
 *    its fonts (a conversion thread, fonts read from pdfjs-dist), and stops on SIGTERM
 *    with exit code 0;
 * 4. `node dist/server/cli/main.js help` lists `db migrate` (the migration Job's command).
 *
 * `.ci/run` runs it after `npm run build`. Exit code 0: all good; 1: a check failed.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIME_DIRS = ['contract', 'lib', 'db', 'core', 'sync', 'ml-workers', 'server'];
const START_WITHIN_MS = 240_000;
const STOP_WITHIN_MS = 120_000;

const problems = [];
const say = (line) => process.stdout.write(`[check-dist] ${line}\n`);

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// 1. Assets next to the sources are copied.
if (!fs.existsSync(path.join(root, 'dist', 'server', 'main.js'))) {
  process.stderr.write('[check-dist] dist/server/main.js is missing: run `npm run build` first\n');
  process.exit(1);
}
for (const dir of RUNTIME_DIRS) {
  for (const file of walk(path.join(root, dir))) {
    const rel = path.relative(root, file);
    if (file.endsWith('.ts')) {
      const built = path.join(root, 'dist', rel.replace(/\.ts$/, '.js'));
      if (!file.endsWith('.d.ts') && !fs.existsSync(built)) problems.push(`${rel} was not compiled to ${path.relative(root, built)}`);
    } else if (!fs.existsSync(path.join(root, 'dist', rel))) {
      problems.push(`${rel} is not in dist/ (the build script must copy it)`);
    }
  }
}
if (!fs.existsSync(path.join(root, 'clients', 'web', 'dist', 'index.html'))) problems.push('clients/web/dist/index.html is missing (the web build)');
say(`assets: ${problems.length ? 'missing files' : 'every runtime file is in dist/'}`);

// 2. What the built code loads is installed without devDependencies.
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const runtime = new Set(Object.keys(pkg.dependencies ?? {}));
const builtins = new Set(builtinModules);
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bresolve\s*\(\s*)(['"])([^'"\n]+)\1/g;
const PACKAGE_NAME = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.@-]+)*$/i;
const used = new Map();
for (const file of walk(path.join(root, 'dist')).filter((f) => f.endsWith('.js'))) {
  const src = fs.readFileSync(file, 'utf8');
  for (const m of src.matchAll(SPECIFIER)) {
    const spec = m[2];
    // Relative paths, Node's own modules, and strings that only look like imports.
    if (spec.startsWith('node:') || !PACKAGE_NAME.test(spec)) continue;
    const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (builtins.has(name)) continue;
    if (!used.has(name)) used.set(name, path.relative(root, file));
  }
}
for (const [name, file] of used) {
  if (!runtime.has(name)) problems.push(`${file} loads ${name}, which is not in package.json "dependencies" (the image has no devDependencies)`);
}
say(`imports: ${used.size} packages, ${[...used.keys()].filter((n) => !runtime.has(n)).length} outside "dependencies"`);

// 3. The built server starts, serves, converts and stops.
async function waitFor(what, ms, fn) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function serverChecks() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-check-dist-'));
  const log = [];
  const child = spawn(process.execPath, ['dist/server/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', PASSWORD_SCRYPT_COST: '10', HOME: os.tmpdir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve((exited = { code, signal }))));
  for (const s of [child.stdout, child.stderr]) s.on('data', (d) => log.push(...String(d).split('\n').filter(Boolean)));
  try {
    const port = await waitFor('the "Quire is running" line', START_WITHIN_MS, async () => {
      if (exited) throw new Error(`the server exited (${JSON.stringify(exited)}) before it started`);
      for (const line of log) {
        try {
          const j = JSON.parse(line);
          if (j.msg?.startsWith('Quire is running') && j.port) return j.port;
        } catch {
          /* not a JSON line */
        }
      }
      return null;
    });
    const base = `http://127.0.0.1:${port}`;
    say(`server: listening on ${port}`);
    const ok = async (p) => (await fetch(base + p)).status === 200;
    await waitFor('/ready', START_WITHIN_MS, () => ok('/ready'));
    if (!(await ok('/health'))) problems.push('/health does not answer 200');
    const shell = await fetch(base + '/');
    if (!(shell.headers.get('content-type') ?? '').includes('text/html') || !(await shell.text()).includes('<div id="root"')) problems.push('/ does not serve the web app');

    const json = (r) => r.json();
    const session = await fetch(base + '/api/v1/auth/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'Check', email: 'check@example.test', password: 'correct horse battery' }),
    }).then(json);
    const auth = { authorization: `Bearer ${session.accessToken}` };
    const doc = await fetch(base + '/api/v1/documents/import?format=markdown', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/markdown' },
      body: '# Plan\n\nCafé Ωmega **bold**',
    }).then(json);
    const pdf = await fetch(`${base}/api/v1/documents/${doc.id}/export?format=pdf`, { headers: auth });
    const bytes = Buffer.from(await pdf.arrayBuffer());
    if (pdf.status !== 200 || !bytes.subarray(0, 5).equals(Buffer.from('%PDF-'))) problems.push(`PDF export failed: ${pdf.status} ${bytes.subarray(0, 200)}`);
    else if (!bytes.includes('LiberationSans')) problems.push('the PDF export does not embed Liberation Sans (pdfjs-dist/standard_fonts not found from dist/)');
    else say('server: /health, /ready, the web app and a PDF export with its fonts');
  } finally {
    if (!exited) child.kill('SIGTERM');
    const stopped = await Promise.race([exit, new Promise((r) => setTimeout(() => r(null), STOP_WITHIN_MS))]);
    if (!stopped) {
      child.kill('SIGKILL');
      problems.push(`the server did not stop within ${STOP_WITHIN_MS / 1000} s of SIGTERM`);
    } else if (stopped.code !== 0) problems.push(`the server exited with ${JSON.stringify(stopped)}`);
    else say('server: stopped on SIGTERM with exit code 0');
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (problems.length) process.stderr.write(`[check-dist] the server's last lines:\n${log.slice(-20).join('\n')}\n`);
  }
}

try {
  await serverChecks();
} catch (e) {
  problems.push(`server: ${e instanceof Error ? e.message : String(e)}`);
}

// 4. The CLI the migration Job runs.
const help = spawnSync(process.execPath, ['dist/server/cli/main.js', 'help'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH } });
if (help.status !== 0 || !help.stdout.includes('quire db migrate')) problems.push(`dist/server/cli/main.js help does not list "quire db migrate": ${help.status} ${help.stdout}${help.stderr}`);
else say('cli: quire db migrate is there');

if (problems.length) {
  for (const p of problems) process.stderr.write(`[check-dist] FAILED: ${p}\n`);
  process.exit(1);
}
say('the build is complete');
