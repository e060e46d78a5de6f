/**
 * The blocks and formats the editor offers, once: the slash menu, the toolbar and the
 * bubble menu all read this list, so a label, its icon and its shortcut agree everywhere.
 */
import type { Editor, Range } from '@tiptap/core';
import {
  AlignCenter,
  AlignJustify,
  AlignLeft,
  AlignRight,
  Bold,
  Code,
  CodeXml,
  Heading1,
  Heading2,
  Heading3,
  Italic,
  List,
  ListChecks,
  ListOrdered,
  Minus,
  Pilcrow,
  Strikethrough,
  Table,
  TextQuote,
  Underline,
  type LucideIcon,
} from 'lucide-react';

const mac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);
/** A shortcut as this platform writes it: `Mod-Shift-8` → `Ctrl+Shift+8` (or `⌘+Shift+8`). */
export function shortcutLabel(keys: string): string {
  return keys
    .split('-')
    .map((k) => (k === 'Mod' ? (mac ? '⌘' : 'Ctrl') : k === 'Alt' && mac ? '⌥' : k))
    .join('+');
}

export interface Block {
  id: string;
  label: string;
  /** Words the slash menu also matches. */
  keywords: string;
  icon: LucideIcon;
  shortcut?: string;
  /** What typing at the start of a line does the same (markdown shortcuts). */
  markdown?: string;
  run: (editor: Editor, range?: Range) => void;
  isActive?: (editor: Editor) => boolean;
}

/** Starts a chain that first removes the typed `/query` when the slash menu runs a block. */
const chain = (editor: Editor, range?: Range) => (range ? editor.chain().focus().deleteRange(range) : editor.chain().focus());

export const BLOCKS: Block[] = [
  { id: 'paragraph', label: 'Text', keywords: 'paragraph plain body', icon: Pilcrow, shortcut: 'Mod-Alt-0', run: (e, r) => chain(e, r).setParagraph().run(), isActive: (e) => e.isActive('paragraph') },
  {
    id: 'h1',
    label: 'Heading 1',
    keywords: 'title big h1',
    icon: Heading1,
    shortcut: 'Mod-Alt-1',
    markdown: '#',
    run: (e, r) => chain(e, r).setHeading({ level: 1 }).run(),
    isActive: (e) => e.isActive('heading', { level: 1 }),
  },
  {
    id: 'h2',
    label: 'Heading 2',
    keywords: 'subtitle h2',
    icon: Heading2,
    shortcut: 'Mod-Alt-2',
    markdown: '##',
    run: (e, r) => chain(e, r).setHeading({ level: 2 }).run(),
    isActive: (e) => e.isActive('heading', { level: 2 }),
  },
  {
    id: 'h3',
    label: 'Heading 3',
    keywords: 'h3 small heading',
    icon: Heading3,
    shortcut: 'Mod-Alt-3',
    markdown: '###',
    run: (e, r) => chain(e, r).setHeading({ level: 3 }).run(),
    isActive: (e) => e.isActive('heading', { level: 3 }),
  },
  {
    id: 'bullets',
    label: 'Bulleted list',
    keywords: 'ul unordered bullets',
    icon: List,
    shortcut: 'Mod-Shift-8',
    markdown: '-',
    run: (e, r) => chain(e, r).toggleBulletList().run(),
    isActive: (e) => e.isActive('bulletList'),
  },
  {
    id: 'numbers',
    label: 'Numbered list',
    keywords: 'ol ordered numbers',
    icon: ListOrdered,
    shortcut: 'Mod-Shift-7',
    markdown: '1.',
    run: (e, r) => chain(e, r).toggleOrderedList().run(),
    isActive: (e) => e.isActive('orderedList'),
  },
  {
    id: 'tasks',
    label: 'Task list',
    keywords: 'todo checklist checkbox',
    icon: ListChecks,
    shortcut: 'Mod-Shift-9',
    markdown: '[ ]',
    run: (e, r) => chain(e, r).toggleTaskList().run(),
    isActive: (e) => e.isActive('taskList'),
  },
  {
    id: 'quote',
    label: 'Quote',
    keywords: 'blockquote citation',
    icon: TextQuote,
    shortcut: 'Mod-Shift-B',
    markdown: '>',
    run: (e, r) => chain(e, r).toggleBlockquote().run(),
    isActive: (e) => e.isActive('blockquote'),
  },
  {
    id: 'code',
    label: 'Code block',
    keywords: 'pre snippet program',
    icon: CodeXml,
    shortcut: 'Mod-Alt-C',
    markdown: '```',
    run: (e, r) => chain(e, r).toggleCodeBlock().run(),
    isActive: (e) => e.isActive('codeBlock'),
  },
  {
    id: 'table',
    label: 'Table',
    keywords: 'grid rows columns',
    icon: Table,
    run: (e, r) => chain(e, r).insertTable({ rows: 3, cols: 3, withHeaderRow: true }).run(),
    isActive: (e) => e.isActive('table'),
  },
  { id: 'rule', label: 'Divider', keywords: 'horizontal rule hr line separator', icon: Minus, markdown: '---', run: (e, r) => chain(e, r).setHorizontalRule().run() },
];

