/**
 * Full-text search port. Implementations: Postgres full-text (embedded profile, joins the
 * live permission table) and Meilisearch (scaled, typo-tolerant; readers stored on each
 * document). Every search is filtered by tenant and by the caller's read access inside
 * the engine query — never after.
 */
export interface FullTextDocument {
  tenantId: string;
  documentId: string;
  title: string;
  text: string;
  labels: string[];
  /** Users granted access explicitly; tenant owners/admins read everything anyway. */
  readers: string[];
}

export interface SearchRequest {
  tenantId: string;
  userId: string;
  /** Owners and admins read every document of their tenant. */
  tenantAdmin: boolean;
  q: string;
  limit: number;
}

export interface SearchHit {
  documentId: string;
  title: string;
  /** Plain text, HTML-escaped, with matches wrapped in `<mark>…</mark>`. */
  snippet: string;
  score: number;
}

export interface FullTextIndex {
  readonly name: string;
  upsert(doc: FullTextDocument): Promise<void>;
  remove(tenantId: string, documentId: string): Promise<void>;
  search(req: SearchRequest): Promise<SearchHit[]>;
  destroy(): Promise<void>;
}

/** Readers marker that matches tenant owners and admins. */
export const ADMIN_READER = '*admin';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Match markers engines wrap hits in (control characters never appear in indexed text). */
export const MARK_START = String.fromCharCode(1);
export const MARK_END = String.fromCharCode(2);

/** Escapes text that carries match markers \u0001…\u0002, then turns the markers into <mark>. */
export function markSnippet(raw: string): string {
  return escapeHtml(raw).split(MARK_START).join('<mark>').split(MARK_END).join('</mark>');
}
