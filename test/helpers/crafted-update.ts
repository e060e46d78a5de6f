/** Yjs updates whose integration is expensive, for the tests and the chaos run that attack it. */
import * as Y from 'yjs';

/**
 * `n` one-character insertions by `client` into the text `textName`, alternately at its
 * start (`chars[0]`) and its end (`chars[1]`): each its own item. Two such updates of
 * different clients, neither having seen the other, are concurrent at both ends, and
 * integrating the second scans the first at every item (20,000 each: about a minute in one
 * `Y.applyUpdate`).
 */
export function alternatingInsertions(client: number, n: number, textName = 't', chars: readonly [string, string] = ['x', 'x']): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = client;
  const text = doc.getText(textName);
  doc.transact(() => {
    for (let i = 0; i < n; i++) text.insert(i % 2 === 0 ? 0 : text.length, i % 2 === 0 ? chars[0] : chars[1]);
  });
  return Y.encodeStateAsUpdate(doc);
}
