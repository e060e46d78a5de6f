/**
 * Postgres full-text search (tsvector, English configuration), permission-joined at query
 * time, and typo-tolerant: each query word of 5 or more letters also matches the tenant's
 * words that look like it (pg_trgm similarity ≥ {@link TYPO_MIN_SIMILARITY} in
 * `search_vocabulary`), so "kubernets autoscalng" finds "Kubernetes autoscaling". Documents
 * with the query's own words rank first; typo matches follow.
 */
import { sql, type RawBuilder } from 'kysely';

import { withTenant, type Tx, type AppDb } from '../../db/store.js';
import { readableSql } from '../../core/access.js';
import { markSnippet, type FullTextDocument, type FullTextIndex, type SearchHit, type SearchRequest } from './fulltext.js';
import { explainMarks, wordsOf } from './match.js';

/**
 * Lowest trigram similarity at which a tenant's word stands in for a query word. Measured
 * on the relevance set (test/fixtures/search-relevance): misspellings score 0.50–0.64
 * against the word meant ("revnue"/"revenue" 0.50, "manger"/"manager" 0.50,
 * "autoscalng"/"autoscaling" 0.64), while the nearest wrong word scores below 0.30
 * ("revnue"/"review" 0.27). @default 0.4
 */
export const TYPO_MIN_SIMILARITY = 0.4;
/** Query words shorter than this match only as written (Meilisearch allows no typo below 5 letters either). @default 5 */
export const TYPO_MIN_LETTERS = 5;
/** Words a misspelled query word may stand for, most similar first. @default 16 */
export const TYPO_MAX_ALTERNATIVES = 16;
/** Query words looked up for typos; the rest match as written. @default 8 */
export const TYPO_MAX_WORDS = 8;
/** Distinct words of one document added to the tenant's vocabulary. @default 5000 */
export const VOCABULARY_MAX_WORDS_PER_DOCUMENT = 5000;

/** The distinct words of a document that typo-tolerant search can suggest (3–32 characters, with a letter). */
export function vocabularyOf(text: string): string[] {
  const out = new Set<string>();
  for (const w of wordsOf(text)) {
    if (w.length < 3 || w.length > 32 || !/\p{L}/u.test(w)) continue;
    out.add(w);
    if (out.size >= VOCABULARY_MAX_WORDS_PER_DOCUMENT) break;
  }
  return [...out];
}

/** The query's words with whether each is excluded (`-word`, as websearch_to_tsquery reads it). */
function queryTerms(q: string): { word: string; negated: boolean }[] {
  const out: { word: string; negated: boolean }[] = [];
  for (const m of q
    .normalize('NFKC')
    .toLowerCase()
    .matchAll(/(^|\s)(-?)([\p{L}\p{N}]+)|([\p{L}\p{N}]+)/gu)) {
    const word = m[3] ?? m[4];
    if (word) out.push({ word, negated: m[2] === '-' });
  }
  return out;
}

export class PostgresFullText implements FullTextIndex {
  readonly name = 'postgres';
  constructor(private readonly db: AppDb) {}

  async upsert(doc: FullTextDocument): Promise<void> {
    // A tsvector holds at most 1 MB (lexemes and positions): a text of many distinct words
    // is refused (program_limit_exceeded); its beginning is indexed instead.
    for (let body = doc.text, attempt = 0; ; attempt++) {
      try {
        return await this.write(doc, body);
      } catch (e) {
        if ((e as { code?: string }).code !== '54000' || attempt >= 4 || body.length === 0) throw e;
        body = body.slice(0, Math.floor(body.length / 2));
      }
    }
  }

  private async write(doc: FullTextDocument, body: string): Promise<void> {
    const words = vocabularyOf(`${doc.title}\n${body}`);
    await withTenant(this.db, doc.tenantId, async (tx) => {
      await tx
        .insertInto('search_documents')
        .values({ document_id: doc.documentId, tenant_id: doc.tenantId, title: doc.title, body, labels: doc.labels })
        .onConflict((oc) => oc.column('document_id').doUpdateSet({ title: doc.title, body, labels: doc.labels, updated_at: sql`now()` }))
        .execute();
      if (words.length) {
        await sql`
          insert into search_vocabulary (tenant_id, word)
          select ${doc.tenantId}::uuid, w from unnest(${words}::text[]) as w
          on conflict do nothing`.execute(tx);
      }
    });
  }

