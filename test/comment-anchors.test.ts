/**
 * Comment anchors (core/comment-anchors.ts): the text map reads exactly the text REST
 * serves; an anchor made from offsets or from an editor's relative positions follows its
 * phrase through concurrent inserts and deletes on other replicas, widens with typing
 * inside it, and is detached (not lost) once its text is deleted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { anchorFromOffsets, anchorFromPositions, decodePosition, encodePosition, resolveAnchor, TextMap } from '../core/comment-anchors.js';
import { extractText, writeContent, type PMInput } from '../core/content.js';

const p = (...content: PMInput[]): PMInput => ({ type: 'paragraph', content });
const t = (text: string, marks?: { type: string }[]): PMInput => ({ type: 'text', text, ...(marks ? { marks } : {}) });

function docWith(json: PMInput): Y.Doc {
  const doc = new Y.Doc();
  writeContent(doc, { json }, 'replace');
  return doc;
}

/** Two replicas of one document, kept in step by hand. */
function replicas(json: PMInput): [Y.Doc, Y.Doc, () => void] {
  const a = docWith(json);
  const b = new Y.Doc();
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  const sync = () => {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
  };
  return [a, b, sync];
}

/** The XmlText of the n-th top-level paragraph. */
const para = (doc: Y.Doc, n: number) => (doc.getXmlFragment('default').get(n) as Y.XmlElement).get(0) as Y.XmlText;

const made = (r: ReturnType<typeof anchorFromOffsets>) => {
  assert.ok(typeof r !== 'string', String(r));
  return r;
};
const quoteOf = (doc: Y.Doc, a: { start: string; end: string }) => {
  const map = new TextMap(doc);
  const r = resolveAnchor(map, a.start, a.end);
  return r.detached ? null : map.text.slice(r.from!, r.to!);
};

test('the text map reads the same text as extractText, through headings, lists, tables, marks and hard breaks', () => {
  const doc = docWith({
    type: 'doc',
    content: [
      { type: 'heading', attrs: { level: 1 }, content: [t('Plan')] },
      p(t('One '), t('bold', [{ type: 'bold' }]), t(' two'), { type: 'hardBreak' }, t('after break')),
      p(),
      {
        type: 'bulletList',
        content: [
          { type: 'listItem', content: [p(t('first'))] },
          { type: 'listItem', content: [p(t('second'))] },
        ],
      },
      {
        type: 'table',
        content: [
          {
            type: 'tableRow',
            content: [
              { type: 'tableCell', content: [p(t('cell a'))] },
              { type: 'tableCell', content: [p(t('cell b'))] },
            ],
          },
        ],
      },
      p(t('end')),
    ],
  });
  const map = new TextMap(doc);
  assert.equal(map.text, extractText(doc));
  // Every phrase's offsets make an anchor that reads that phrase back.
  for (const phrase of ['Plan', 'bold', 'One bold two', 'after break', 'second', 'cell b', 'end', 'first\nsecond']) {
    const from = map.text.indexOf(phrase);
    const a = made(anchorFromOffsets(map, from, from + phrase.length));
    assert.equal(a.quote, phrase);
    assert.equal(quoteOf(doc, a), phrase);
  }
});

