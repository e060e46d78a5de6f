/**
 * docs/SDK.md works as written: every ```ts runnable block is a program of its own that
 * type-checks against the SDK and runs, unchanged, against a real server. Each runs in a
 * child process (`node --import tsx`, as a reader would run it) in a scratch folder whose
 * tsconfig maps `@quire/sdk` and `@quire/sdk/node` to clients/sdk, with the server's URL and
 * an account in `QUIRE_URL`, `QUIRE_EMAIL`, `QUIRE_PASSWORD` and `QUIRE_API_KEY`. Code blocks
 * not marked runnable must be few and say why (```tsx not-runnable: <reason>).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QuireClient, unwrap } from '../clients/sdk/node.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GUIDE = path.join(ROOT, 'docs', 'SDK.md');
/** Most code blocks the guide may leave unrun (each says why in its info string). */
const MAX_NOT_RUNNABLE = 2;
/** A guard against an example that never ends (a session left open), not a measure of speed. */
const EXAMPLE_HANG_MS = 180_000;

interface Block {
  /** The heading the block is under, numbered when a heading has several examples. */
  title: string;
  /** The fence's info string (`ts runnable`). */
  info: string;
  code: string;
}

const isCode = (b: Block) => /^(ts|tsx|js|mjs|typescript)\b/.test(b.info);
const isRunnable = (b: Block) => /^ts runnable$/.test(b.info);

/** The code examples (TypeScript and JavaScript blocks) of a Markdown text, each titled by the heading it is under. */
function codeBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let heading = '(top)';
  let open: { info: string; lines: string[] } | null = null;
  for (const line of markdown.split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ title: heading, info: open.info, code: open.lines.join('\n') + '\n' });
        open = null;
      } else open.lines.push(line);
      continue;
    }
    const h = /^#{1,6} (.+)$/.exec(line);
    if (h) heading = h[1]!.trim();
    else if (line.startsWith('```')) open = { info: line.slice(3).trim(), lines: [] };
  }
  assert.equal(open, null, 'every code block of the guide is closed');
  const examples = blocks.filter(isCode);
  const count = new Map<string, number>();
  for (const b of examples) count.set(b.title, (count.get(b.title) ?? 0) + 1);
  const seen = new Map<string, number>();
  return examples.map((b) => {
    const n = (seen.get(b.title) ?? 0) + 1;
    seen.set(b.title, n);
    return count.get(b.title)! > 1 ? { ...b, title: `${b.title} (example ${n})` } : b;
  });
}

async function runnableBlocks(): Promise<Block[]> {
  return codeBlocks(await fs.readFile(GUIDE, 'utf8')).filter(isRunnable);
}

/** A scratch folder in the repository (so `yjs` and `ws` resolve as in an app) with one file per example. */
async function writeExamples(t: { after(fn: () => unknown): void }, blocks: Block[]): Promise<{ dir: string; tsconfig: string; files: string[] }> {
  await fs.mkdir(path.join(ROOT, 'test-output'), { recursive: true });
  const dir = await fs.mkdtemp(path.join(ROOT, 'test-output', 'sdk-guide-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const sdk = path.relative(dir, path.join(ROOT, 'clients', 'sdk'));
  const tsconfig = path.join(dir, 'tsconfig.json');
  await fs.writeFile(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        types: ['node'],
        strict: true,
        noUncheckedIndexedAccess: true,
        verbatimModuleSyntax: true,
        esModuleInterop: true,
        skipLibCheck: true,
        noEmit: true,
        paths: { '@quire/sdk': [`${sdk}/index.ts`], '@quire/sdk/node': [`${sdk}/node.ts`] },
      },
      include: ['*.ts'],
    }),
  );
  const files: string[] = [];
  for (const [i, b] of blocks.entries()) {
    const slug = b.title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    const file = path.join(dir, `${String(i + 1).padStart(2, '0')}-${slug}.ts`);
    await fs.writeFile(file, b.code);
    files.push(file);
  }
  return { dir, tsconfig, files };
}

function run(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: EXAMPLE_HANG_MS });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('close', (code, signal) => resolve({ code, signal, out }));
  });
}

test('the guide marks its examples: runnable ones, and only a few others that say why', async () => {
  const blocks = codeBlocks(await fs.readFile(GUIDE, 'utf8'));
  const runnable = blocks.filter(isRunnable);
  const others = blocks.filter((b) => !isRunnable(b));
  assert.ok(runnable.length >= 10, `the guide has runnable examples (${runnable.length})`);
  for (const b of others) assert.match(b.info, /^(ts|tsx|js) not-runnable: \S.{10,}$/, `the example under "${b.title}" is runnable or says why not`);
  assert.ok(others.length <= MAX_NOT_RUNNABLE, `few examples are not run (${others.map((b) => b.title).join(', ')})`);
  for (const b of runnable) {
    assert.match(b.code, /from '@quire\/sdk(\/node)?';/, `the example under "${b.title}" imports the SDK by its name`);
    assert.doesNotMatch(b.code, /\.\.\/|clients\/sdk/, `the example under "${b.title}" imports nothing by a repository path`);
  }
});

test('every runnable example of the guide type-checks against the SDK', async (t) => {
  const blocks = await runnableBlocks();
  const { dir, files } = await writeExamples(t, blocks);
  const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
  // Name each failing example by its heading.
  const titled = r.out.replace(/^(\S+?\.ts)\(/gm, (m, file: string) => {
    const i = files.findIndex((f) => f.endsWith(path.basename(file)));
    return i < 0 ? m : `[${blocks[i]!.title}] ${m}`;
  });
  assert.equal(r.code, 0, `the guide's examples type-check:\n${titled}`);
});

test('every runnable example of the guide runs against a real server', async (t) => {
  const { url } = await startServer(t);
  const email = 'owner@example.com';
  const password = 'correct horse battery staple';
  // The reader's account: an owner, an API key, and a document to search for.
  const owner = new QuireClient({ baseUrl: url });
  unwrap(await owner.signup({ tenant: 'Guide', email, password }));
  const key = unwrap(await owner.createApiKey({ name: 'guide', scopes: ['read', 'write', 'search'] }));
  unwrap(await owner.createDocument({ title: 'Quarterly planning', text: 'Quarterly planning: goals, owners and dates for the next three months.' }));
  await eventually(async () => assert.ok(unwrap(await owner.search('quarterly planning', { mode: 'fulltext' })).hits.length > 0, 'the seeded document is searchable'), {
    timeoutMs: 60_000,
    message: 'the seeded document becomes searchable',
  });

  const blocks = await runnableBlocks();
  const { dir, tsconfig, files } = await writeExamples(t, blocks);
  const env = { PATH: process.env.PATH ?? '', TSX_TSCONFIG_PATH: tsconfig, QUIRE_URL: url, QUIRE_EMAIL: email, QUIRE_PASSWORD: password, QUIRE_API_KEY: key.secret };
  for (const [i, b] of blocks.entries()) {
    await t.test(b.title, async () => {
      const r = await run(process.execPath, ['--import', 'tsx', files[i]!], { cwd: dir, env });
      const how = r.signal ? `was stopped (${r.signal}) after ${EXAMPLE_HANG_MS / 1000} s` : `exited with ${r.code}`;
      assert.ok(r.code === 0, `the guide's example under "${b.title}" ${how}:\n${r.out}`);
    });
  }
});
