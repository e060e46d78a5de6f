/**
 * SentencePiece-style (unigram, Viterbi) tokenizer for Universal Sentence Encoder lite.
 *
 * The model was trained on ids from an 8k SentencePiece vocabulary (`vocab.json`: an array of
 * `[piece, logProbability]`, id = position). Encoding picks the segmentation of the text that
 * maximises the sum of piece scores. This implementation produces the same ids as the reference
 * tokenizer shipped with the tfjs USE model (tensorflow/tfjs-models `universal-sentence-encoder`),
 * including its quirks, which the model's vectors are defined by:
 *
 * - the text is NFKC-normalised, `▁` (U+2581) is prepended and every space becomes `▁`;
 * - ids 0–5 (unknown, `<s>`, `</s>`, three extra ids) are never produced by matching;
 * - a piece whose score is `null` in the vocabulary (a handful containing `:`) scores 0;
 * - when several vocabulary entries have the same text, the last one wins;
 * - at a position where no piece starts, one code point becomes the unknown id 0 with score 0,
 *   and runs of consecutive unknown ids are merged into one;
 * - candidate paths are compared with the reference's exact rule (a later candidate replaces
 *   the best one when it scores at least as well, or when the best score so far is exactly 0).
 *
 * Unlike the reference (which copies the remaining text at every position, O(n²) in characters),
 * the lattice is built by walking a code-point trie from each position. Pieces are at most a few
 * code points long, so encoding is linear in the length of the text.
 *
 * Before encoding, whitespace runs (newlines, tabs, NBSP, …) are collapsed to one space and the
 * text is trimmed ({@link normaliseText}); the reference does neither, so it is fed the
 * normalised text when comparing.
 */

/** One vocabulary entry as stored in `vocab.json`: the piece and its log-probability (`null` = 0). */
export type VocabularyEntry = readonly [piece: string, score: number | null];

/** Ids reserved for the unknown piece and control symbols; never produced by matching. */
const RESERVED_IDS = 6;
/** Id of the unknown piece. */
export const UNKNOWN_ID = 0;
/** The SentencePiece word-boundary marker. */
const BOUNDARY = 0x2581;
const SPACE = 0x20;

/**
 * Normalises text the way the embedder feeds it to the tokenizer: Unicode NFKC, every run of
 * whitespace (spaces, tabs, newlines, NBSP, …) collapsed to a single space, ends trimmed.
 */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').replace(/\s+/gu, ' ').trim();
}

/**
 * Trie over code points, stored in flat arrays. Node 0 is the root; each node has a map from
 * code point to child node, and the id/score of the vocabulary piece ending there (id -1: none).
 */
class PieceTrie {
  private readonly children: Map<number, number>[] = [new Map()];
  private readonly ids: number[] = [-1];
  private readonly scores: number[] = [0];
  private readonly lengths: number[] = [0];

  insert(piece: string, id: number, score: number): void {
    let node = 0;
    let length = 0;
    for (const ch of piece) {
      const cp = ch.codePointAt(0) ?? 0;
      const edges = this.children[node] as Map<number, number>;
      let next = edges.get(cp);
      if (next === undefined) {
        next = this.children.length;
        this.children.push(new Map());
        this.ids.push(-1);
        this.scores.push(0);
        this.lengths.push(length + 1);
        edges.set(cp, next);
      }
      node = next;
      length++;
    }
    if (node === 0) return; // empty piece: nothing to match
    this.ids[node] = id;
    this.scores[node] = score;
  }

  /**
   * Calls `visit(id, score, length)` for every piece that starts at `codePoints[start]`, shortest
   * first. Returns false when none does.
   */
  matchAt(codePoints: Int32Array, start: number, visit: (id: number, score: number, length: number) => void): boolean {
    let node = 0;
    let found = false;
    for (let i = start; i < codePoints.length; i++) {
      const next = (this.children[node] as Map<number, number>).get(codePoints[i] as number);
      if (next === undefined) break;
      node = next;
      const id = this.ids[node] as number;
      if (id >= 0) {
        found = true;
        visit(id, this.scores[node] as number, this.lengths[node] as number);
      }
    }
    return found;
  }
}

/** Text → USE-lite token ids. Construct once per vocabulary; {@link UseTokenizer.encode} is reentrant. */
export class UseTokenizer {
  private readonly trie = new PieceTrie();
  /** Length in code points of every piece, by id (the unknown id counts as one code point). */
  private readonly pieceLengths: Int32Array;

  /** @param vocabulary The parsed `vocab.json`: `[piece, score]` per id. */
  constructor(vocabulary: readonly VocabularyEntry[]) {
    if (!Array.isArray(vocabulary) || vocabulary.length <= RESERVED_IDS) {
      throw new Error(`USE vocabulary must have more than ${RESERVED_IDS} entries`);
    }
    this.pieceLengths = new Int32Array(vocabulary.length);
    this.pieceLengths[UNKNOWN_ID] = 1;
    for (let id = RESERVED_IDS; id < vocabulary.length; id++) {
      const entry = vocabulary[id];
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (typeof entry[1] !== 'number' && entry[1] !== null)) {
        throw new Error(`USE vocabulary entry ${id} is not [string, number | null]`);
      }
      const [piece, score] = entry;
      this.pieceLengths[id] = [...piece].length;
      this.trie.insert(piece, id, score ?? 0);
    }
  }

  /**
   * Token ids of `text` (normalised with {@link normaliseText} first). Empty or whitespace-only
   * text gives no ids. Linear in the length of the text.
   */
  encode(text: string): Int32Array {
    if (typeof text !== 'string') throw new TypeError(`expected a string, got ${typeof text}`);
    const normalised = normaliseText(text);
    if (normalised.length === 0) return new Int32Array(0);

    // Code points of `▁` + text with spaces as `▁`.
    const codePoints = new Int32Array(normalised.length + 1);
    let n = 0;
    codePoints[n++] = BOUNDARY;
    for (const ch of normalised) {
      const cp = ch.codePointAt(0) ?? 0;
      codePoints[n++] = cp === SPACE ? BOUNDARY : cp;
    }
    const symbols = codePoints.subarray(0, n);

    // Viterbi, forward. best[i]/last[i]: score of the best path covering symbols[0, i) and the id
    // of its last piece. Starts are visited in increasing order, so every update of best[end]
    // happens after best[start] is final and in the same order as in the reference.
    const best = new Float64Array(n + 1);
    const last = new Int32Array(n + 1);
    let start = 0;
    const relax = (id: number, score: number, length: number): void => {
      const end = start + length;
      const candidate = score + (best[start] as number);
      const current = best[end] as number;
      if (current === 0 || candidate >= current) {
        best[end] = candidate;
        last[end] = id;
      }
    };
    for (; start < n; start++) {
      if (!this.trie.matchAt(symbols, start, relax)) relax(UNKNOWN_ID, 0, 1);
    }

    // Backward: follow the last pieces from the end, then reverse, merging runs of unknown ids.
    const reversed: number[] = [];
    for (let end = n; end > 0;) {
      const id = last[end] as number;
      if (!(id === UNKNOWN_ID && reversed[reversed.length - 1] === UNKNOWN_ID)) reversed.push(id);
      end -= this.pieceLengths[id] as number;
    }
    const ids = new Int32Array(reversed.length);
    for (let i = 0; i < reversed.length; i++) ids[i] = reversed[reversed.length - 1 - i] as number;
    return ids;
  }
}
