/**
 * Ranking pieces of the search pipeline that do not depend on an engine: the similarity
 * floor of meaning search, a document's best passage, semantic hits with their snippet and
 * explanation, and reciprocal-rank fusion for hybrid search.
 */
import { markSnippet, type SearchHit } from './fulltext.js';
import { markPassage } from './match.js';
import type { VectorHit } from './vectors.js';

/**
 * Passages less similar to the query than this (cosine, USE-lite) are not results of
 * meaning search. Chosen on the labelled set in test/fixtures/search-relevance
 * (`npm run bench:relevance` prints the figures, bench/RESULTS.md records them): nonsense
 * queries reach at most 0.33 against any document, while the answers of the meaning
 * queries score 0.37–0.67; the floor sits between (0.33 would keep the same answers with
 * no margin; 0.37 loses answers). A one-word query such as "revenue" scores at most 0.32
 * against every document, so meaning search leaves it to full text.
 * @default 0.35
 */
export const SEMANTIC_MIN_SIMILARITY = 0.35;

/** Reciprocal-rank fusion constant (the usual k = 60 of Cormack et al.). @default 60 */
export const RRF_K = 60;

/** Semantic hits arrive per passage; a document ranks by its best one. */
export function bestChunkPerDocument(hits: VectorHit[]): VectorHit[] {
  const best = new Map<string, VectorHit>();
  for (const h of hits) if (!best.has(h.documentId) || best.get(h.documentId)!.score < h.score) best.set(h.documentId, h);
  return [...best.values()].sort((a, b) => b.score - a.score);
}

/** A document found by meaning, with its best passage as the snippet (query words marked). */
export function semanticHit(hit: VectorHit, title: string, q: string): SearchHit {
  const passage = markPassage(hit.text, q);
  return {
    documentId: hit.documentId,
    title,
    snippet: markSnippet(passage.raw),
    score: hit.score,
    match: { kind: 'semantic', fields: ['text'], terms: passage.terms.slice(0, 10), similarity: hit.score },
  };
}

/**
 * Reciprocal-rank fusion: a document's score is the sum of 1/(k + rank) over the lists.
 * A document in several lists keeps the first list's snippet and explanation (full-text
 * snippets mark the query's words) and the similarity the semantic list found.
 */
export function reciprocalRankFusion(lists: SearchHit[][], k = RRF_K): SearchHit[] {
  const fused = new Map<string, SearchHit>();
  for (const list of lists) {
    list.forEach((hit, rank) => {
      const prev = fused.get(hit.documentId);
      const add = 1 / (k + rank + 1);
      if (!prev) {
        fused.set(hit.documentId, { ...hit, score: add });
        return;
      }
      const similarity = prev.match.similarity ?? hit.match.similarity;
      fused.set(hit.documentId, { ...prev, score: prev.score + add, match: similarity === undefined ? prev.match : { ...prev.match, similarity } });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score);
}
