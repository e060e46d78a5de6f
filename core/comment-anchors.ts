/**
 * Comment anchors: a range of the document's text held as two Yjs relative positions, so it
 * follows the text through every concurrent insert and delete around and inside it.
 *
 * The REST API speaks plain-text offsets (the text of `extractText`: blocks joined by `\n`,
 * a hard break as `\n`); editors speak relative positions made from their selection. This
 * module converts between the two over one read of the document: {@link TextMap} records,
 * while walking the fragment exactly as `extractText` does, where every run of characters of
 * every `Y.XmlText` lands in that text, and where each element's children start.
 *
 * Positions are made so that typing at either edge stays outside the range (the start
 * sticks to the first character, the end to the last) and typing inside it widens it. A
 * range whose text was deleted collapses to a point (or its block is gone): it is detached.
 */
import * as Y from 'yjs';
import { FRAGMENT, CONTAINERS, MAX_READ_DEPTH, ContentTooDeepError } from './content.js';

/** Longest encoded relative position accepted, in base64 characters. */
export const MAX_POSITION_CHARS = 512;

interface Run {
  /** Index in the Y.XmlText of the run's first character. */
  y: number;
  /** Offset in the plain text of that character. */
  text: number;
  length: number;
}

export class TextMap {
  text = '';
  /** Per Y.XmlText: its runs of string content, in order. */
  private readonly runs = new Map<Y.XmlText, Run[]>();
  /** Per element (and the fragment): the text offset where each child starts, plus the end. */
  private readonly childStarts = new Map<Y.AbstractType<unknown>, number[]>();
  /** Every run of the document in text order, for offset → position. */
  private readonly order: { type: Y.XmlText; run: Run }[] = [];

  constructor(readonly doc: Y.Doc) {
    const fragment = doc.getXmlFragment(FRAGMENT);
    const starts: number[] = [];
    let first = true;
    for (const n of fragment.toArray()) {
      starts.push(this.text.length);
      if (!(n instanceof Y.XmlElement || n instanceof Y.XmlText)) continue;
      this.block(n, 1, () => {
        if (!first) this.text += '\n';
        first = false;
      });
    }
    starts.push(this.text.length);
    this.childStarts.set(fragment as unknown as Y.AbstractType<unknown>, starts);
  }

  /** Walks a block as `blockLines` does; `line` opens a new line (a `\n` before all but the first). */
  private block(node: Y.XmlElement | Y.XmlText, depth: number, line: () => void): void {
    if (depth > MAX_READ_DEPTH) throw new ContentTooDeepError();
    if (node instanceof Y.XmlText) {
      line();
      this.inlineText(node);
      return;
    }
    const children = node.toArray();
    const starts: number[] = [];
    if (CONTAINERS.has(node.nodeName) || children.some((c) => c instanceof Y.XmlElement && CONTAINERS.has(c.nodeName))) {
      for (const c of children) {
        starts.push(this.text.length);
        if (c instanceof Y.XmlElement || c instanceof Y.XmlText) this.block(c, depth + 1, line);
      }
    } else {
      line();
      this.inline(node, depth, starts);
    }
    starts.push(this.text.length);
    if (starts.length === children.length + 1) this.childStarts.set(node as unknown as Y.AbstractType<unknown>, starts);
  }

  private inline(node: Y.XmlElement, depth: number, starts?: number[]): void {
    if (depth > MAX_READ_DEPTH) throw new ContentTooDeepError();
    const own: number[] = starts ?? [];
    for (const child of node.toArray()) {
      own.push(this.text.length);
      if (child instanceof Y.XmlText) this.inlineText(child);
      else if (child instanceof Y.XmlElement) {
        if (child.nodeName === 'hardBreak') this.text += '\n';
        else this.inline(child, depth + 1);
      }
    }
    if (!starts) {
      own.push(this.text.length);
      this.childStarts.set(node as unknown as Y.AbstractType<unknown>, own);
    }
  }

  private inlineText(t: Y.XmlText): void {
    const runs: Run[] = [];
    let y = 0;
    for (const op of t.toDelta() as { insert: unknown }[]) {
      if (typeof op.insert === 'string') {
        const run = { y, text: this.text.length, length: op.insert.length };
        runs.push(run);
        this.order.push({ type: t, run });
        this.text += op.insert;
        y += op.insert.length;
      } else {
        y += 1;
      }
    }
    this.runs.set(t, runs);
  }

