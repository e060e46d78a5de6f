/**
 * Slicing a Yjs update (`sync/update-slices.ts`): applied in order, the slices of any
 * update give the same document as the update itself, into an empty document or one that
 * already holds concurrent edits; and the sizer shrinks at once on a costly slice.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { SliceSizer, UpdateSlicer } from '../sync/update-slices.js';
import { checkUpdate } from '../core/update-validation.js';
import { createRng } from '../ml-workers/classifier/train.js';

/** Random edits of every kind of shared type: text with formatting, arrays, maps, XML. */
function edit(doc: Y.Doc, random: () => number, steps: number): void {
  const text = doc.getText('text');
  const arr = doc.getArray<unknown>('array');
  const map = doc.getMap<unknown>('map');
  const xml = doc.getXmlFragment('default');
  for (let i = 0; i < steps; i++) {
    const r = random();
    doc.transact(() => {
      if (r < 0.35) text.insert(Math.floor(random() * (text.length + 1)), 'abcdef'.slice(0, 1 + Math.floor(random() * 5)), random() < 0.2 ? { bold: true } : undefined);
      else if (r < 0.5 && text.length > 2) {
        const at = Math.floor(random() * (text.length - 1));
        text.delete(at, 1 + Math.floor(random() * Math.min(4, text.length - at - 1)));
      } else if (r < 0.6 && text.length > 2) text.format(0, Math.floor(random() * text.length), { italic: random() < 0.5 ? true : null });
      else if (r < 0.7) arr.insert(Math.floor(random() * (arr.length + 1)), [i, { n: i }, new Uint8Array([i & 255])]);
      else if (r < 0.75 && arr.length > 0) arr.delete(Math.floor(random() * arr.length));
      else if (r < 0.85) map.set(`k${Math.floor(random() * 8)}`, random() < 0.5 ? i : new Y.Map());
      else {
        const p = new Y.XmlElement('paragraph');
        xml.insert(Math.floor(random() * (xml.length + 1)), [p]);
        p.insert(0, [new Y.XmlText(`para ${i}`)]);
        if (random() < 0.3 && xml.length > 1) xml.delete(0);
      }
    });
  }
}

function snapshot(doc: Y.Doc): unknown {
  return {
    text: doc.getText('text').toDelta(),
    array: doc.getArray('array').toJSON(),
    map: doc.getMap('map').toJSON(),
    xml: doc.getXmlFragment('default').toString(),
    sv: [...Y.decodeStateVector(Y.encodeStateVector(doc)).entries()].sort(),
  };
}

function applySliced(doc: Y.Doc, update: Uint8Array, sizes: () => number): number {
  const slicer = new UpdateSlicer(Y.decodeUpdate(update));
  let n = 0;
  for (let slice = slicer.take(sizes()); slice; slice = slicer.take(sizes())) {
    assert.equal(checkUpdate(slice), null, 'every slice passes the checks a stored row must pass');
    Y.applyUpdate(doc, slice);
    n++;
  }
  assert.ok(slicer.done, 'slicer.done is set');
  return n;
}

test('slices applied in order give the same document as the whole update', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const random = createRng(seed);
    // Three clients edit concurrently, then exchange: the update carries several clients,
    // deletions of each other's items, and (merged from diffs) gaps between clocks.
    const docs = [1, 2, 3].map((c) => {
      const d = new Y.Doc({ gc: seed % 2 === 0 });
      d.clientID = seed * 10 + c;
      return d;
    });
    edit(docs[0]!, random, 30);
    for (const d of docs.slice(1)) Y.applyUpdate(d, Y.encodeStateAsUpdate(docs[0]!));
    docs.forEach((d) => edit(d, random, 40));
    const base = Y.encodeStateAsUpdate(docs[1]!);
    const update = Y.mergeUpdates([Y.encodeStateAsUpdate(docs[0]!), Y.diffUpdate(Y.encodeStateAsUpdate(docs[2]!), Y.encodeStateVector(docs[0]!))]);

    const whole = new Y.Doc();
    Y.applyUpdate(whole, base);
    Y.applyUpdate(whole, update);
    for (const sizes of [() => 1, () => 7, () => 1 + Math.floor(random() * 50), () => 10_000]) {
      const sliced = new Y.Doc();
      Y.applyUpdate(sliced, base);
      applySliced(sliced, update, sizes);
      assert.deepEqual(snapshot(sliced), snapshot(whole), `seed ${seed}`);
      assert.equal(sliced.store.pendingStructs, null);
      assert.equal(sliced.store.pendingDs, null);
    }
    // Into an empty document too, where what the update references of the base stays pending.
    const fromEmpty = new Y.Doc();
    applySliced(fromEmpty, update, () => 5);
    Y.applyUpdate(fromEmpty, base);
    assert.deepEqual(snapshot(fromEmpty), snapshot(whole), `seed ${seed} from empty`);
  }
});

test('an update of deletions only, and an empty update', () => {
  const doc = new Y.Doc();
  doc.getText('t').insert(0, 'hello world');
  const sv = Y.encodeStateVector(doc);
  const before = Y.encodeStateAsUpdate(doc);
  doc.getText('t').delete(0, 6);
  const deletes = Y.encodeStateAsUpdate(doc, sv);
  const target = new Y.Doc();
  Y.applyUpdate(target, before);
  assert.equal(
    applySliced(target, deletes, () => 3),
    1,
  );
  assert.equal(target.getText('t').toString(), 'world');
  const empty = new UpdateSlicer(Y.decodeUpdate(Y.encodeStateAsUpdate(new Y.Doc())));
  assert.equal(empty.take(10), null);
  assert.ok(empty.done, 'empty.done is set');
});

test('the slice size grows while slices are cheap and drops at once when one is not', () => {
  const sizer = new SliceSizer({ initial: 32, min: 1, max: 256, targetMs: 4 });
  sizer.record(32, 0.1);
  assert.equal(sizer.size, 64);
  for (let i = 0; i < 10; i++) sizer.record(sizer.size, 0.1);
  assert.equal(sizer.size, 256);
  // 256 structs took 512 ms (2 ms each): the next slice is what fits in 4 ms.
  sizer.record(256, 512);
  assert.equal(sizer.size, 2);
  sizer.record(2, 400);
  assert.equal(sizer.size, 1);
  sizer.record(1, 0.01);
  assert.equal(sizer.size, 2);
  // A short last slice says nothing about a full one: no growth from it.
  sizer.record(1, 0.01);
  assert.equal(sizer.size, 2);
});
