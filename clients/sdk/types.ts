/** The public REST contract (v1) as TypeScript types. */

export type TenantRole = 'owner' | 'admin' | 'member' | 'guest';
export type PermissionLevel = 'read' | 'write' | 'admin';
export type SearchMode = 'fulltext' | 'semantic' | 'hybrid';

export interface SessionUser {
  id: string;
  email: string;
  tenantId: string;
  role: TenantRole;
}

export interface Session {
  accessToken: string;
  refreshToken: string;
  user: SessionUser;
}

export interface User {
  id: string;
  email: string;
  displayName: string | null;
  role: TenantRole;
  createdAt: string;
}

export interface Me extends User {
  tenantId: string;
  tenantName: string;
}

export interface DocumentMeta {
  id: string;
  title: string;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  /** The caller's own level on this document. */
  access: PermissionLevel;
}

export interface DocumentPage {
  documents: DocumentMeta[];
  nextCursor: string | null;
}

export interface Permission {
  userId: string;
  email: string;
  level: PermissionLevel;
}

export interface Classification {
  /** The label shown (a stable key), or null when the text is too short or the model unsure. */
  label: string | null;
  /** The label as people read it (the built-in `press` is `News & commentary`). */
  name: string | null;
  /** Why no label is shown. */
  reason: 'too_little_text' | 'low_confidence' | null;
  /** The model's own top label, shown or not, and its probability. */
  predicted: string;
  confidence: number;
  /** `default` (built-in) or `tenant:<classifier name>`. */
  model: string;
  version: string;
  classifiedAt: string;
}

export interface DocumentClassification extends Classification {
  all: Classification[];
}

/** Why a hit matched: the query's words as written (`exact`), words within a typo of them (`typo`), or meaning (`semantic`). */
export interface SearchMatch {
  kind: 'exact' | 'typo' | 'semantic';
  /** Where the words matched. */
  fields: ('title' | 'text')[];
  /** The document's words that matched, lower case. */
  terms: string[];
  /** Cosine similarity of the best passage to the query, when meaning contributed. */
  similarity?: number;
}

export interface SearchHit {
  documentId: string;
  title: string;
  /** HTML-escaped text with `<mark>` around matches. Use `snippetParts` to render it without innerHTML. */
  snippet: string;
  score: number;
  match: SearchMatch;
}

export interface SearchResult {
  hits: SearchHit[];
  mode: SearchMode;
  /** Names this search for `recordSearchClick`; null when the server could not log it. */
  searchId: string | null;
}

/** One query's figures over an analytics period (queries are counted trimmed, in lower case). */
export interface SearchQueryStats {
  query: string;
  searches: number;
  /** Searches of this query after which a result was opened. */
  clickedSearches: number;
  averageResults: number;
  lastSearchedAt: string;
}

/** A workspace's search analytics (owners and admins). */
export interface SearchAnalytics {
  days: number;
  from: string;
  to: string;
  /** Days searches are kept. */
  retentionDays: number;
  totals: { searches: number; noResults: number; clickedSearches: number; byMode: Record<SearchMode, number> };
  topQueries: SearchQueryStats[];
  noResultQueries: SearchQueryStats[];
}

/** Accuracy and macro-F1 on one side of a training split. */
export interface SplitMetrics {
  accuracy: number;
  macroF1: number;
}

/** One candidate model of a classifier version (`ngrams`, `combined`, `embedding`). */
export interface ClassifierCandidate {
  name: string;
  l2: number;
  validation: SplitMetrics;
  test: SplitMetrics | null;
  seconds: number;
  selected: boolean;
}

/** One version of a workspace classifier. */
export interface ClassifierStatus {
  id: string;
  name: string;
  version: number;
  status: 'queued' | 'training' | 'ready' | 'rejected' | 'failed';
  /** `quick`: the n-gram model is usable while every candidate trains; then `final`. */
  stage: 'quick' | 'final';
  active: boolean;
  pinned: boolean;
  source: 'examples' | 'documents';
  examples: number;
  labels: string[];
  /** Held-out (test) metrics of the selected candidate. */
  metrics: { accuracy: number; macroF1: number; heldOut: number; trainedOn: number } | null;
  selected: string | null;
  candidates: ClassifierCandidate[];
  split: { train: number; validation: number; test: number } | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  activatedAt: string | null;
}

/** A classifier name with its versions, newest first. */
export interface ClassifierSummary {
  name: string;
  activeVersion: number | null;
  pinned: boolean;
  workspaceDefault: boolean;
  versions: ClassifierStatus[];
}

export interface ClassifierPrediction {
  label: string;
  confidence: number;
  scores: Record<string, number>;
  /** Answered from the server's prediction cache. */
  cached: boolean;
}

/** A document's label for training a classifier. */
export interface DocumentLabel {
  classifier: string;
  label: string;
  labelledBy: string | null;
  updatedAt: string;
}

/** ProseMirror JSON as the content endpoints accept and return it. */
export interface ProseMirrorJson {
  type: string;
  attrs?: Record<string, unknown>;
  content?: ProseMirrorJson[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}
