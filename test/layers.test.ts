/**
 * The shape of the tree, as a test: folders form layers with no cycle between them, and a
 * process that does not run the worker role never loads the worker side. Lint refuses an
 * import that goes up a layer (eslint.config.js); this checks the result on the real
 * import graph, static imports and `import()` alike.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
/** Bottom to top, as docs/ARCHITECTURE.md draws them; sync/ and ml-workers/ share a layer. */
const LAYERS = [['contract'], ['lib'], ['db'], ['core'], ['sync', 'ml-workers'], ['server']];
const FOLDERS = LAYERS.flat();

interface Edge {
  from: string;
  to: string;
  /** `import('…')`: loaded when that line runs, not with the module. */
  dynamic: boolean;
  /** `import type …`: erased at run time. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(rel);
    return /\.tsx?$/.test(e.name) ? [rel] : [];
  });
}

/** Every relative import and re-export of every runtime file, resolved to the file it names. */
function importGraph(): Edge[] {
  const edges: Edge[] = [];
  const resolve = (file: string, spec: string) => {
    const target = path.normalize(path.join(path.dirname(file), spec)).replace(/\.js$/, '.ts');
    return fs.existsSync(path.join(ROOT, target)) ? target : target.replace(/\.ts$/, '.tsx');
  };
  for (const file of FOLDERS.flatMap(sourceFiles)) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      edges.push({ from: file, to: resolve(file, m[2]!), dynamic: false, typeOnly: Boolean(m[1]) });
    }
    for (const m of text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
      edges.push({ from: file, to: resolve(file, m[1]!), dynamic: true, typeOnly: false });
    }
  }
  return edges;
}

const folderOf = (file: string) => file.split(path.sep)[0]!;
const layerOf = (folder: string) => LAYERS.findIndex((l) => l.includes(folder));

test('every import goes down a layer or stays in its folder, so no folder imports one that imports it back', () => {
  const up: string[] = [];
  const between = new Set<string>();
  for (const e of importGraph()) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b || !FOLDERS.includes(b)) continue;
    between.add(`${a} → ${b}`);
    if (layerOf(b) >= layerOf(a)) up.push(`${e.from} → ${e.to}`);
  }
  assert.deepEqual(up, []);
  for (const pair of between) {
    const [a, b] = pair.split(' → ');
    assert.ok(!between.has(`${b} → ${a}`), `${a} and ${b} import each other`);
  }
});

test('a process without the worker role does not load the worker side (relay, last-edited times, consumer, trainer, bus)', () => {
  const edges = importGraph();
  // What the root loads for --roles=api,sync: its static imports and the modules of those two roles.
  const loaded = new Set<string>();
  const visit = (file: string): void => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const e of edges) if (e.from === file && !e.typeOnly && !e.dynamic) visit(e.to);
  };
  const root = path.join('server', 'app.ts');
  for (const e of edges) if (e.from === root && !e.dynamic && !e.typeOnly) visit(e.to);
  loaded.add(root);
  for (const role of ['shared', 'search', 'sync', 'api']) visit(path.join('server', 'roles', `${role}.ts`));
  const worker = [...loaded].filter((f) => /^ml-workers\/(relay|last-edited|indexer|trainer|bus\/)|^server\/roles\/worker/.test(f.split(path.sep).join('/')));
  assert.deepEqual(worker, []);
  // And the root reaches the worker role only through import(), when the role is on.
  assert.ok(
    edges.some((e) => e.from === root && e.to === path.join('server', 'roles', 'worker.ts') && e.dynamic),
    "edges.some((e) => e.from === root && e.to === path.join('server', 'roles', 'worker.ts') && e.dynami…",
  );
});
