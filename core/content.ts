/**
 * Document content in the shapes users see it: plain text and ProseMirror JSON, read from
 * and written to the `Y.XmlFragment` named `default` that Tiptap/ProseMirror
 * (y-prosemirror) edits. Text extraction joins blocks with `\n`.
 */
import * as Y from 'yjs';
import { z } from 'zod';

export const FRAGMENT = 'default';

/** Nodes that hold other blocks rather than inline content. */
export const CONTAINERS = new Set(['blockquote', 'bulletList', 'orderedList', 'listItem', 'taskList', 'taskItem', 'table', 'tableRow', 'tableCell', 'tableHeader', 'details', 'detailsContent']);

/**
 * Deepest nesting the readers below walk. Writes refuse content past `MAX_NESTING_DEPTH`
 * (core/update-validation.ts); a document stored deeper before that limit existed is
 * refused by the readers with a clear error instead of overflowing the stack.
 */
export const MAX_READ_DEPTH = 128;

/** A document nests elements deeper than the readers walk. */
export class ContentTooDeepError extends Error {
  readonly code = 'document_too_deep';
  constructor() {
    super(`The document nests blocks more than ${MAX_READ_DEPTH} levels deep and cannot be read as text or JSON`);
    this.name = 'ContentTooDeepError';
  }
}

function guardDepth(depth: number): void {
  if (depth > MAX_READ_DEPTH) throw new ContentTooDeepError();
}

function inlineText(node: Y.XmlElement, depth: number): string {
  guardDepth(depth);
  let out = '';
  for (const child of node.toArray()) {
    if (child instanceof Y.XmlText) {
      for (const op of child.toDelta() as { insert: unknown }[]) if (typeof op.insert === 'string') out += op.insert;
    } else if (child instanceof Y.XmlElement) {
      out += child.nodeName === 'hardBreak' ? '\n' : inlineText(child, depth + 1);
    }
  }
  return out;
}

function blockLines(node: Y.XmlElement | Y.XmlText, depth = 1): string[] {
  guardDepth(depth);
  if (node instanceof Y.XmlText) return [node.toString()];
  if (CONTAINERS.has(node.nodeName) || node.toArray().some((c) => c instanceof Y.XmlElement && CONTAINERS.has(c.nodeName))) {
    return node.toArray().flatMap((c) => (c instanceof Y.XmlElement || c instanceof Y.XmlText ? blockLines(c, depth + 1) : []));
  }
  return [inlineText(node, depth)];
}

/** Plain text of the document: one line per block. */
export function extractText(doc: Y.Doc): string {
  const fragment = doc.getXmlFragment(FRAGMENT);
  return fragment
    .toArray()
    .flatMap((n) => (n instanceof Y.XmlElement || n instanceof Y.XmlText ? blockLines(n, 1) : []))
    .join('\n');
}

/** Text split into blocks, for chunking and indexing. */
export function extractBlocks(doc: Y.Doc): string[] {
  return extractText(doc).split('\n');
}

export interface PMMark {
  type: string;
  attrs?: Record<string, unknown>;
}
export interface PMNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: PMNode[];
  text?: string;
  marks?: PMMark[];
}

function textNodes(t: Y.XmlText): PMNode[] {
  const out: PMNode[] = [];
  for (const op of t.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]) {
    if (typeof op.insert !== 'string' || op.insert.length === 0) continue;
    const node: PMNode = { type: 'text', text: op.insert };
    if (op.attributes && Object.keys(op.attributes).length > 0) {
      node.marks = Object.entries(op.attributes).map(([type, attrs]) =>
        attrs && typeof attrs === 'object' && Object.keys(attrs).length > 0 ? { type, attrs: attrs as Record<string, unknown> } : { type },
      );
    }
    out.push(node);
  }
  return out;
}

function elementJSON(el: Y.XmlElement, depth = 1): PMNode {
  guardDepth(depth);
  const node: PMNode = { type: el.nodeName };
  const attrs = el.getAttributes();
  if (Object.keys(attrs).length > 0) node.attrs = attrs as Record<string, unknown>;
  const content = el.toArray().flatMap((c) => (c instanceof Y.XmlText ? textNodes(c) : c instanceof Y.XmlElement ? [elementJSON(c, depth + 1)] : []));
  if (content.length > 0) node.content = content;
  return node;
}

