/**
 * The public REST contract (v1) as TypeScript types: what `/api/v1/*` accepts (request
 * bodies and query parameters) and what it answers. The server's commands return these
 * types and its body schemas are checked against them at compile time
 * (`server/http/validate.ts`); the SDK re-exports them (`clients/sdk/types.ts`). Types only:
 * nothing here exists at run time.
 *
 * Timestamps are ISO 8601 text (UTC, milliseconds); ids are UUIDs. Errors are
 * `{ "error": { "code", "message", "details"? } }` with a code from `./errors.ts`.
 */

export type TenantRole = 'owner' | 'admin' | 'member' | 'guest';
/**
 * A caller's level on a document, lowest first: `read` reads it and its comments,
 * `comment` also comments (starts threads, replies, resolves) but never changes the text,
 * `write` edits, `admin` also shares and deletes.
 */
export type PermissionLevel = 'read' | 'comment' | 'write' | 'admin';
/**
 * What a document gives every member of its workspace who is not a guest and has its
 * address ("anyone in the workspace with the link"): nothing, `read`, `comment` or `write`, on top of
 * their own grant and role (the higher counts). It does not list the document for them or
 * make it searchable; once they opened it, it is in their recently viewed list.
 */
export type LinkAccess = 'none' | 'read' | 'comment' | 'write';
/** How a search ranks: `fulltext` (exact words, typo-tolerant), `semantic` (meaning, by embeddings) or `hybrid` (both, fused). */
export type SearchMode = 'fulltext' | 'semantic' | 'hybrid';
/** How `GET /api/v1/documents/:id/content` answers: plain text, ProseMirror JSON or the Yjs state (bytes). */
export type ContentFormat = 'text' | 'json' | 'yjs';

// ---- auth -----------------------------------------------------------------------------

/** `POST /api/v1/auth/signup`: a new workspace (`tenant`, its name) with its first owner. */
export interface SignupRequest {
  tenant: string;
  email: string;
  password: string;
}

/** `POST /api/v1/auth/login`. */
export interface LoginRequest {
  email: string;
  password: string;
}

/** `POST /api/v1/auth/refresh`: rotates the pair; the token presented is used up. */
export interface RefreshRequest {
  refreshToken: string;
}

/** `POST /api/v1/auth/logout`: revokes the refresh token's whole family (204). */
export type LogoutRequest = RefreshRequest;

/** The signed-in user as a session carries it. */
export interface SessionUser {
  id: string;
  email: string;
  tenantId: string;
  role: TenantRole;
}

/** What signup, login, refresh and a password change answer. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  user: SessionUser;
}

// `POST /api/v1/auth/logout-all` (signed in, no body, 204) ends every session of the caller,
// this one included: every refresh token of the user is revoked, access tokens issued before
// are refused at once (401 `session_revoked`) and live sync sockets close with
// `4401 session_revoked`.

// ---- account (the caller's own) --------------------------------------------------------

/** `PATCH /api/v1/me`: the caller's display name (trimmed, 1–80 characters), or null to clear it. Answers `Me`. */
export interface UpdateMeRequest {
  displayName: string | null;
}

/**
 * `POST /api/v1/me/password`: answers a new `Session` for the device that asked; every other
 * session of the user ends (as with `logout-all`). Refusals: 403 `wrong_password` (the
 * current password is not right), 400 `password_unchanged` (the new one is the current one),
 * 400 `weak_password` (too easy to guess, `details` is a `PasswordStrength`).
 */
export interface ChangePasswordRequest {
  currentPassword: string;
  newPassword: string;
}

/**
 * The `details` of a `weak_password` error: the estimator's score (0–4; 3 is the least
 * accepted), what makes the password weak (null when nothing in particular) and how to do better.
 */
export interface PasswordStrength {
  score: number;
  warning: string | null;
  suggestions: string[];
}

// ---- sessions (signed-in devices) ------------------------------------------------------

/** How a session was started. */
export type SessionMethod = 'signup' | 'password' | 'sso' | 'invitation' | 'password_reset';

/**
 * A signed-in device. Live sessions only: not signed out and used within the refresh
 * token's lifetime. `lastUsedAt` moves at each token refresh (every few minutes while the
 * app is open), `ip` is where it signed in, `lastIp` where it last refreshed.
 */
export interface SessionInfo {
  id: string;
  method: SessionMethod;
  /** The sign-in passed a second factor. */
  mfa: boolean;
  userAgent: string | null;
  ip: string | null;
  lastIp: string | null;
  createdAt: string;
  lastUsedAt: string;
  /** The session of the token that asked. */
  current: boolean;
}

/**
 * `GET /api/v1/me/sessions` (the caller's), `GET /api/v1/users/:id/sessions` (owners and
 * admins). `DELETE /api/v1/me/sessions/:id` signs one out (204; 404 `session_not_found`),
 * `DELETE /api/v1/me/sessions` every one but the caller's (answers `EndedSessions`),
 * `DELETE /api/v1/users/:id/sessions` (owners and admins) every one of that user (204).
 * A session that ends cannot refresh, its access tokens are refused (401 `session_revoked`)
 * and its live sockets close (`4401 session_revoked`) within seconds.
 */
export interface SessionList {
  sessions: SessionInfo[];
}

/** `POST /api/v1/me/sessions/end-others`: how many other sessions were ended. */
export interface EndedSessions {
  ended: number;
}

// ---- two-factor sign-in (TOTP) ---------------------------------------------------------

/**
 * The `details` of a login's 401 `mfa_required` (the user has two-factor sign-in: send a code
 * with `POST /api/v1/auth/mfa`) or `mfa_enrollment_required` (the workspace requires it and
 * the user has none: enrol with `POST /api/v1/auth/mfa/enrol` then `/auth/mfa/enrol/confirm`).
 * A challenge lives five minutes, takes five wrong codes and is used once (401
 * `invalid_mfa_challenge` after that: sign in again).
 */
export interface MfaChallenge {
  challenge: string;
  expiresAt: string;
}

/**
 * `POST /api/v1/auth/mfa`: a 6-digit code from the authenticator app, or one of the
 * recovery codes (each works once). Answers `Session`; a wrong or already used code is 401
 * `invalid_mfa_code`.
 */
