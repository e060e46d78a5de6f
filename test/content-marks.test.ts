/** ProseMirror JSON written into a document reads back the same: marks stay on their own text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { toProseMirrorJSON, writeContent, type PMNode } from '../core/content.js';

function roundTrip(content: PMNode[]): PMNode[] {
  const doc = new Y.Doc();
  doc.transact(() => writeContent(doc, { json: { type: 'doc', content } }, 'replace'));
  return toProseMirrorJSON(doc).content ?? [];
}

test('marks do not leak onto the text after them, and differing marks side by side are kept apart', () => {
  const paragraph: PMNode = {
    type: 'paragraph',
    content: [
      { type: 'text', text: 'Ship the editor and ' },
      { type: 'text', text: 'measure', marks: [{ type: 'bold' }] },
      { type: 'text', text: ' what ' },
      { type: 'text', text: 'users', marks: [{ type: 'link', attrs: { href: 'https://example.com/u' } }, { type: 'italic' }] },
      { type: 'text', text: ' see', marks: [{ type: 'italic' }] },
      { type: 'text', text: '.' },
    ],
  };
  assert.deepEqual(roundTrip([paragraph]), [paragraph]);
});