/** ProseMirror JSON (`{type:"doc", content:[...]}`) of the document. */
export function toProseMirrorJSON(doc: Y.Doc): PMNode {
  const fragment = doc.getXmlFragment(FRAGMENT);
  const content = fragment.toArray().flatMap((c) => (c instanceof Y.XmlElement ? [elementJSON(c)] : c instanceof Y.XmlText ? textNodes(c) : []));
  return { type: 'doc', content };
}

const MAX_DEPTH = 32;
const NodeName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/);
const Mark = z.strictObject({ type: NodeName, attrs: z.record(z.string(), z.unknown()).optional() });
export type PMInput = { type: string; attrs?: Record<string, unknown>; content?: PMInput[]; text?: string; marks?: PMMark[] };
export const ProseMirrorNode: z.ZodType<PMInput> = z.lazy(() =>
  z.strictObject({
    type: NodeName,
    attrs: z.record(z.string(), z.unknown()).optional(),
    content: z.array(ProseMirrorNode).max(100_000).optional(),
    text: z.string().optional(),
    marks: z.array(Mark).max(32).optional(),
  }),
);

function depth(n: PMInput): number {
  return 1 + Math.max(0, ...(n.content ?? []).map(depth));
}

/** Checks what zod cannot express cheaply: nesting depth and text-node shape. */
export function validateProseMirror(root: PMInput): string | null {
  if (root.type !== 'doc') return 'the root node must have type "doc"';
  if (depth(root) > MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH} levels`;
  const bad = (n: PMInput): boolean => (n.type === 'text' ? typeof n.text !== 'string' || n.content !== undefined : n.text !== undefined || (n.content ?? []).some(bad));
  return (root.content ?? []).some(bad) ? 'text nodes need "text" and no "content"; other nodes no "text"' : null;
}

function buildChildren(nodes: PMInput[]): (Y.XmlElement | Y.XmlText)[] {
  const out: (Y.XmlElement | Y.XmlText)[] = [];
  let run: Y.XmlText | null = null;
  // Not yet in a document, the text cannot report its length (Yjs warns); count it here.
  let runLength = 0;
  for (const n of nodes) {
    if (n.type === 'text') {
      if (!run) {
        run = new Y.XmlText();
        runLength = 0;
      }
      // Always an object: without one, Yjs gives inserted text the marks of the text before it.
      const attrs = Object.fromEntries((n.marks ?? []).map((m) => [m.type, m.attrs ?? {}]));
      run.insert(runLength, n.text ?? '', attrs);
      runLength += (n.text ?? '').length;
      if (!out.includes(run)) out.push(run);
    } else {
      run = null;
      const el = new Y.XmlElement(n.type);
      for (const [k, v] of Object.entries(n.attrs ?? {})) el.setAttribute(k, v as string);
      el.insert(0, buildChildren(n.content ?? []));
      out.push(el);
    }
  }
  return out;
}

function paragraphs(text: string): PMInput[] {
  return text.split('\n').map((line) => (line.length ? { type: 'paragraph', content: [{ type: 'text', text: line }] } : { type: 'paragraph' }));
}

/** Replaces or appends content in the document's fragment (call inside a transaction). */
export function writeContent(doc: Y.Doc, input: { text?: string; json?: PMInput }, mode: 'replace' | 'append'): void {
  const fragment = doc.getXmlFragment(FRAGMENT);
  const nodes = input.json ? (input.json.content ?? []) : paragraphs(input.text ?? '');
  if (mode === 'replace' && fragment.length > 0) fragment.delete(0, fragment.length);
  fragment.insert(fragment.length, buildChildren(nodes));
}

/** A Yjs update that creates a document holding `text`, one paragraph per line. */
export function initialUpdateFromText(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.transact(() => writeContent(doc, { text }, 'replace'));
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}
