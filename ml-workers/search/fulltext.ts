/**
 * Full-text search port. Implementations: Postgres full-text (embedded profile, joins the
 * live permission table; typo-tolerant through the tenant's vocabulary and pg_trgm) and
 * Meilisearch (scaled, typo-tolerant; readers stored on each document). Every search is
 * filtered by tenant and by the caller's read access inside the engine query; the search
 * command then checks each hit against live access once more (stored readers lag a
 * permission change by the feed's latency).
 */
import type { SearchHit, SearchMatch } from '../../contract/api.js';

export interface FullTextDocument {
  tenantId: string;
  documentId: string;
  title: string;
  text: string;
  labels: string[];
  /** Users granted access explicitly, and {@link MEMBER_READER} for a template; tenant owners/admins read everything anyway. */
  readers: string[];
}

export interface SearchRequest {
  tenantId: string;
  userId: string;
  /** Owners and admins read every document of their tenant. */
  tenantAdmin: boolean;
  /** Members who are not guests read the tenant's templates (core/access.ts). @default false */
  member?: boolean;
  q: string;
  limit: number;
  /** Hits to skip (the next page of candidates). @default 0 */
  offset?: number;
  /**
   * Only documents with every query word (as written or within a typo). Postgres always
   * requires them; Meilisearch otherwise lets the last words go unmatched. @default false
   */
  allWords?: boolean;
}

/** A hit as the search API answers it (contract/api.ts): the indexes produce them directly. */
export type { SearchHit, SearchMatch } from '../../contract/api.js';
/** How a hit matched: the query's words as written, words within a typo of them, or meaning. */
export type MatchKind = SearchMatch['kind'];
export type MatchField = SearchMatch['fields'][number];

export interface FullTextIndex {
  readonly name: string;
  upsert(doc: FullTextDocument): Promise<void>;
  remove(tenantId: string, documentId: string): Promise<void>;
  search(req: SearchRequest): Promise<SearchHit[]>;
  destroy(): Promise<void>;
}

/** Readers marker that matches tenant owners and admins. */
export const ADMIN_READER = '*admin';
/** Readers marker of a template, which every member who is not a guest reads (the indexer adds it). */
export const MEMBER_READER = '*member';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Match markers engines wrap hits in (control characters never appear in indexed text). */
export const MARK_START = String.fromCharCode(1);
export const MARK_END = String.fromCharCode(2);

const MARK_INSIDE_WORD = new RegExp(`${MARK_END}([\\p{L}\\p{N}]+)`, 'gu');

/**
 * Moves each end marker to the end of its word: an engine may mark only the part of a word
 * the query matched (Meilisearch marks "autoscalin" of "autoscaling" for "autoscalng").
 */
export function wholeWordMarks(raw: string): string {
  return raw.replace(MARK_INSIDE_WORD, `$1${MARK_END}`);
}

/** Escapes text that carries match markers \u0001…\u0002, then turns the markers into <mark>. */
export function markSnippet(raw: string): string {
  return escapeHtml(wholeWordMarks(raw)).split(MARK_START).join('<mark>').split(MARK_END).join('</mark>');
}