export interface MfaVerifyRequest {
  challenge: string;
  code: string;
}

/** `POST /api/v1/auth/mfa/enrol` (with an enrolment challenge): answers `MfaEnrolment`. */
export interface MfaChallengeRequest {
  challenge: string;
}

/**
 * A secret to enrol: `otpauthUri` is what an authenticator app reads from a QR code; the
 * secret (base 32) is for typing it in by hand.
 */
export interface MfaEnrolment {
  secret: string;
  otpauthUri: string;
}

/** `POST /api/v1/auth/mfa/enrol/confirm` ({challenge, code}): two-factor sign-in is on, the session starts. */
export interface MfaEnrolled extends Session {
  /** Ten one-time recovery codes, shown this once. */
  recoveryCodes: string[];
}

/**
 * `GET /api/v1/me/mfa`. The account page enrols with `POST /api/v1/me/mfa/enrol` (answers
 * `MfaEnrolment`) and `POST /api/v1/me/mfa/confirm` (`MfaCodeRequest`, answers
 * `RecoveryCodes`); `POST /api/v1/me/mfa/recovery-codes` (a code from the app) makes ten new
 * ones; `DELETE /api/v1/me/mfa` (a code or a recovery code) turns it off — 403
 * `mfa_required_by_workspace` when the workspace requires it. Owners and admins reset a
 * user's with `DELETE /api/v1/users/:id/mfa` (every session of theirs ends) and require it
 * for everyone with `PUT /api/v1/workspace/mfa` (`WorkspaceMfaRequest`).
 */
export interface MfaStatus {
  enabled: boolean;
  enabledAt: string | null;
  /** Recovery codes not yet used. */
  recoveryCodesLeft: number;
  requiredByWorkspace: boolean;
}

/** A code from the authenticator app (or, where accepted, a recovery code). */
export interface MfaCodeRequest {
  code: string;
}

/** Ten one-time recovery codes, shown once. */
export interface RecoveryCodes {
  recoveryCodes: string[];
}

/**
 * `PUT /api/v1/workspace/mfa`: requiring two-factor sign-in needs the caller to have it on
 * (400 `mfa_not_enabled` otherwise) and ends the password sessions of everyone without it,
 * who enrol at their next sign-in. Answers `WorkspaceMfa`.
 */
export interface WorkspaceMfaRequest {
  required: boolean;
}

/** `PUT /api/v1/workspace/mfa`: whether the workspace requires two-factor sign-in. */
export interface WorkspaceMfa {
  required: boolean;
  /** Sessions ended because their user has no second factor yet. */
  sessionsEnded: number;
}

// ---- API keys ------------------------------------------------------------------------

/**
 * What a key may do: `read` (GET routes and read-only sync), `write` (every other document
 * route and writable sync), `search` (`/api/v1/search*`), `admin` (managing users, the
 * workspace, invitations and the audit log; the key's user must be an owner or admin). A key
 * acts as the user who made it and never beyond their own access; it cannot manage the
 * account itself (password, two-factor sign-in, sessions, keys): 403 `insufficient_scope`.
 */
export type ApiKeyScope = 'read' | 'write' | 'search' | 'admin';

