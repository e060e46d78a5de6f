/**
 * The web editor's code highlighting (clients/web/src/editor/highlighting.ts), in Node: the
 * grammars fetched on demand give the same classes as lowlight with its `common` set, the
 * code block's decorations are those the stock extension computes, blocks are highlighted
 * again when grammars arrive, and remembered highlights are bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getSchema } from '@tiptap/core';
import type { Node as PMNode } from '@tiptap/pm/model';
import { EditorState, TextSelection } from '@tiptap/pm/state';
import { common, createLowlight } from 'lowlight';
import { contentExtensions } from '../clients/web/src/editor/extensions.js';
import { AUTO_DETECT, codeHighlightPlugin, createHighlighter } from '../clients/web/src/editor/highlighting.js';

const SAMPLE = [
  '#include <stdio.h>',
  'import os, sys  # a comment',
  'const answer: number = 42; // the answer',
  'def f(x): return x * 2',
  'fn main() { let s = "text"; println!("{}", s); }',
  'SELECT id, name FROM users WHERE id = 1;',
  '<div class="x"><script>let y = 1;</script><style>p { color: red }</style></div>',
  'key: value',
  '  - item',
  '$ echo "$HOME" | grep -v x',
  '>>> print("hi")',
].join('\n');

const reference = createLowlight(common);

test('every language highlights as lowlight with its common grammars does', async () => {
  const h = createHighlighter();
  const names = reference.listLanguages();
  assert.deepEqual([...h.listLanguages()].sort(), [...names].sort(), 'the same languages can be highlighted');
  await h.preload(names);
  for (const name of names) assert.deepEqual(h.highlight(name, SAMPLE), reference.highlight(name, SAMPLE), name);
  for (const alias of ['js', 'ts', 'py', 'rs', 'sh', 'html', 'yml', 'JS']) assert.deepEqual(h.highlight(alias, SAMPLE), reference.highlight(alias, SAMPLE), alias);
  assert.deepEqual(h.highlightAuto(SAMPLE), reference.highlightAuto(SAMPLE, { subset: AUTO_DETECT }), 'auto-detection among AUTO_DETECT');
});

test('a language is plain text until its grammar arrives, then listeners hear of it', async () => {
  const h = createHighlighter();
  assert.ok(h.registered('python') && h.registered('py') && h.registered('PY'), 'known before it is loaded');
  assert.ok(!h.registered('no-such-language'), "!h.registered('no-such-language')");
  const arrived = new Promise<void>((resolve) => h.onGrammars(resolve));
  const before = h.highlight('py', 'def f(): pass');
  assert.deepEqual(before.children, [{ type: 'text', value: 'def f(): pass' }]);
  await arrived;
  assert.deepEqual(h.highlight('py', 'def f(): pass'), reference.highlight('py', 'def f(): pass'));
  // HTML embeds CSS and JavaScript: they arrive with it.
  await new Promise<void>((resolve) => {
    h.onGrammars(resolve);
    h.highlight('html', '<p>x</p>');
  });
  const html = '<script>const a = 1;</script><style>p { color: red }</style>';
  assert.deepEqual(h.highlight('html', html), reference.highlight('html', html));
});

test('highlights are remembered, within bounds', async () => {
  const h = createHighlighter();
  await h.preload(['typescript']);
  const first = h.highlight('typescript', 'let a = 0;');
  assert.equal(h.highlight('typescript', 'let a = 0;'), first, 'the same (language, text) is not highlighted again');
  for (let i = 1; i <= 1000; i++) h.highlight('typescript', `let a = ${i};`);
  assert.notEqual(h.highlight('typescript', 'let a = 0;'), first, 'the oldest was dropped');
  assert.deepEqual(h.highlight('typescript', 'let a = 0;'), first);
});

/** The stock extension's decorations: each code block highlighted by lowlight, one per classed run of text. */
function stockDecorations(doc: PMNode): string[] {
  type Hast = { type: string; value?: string; children?: Hast[]; properties?: { className?: string[] } };
  const runs = (nodes: Hast[], classes: string[]): { text: string; classes: string[] }[] =>
    nodes.flatMap((n) => (n.children ? runs(n.children, [...classes, ...(n.properties?.className ?? [])]) : [{ text: n.value ?? '', classes }]));
  const out: string[] = [];
  doc.descendants((node, pos) => {
    if (node.type.name !== 'codeBlock') return true;
    let from = pos + 1;
    const root = reference.highlight(node.attrs.language as string, node.textContent);
    for (const r of runs(root.children as Hast[], [])) {
      if (r.classes.length) out.push(`${from}-${from + r.text.length} ${r.classes.join(' ')}`);
      from += r.text.length;
    }
    return false;
  });
  return out;
}

function decorations(state: EditorState, plugin: ReturnType<typeof codeHighlightPlugin>): string[] {
  return (plugin.getState(state)?.find() ?? []).map((d) => `${d.from}-${d.to} ${(d as unknown as { type: { attrs: { class: string } } }).type.attrs.class}`);
}

test('code blocks get the stock extension’s decorations, and again when grammars arrive', async () => {
  const schema = getSchema(contentExtensions());
  const block = (language: string, text: string) => ({ type: 'codeBlock', attrs: { language }, content: [{ type: 'text', text }] });
  const doc = schema.nodeFromJSON({
    type: 'doc',
    content: [
      { type: 'paragraph', content: [{ type: 'text', text: 'Intro' }] },
      block('rust', 'fn main() { let s = "text"; } // done'),
      { type: 'bulletList', content: [{ type: 'listItem', content: [block('python', 'def f(x): return x  # twice')] }] },
      block('html', '<p class="a">x</p><script>let y = 1;</script>'),
    ],
  });
  const h = createHighlighter();
  const plugin = codeHighlightPlugin('codeBlock', h, null);
  let state = EditorState.create({ doc, plugins: [plugin] });
  assert.deepEqual(decorations(state, plugin), [], 'nothing until the grammars arrive');
  await h.preload(['rust', 'python', 'html']);
  state = state.apply(state.tr.setMeta(plugin, true));
  const expected = stockDecorations(doc);
  assert.ok(expected.length > 20, 'expected.length > 20');
  assert.deepEqual(decorations(state, plugin), expected);

  // A change outside code keeps them (mapped); typing in a block computes them again.
  state = state.apply(state.tr.insertText('!', 2));
  assert.deepEqual(decorations(state, plugin), stockDecorations(state.doc));
  let inRust = -1;
  state.doc.descendants((n, pos) => {
    if (n.type.name === 'codeBlock' && n.attrs.language === 'rust') inRust = pos + 1;
    return inRust < 0;
  });
  const typed = state.tr.setSelection(TextSelection.create(state.doc, inRust));
  state = state.apply(typed.insertText('pub '));
  assert.deepEqual(decorations(state, plugin), stockDecorations(state.doc));
});
