/**
 * Attribution for the cold-load target (scenario 3): the Yjs work of loading the
 * automerge-paper document as Quire stores it (a snapshot plus a tail of up to 500 log
 * rows), in one process, repeated: the first iteration is what a process that never
 * handled a large document pays (JIT), the later ones what a warm server pays.
 * Usage: node --import tsx bench/load-breakdown.ts
 */
import * as Y from 'yjs';
import { loadTrace, type SequentialTrace } from '../test/helpers/traces.js';
const trace = loadTrace<SequentialTrace>('automerge-paper');
const doc = new Y.Doc();
const frag = doc.getXmlFragment('default');
const p = new Y.XmlElement('paragraph');
const t = new Y.XmlText();
p.insert(0, [t]);
frag.insert(0, [p]);
const tail: Uint8Array[] = [];
let snap: Uint8Array | null = null;
const N = trace.txns.length;
doc.on('update', (u: Uint8Array) => {
  if (snap) tail.push(u);
});
trace.txns.forEach((txn, i) => {
  if (i === N - 500) snap = Y.encodeStateAsUpdate(doc);
  doc.transact(() => {
    for (const [pos, del, ins] of txn.patches) {
      if (del) t.delete(pos, del);
      if (ins) t.insert(pos, ins);
    }
  });
});
console.log('snapshot', snap!.length, 'tail', tail.length);
for (let k = 0; k < 6; k++) {
  const t0 = performance.now();
  const d = new Y.Doc();
  d.transact(() => {
    Y.applyUpdate(d, snap!);
    for (const u of tail) Y.applyUpdate(d, u);
  });
  const t1 = performance.now();
  const merged = Y.mergeUpdates([snap!, ...tail]);
  const t2 = performance.now();
  const d2 = new Y.Doc();
  Y.applyUpdate(d2, merged);
  const t3 = performance.now();
  console.log(`individual ${(t1 - t0).toFixed(1)} | merge ${(t2 - t1).toFixed(1)} + apply ${(t3 - t2).toFixed(1)}`);
}