export interface Format {
  id: string;
  label: string;
  icon: LucideIcon;
  shortcut: string;
  run: (editor: Editor) => void;
  isActive: (editor: Editor) => boolean;
}

export const FORMATS: Format[] = [
  { id: 'bold', label: 'Bold', icon: Bold, shortcut: 'Mod-B', run: (e) => e.chain().focus().toggleBold().run(), isActive: (e) => e.isActive('bold') },
  { id: 'italic', label: 'Italic', icon: Italic, shortcut: 'Mod-I', run: (e) => e.chain().focus().toggleItalic().run(), isActive: (e) => e.isActive('italic') },
  { id: 'underline', label: 'Underline', icon: Underline, shortcut: 'Mod-U', run: (e) => e.chain().focus().toggleUnderline().run(), isActive: (e) => e.isActive('underline') },
  { id: 'strike', label: 'Strikethrough', icon: Strikethrough, shortcut: 'Mod-Shift-S', run: (e) => e.chain().focus().toggleStrike().run(), isActive: (e) => e.isActive('strike') },
  { id: 'code', label: 'Inline code', icon: Code, shortcut: 'Mod-E', run: (e) => e.chain().focus().toggleCode().run(), isActive: (e) => e.isActive('code') },
];

export const ALIGNMENTS: Format[] = [
  { id: 'left', label: 'Align left', icon: AlignLeft, shortcut: 'Mod-Shift-L', run: (e) => e.chain().focus().setTextAlign('left').run(), isActive: (e) => e.isActive({ textAlign: 'left' }) },
  { id: 'center', label: 'Align center', icon: AlignCenter, shortcut: 'Mod-Shift-E', run: (e) => e.chain().focus().setTextAlign('center').run(), isActive: (e) => e.isActive({ textAlign: 'center' }) },
  { id: 'right', label: 'Align right', icon: AlignRight, shortcut: 'Mod-Shift-R', run: (e) => e.chain().focus().setTextAlign('right').run(), isActive: (e) => e.isActive({ textAlign: 'right' }) },
  { id: 'justify', label: 'Justify', icon: AlignJustify, shortcut: 'Mod-Shift-J', run: (e) => e.chain().focus().setTextAlign('justify').run(), isActive: (e) => e.isActive({ textAlign: 'justify' }) },
];

/** Tooltip text: the label with its shortcut, e.g. "Bold (Ctrl+B)". */
export function tip(item: { label: string; shortcut?: string; markdown?: string }): string {
  const parts = [item.shortcut && shortcutLabel(item.shortcut), item.markdown && `type ${item.markdown} and a space`].filter(Boolean);
  return parts.length ? `${item.label} (${parts.join(', or ')})` : item.label;
}

/** Blocks whose label or keywords contain every word of `query`. */
export function matchBlocks(query: string): Block[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return BLOCKS.filter((b) => words.every((w) => `${b.label} ${b.keywords}`.toLowerCase().includes(w)));
}
