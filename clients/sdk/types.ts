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
  label: string;
  confidence: number;
  model: string;
  version: string;
  classifiedAt: string;
}

export interface DocumentClassification extends Classification {
  all: Classification[];
}

export interface SearchHit {
  documentId: string;
  title: string;
  /** HTML-escaped text with `<mark>` around matches. Use `snippetParts` to render it without innerHTML. */
  snippet: string;
  score: number;
}

export interface SearchResult {
  hits: SearchHit[];
  mode: SearchMode;
}

export interface ClassifierStatus {
  id: string;
  name: string;
  status: string;
  labels: string[];
  metrics: { accuracy: number; macroF1: number } | null;
  [key: string]: unknown;
}

/** ProseMirror JSON as the content endpoints accept and return it. */
export interface ProseMirrorJson {
  type: string;
  attrs?: Record<string, unknown>;
  content?: ProseMirrorJson[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}
