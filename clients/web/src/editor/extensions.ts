/**
 * The document schema's extensions: what a Quire document can hold (headings, lists, task
 * lists, tables, code with highlighting, links, marks, alignment). The collaborative editor
 * adds editing aids to these; the public read-only page uses them as they are.
 */
import type { Extensions } from '@tiptap/core';
import Link from '@tiptap/extension-link';
import { TaskItem, TaskList } from '@tiptap/extension-list';
import { TableKit } from '@tiptap/extension-table';
import TextAlign from '@tiptap/extension-text-align';
import StarterKit from '@tiptap/starter-kit';
import { HighlightedCodeBlock, highlighter } from './highlighting.js';

export function contentExtensions(): Extensions {
  return [
    StarterKit.configure({ undoRedo: false, codeBlock: false, link: false }),
    // Typing at a link's end, or pressing Enter there, does not carry the link on.
    Link.extend({ inclusive: () => false }).configure({
      openOnClick: false,
      autolink: true,
      linkOnPaste: true,
      defaultProtocol: 'https',
      HTMLAttributes: { rel: 'noopener noreferrer nofollow', target: '_blank' },
    }),
    // Grammars arrive on demand (see highlighting.ts); highlights are remembered.
    HighlightedCodeBlock.configure({ lowlight: highlighter, HTMLAttributes: { spellcheck: 'false' } }),
    TableKit.configure({ table: { resizable: false } }),
    TaskList,
    TaskItem.configure({ nested: true }),
    TextAlign.configure({ types: ['heading', 'paragraph'] }),
  ];
}