/** An API key as listed (never with its secret). */
export interface ApiKey {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  /** The key's last four characters, to tell keys apart. */
  hint: string;
  userId: string;
  createdAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

/**
 * `POST /api/v1/api-keys` (signed in with a session, not a key): answers `CreatedApiKey`,
 * the key's secret shown this once. `expiresInDays` 1–365, @default 90. At most 50 live keys
 * per user. `GET /api/v1/api-keys` lists the caller's (`?all=true`: every key of the
 * workspace, owners and admins); `DELETE /api/v1/api-keys/:id` revokes one (its own, or any
 * for owners and admins) — at once, on every instance, its sockets closed.
 * Use a key as `Authorization: Bearer qak_…` on REST, or as the token of a `/sync` connection.
 */
export interface CreateApiKeyRequest {
  name: string;
  scopes: ApiKeyScope[];
  expiresInDays?: number;
}

/** `POST /api/v1/api-keys`: the new key and its secret (`qak_…`), shown this once. */
export interface CreatedApiKey {
  key: ApiKey;
  secret: string;
}

/** `GET /api/v1/api-keys`: live keys. */
export interface ApiKeyList {
  keys: ApiKey[];
}

// ---- workspace ------------------------------------------------------------------------

/** `GET /api/v1/workspace` (every signed-in user of the workspace). */
export interface Workspace {
  id: string;
  name: string;
  /**
   * Whether the workspace's public links answer. Off: every public link of the workspace
   * answers 404 at once and no new one can be created (403 `public_links_disabled`); the
   * links are kept, and work again when this is turned back on. @default true
   */
  publicLinksEnabled: boolean;
}

/** `PATCH /api/v1/workspace` (owners and admins), at least one field; `name` is trimmed, 1–120 characters. Answers `Workspace`. */
export interface UpdateWorkspaceRequest {
  name?: string;
  publicLinksEnabled?: boolean;
}

/**
 * `POST /api/v1/workspace/export` (owners and admins; no body, or `{}`) answers the workspace as
 * a `.tar.gz` download (format `quire-workspace-export`, docs/OPERATIONS.md).
 * `DELETE /api/v1/workspace` (owners) deletes the workspace and everything in it: `confirm`
 * repeats the workspace's id, `password` is the owner's own. Answers 204.
 */
export interface DeleteWorkspaceRequest {
  confirm: string;
  password: string;
}

// ---- users ----------------------------------------------------------------------------

/** A person in the workspace (`GET /api/v1/users`). */
export interface User {
  id: string;
  email: string;
  displayName: string | null;
  role: TenantRole;
  createdAt: string;
}

/** `GET /api/v1/me`. */
export interface Me extends User {
  tenantId: string;
  tenantName: string;
}

/** `GET /api/v1/users`: the workspace's active users. */
export interface UserList {
  users: User[];
}

/** `POST /api/v1/users` (owners and admins; only an owner grants `owner`). */
export interface CreateUserRequest {
  email: string;
  password: string;
  role: TenantRole;
  displayName?: string;
}

/** `PATCH /api/v1/users/:id`. */
export interface UpdateUserRequest {
  role: TenantRole;
}

// ---- documents ------------------------------------------------------------------------

/**
 * A document, or a template: a document the whole workspace reads (every member who is not
 * a guest), meant to be duplicated into new documents.
 */
export type DocumentKind = 'document' | 'template';

/** Orders of `GET /api/v1/documents`: last edited first, by title (case-insensitive A–Z), or newest first. */
export type DocumentSort = 'recent' | 'title' | 'created';

/** Longest document title, in characters (after trimming). */
export const MAX_TITLE_CHARS = 500;

/** A document's metadata (not its content), with the caller's own access level. */
export interface DocumentMeta {
  id: string;
  title: string;
  createdBy: string | null;
  createdAt: string;
  /** Last edited: the last rename or change to the content (a content change shows here within a few seconds). */
  updatedAt: string;
  /** The caller's own level on this document. */
  access: PermissionLevel;
  kind: DocumentKind;
  /** The collection (folder) it is in; null: the workspace's top level. */
  collectionId: string | null;
  /** Whether the caller starred it. */
  starred: boolean;
  /** When the caller last recorded opening it (`POST …/views`); null: never. */
  lastViewedAt: string | null;
  /** What every member of the workspace who is not a guest gets with the document's address. */
  linkAccess: LinkAccess;
  /** Whether the document has a public read-only link (kept, but not answering, while the workspace has public links off). */
  publicLink: boolean;
}

/** `GET /api/v1/documents`: one page of the documents the caller can read. */
export interface DocumentPage {
  documents: DocumentMeta[];
  nextCursor: string | null;
}

/**
 * `GET /api/v1/documents?sort=&collectionId=&starred=&recent=&q=&kind=&cursor=&limit=`: the
 * documents the caller can read, filtered, one page at a time. Without parameters: documents
 * (not templates) of every collection, newest first, 50 a page.
 */
export interface ListDocumentsQuery {
  /** `nextCursor` of the previous page (of the same order: a cursor of another order is `400 invalid_cursor`). */
  cursor?: string;
  /** 1–200. @default 50 */
  limit?: number;
  /** @default `created` */
  sort?: DocumentSort;
  /** Only documents in this collection (not its sub-collections); `root`: only those in no collection. */
  collectionId?: string;
  /** `true`: only documents the caller starred (`false` is no filter). */
  starred?: boolean;
  /** `true`: the documents the caller opened, most recently viewed first (`lastViewedAt`); not combined with `sort`. */
  recent?: boolean;
  /** Only titles containing this text, case-insensitive (1–500 characters). */
  q?: string;
  /** @default `document` */
  kind?: DocumentKind;
}

/** `POST /api/v1/documents`; `text` is the initial content; `collectionId` the collection to create it in (null or absent: the top level). */
export interface CreateDocumentRequest {
  title: string;
  text?: string;
  collectionId?: string | null;
}

/**
 * `PATCH /api/v1/documents/:id`, at least one field: renames the document (write), moves it
 * to a collection or to the top level with `null` (write), makes it a template or a document
 * again (admin), sets what the workspace gets with its address (admin; lowering it closes or
 * downgrades the live sockets of members who had only the link).
 */
export interface UpdateDocumentRequest {
  title?: string;
  collectionId?: string | null;
  kind?: DocumentKind;
  linkAccess?: LinkAccess;
}

/**
 * `POST /api/v1/documents/:id/duplicate` (201, the new document; read access to the source):
 * a new document with the source's content, the caller its only `admin` (grants are not
 * copied). "Save as template" is `kind: "template"`; "new from template" duplicates a
 * template with the default kind.
 */
export interface DuplicateDocumentRequest {
  /** @default `Copy of <title>`; the source's own title for a template, or for a document made from a template */
  title?: string;
  /** `null`: the top level. @default the source's collection */
  collectionId?: string | null;
  /** @default `document` */
  kind?: DocumentKind;
}

/** `GET /api/v1/documents/:id/content?format=` (default `text`). */
export interface DocumentContentQuery {
  format?: ContentFormat;
}

/** ProseMirror JSON as the content endpoints accept and return it. */
export interface ProseMirrorJson {
  type: string;
  attrs?: Record<string, unknown>;
  content?: ProseMirrorJson[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}

/** New content as plain text or as ProseMirror JSON: exactly one of the two. */
export type ContentInput = { text: string } | { json: ProseMirrorJson };

/**
 * `PUT /api/v1/documents/:id/content` (204 once the change is durable and live clients have
 * it): replaces the content, or appends to it. @default mode `replace`
 */
export type PutContentRequest = ContentInput & { mode?: 'replace' | 'append' };

// ---- collections ----------------------------------------------------------------------

/**
 * A collection (folder) of the workspace. Every member who is not a guest sees and manages
 * the whole tree; the documents in it are listed only for those who can read them.
 */
export interface Collection {
  id: string;
  name: string;
  /** The collection it is in; null: the top level. */
  parentId: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
}

/** `GET /api/v1/collections`: every collection of the workspace (at most 1,000), by name. */
export interface CollectionList {
  collections: Collection[];
}

/** `POST /api/v1/collections` (201): `name` 1–120 characters; under `parentId` (null or absent: the top level). */
export interface CreateCollectionRequest {
  name: string;
  parentId?: string | null;
}

/** `PATCH /api/v1/collections/:id`, at least one field: renames it, or moves it (with what it holds) under `parentId` (null: the top level). */
export interface UpdateCollectionRequest {
  name?: string;
  parentId?: string | null;
}

// ---- permissions ----------------------------------------------------------------------

/** One user's explicit level on a document (`GET /api/v1/documents/:id/permissions`). */
export interface Permission {
  userId: string;
  email: string;
  level: PermissionLevel;
}

/** `GET /api/v1/documents/:id/permissions`. */
export interface PermissionList {
  permissions: Permission[];
}

/** `PUT /api/v1/documents/:id/permissions`: grants `level` to a user of the workspace; `none` removes their access. */
export interface SetPermissionRequest {
  userId: string;
  level: PermissionLevel | 'none';
}

/** What `PUT /api/v1/documents/:id/permissions` answers for `level: "none"`. */
export interface PermissionRemoved {
  userId: string;
  level: 'none';
}

/** What `PUT /api/v1/documents/:id/permissions` answers: the grant, or its removal. */
export type SetPermissionResponse = Permission | PermissionRemoved;

// ---- public links ---------------------------------------------------------------------

/**
 * What `POST /api/v1/documents/:id/public-link` answers (201; admin on the document): the
 * document's new public read-only link. `url` is `/p/<token>`, relative to the server's
 * origin. The token is shown this once: the server keeps only its SHA-256 hash. Creating a
 * link again replaces the previous one, which stops working at once.
 */
export interface PublicLink {
  token: string;
  url: string;
  createdAt: string;
}

/**
 * `GET /api/v1/documents/:id/public-link` (read access): whether the document has a public
 * link and since when. `url` is always null: the token cannot be shown again (create a new
 * link to get a new address).
 */
export interface PublicLinkState {
  active: boolean;
  createdAt: string | null;
  url: null;
}

/**
 * `GET /api/v1/public/:token` (no authentication): the document behind a public link, read
 * only. Unknown, replaced or revoked tokens, deleted documents and workspaces with public
 * links off all answer 404 `public_link_not_found`. Answered with `cache-control: no-store`
 * and `x-robots-tag: noindex`.
 */
export interface PublicDocument {
  title: string;
  /** The content as `GET /api/v1/documents/:id/content?format=json` gives it. */
  json: ProseMirrorJson;
  /** The content as plain text (blocks joined by `\n`). */
  text: string;
  updatedAt: string;
  /** The workspace's name. */
  workspace: string;
}

// ---- classification -------------------------------------------------------------------

/** A classifier's answer for one document. */
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
  /** The document version (feed position) the label was computed for. */
  version: string;
  classifiedAt: string;
}

/**
 * `GET /api/v1/documents/:id/classification`: the label from the workspace's default
 * classifier (else the built-in model), and in `all` every active model's view.
 */
export interface DocumentClassification extends Classification {
  all: Classification[];
}

/**
 * The classification answer for a readable document no model has classified yet (a new
 * document before the workers labelled it, or no model running): no label, for the reason
 * `not_classified`, every field describing a model's view null.
 */
export interface UnclassifiedDocument {
  label: null;
  name: null;
  reason: 'not_classified';
  predicted: null;
  confidence: null;
  model: null;
  version: null;
  classifiedAt: null;
  all: [];
}

/** `GET /api/v1/documents/:id/classification` */
export type ClassificationAnswer = DocumentClassification | UnclassifiedDocument;

// ---- search ---------------------------------------------------------------------------

/** `GET /api/v1/search?q=&mode=&limit=` */
export interface SearchQuery {
  q: string;
  /** @default `fulltext` */
  mode?: SearchMode;
  /** Most hits (1–50). @default 10 */
  limit?: number;
}

/** Why a hit matched: the query's words as written (`exact`), words within a typo of them (`typo`), or meaning (`semantic`). */
export interface SearchMatch {
  kind: 'exact' | 'typo' | 'semantic';
  /** Where the words matched. */
  fields: ('title' | 'text')[];
  /** The document's words that matched, lower case (at most 10). */
  terms: string[];
  /** Cosine similarity of the best passage to the query, when meaning contributed. */
  similarity?: number;
}

/** One document a search found, with a highlighted snippet and why it matched. */
export interface SearchHit {
  documentId: string;
  title: string;
  /** HTML-escaped text with `<mark>` around matches. Use `snippetParts` to render it without innerHTML. */
  snippet: string;
  score: number;
  match: SearchMatch;
}

/** `GET /api/v1/search`: hits, best first. */
export interface SearchResult {
  hits: SearchHit[];
  mode: SearchMode;
  /** Names this search for `recordSearchClick` (`POST /api/v1/search/clicks`); null when the server could not log it. */
  searchId: string | null;
}

/** `POST /api/v1/search/clicks` (204): the hit at 1-based `position` of search `searchId` was opened. */
export interface SearchClickRequest {
  searchId: string;
  documentId: string;
  /** 1-based rank of the opened hit in the answer. */
  position: number;
}

/** `GET /api/v1/search/analytics?days=&limit=` */
export interface SearchAnalyticsQuery {
  /** The period, in days back from now. @default 30 */
  days?: number;
  /** Queries per list. @default 20 */
  limit?: number;
}

/** One query's figures over an analytics period (queries are counted trimmed, in lower case). */
export interface SearchQueryStats {
  query: string;
  searches: number;
  /** Searches of this query after which a result was opened. */
  clickedSearches: number;
  /** Mean number of results. */
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

// ---- classifiers ----------------------------------------------------------------------

/** One training example. */
export interface TrainingExample {
  text: string;
  label: string;
}

/**
 * `POST /api/v1/ml/classifiers` (202; training runs in the workers): a new version of
 * classifier `name`, trained on `examples`, or (`source: "documents"`) on the documents
 * labelled for `name`, as they read when the worker takes the job.
 */
export type TrainClassifierRequest = { name: string; examples: TrainingExample[]; source?: 'examples' } | { name: string; source: 'documents' };

/** What `POST /api/v1/ml/classifiers` answers: the queued version. */
export interface TrainClassifierResponse {
  id: string;
  version: number;
}

/** Accuracy and macro-F1 on one side of a training split. */
export interface SplitMetrics {
  accuracy: number;
  macroF1: number;
}

/** One candidate model of a classifier version (`ngrams`, `combined`, `embedding`), chosen or not. */
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
  /** Chosen by hand (pin or rollback): automatic promotion leaves it in place. */
  pinned: boolean;
  source: 'examples' | 'documents';
  examples: number;
  labels: string[];
  /** Held-out (test) metrics of the selected candidate. */
  metrics: { accuracy: number; macroF1: number; heldOut: number; trainedOn: number } | null;
  /** The selected candidate (`ngrams`, `combined`, `embedding`). */
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
  /** The version documents are labelled with (null: none usable yet). */
  activeVersion: number | null;
  pinned: boolean;
  /** Whether this is the workspace's default classifier for document labels. */
  workspaceDefault: boolean;
  versions: ClassifierStatus[];
}

/** `GET /api/v1/ml/classifiers`: the workspace's classifiers, by name. */
export interface ClassifierList {
  classifiers: ClassifierSummary[];
  /** The registry holds more versions than one answer lists (1,000, by name then newest first): the last names are missing or incomplete. */
  truncated: boolean;
}

/** `DELETE /api/v1/ml/classifiers/:id?scope=`: one version (not the active one), or every version of its classifier. */
export interface DeleteClassifierQuery {
  /** @default `version` */
  scope?: 'version' | 'classifier';
}

/** What `DELETE /api/v1/ml/classifiers/:id` answers: how many versions were deleted. */
export interface DeleteClassifierResponse {
  deleted: number;
}

/** `POST /api/v1/ml/classifiers/:id/predict`. */
export interface PredictRequest {
  text: string;
}

/** `POST /api/v1/classifiers/:id/predict`: the label for a text and how sure the model is. */
export interface ClassifierPrediction {
  label: string;
  confidence: number;
  /** Probability of every label. */
  scores: Record<string, number>;
  /** Answered from the server's prediction cache (same text, same model). */
  cached: boolean;
}

/** `GET` and `PUT /api/v1/ml/settings`: the workspace's ML settings. */
export interface MlSettings {
  /** The classifier whose labels documents show; null: the built-in model. */
  defaultClassifier: string | null;
}

/** `PUT /api/v1/ml/settings` (owners and admins); the classifier must have an active version. */
export type SetMlSettingsRequest = MlSettings;

// ---- document labels (training data) --------------------------------------------------

/** A document's label for training a classifier. */
export interface DocumentLabel {
  classifier: string;
  label: string;
  labelledBy: string | null;
  updatedAt: string;
}

/** `GET /api/v1/documents/:id/labels`: one label per classifier name. */
export interface DocumentLabelList {
  labels: DocumentLabel[];
}

/** `PUT /api/v1/documents/:id/labels/:classifier` (write access). */
export interface SetDocumentLabelRequest {
  label: string;
}

// ---- comments ---------------------------------------------------------------------------

/** Longest comment body, in characters. */
export const MAX_COMMENT_CHARS = 10_000;

/**
 * Where a comment points in the text. Sent as text offsets (`from`/`to`, in the plain text
 * `GET …/content?format=text` returns, end exclusive) or as Yjs relative positions
 * (`start`/`end`: base64 of `Y.encodeRelativePosition`, what an editor makes from its
 * selection). Either way the server stores relative positions, so the anchor follows the
 * text through every later edit.
 */
export type CommentAnchorInput = { from: number; to: number } | { start: string; end: string };

/**
 * A comment's anchor as it stands now: the relative positions, where they fall in the
 * current plain text and what they cover. `detached` when the text it pointed at was deleted
 * (the comment stays, with `quote` — the text as it was when commented on).
 */
export interface CommentAnchor {
  start: string;
  end: string;
  /** Offsets in the current plain text; null when detached. */
  from: number | null;
  to: number | null;
  /** The text the comment was made on, as it was then. */
  quote: string;
  detached: boolean;
}

/** Who wrote a comment (or did an audited action). */
export interface CommentAuthor {
  id: string | null;
  /** Display name, else the email's local part; "Removed user" once the account is deleted. */
  name: string;
}

/** A comment or a reply on a document, anchored to a range of its text. */
export interface Comment {
  id: string;
  documentId: string;
  /** The thread's first comment; null for a thread's first comment itself. */
  parentId: string | null;
  author: CommentAuthor;
  body: string;
  /** Users mentioned as `@[Name](user:<uuid>)` in the body, in order, without repeats. */
  mentions: string[];
  /** On a thread's first comment only (replies follow their thread). */
  anchor: CommentAnchor | null;
  /** Threads only: when and by whom it was resolved (null: open). */
  resolvedAt: string | null;
  resolvedBy: CommentAuthor | null;
  createdAt: string;
  /** Set when the body was changed after posting. */
  editedAt: string | null;
}

/** `GET /api/v1/documents/:id/comments`: every comment of the document, threads first then replies, oldest first within each. */
export interface CommentList {
  comments: Comment[];
}

/**
 * `POST /api/v1/documents/:id/comments`: a new thread (with `anchor`, or none for a comment
 * on the whole document) or a reply (`parentId`, no anchor). Needs `comment` access.
 */
export interface CreateCommentRequest {
  body: string;
  anchor?: CommentAnchorInput;
  parentId?: string;
}

/** `PATCH /api/v1/documents/:id/comments/:commentId`: the author edits the body; anyone who may comment resolves or reopens a thread. */
export interface UpdateCommentRequest {
  body?: string;
  resolved?: boolean;
}

// ---- version history ----------------------------------------------------------------------

/** Longest version name, in characters (after trimming). */
export const MAX_VERSION_NAME_CHARS = 200;
/** Most versions one page of `GET …/versions` lists. */
export const VERSIONS_MAX_LIMIT = 100;

/**
 * How a version came about: `auto` — a checkpoint the server took while people edited (every
 * `HISTORY_CHECKPOINT_INTERVAL_MS` of editing, and when the last editor left); `named` —
 * someone saved the current state under a name; `restore` — the state right after an older
 * version was restored (restoring the version before it undoes the restore).
 */
export type VersionKind = 'auto' | 'named' | 'restore';

/** A saved state of a document in its history. */
export interface Version {
  id: string;
  createdAt: string;
  /** Null for automatic versions. */
  name: string | null;
  kind: VersionKind;
  /** Users whose edits this version took in since the previous one. */
  authors: string[];
}

/** `GET /api/v1/documents/:id/versions?cursor=&limit=`: newest first. */
export interface VersionPage {
  versions: Version[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Paging of `GET /api/v1/documents/:id/versions`. */
export interface ListVersionsQuery {
  cursor?: string;
  /** 1–100. @default 50 */
  limit?: number;
}

/** `POST /api/v1/documents/:id/versions`: saves the current state as a named version (write access). */
export interface CreateVersionRequest {
  /** 1–200 characters, trimmed. */
  name: string;
}

/** `GET /api/v1/documents/:id/versions/:versionId/content?format=`: the version's content, as `…/content` answers for the current one. */
export interface VersionContentQuery {
  format?: ContentFormat;
}

/**
 * `POST /api/v1/documents/:id/restore` with a `versionId` (write access): the version's
 * content becomes the document's current content as a new change that open clients receive,
 * and a `restore` version records it. The same path without a body (or with `{}`) undoes a
 * delete, as `POST …/undelete` does.
 */
export interface RestoreVersionRequest {
  versionId: string;
}

/** The answer to a version restore: the `restore` version it recorded. */
export interface RestoreVersionResponse {
  version: Version;
}

/** A deleted document in `GET /api/v1/trash`. */
export interface TrashItem {
  id: string;
  title: string;
  kind: DocumentKind;
  collectionId: string | null;
  deletedAt: string;
  /** When the document leaves the trash for good: its deletion plus the server's `TRASH_RETENTION_DAYS`. */
  purgeAt: string;
}

/** `GET /api/v1/trash`: the caller's deleted documents they may restore (admin on them), newest deletion first, at most 500. */
export interface TrashList {
  documents: TrashItem[];
}

/** `GET /api/v1/documents/:id/versions/:versionId/diff?against=`: the other end of the comparison. */
export interface VersionDiffQuery {
  /** Another version's id, or `current` (the document as it is now). @default "current" */
  against?: string;
}

/**
 * How a piece of text fared between the two states compared: `same` — in both; `added` —
 * only in the newer; `removed` — only in the older.
 */
export type DiffChange = 'same' | 'added' | 'removed';

/** A run of text with one fate and one author. */
export interface DiffRun {
  change: DiffChange;
  text: string;
  /**
   * `added`: the user who wrote it; `removed`: the user who removed it; null for `same`, and
   * when the server does not know (text written by the server itself, or stored before
   * authorship was recorded).
   */
  by: string | null;
}

/** A top-level block of the document (a paragraph, heading, list, table, …) and its text. */
export interface DiffBlock {
  /** The block's node type (`paragraph`, `heading`, `bulletList`, …). */
  type: string;
  /** `added`/`removed` when the whole block is new or gone; else `same` (its runs say what changed inside). */
  change: DiffChange;
  /** The block's text in document order; nested blocks are separated by "\n". */
  runs: DiffRun[];
}

/** One end of a comparison: a version, or the current state (`versionId` null). */
export interface DiffEnd {
  versionId: string | null;
  /** When that version was taken; for the current state, when the diff was computed. */
  at: string;
}

/** Characters one user added and removed between the two states (`userId` null: unknown). */
export interface DiffAuthor {
  userId: string | null;
  added: number;
  removed: number;
}

/**
 * What changed from the older of the two states compared to the newer (the order is by
 * history, whichever was named in the path): every block of the newer state and every block
 * removed since, in document order, with authorship.
 */
export interface VersionDiff {
  from: DiffEnd;
  to: DiffEnd;
  blocks: DiffBlock[];
  /** Everyone who changed something, most characters changed first. */
  authors: DiffAuthor[];
}

/**
 * `GET /api/v1/documents/:id/since-seen`: what changed since the caller last had the document
 * open (their last connection to it closed). `seenAt` null: they never had it open;
 * `diff` null: nothing changed since (or they never had it open).
 */
export interface SinceSeen {
  seenAt: string | null;
  diff: VersionDiff | null;
}

// ---- notifications ----------------------------------------------------------------------

/** What a notification is about. */
export const NOTIFICATION_KINDS = ['mention', 'reply', 'share', 'review_assigned', 'review_decided', 'deadline'] as const;
/** One of `NOTIFICATION_KINDS`. */
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Where a notification goes besides the app's list (which always has it unless `inApp` is off). */
export const NOTIFICATION_CHANNELS = ['inApp', 'email', 'push'] as const;
/** One of `NOTIFICATION_CHANNELS`. */
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/** Most notifications one page of `GET /api/v1/notifications` lists. */
export const NOTIFICATIONS_MAX_LIMIT = 100;

/** One notification in the user's list. */
export interface Notification {
  id: string;
  kind: NotificationKind;
  /** The document it is about (null once it was deleted for good). */
  documentId: string | null;
  documentTitle: string | null;
  /** Who caused it (null for a deadline, or a removed user). */
  actor: CommentAuthor | null;
  /** One line a person reads: "Ada mentioned you in “Plan”". */
  text: string;
  /** Where clicking it goes, relative to the app (`/d/<id>?comment=<id>`, `/tasks`). */
  link: string;
  /** Ids of what it is about, by kind: `commentId`, `reviewId`, `taskId`, `decision`, `stage` ("warning" | "overdue" | "escalated"). */
  data: Record<string, string>;
  createdAt: string;
  readAt: string | null;
}

/** `GET /api/v1/notifications?unread=true|false&cursor=&limit=`: newest first. */
export interface NotificationPage {
  notifications: Notification[];
  nextCursor: string | null;
  /** Unread notifications the user has in all (not only on this page). */
  unread: number;
}

/** `GET /api/v1/notifications`: only unread ones, paging (`limit` up to `NOTIFICATIONS_MAX_LIMIT`). */
export interface ListNotificationsQuery {
  unread?: boolean;
  cursor?: string;
  limit?: number;
}

/** `POST /api/v1/notifications/read`: some (`ids`) or all of the user's notifications. */
export type MarkNotificationsReadRequest = { ids: string[] } | { all: true };

/** The unread count after marking. */
export interface MarkNotificationsReadResponse {
  unread: number;
}

/** Per kind, per channel: on or off. A partial map sets only what it names. */
export type NotificationPreferenceMap = Record<NotificationKind, Record<NotificationChannel, boolean>>;
/** Per kind, the channels to turn on or off; kinds and channels left out keep their setting. */
export type NotificationPreferencePatch = Partial<Record<NotificationKind, Partial<Record<NotificationChannel, boolean>>>>;

/** `GET /api/v1/me/notification-preferences`: what applies, and the workspace defaults it starts from. */
export interface NotificationPreferences {
  preferences: NotificationPreferenceMap;
  defaults: NotificationPreferenceMap;
}

/** `PUT /api/v1/me/notification-preferences` and `PUT /api/v1/workspace/notification-defaults` (admin). */
export interface SetNotificationPreferencesRequest {
  preferences: NotificationPreferencePatch;
}

/**
 * Live delivery: `GET /api/v1/notifications/stream` (Server-Sent Events, the same bearer
 * token as every call). Each new notification arrives as `event: notification` with a
 * `NotificationStreamEvent`; `event: unread` follows reads from another tab or device.
 */
export type NotificationStreamEvent = { type: 'notification'; notification: Notification; unread: number } | { type: 'unread'; unread: number };

/** `POST /api/v1/me/push-subscriptions`: a browser's `PushSubscription.toJSON()`. */
export interface PushSubscriptionRequest {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** `GET /api/v1/push/vapid-public-key`: the application server key a browser subscribes with. */
export interface VapidPublicKey {
  publicKey: string;
}

// ---- review workflows --------------------------------------------------------------------

/** Most steps one workflow has. */
export const MAX_WORKFLOW_STEPS = 10;

/** Who a step's tasks go to: named users, everyone with a workspace role, or both. */
export interface WorkflowAssignees {
  users?: string[];
  role?: TenantRole;
}

/** One step of a review workflow: who decides, how many approvals complete it, its deadline. */
export interface WorkflowStep {
  name: string;
  assignees: WorkflowAssignees;
  /** Approvals that complete the step. @default 1 */
  approvals: number;
  /** Seconds from the step's start to its deadline; null: no deadline. */
  slaSeconds: number | null;
  /** Seconds before the deadline the assignees are warned. @default a fifth of the SLA */
  warnBeforeSeconds: number | null;
  /** Who is told when the deadline passes (besides the assignees). */
  escalateTo: WorkflowAssignees;
}

/** A review workflow (owners and admins define them). */
export interface Workflow {
  id: string;
  name: string;
  steps: WorkflowStep[];
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

/** `GET /api/v1/workflows`. */
export interface WorkflowList {
  workflows: Workflow[];
}

/** `POST /api/v1/workflows` (admin). Optional step fields take their defaults. */
export interface CreateWorkflowRequest {
  name: string;
  steps: (Pick<WorkflowStep, 'name' | 'assignees'> & Partial<Omit<WorkflowStep, 'name' | 'assignees'>>)[];
}

/** `PATCH /api/v1/workflows/:id` (admin): reviews already running keep the steps they started with. */
export interface UpdateWorkflowRequest {
  name?: string;
  steps?: CreateWorkflowRequest['steps'];
  archived?: boolean;
}

/** Where a review stands. */
export type ReviewStatus = 'in_review' | 'approved' | 'rejected' | 'changes_requested' | 'cancelled';
/** Where one assignee's task stands. */
export type TaskStatus = 'open' | 'approved' | 'rejected' | 'changes_requested' | 'closed';
/** What an assignee decides on a task. */
export type ReviewDecision = 'approve' | 'reject' | 'request_changes';
/** What happened in a review (its history). */
export type ReviewEventType = 'requested' | 'assigned' | 'approved' | 'rejected' | 'changes_requested' | 'step_completed' | 'completed' | 'warning' | 'escalated' | 'cancelled';

/** One entry of a review's history. */
export interface ReviewEvent {
  id: string;
  type: ReviewEventType;
  step: number | null;
  actor: CommentAuthor | null;
  comment: string | null;
  createdAt: string;
}

/** One assignee's part in a review step. */
export interface Task {
  id: string;
  reviewId: string;
  documentId: string;
  documentTitle: string;
  /** Whose task it is. */
  assignee: CommentAuthor;
  workflowName: string;
  step: number;
  stepName: string;
  status: TaskStatus;
  comment: string | null;
  dueAt: string | null;
  createdAt: string;
  decidedAt: string | null;
}

/** A review of a document, with its tasks and every decision. */
export interface Review {
  id: string;
  documentId: string;
  workflowId: string | null;
  workflowName: string;
  steps: WorkflowStep[];
  /** The named version under review, when one was pinned. */
  versionId: string | null;
  requestedBy: CommentAuthor | null;
  status: ReviewStatus;
  /** The step in progress (index into `steps`); the last one once decided. */
  currentStep: number;
  stepDueAt: string | null;
  createdAt: string;
  decidedAt: string | null;
  tasks: Task[];
  events: ReviewEvent[];
}

/** `POST /api/v1/documents/:id/reviews` (write access). */
export interface RequestReviewRequest {
  workflowId: string;
  versionId?: string;
}

/** `GET /api/v1/documents/:id/reviews`: newest first. */
export interface ReviewList {
  reviews: Review[];
}

/** `GET /api/v1/tasks?status=open|decided|all`: the caller's tasks, newest first. */
export interface TaskList {
  tasks: Task[];
}

/** `POST /api/v1/tasks/:id/decision`. A comment is required to reject or request changes. */
export interface DecisionRequest {
  decision: ReviewDecision;
  comment?: string;
}

// ---- audit log ---------------------------------------------------------------------------

/** Most entries one page of `GET /api/v1/audit` lists; an NDJSON export lists up to `AUDIT_EXPORT_MAX`. */
export const AUDIT_MAX_LIMIT = 200;
/** Most entries one NDJSON export of the audit log holds. */
export const AUDIT_EXPORT_MAX = 100_000;

/** One audited action: who did what to what, when and from where. */
export interface AuditEntry {
  id: string;
  /** Who did it (null for the system or a removed user). */
  actor: CommentAuthor | null;
  /** What was done, e.g. `auth.login`, `document.permission_set`, `review.approve`. */
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  detail: unknown;
  createdAt: string;
}

/**
 * `GET /api/v1/audit?actor=&action=&target=&from=&to=&cursor=&limit=` (owners and admins):
 * newest first. `action` matches exactly, or a prefix ending in `.` (`review.`); `target`
 * is a target id; `from`/`to` are ISO times. `format=ndjson` exports every matching entry
 * (up to `AUDIT_EXPORT_MAX`) as one JSON object per line; an export is itself audited.
 */
export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
  format?: 'json' | 'ndjson';
}

/** `GET /api/v1/audit`: entries, newest first, and the cursor of the next page. */
export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

// ---- invitations and password reset --------------------------------------------------------

/** The roles an invitation can grant: every role but `owner` (owners promote people themselves). */
export type InvitationRole = Exclude<TenantRole, 'owner'>;

/** `POST /api/v1/invitations` (owners and admins). */
export interface CreateInvitationRequest {
  email: string;
  role: InvitationRole;
}

/** A pending invitation, as owners and admins see it. */
export interface Invitation {
  id: string;
  email: string;
  role: InvitationRole;
  /** Who invited (null once that account is deleted). */
  invitedBy: CommentAuthor | null;
  createdAt: string;
  expiresAt: string;
}

/**
 * How the link reached (or is to reach) the person: `email` — the server sent it; `link` —
 * no email is configured (or sending failed: `emailError`), and `link` is for the admin to
 * pass on. The link carries the secret in its fragment (`#token=…`), which browsers never send.
 */
export type LinkDelivery = { delivery: 'email' } | { delivery: 'link'; link: string; emailError?: string };

/** `POST /api/v1/invitations` and `POST /api/v1/invitations/:id/resend` (201 / 200). */
export type InvitationSent = { invitation: Invitation } & LinkDelivery;

/** `GET /api/v1/invitations`: the pending invitations, newest first. */
export interface InvitationList {
  invitations: Invitation[];
}

/** `GET /api/v1/auth/invitations/:token` (no sign-in): what the invitee is about to join. */
export interface InvitationPreview {
  workspace: string;
  email: string;
  role: InvitationRole;
  expiresAt: string;
  /** The workspace signs in only through its single sign-on: the invitee signs in there instead of choosing a password. */
  ssoRequired: boolean;
}

/** `POST /api/v1/auth/invitations/accept` (no sign-in): creates the account; 201 with the user, no session (sign in next). */
export interface AcceptInvitationRequest {
  token: string;
  password: string;
  displayName?: string;
}

/** `POST /api/v1/auth/password-reset` (no sign-in): always 202, whether or not the account exists. */
export interface PasswordResetRequest {
  email: string;
}

/** `POST /api/v1/auth/password-reset/confirm` (no sign-in): 204; every session of the user ends. */
export interface ConfirmPasswordResetRequest {
  token: string;
  password: string;
}

/** `POST /api/v1/users/:id/password-reset` (owners and admins): the link went by email, or here it is. */
export type PasswordResetLink = { expiresAt: string } & LinkDelivery;

// ---- single sign-on (OpenID Connect) -------------------------------------------------------

/** The role a user provisioned on their first SSO sign-in gets: never `owner`. */
export type SsoDefaultRole = Exclude<TenantRole, 'owner'>;

/**
 * `GET /api/v1/workspace/sso` (owners and admins): the workspace's SSO settings. The client
 * secret is never returned, only whether one is stored. `callbackUrl` is the redirect URI to
 * register at the provider; `startUrl` a sign-in link for this workspace.
 */
export interface SsoSettings {
  configured: boolean;
  enabled: boolean;
  issuer: string | null;
  clientId: string | null;
  hasClientSecret: boolean;
  mandatory: boolean;
  defaultRole: SsoDefaultRole;
  allowedDomains: string[];
  callbackUrl: string;
  startUrl: string;
  updatedAt: string | null;
}

/**
 * `PUT /api/v1/workspace/sso` (owners and admins): the issuer is checked by running OpenID
 * discovery against it before anything is saved (`sso_discovery_failed`). `clientSecret`:
 * omitted keeps the stored one, `null` removes it (a public client, PKCE only).
 */
export interface UpdateSsoRequest {
  issuer: string;
  clientId: string;
  clientSecret?: string | null;
  enabled?: boolean;
  mandatory?: boolean;
  defaultRole?: SsoDefaultRole;
  allowedDomains?: string[];
}

/**
 * `GET /api/v1/auth/sso/discover?email=` (no sign-in): whether the workspace that claims the
 * email's domain signs in with SSO. Answered from the domain alone, the same for every
 * address at it, so it never tells whether an account exists.
 */
export interface SsoDiscovery {
  sso: boolean;
  mandatory: boolean;
  /** Where the browser goes to sign in (present when `sso`). */
  startUrl?: string;
}

/** `POST /api/v1/auth/sso/exchange` (no sign-in): the one-time code from `/sso/done#code=` for a session. */
export interface SsoExchangeRequest {
  code: string;
}

// ---------------------------------------------------------------------------
// Files: images and attachments (uploads with tus, downloads by the document's permission)

/** An uploaded file of a document. */
export interface Attachment {
  id: string;
  documentId: string;
  name: string;
  /** The type it was uploaded as (for images: the type its bytes were checked to be). */
  contentType: string;
  /** `image`: a PNG, JPEG, GIF or WebP image shown inline; `file`: anything else, shown as a card. */
  kind: 'image' | 'file';
  /** Bytes (the declared length while `uploading`). */
  size: number;
  status: 'uploading' | 'ready';
  createdAt: string;
  createdBy: string | null;
  /** Where the bytes are read: `GET` with the same credentials as the API. */
  contentUrl: string;
  /** Text extraction for search: `pending`, `done`, `failed`, or `none` (nothing to extract). */
  extraction: 'none' | 'pending' | 'done' | 'failed';
}

/** `GET /api/v1/documents/:id/attachments`: the document's files, newest first. */
export interface AttachmentList {
  attachments: Attachment[];
}

/** `GET /api/v1/workspace/storage`: what the workspace's files take and may take. */
export interface WorkspaceStorage {
  usedBytes: number;
  quotaBytes: number;
  /** Largest single file accepted. */
  maxFileBytes: number;
}

// ---- webhooks (contract/webhooks.ts) ----------------------------------------------------
export type {
  CreateWebhookRequest,
  ReplayWebhookRequest,
  ReplayWebhookResult,
  RotateWebhookSecretRequest,
  UpdateWebhookRequest,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointStatus,
  WebhookEndpointWithSecret,
  WebhookEvent,
  WebhookEventType,
  WebhookTestResult,
} from './webhooks.js';
