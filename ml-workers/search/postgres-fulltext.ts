/** Postgres full-text search (tsvector, English config), permission-joined at query time. */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { withTenant } from '../../db/store.js';
import { markSnippet, type FullTextDocument, type FullTextIndex, type SearchHit, type SearchRequest } from './fulltext.js';

export class PostgresFullText implements FullTextIndex {
  readonly name = 'postgres';
  constructor(private readonly db: Kysely<Database>) {}

  async upsert(doc: FullTextDocument): Promise<void> {
    await withTenant(this.db, doc.tenantId, async (tx) => {
      await tx
        .insertInto('search_documents')
        .values({ document_id: doc.documentId, tenant_id: doc.tenantId, title: doc.title, body: doc.text, labels: doc.labels })
        .onConflict((oc) => oc.column('document_id').doUpdateSet({ title: doc.title, body: doc.text, labels: doc.labels, updated_at: sql`now()` }))
        .execute();
    });
  }

  async remove(tenantId: string, documentId: string): Promise<void> {
    await withTenant(this.db, tenantId, (tx) => tx.deleteFrom('search_documents').where('document_id', '=', documentId).execute());
  }

  async search(req: SearchRequest): Promise<SearchHit[]> {
    return withTenant(this.db, req.tenantId, async (tx) => {
      const rows = await sql<{ document_id: string; title: string; snippet: string; score: number }>`
        select s.document_id, s.title,
          ts_headline('english', s.body, q, 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || ', MaxFragments=2, MaxWords=24, MinWords=8, FragmentDelimiter=" … "') as snippet,
          ts_rank(s.tsv, q)::float8 as score
        from search_documents s
        join documents d on d.id = s.document_id and d.deleted_at is null
        left join document_permissions p on p.document_id = s.document_id and p.user_id = ${req.userId}
        cross join websearch_to_tsquery('english', ${req.q}) q
        where s.tsv @@ q and (${req.tenantAdmin} or p.level is not null)
        order by score desc, s.updated_at desc
        limit ${req.limit}`.execute(tx);
      return rows.rows.map((r) => ({ documentId: r.document_id, title: r.title, snippet: markSnippet(r.snippet), score: Number(r.score) }));
    });
  }

  async destroy(): Promise<void> {}
}
