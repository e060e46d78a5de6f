/** Editing traces from test/fixtures/traces (public data; licences in its README): loading and replaying them into Yjs documents. */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as Y from 'yjs';

/** `test/fixtures/traces`, inside the repository. */
export const TRACES_DIR = path.join(import.meta.dirname, '..', 'fixtures', 'traces');

export type Patch = [pos: number, del: number, ins: string];
export interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: { patches: Patch[] }[];
}
export interface ConcurrentTrace {
  kind: 'concurrent';
  endContent: string;
  numAgents: number;
  txns: { parents: number[]; agent: number; patches: Patch[] }[];
}

export function loadTrace<T = SequentialTrace | ConcurrentTrace>(name: string): T {
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(TRACES_DIR, `${name}.json.gz`))).toString('utf8')) as T;
}

export function traceNames(): string[] {
  return fs
    .readdirSync(TRACES_DIR)
    .filter((f) => f.endsWith('.json.gz'))
    .map((f) => f.slice(0, -'.json.gz'.length))
    .sort();
}

export function applyPatches(text: Y.XmlText | Y.Text, patches: Patch[]): void {
  for (const [pos, del, ins] of patches) {
    if (del > 0) text.delete(pos, del);
    if (ins.length > 0) text.insert(pos, ins);
  }
}

/**
 * Replays a concurrent trace the way its agents produced it: each transaction is applied
 * on its agent's document holding exactly the merge of its parents' states. Returns, in
 * trace order, the agent and the updates its document takes for that transaction: the
 * ancestors it had not seen yet (what it would have received), then its own edit. The
 * first entry is the shared empty paragraph every agent starts from.
 */
export function concurrentUpdates(trace: ConcurrentTrace, textOf: (doc: Y.Doc) => Y.XmlText): { agent: number; updates: Uint8Array[] }[] {
  const docs = Array.from({ length: trace.numAgents }, () => new Y.Doc());
  const applied = docs.map(() => new Set<number>());
  const updates: Uint8Array[] = [];
  const base = new Y.Doc();
  textOf(base);
  const baseUpdate = Y.encodeStateAsUpdate(base);
  for (const d of docs) Y.applyUpdate(d, baseUpdate);
  const out: { agent: number; updates: Uint8Array[] }[] = [];
  for (let a = 0; a < docs.length; a++) out.push({ agent: a, updates: [baseUpdate] });
  trace.txns.forEach((txn, i) => {
    const doc = docs[txn.agent]!;
    const have = applied[txn.agent]!;
    // Ancestors not yet on this agent's document (the set it holds is closed under parents).
    const missing: number[] = [];
    const stack = [...txn.parents];
    while (stack.length) {
      const p = stack.pop()!;
      if (have.has(p)) continue;
      have.add(p);
      missing.push(p);
      stack.push(...trace.txns[p]!.parents);
    }
    missing.sort((a, b) => a - b);
    for (const m of missing) Y.applyUpdate(doc, updates[m]!);
    let update: Uint8Array = new Uint8Array([0, 0]);
    const capture = (u: Uint8Array) => (update = u);
    doc.on('update', capture);
    doc.transact(() => applyPatches(textOf(doc), txn.patches));
    doc.off('update', capture);
    have.add(i);
    updates[i] = update;
    out.push({ agent: txn.agent, updates: [...missing.map((m) => updates[m]!), update] });
  });
  return out;
}
