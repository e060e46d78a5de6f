/**
 * Meilisearch full-text index: one document per Quire document with its tenant and
 * readers; searches carry `tenantId = … AND readers IN [caller, *admin?]` as an engine
 * filter. Typo-tolerant. Writes wait for their task, so a worker acks only what is indexed.
 * Stored readers follow a permission change by the feed's latency; the search command
 * checks every hit against live access before answering.
 */
import { Meilisearch, type Index } from 'meilisearch';
import { IDENTITY_ENCODING, retryStaleConnection } from './engine-http.js';
import { ADMIN_READER, MARK_END, MEMBER_READER, MARK_START, markSnippet, type FullTextDocument, type FullTextIndex, type SearchHit, type SearchRequest } from './fulltext.js';
import { explainMarks, kindOfTerms, markedTerms, STOPWORDS } from './match.js';

interface MeiliDoc {
  id: string;
  tenantId: string;
  title: string;
  text: string;
  labels: string[];
  readers: string[];
}

const UUID = /^[0-9a-f-]{36}$/;

export class MeilisearchFullText implements FullTextIndex {
  readonly name = 'meilisearch';
  private constructor(private readonly index: Index<MeiliDoc>) {}

  static async open(opts: { url: string; apiKey?: string; indexName: string }): Promise<MeilisearchFullText> {
    const client = new Meilisearch({ host: opts.url, apiKey: opts.apiKey, requestInit: { headers: IDENTITY_ENCODING } });
    await client.createIndex(opts.indexName, { primaryKey: 'id' }).waitTask();
    const index = client.index<MeiliDoc>(opts.indexName);
    await index
      .updateSettings({
        searchableAttributes: ['title', 'text', 'labels'],
        filterableAttributes: ['tenantId', 'readers', 'labels'],
        displayedAttributes: ['id', 'title', 'text', 'labels'],
        // Without them a question ("what is for lunch") matched every document with "is" or
        // "for": on the relevance set, nDCG@10 of full-text search 0.51 → 0.60 with them
        // (bench/RESULTS.md, search relevance).
        stopWords: [...STOPWORDS],
      })
      .waitTask();
    return new MeilisearchFullText(index);
  }

  async upsert(doc: FullTextDocument): Promise<void> {
    const task = await this.index
      .addDocuments([{ id: doc.documentId, tenantId: doc.tenantId, title: doc.title, text: doc.text, labels: doc.labels, readers: [...doc.readers, ADMIN_READER] }])
      .waitTask();
    if (task.status !== 'succeeded') throw new Error(`meilisearch indexing failed: ${task.error?.message ?? task.status}`);
  }

  async remove(_tenantId: string, documentId: string): Promise<void> {
    const task = await this.index.deleteDocument(documentId).waitTask();
    if (task.status !== 'succeeded') throw new Error(`meilisearch delete failed: ${task.error?.message ?? task.status}`);
  }

  async search(req: SearchRequest): Promise<SearchHit[]> {
    // Ids are UUIDs (validated upstream); quoting is a second guard for the filter syntax.
    if (!UUID.test(req.tenantId) || !UUID.test(req.userId)) return [];
    const readers = [JSON.stringify(req.userId), ...(req.tenantAdmin ? [JSON.stringify(ADMIN_READER)] : []), ...(req.member ? [JSON.stringify(MEMBER_READER)] : [])];
    const res = await retryStaleConnection(() =>
      this.index.search(req.q, {
        filter: `tenantId = ${JSON.stringify(req.tenantId)} AND readers IN [${readers.join(', ')}]`,
        limit: req.limit,
        offset: req.offset ?? 0,
        attributesToCrop: ['text'],
        cropLength: 30,
        attributesToHighlight: ['text', 'title'],
        highlightPreTag: MARK_START,
        highlightPostTag: MARK_END,
        showRankingScore: true,
        // By default the last words may go unmatched (more results for "Exact words").
        matchingStrategy: req.allWords ? 'all' : 'last',
      }),
    );
    return res.hits.map((h) => {
      const marked = { title: h._formatted?.title ?? h.title, text: h._formatted?.text ?? h.text.slice(0, 200) };
      // Meilisearch does not say whether a typo was needed: compare the highlighted words with the query's.
      const kind = kindOfTerms([...markedTerms(marked.title), ...markedTerms(marked.text)], req.q);
      return { documentId: h.id, title: h.title, snippet: markSnippet(marked.text), score: h._rankingScore ?? 0, match: explainMarks(marked, kind) };
    });
  }

  async destroy(): Promise<void> {}
}