  async remove(tenantId: string, documentId: string): Promise<void> {
    await withTenant(this.db, tenantId, (tx) => tx.deleteFrom('search_documents').where('document_id', '=', documentId).execute());
  }

  async search(req: SearchRequest): Promise<SearchHit[]> {
    return withTenant(this.db, req.tenantId, async (tx) => {
      const typo = await this.typoQuery(tx, req.q);
      const exact = sql`websearch_to_tsquery('english', ${req.q})`;
      const any = typo ? sql`(${exact} || ${typo})` : exact;
      const rows = await sql<{ document_id: string; title: string; title_marked: string; snippet: string; exact: boolean; score: number }>`
        select s.document_id, s.title,
          ts_headline('english', s.title, q.any, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', HighlightAll=true') as title_marked,
          ts_headline('english', s.body, q.any, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxFragments=2, MaxWords=24, MinWords=8, FragmentDelimiter=" … "') as snippet,
          s.tsv @@ q.exact as exact,
          ts_rank(s.tsv, q.any)::float8 as score
        from search_documents s
        join documents d on d.id = s.document_id and d.deleted_at is null
        left join document_permissions p on p.document_id = s.document_id and p.user_id = ${req.userId}
        cross join (select ${exact} as exact, ${any} as any) q
        where s.tsv @@ q.any and ${readableSql({ document: 'd', grant: 'p', tenantAdmin: req.tenantAdmin, member: req.member ?? false })}
        order by exact desc, score desc, s.updated_at desc, s.document_id
        limit ${req.limit} offset ${req.offset ?? 0}`.execute(tx);
      return rows.rows.map((r) => ({
        documentId: r.document_id,
        title: r.title,
        snippet: markSnippet(r.snippet),
        score: Number(r.score),
        match: explainMarks({ title: r.title_marked, text: r.snippet }, r.exact ? 'exact' : 'typo'),
      }));
    });
  }

  /**
   * The query with each word of 5+ letters widened to the tenant's words within a typo of
   * it: `(w | alt1 | alt2) & …`, excluded words kept excluded. Null when no word has an
   * alternative (the exact query is then the whole query). Alternatives are looked up
   * whether or not the word itself occurs, so the answer does not reveal which words exist
   * in documents the caller cannot read.
   */
  private async typoQuery(tx: Tx, q: string): Promise<RawBuilder<unknown> | null> {
    const terms = queryTerms(q);
    const lookup = [...new Set(terms.filter((t) => !t.negated && t.word.length >= TYPO_MIN_LETTERS && t.word.length <= 32).map((t) => t.word))].slice(0, TYPO_MAX_WORDS);
    if (lookup.length === 0) return null;
    const found = await sql<{ term: string; word: string }>`
      select t.term, v.word
      from unnest(${lookup}::text[]) as t(term)
      cross join lateral (
        select x.word from search_vocabulary x
        where x.word % t.term and x.word <> t.term and similarity(x.word, t.term) >= ${TYPO_MIN_SIMILARITY}
        order by similarity(x.word, t.term) desc, x.word
        limit ${TYPO_MAX_ALTERNATIVES}
      ) v`.execute(tx);
    if (found.rows.length === 0) return null;
    const alternatives = new Map<string, string[]>();
    for (const r of found.rows) alternatives.set(r.term, [...(alternatives.get(r.term) ?? []), r.word]);
    const groups = terms.map(({ word, negated }) => {
      const one = (w: string) => sql`plainto_tsquery('english', ${w})`;
      if (negated) return sql`!! ${one(word)}`;
      return sql`(${sql.join([word, ...(alternatives.get(word) ?? [])].map(one), sql` || `)})`;
    });
    return sql`(${sql.join(groups, sql` && `)})`;
  }

  async destroy(): Promise<void> {}
}