test('an anchor follows its phrase through concurrent inserts and deletes around it, widens with typing inside, and detaches when its text goes', () => {
  const [a, b, sync] = replicas({ type: 'doc', content: [p(t('The quick brown fox jumps.')), p(t('Second line.'))] });
  const map = new TextMap(a);
  const from = map.text.indexOf('brown fox');
  const anchor = made(anchorFromOffsets(map, from, from + 'brown fox'.length));

  // Concurrently: a inserts at the start and deletes "quick "; b types right after the phrase and before it.
  para(a, 0).insert(0, 'Today, ');
  para(a, 0).delete('Today, The '.length, 'quick '.length);
  const bText = para(b, 0);
  bText.insert('The quick brown fox'.length, ' (red)');
  bText.insert('The quick '.length, 'very ');
  sync();
  assert.equal(para(a, 0).toString(), para(b, 0).toString());
  assert.equal(extractText(a), 'Today, The very brown fox (red) jumps.\nSecond line.');
  // Typing at either edge stays outside: "very " went before the start, " (red)" after the end.
  assert.equal(quoteOf(a, anchor), 'brown fox');
  assert.equal(quoteOf(b, anchor), 'brown fox');

  // Typing inside widens it.
  para(b, 0).insert('Today, The very brown'.length, ' and grey');
  sync();
  assert.equal(quoteOf(a, anchor), 'brown and grey fox');

  // Part deleted: what is left of it.
  para(a, 0).delete('Today, The very '.length, 'brown and '.length);
  sync();
  assert.equal(quoteOf(b, anchor), 'grey fox');

  // All of it deleted: detached, not lost (the stored quote stays with the comment).
  para(b, 0).delete('Today, The very '.length, 'grey fox'.length);
  sync();
  assert.equal(quoteOf(a, anchor), null);
  assert.deepEqual(resolveAnchor(new TextMap(a), anchor.start, anchor.end), { from: null, to: null, detached: true });

  // A whole paragraph deleted detaches its anchors too.
  const m2 = new TextMap(a);
  const at = m2.text.indexOf('Second');
  const second = made(anchorFromOffsets(m2, at, at + 'Second line'.length));
  a.getXmlFragment('default').delete(1, 1);
  assert.equal(quoteOf(a, second), null);
});

test('an editor`s relative positions make an anchor; positions that are not into this document`s text are refused', () => {
  const doc = docWith({ type: 'doc', content: [p(t('Alpha beta gamma'))] });
  const text = para(doc, 0);
  const start = encodePosition(Y.createRelativePositionFromTypeIndex(text, 6));
  const end = encodePosition(Y.createRelativePositionFromTypeIndex(text, 10, -1));
  const a = anchorFromPositions(new TextMap(doc), start, end);
  assert.ok(typeof a !== 'string', String(a));
  assert.equal(a.quote, 'beta');

  const map = new TextMap(doc);
  // Reversed, empty, garbage, another root type, a position into another document.
  assert.equal(typeof anchorFromPositions(map, end, start), 'string');
  assert.equal(typeof anchorFromPositions(map, start, start), 'string');
  assert.equal(typeof anchorFromPositions(map, 'not base64!', end), 'string');
  assert.equal(typeof anchorFromPositions(map, Buffer.from([1, 2, 3]).toString('base64'), end), 'string');
  const otherRoot = encodePosition(Y.createRelativePositionFromTypeIndex(doc.getText('secret'), 0));
  assert.equal(decodePosition(otherRoot), null, 'a root type other than the document fragment is never resolved (it would be created)');
  const elsewhere = docWith({ type: 'doc', content: [p(t('Other text here'))] });
  const foreign = encodePosition(Y.createRelativePositionFromTypeIndex(para(elsewhere, 0), 2));
  assert.equal(typeof anchorFromPositions(map, foreign, end), 'string');

  // Offsets out of range or empty.
  for (const [f, to] of [
    [-1, 2],
    [3, 3],
    [5, 2],
    [0, 1000],
    [1.5, 3],
  ] as const) {
    assert.equal(typeof anchorFromOffsets(map, f, to), 'string', `${f}..${to}`);
  }
  // An empty document has no text to anchor on.
  assert.equal(typeof anchorFromOffsets(new TextMap(new Y.Doc()), 0, 1), 'string');
});

test('crafted positions never throw: items that are not types, clocks past the end, unknown clients', () => {
  const doc = docWith({ type: 'doc', content: [p(t('Some words to point at'))] });
  const map = new TextMap(doc);
  const text = para(doc, 0);
  const good = encodePosition(Y.createRelativePositionFromTypeIndex(text, 3));
  const client = doc.clientID;
  const crafted = [
    // A "type" that is a text item, a clock past what exists, a client that never wrote.
    new Y.RelativePosition(Y.createID(client, 5), null, null, 0),
    new Y.RelativePosition(null, null, Y.createID(client, 10_000), 0),
    new Y.RelativePosition(null, null, Y.createID(client + 1, 0), 0),
    new Y.RelativePosition(Y.createID(client, 10_000), null, null, 0),
  ];
  for (const pos of crafted) {
    const b64 = encodePosition(pos);
    assert.doesNotThrow(() => resolveAnchor(map, b64, good));
    assert.equal(typeof anchorFromPositions(map, b64, good), 'string');
  }
});
