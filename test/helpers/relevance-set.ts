/** The labelled search set in test/fixtures/search-relevance (documents, graded queries, nonsense queries). */
import fs from 'node:fs';
import path from 'node:path';

export interface RelevanceDocument {
  id: string;
  title: string;
  text: string;
}

export interface RelevanceQuery {
  q: string;
  kind: 'exact' | 'typo' | 'semantic';
  /** Graded relevance by document id: 3 the answer, 2 relevant, 1 marginal; absent = 0. */
  relevant: Record<string, number>;
}

const DIR = path.resolve(import.meta.dirname, '../fixtures/search-relevance');
const read = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8')) as T;

export function relevanceSet(): { documents: RelevanceDocument[]; queries: RelevanceQuery[]; nonsense: string[] } {
  return { documents: read('documents.json'), queries: read('queries.json'), nonsense: read('nonsense.json') };
}