  /**
   * The relative position of a text offset: as the start of a range (`'start'`: on the
   * character at the offset, or the next one) or its end (`'end'`: after the character before
   * it, or the previous one). Null when the document has no text on that side.
   */
  positionAt(offset: number, side: 'start' | 'end'): Y.RelativePosition | null {
    if (side === 'start') {
      for (const { type, run } of this.order) {
        if (run.text + run.length > offset && run.length > 0) return Y.createRelativePositionFromTypeIndex(type, run.y + Math.max(0, offset - run.text), 0);
      }
      return null;
    }
    for (let i = this.order.length - 1; i >= 0; i--) {
      const { type, run } = this.order[i]!;
      if (run.text < offset && run.length > 0) return Y.createRelativePositionFromTypeIndex(type, run.y + Math.min(run.length, offset - run.text), -1);
    }
    return null;
  }

  /** Where a relative position falls in the current text; null when its block is gone or it is not in this document's text. */
  offsetOf(pos: Y.RelativePosition): number | null {
    if (!inFragment(pos)) return null;
    let abs: Y.AbsolutePosition | null;
    try {
      abs = Y.createAbsolutePositionFromRelativePosition(pos, this.doc);
    } catch {
      // A crafted position naming an item that is not a type, or similar: not in this text.
      return null;
    }
    if (!abs) return null;
    if (abs.type instanceof Y.XmlText) {
      const runs = this.runs.get(abs.type);
      if (!runs) return null;
      for (const run of runs) if (abs.index <= run.y + run.length) return run.text + Math.max(0, abs.index - run.y);
      const last = runs[runs.length - 1];
      return last ? last.text + last.length : null;
    }
    const starts = this.childStarts.get(abs.type as Y.AbstractType<unknown>);
    return starts?.[Math.min(abs.index, starts.length - 1)] ?? null;
  }
}

/** Only positions into the `default` fragment resolve: a root name would make `doc.get` create that type. */
function inFragment(pos: Y.RelativePosition): boolean {
  if (pos.tname !== null) return pos.tname === FRAGMENT;
  return pos.type !== null || pos.item !== null;
}

export function encodePosition(pos: Y.RelativePosition): string {
  return Buffer.from(Y.encodeRelativePosition(pos)).toString('base64');
}

/** Decodes a base64 relative position; null when it is not one. */
export function decodePosition(b64: string): Y.RelativePosition | null {
  if (b64.length === 0 || b64.length > MAX_POSITION_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  try {
    const pos = Y.decodeRelativePosition(new Uint8Array(Buffer.from(b64, 'base64')));
    return inFragment(pos) ? pos : null;
  } catch {
    return null;
  }
}

export interface ResolvedAnchor {
  from: number | null;
  to: number | null;
  detached: boolean;
}

/** Where a stored anchor stands in the current text; detached when its text is gone. */
export function resolveAnchor(map: TextMap, start: string, end: string): ResolvedAnchor {
  const s = decodePosition(start);
  const e = decodePosition(end);
  const from = s ? map.offsetOf(s) : null;
  const to = e ? map.offsetOf(e) : null;
  if (from === null || to === null || to <= from) return { from: null, to: null, detached: true };
  return { from, to, detached: false };
}

/** An anchor made from text offsets (`from` < `to`), or why it cannot be. */
export function anchorFromOffsets(map: TextMap, from: number, to: number): { start: string; end: string; quote: string } | string {
  if (!(Number.isInteger(from) && Number.isInteger(to)) || from < 0 || to <= from) return '"from" and "to" must be whole numbers with 0 ≤ from < to';
  if (to > map.text.length) return `"to" is past the end of the text (${map.text.length} characters)`;
  const s = map.positionAt(from, 'start');
  const e = map.positionAt(to, 'end');
  if (!s || !e) return 'the range holds no text';
  const start = encodePosition(s);
  const end = encodePosition(e);
  const r = resolveAnchor(map, start, end);
  if (r.detached || r.from === null || r.to === null) return 'the range holds no text';
  return { start, end, quote: map.text.slice(r.from, r.to) };
}

/** An anchor from an editor's relative positions, checked against the document, or why it is refused. */
export function anchorFromPositions(map: TextMap, start: string, end: string): { start: string; end: string; quote: string } | string {
  if (!decodePosition(start) || !decodePosition(end)) return '"start" and "end" must be Yjs relative positions (base64) into this document';
  const r = resolveAnchor(map, start, end);
  if (r.detached || r.from === null || r.to === null) return 'the positions do not enclose any text of this document';
  return { start, end, quote: map.text.slice(r.from, r.to) };
}
