/**
 * Folding stored state on the folding thread (`core/fold.ts`): the fold is the document the
 * rows make, bad rows are left out and named, and what the rows hold pending (items whose
 * dependencies are in no row yet) stays in the fold until its dependencies arrive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { foldRows, foldStored } from '../core/fold.js';

function rowsOf(build: (doc: Y.Doc) => void, clientID = 1): Uint8Array[] {
  const doc = new Y.Doc();
  doc.clientID = clientID;
  const rows: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => rows.push(u));
  build(doc);
  return rows;
}

test('the fold of snapshot and rows is the document they make, on the thread as inline', async () => {
  const [first, ...rest] = rowsOf((d) => {
    const t = d.getText('t');
    t.insert(0, 'hello');
    t.insert(5, ' world');
    t.delete(0, 1);
    d.getMap('m').set('k', 1);
  });
  const direct = new Y.Doc();
  [first!, ...rest].forEach((u) => Y.applyUpdate(direct, u));
  const rows = rest.map((data, i) => ({ seq: String(i + 2), data }));
  for (const fold of [foldRows(first!, rows), await foldStored(first!, rows)]) {
    assert.deepEqual(fold.bad, []);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, fold.state);
    assert.equal(doc.getText('t').toString(), 'ello world');
    assert.deepEqual(doc.getMap('m').toJSON(), { k: 1 });
  }
});

test('what is pending in the rows stays pending in the fold, and integrates when its dependency arrives', async () => {
  // Client 2 types after client 1's text; only client 2's row is stored.
  const base = new Y.Doc();
  base.clientID = 1;
  base.getText('t').insert(0, 'base ');
  const dependency = Y.encodeStateAsUpdate(base);
  const second = new Y.Doc();
  second.clientID = 2;
  Y.applyUpdate(second, dependency);
  const sv = Y.encodeStateVector(second);
  second.getText('t').insert(5, 'and more');
  second.getText('t').delete(0, 1); // a deletion of an item the store does not hold either
  const dependent = Y.encodeStateAsUpdate(second, sv);

  const fold = await foldStored(null, [{ seq: '1', data: dependent }]);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, fold.state);
  assert.equal(doc.getText('t').toString(), '', 'nothing integrates without the dependency');
  Y.applyUpdate(doc, dependency);
  assert.equal(doc.getText('t').toString(), 'ase and more');
});

test('a row that cannot be applied is left out and named; a snapshot that cannot is an error', async () => {
  const good = rowsOf((d) => d.getText('t').insert(0, 'ok'));
  const emptyDeleteRange = Uint8Array.from([0x00, 0x01, 0xb2, 0xf2, 0x19, 0x01, 0x05, 0x00]);
  const fold = await foldStored(null, [
    { seq: '1', data: good[0]! },
    { seq: '2', data: emptyDeleteRange },
  ]);
  assert.deepEqual(
    fold.bad.map((b) => [b.seq, b.problem.code]),
    [['2', 'empty_delete_range']],
  );
  const doc = new Y.Doc();
  Y.applyUpdate(doc, fold.state);
  assert.equal(doc.getText('t').toString(), 'ok');
  await assert.rejects(foldStored(Uint8Array.from([0xff, 0xff, 0xff]), []));
  // The thread survives a failed fold.
  assert.deepEqual((await foldStored(null, [{ seq: '1', data: good[0]! }])).bad, []);
});
