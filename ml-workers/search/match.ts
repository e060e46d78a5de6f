/**
 * Why a hit matched: the words an engine highlighted (between MARK_START and MARK_END),
 * the fields they are in, and whether the query's own words matched or words within a typo
 * of them. Shared by the engines, so every backend explains its hits the same way.
 */
import { MARK_END, MARK_START, wholeWordMarks, type MatchField, type MatchKind, type SearchMatch } from './fulltext.js';

/** At most this many matched words are listed per hit. */
export const MAX_MATCH_TERMS = 10;

const WORD = /[\p{L}\p{N}]+/gu;

/** The words of a text as search compares them: runs of letters and digits, lower case. */
export function wordsOf(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** Function words no passage is found by (English: the language of the full-text configuration). */
export const STOPWORDS: ReadonlySet<string> = new Set(
  'a an and are as at be but by can do does for from had has have how i if in is it its me my no not of on or our so than that the their them then there these they this to was we were what when where which who why will with you your'.split(
    ' ',
  ),
);

/** The query's words that carry meaning (not function words), in order, without repeats. */
export function contentWords(q: string): string[] {
  return [...new Set(wordsOf(q).filter((w) => !STOPWORDS.has(w)))];
}

const MARKED = new RegExp(`${MARK_START}([^${MARK_END}]*)${MARK_END}`, 'g');

/** The highlighted words of an engine's marked text, lower case, without repeats. */
export function markedTerms(raw: string): string[] {
  const out = new Set<string>();
  for (const m of wholeWordMarks(raw).matchAll(MARKED)) {
    const t = (m[1] ?? '').trim().toLowerCase();
    if (t) out.add(t);
  }
  return [...out];
}

/**
 * Whether a document's word is the query word as written: the same word, or the word
 * with an ending (prefix search, or one stem: "revenue" → "revenues").
 */
function sameWord(term: string, queryWord: string): boolean {
  return term === queryWord || term.startsWith(queryWord) || (queryWord.startsWith(term) && term.length >= 3);
}

/**
 * `exact` when every highlighted word is one of the query's words as written (or that word
 * with an ending), `typo` when one of them is only close to a query word.
 */
export function kindOfTerms(terms: string[], q: string): MatchKind {
  const qw = wordsOf(q);
  return terms.every((t) => wordsOf(t).every((part) => qw.some((w) => sameWord(part, w)))) ? 'exact' : 'typo';
}

/** The match of a full-text hit from its marked title and snippet. */
export function explainMarks(parts: { title: string; text: string }, kind: MatchKind): SearchMatch {
  const fields: MatchField[] = [];
  const terms = new Set<string>();
  for (const field of ['title', 'text'] as const) {
    const found = markedTerms(parts[field]);
    if (found.length) fields.push(field);
    for (const t of found) terms.add(t);
  }
  return { kind, fields, terms: [...terms].slice(0, MAX_MATCH_TERMS) };
}

/**
 * A passage found by meaning, marked where it contains one of the query's content words,
 * and cropped to about `maxChars` around the first of them.
 */
export function markPassage(text: string, q: string, maxChars = 240): { raw: string; terms: string[] } {
  const wanted = new Set(contentWords(q).filter((w) => w.length >= 3));
  let first = -1;
  const terms = new Set<string>();
  const raw = text.replace(WORD, (w, offset: number) => {
    if (!wanted.has(w.normalize('NFKC').toLowerCase())) return w;
    if (first < 0) first = offset;
    terms.add(w.toLowerCase());
    return `${MARK_START}${w}${MARK_END}`;
  });
  if (raw.length <= maxChars) return { raw, terms: [...terms] };
  // Start a little before the first marked word, at a word boundary, and never split a mark.
  let start = first < 0 ? 0 : Math.max(0, first - 60);
  while (start > 0 && /\S/.test(text[start - 1]!)) start--;
  const rawStart = start === 0 ? 0 : positionInMarked(raw, start);
  let end = Math.min(raw.length, rawStart + maxChars);
  const open = raw.lastIndexOf(MARK_START, end);
  if (open >= rawStart && raw.indexOf(MARK_END, open) >= end) end = raw.indexOf(MARK_END, open) + 1;
  return { raw: `${rawStart > 0 ? '… ' : ''}${raw.slice(rawStart, end)}${end < raw.length ? ' …' : ''}`, terms: [...terms] };
}

/** Where offset `plain` of the unmarked text lies in the marked text. */
function positionInMarked(raw: string, plain: number): number {
  let seen = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === MARK_START || raw[i] === MARK_END) continue;
    if (seen === plain) return i;
    seen++;
  }
  return raw.length;
}
