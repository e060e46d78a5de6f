/**
 * Kysely table types: the shape of every table the application reads or writes.
 * Migrations in `db/migrations/` create them; keep both in step.
 */
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type {
  ApiKeyScope,
  DocumentKind,
  LinkAccess,
  NotificationKind,
  NotificationPreferencePatch,
  PermissionLevel,
  ReviewEventType,
  ReviewStatus,
  SessionMethod,
  TaskStatus,
  TenantRole,
  WorkflowStep,
} from '../contract/api.js';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** The roles and levels the API shows are the ones stored: one definition, in the contract. */
export type { DocumentKind, LinkAccess, PermissionLevel, TenantRole };

export interface TenantsTable {
  id: string;
  name: string;
  created_at: Generated<Date>;
  /** Whether the workspace's public links answer (migration 0014). */
  public_links_enabled: Generated<boolean>;
  /** Workspace defaults for notifications, `{kind: {channel: boolean}}` (migration 0020). */
  notification_defaults: ColumnType<NotificationPreferencePatch, string | undefined, string>;
  /** Everyone signing in with a password must pass a second factor (migration 0022). */
  mfa_required: Generated<boolean>;
  /** The workspace's storage quota when it differs from the deployment's default (migration 0026). */
  storage_quota_bytes: number | null;
  /** What the workspace's attachments take, in bytes (int8, read as a string; migration 0026). */
  storage_used_bytes: ColumnType<string, never, never>;
}

export interface UsersTable {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  display_name: string | null;
  password_hash: string;
  role: TenantRole;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  disabled_at: NullableTimestamp;
  /** Bumped when the user ends all their sessions; access tokens of a lower version are refused (migration 0012). */
  session_version: Generated<number>;
  /** The user's own notification settings over the workspace defaults (migration 0020). */
  notification_preferences: ColumnType<NotificationPreferencePatch, string | undefined, string>;
  /** TOTP secret, sealed; set once enrolment is confirmed (migration 0022). */
  mfa_secret: string | null;
  mfa_enabled_at: NullableTimestamp;
  /** The time step of the last TOTP code accepted: a code works once. */
  mfa_last_step: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  /** A secret being enrolled from the account page, sealed, until confirmed with a code. */
  mfa_pending_secret: string | null;
}

/** One value sealed with the secrets key, to tell at start whether this instance holds the same key (migration 0022). */
export interface SecretsKeyCheckTable {
  id: number;
  sealed: string;
  created_at: Generated<Date>;
}

export interface MfaRecoveryCodesTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  code_hash: string;
  created_at: Generated<Date>;
  used_at: NullableTimestamp;
}

export interface MfaChallengesTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  purpose: 'verify' | 'enrol';
  pending_secret: string | null;
  attempts: Generated<number>;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export type { ApiKeyScope };

/** An integration's key (migration 0023). */
export interface ApiKeysTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  name: string;
  scopes: ApiKeyScope[];
  key_hash: string;
  hint: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  last_used_ip: string | null;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  ip: string | null;
}

export type { SessionMethod };

/** A signed-in device: a refresh-token family (migration 0021). */
export interface SessionsTable {
  id: string;
  tenant_id: string;
  user_id: string;
  method: SessionMethod;
  mfa: Generated<boolean>;
  user_agent: string | null;
  ip: string | null;
  created_at: Generated<Date>;
  last_used_at: Generated<Date>;
  last_ip: string | null;
  ended_at: NullableTimestamp;
  ended_reason: string | null;
}

export interface DocumentsTable {
  id: Generated<string>;
  tenant_id: string;
  title: string;
  created_by: string | null;
  created_at: Generated<Date>;
  /** Last edited: set by a rename, advanced to a content edit's time by the worker (`ml-workers/last-edited.ts`). */
  updated_at: Generated<Date>;
  deleted_at: NullableTimestamp;
  /** Migration 0013: a document or a template, and its collection (null: the top level). */
  kind: Generated<DocumentKind>;
  collection_id: string | null;
  /** Migration 0014: what every member who is not a guest gets with the document's address. */
  link_access: Generated<LinkAccess>;
}

/** A document's public read-only link (migration 0014): one per document, its token stored as a SHA-256 hash. */
export interface DocumentPublicLinksTable {
  document_id: string;
  tenant_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: Generated<Date>;
}

/** A comment: a thread (`parent_id` null) or a reply (migration 0016). */
export interface DocumentCommentsTable {
  id: Generated<string>;
  tenant_id: string;
  document_id: string;
  parent_id: string | null;
  author_id: string | null;
  body: string;
  anchor_start: string | null;
  anchor_end: string | null;
  quote: Generated<string>;
  resolved_at: Date | null;
  resolved_by: string | null;
  created_at: Generated<Date>;
  edited_at: Date | null;
}

/** Who a comment mentions (migration 0016). */
export interface CommentMentionsTable {
  comment_id: string;
  tenant_id: string;
  document_id: string;
  user_id: string;
  created_at: Generated<Date>;
}

/** A point in a document's history (migration 0017): a full Yjs state (`base_id` null) or the diff from version `base_id`. */
export interface DocumentVersionsTable {
  id: Generated<string>;
  tenant_id: string;
  document_id: string;
  seq: number;
  kind: 'auto' | 'named' | 'restore';
  name: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  authors: Generated<string[]>;
  state_vector: Uint8Array;
  digest: string;
  base_id: string | null;
  data: Uint8Array;
}

/** Who inserted and deleted which item ranges of a document (migration 0018). */
export interface DocumentAuthorshipTable {
  id: Generated<string>;
  tenant_id: string;
  document_id: string;
  user_id: string;
  inserted: Uint8Array;
  deleted: Uint8Array;
  created_at: Generated<Date>;
}

/** The version a user's copy of a document held when they last left it (migration 0018). */
export interface DocumentSeenTable {
  tenant_id: string;
  document_id: string;
  user_id: string;
  version_id: string | null;
  seen_at: Date;
}

/** A folder of the workspace (migration 0013). */
export interface CollectionsTable {
  id: Generated<string>;
  tenant_id: string;
  parent_id: string | null;
  name: string;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** A user's star on a document (migration 0013). */
export interface DocumentStarsTable {
  document_id: string;
  tenant_id: string;
  user_id: string;
  starred_at: Generated<Date>;
}

/** When a user last opened a document (migration 0013): one row per user and document. */
export interface DocumentViewsTable {
  document_id: string;
  tenant_id: string;
  user_id: string;
  viewed_at: Generated<Date>;
}

export interface DocumentPermissionsTable {
  tenant_id: string;
  document_id: string;
  user_id: string;
  level: PermissionLevel;
  granted_by: string | null;
  updated_at: Generated<Date>;
}

/** An invitation to join a workspace (migration 0024); the token is stored as its SHA-256 hash. */
export interface InvitationsTable {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  role: Exclude<TenantRole, 'owner'>;
  invited_by: string | null;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  accepted_user_id: string | null;
  revoked_at: NullableTimestamp;
}

/** A one-time password reset link (migration 0024); `created_by` is the admin who made it, if one did. */
export interface PasswordResetsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: Generated<string>;
  tenant_id: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  detail: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: Generated<Date>;
}

export interface DocumentUpdatesTable {
  seq: Generated<string>;
  tenant_id: string;
  document_id: string;
  data: Uint8Array;
  user_id: string | null;
  created_at: Generated<Date>;
  /** Migration 0027: the `traceparent` of the span that received the update; written only while tracing is on. */
  trace_context: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A log row that could not be applied, moved out of `document_updates` (migration 0008). */
export interface DocumentQuarantineTable {
  seq: string;
  tenant_id: string;
  document_id: string;
  data: Uint8Array;
  user_id: string | null;
  created_at: Date;
  quarantined_at: Generated<Date>;
  /** Why it could not be applied (an `UpdateProblemCode`). */
  code: string;
  detail: string;
}

export type { FeedEventType } from '../contract/feed.js';
import type { FeedEventType } from '../contract/feed.js';

export interface DocumentEventsTable {
  seq: Generated<string>;
  txid: Generated<string>;
  tenant_id: string;
  document_id: string;
  type: FeedEventType;
  created_at: Generated<Date>;
  /** Migration 0015: on a compaction's `document.changed`, the time of the newest log row it folded. */
  changed_at: NullableTimestamp;
  /** Migration 0020: what a notification event is about (a comment, a user, a review event). */
  subject_id: string | null;
  /** Migration 0027: on a compaction's `document.changed`, the newest folded row's `traceparent`. */
  trace_context: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface FeedCursorsTable {
  name: string;
  txid: string;
  seq: string;
  updated_at: Generated<Date>;
}

export interface SearchDocumentsTable {
  document_id: string;
  tenant_id: string;
  title: string;
  body: string;
  labels: string[];
  updated_at: Generated<Date>;
}

/** A tenant's indexed words, for typo-tolerant full-text search (migration 0010). */
export interface SearchVocabularyTable {
  tenant_id: string;
  word: string;
}

/** One logged search (migration 0010); the query is normalised (trimmed, lower case, single spaces). */
export interface SearchQueriesTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  query: string;
  mode: 'fulltext' | 'semantic' | 'hybrid';
  results: number;
  took_ms: number;
  created_at: Generated<Date>;
}

/** A result opened from a logged search (migration 0010). */
export interface SearchClicksTable {
  search_id: string;
  tenant_id: string;
  document_id: string;
  position: number;
  created_at: Generated<Date>;
}

export interface IndexStateTable {
  document_id: string;
  tenant_id: string;
  index_name: string;
  horizon: string;
  content_hash: string | null;
  updated_at: Generated<Date>;
}

export interface DocumentClassificationsTable {
  document_id: string;
  tenant_id: string;
  model: string;
  label: string;
  confidence: number;
  version: string;
  created_at: Generated<Date>;
  /** The label shown to people (migration 0011): null below the text or confidence floor. */
  shown_label: string | null;
  reason: 'too_little_text' | 'low_confidence' | null;
}

/** Only present where pgvector is installed (embedded profile). */
export interface DocumentChunksTable {
  document_id: string;
  tenant_id: string;
  chunk_index: number;
  hash: string;
  text: string;
  embedding: string;
  model: string;
}

export type ClassifierStatus = 'queued' | 'training' | 'ready' | 'rejected' | 'failed';

export interface ClassifiersTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  version: number;
  status: ClassifierStatus;
  active: Generated<boolean>;
  labels: Generated<string[]>;
  examples: ColumnType<{ text: string; label: string }[], string, string>;
  metrics: ColumnType<{ accuracy: number; macroF1: number; heldOut: number; trainedOn: number } | null, string | null, string | null>;
  model: ColumnType<unknown, string | null, string | null>;
  error: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Migration 0011: training stages, candidates, registry and lease. */
  stage: Generated<'quick' | 'final'>;
  source: Generated<'examples' | 'documents'>;
  example_count: Generated<number>;
  candidates: ColumnType<unknown, string | null, string | null>;
  selected: string | null;
  pinned: Generated<boolean>;
  activated_at: Date | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  attempts: Generated<number>;
}

/** A document's label for training one of the workspace's classifiers (migration 0011). */
export interface DocumentLabelsTable {
  document_id: string;
  tenant_id: string;
  classifier: string;
  label: string;
  labelled_by: string | null;
  updated_at: Generated<Date>;
}

/** Per-workspace ML settings (migration 0011). */
export interface MlSettingsTable {
  tenant_id: string;
  default_classifier: string | null;
  updated_at: Generated<Date>;
}

export interface DocumentSnapshotsTable {
  document_id: string;
  tenant_id: string;
  state: Uint8Array;
  last_seq: string;
  updated_at: Generated<Date>;
}

// ---- notifications and reviews (migration 0020) ----

export interface NotificationsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  kind: NotificationKind;
  document_id: string | null;
  actor_id: string | null;
  /** Idempotency: `ev:<feed seq>`, unique per user and kind. */
  source: string;
  data: ColumnType<Record<string, string>, string | undefined, string>;
  created_at: Generated<Date>;
  read_at: NullableTimestamp;
}

export type DeliveryChannel = 'email' | 'push';
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped' | 'unknown';

export interface NotificationDeliveriesTable {
  id: Generated<string>;
  tenant_id: string;
  notification_id: string;
  user_id: string;
  channel: DeliveryChannel;
  status: Generated<DeliveryStatus>;
  due_at: ColumnType<Date, Date | string | undefined, Date | string>;
  attempts: Generated<number>;
  claimed_at: NullableTimestamp;
  sent_at: NullableTimestamp;
  error: string | null;
  created_at: Generated<Date>;
}

export interface PushSubscriptionsTable {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: Generated<Date>;
  last_error: string | null;
}

export interface WorkflowsTable {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  steps: ColumnType<WorkflowStep[], string, string>;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  archived_at: NullableTimestamp;
}

export interface ReviewsTable {
  id: Generated<string>;
  tenant_id: string;
  document_id: string;
  workflow_id: string | null;
  workflow_name: string;
  steps: ColumnType<WorkflowStep[], string, string>;
  version_id: string | null;
  requested_by: string | null;
  status: Generated<ReviewStatus>;
  current_step: Generated<number>;
  step_started_at: Generated<Date>;
  step_due_at: NullableTimestamp;
  created_at: Generated<Date>;
  decided_at: NullableTimestamp;
}

export interface ReviewTasksTable {
  id: Generated<string>;
  tenant_id: string;
  review_id: string;
  document_id: string;
  step: number;
  assignee_id: string;
  status: Generated<TaskStatus>;
  comment: string | null;
  due_at: NullableTimestamp;
  created_at: Generated<Date>;
  decided_at: NullableTimestamp;
}

export interface ReviewEventsTable {
  id: Generated<string>;
  tenant_id: string;
  review_id: string;
  document_id: string;
  step: number | null;
  type: ReviewEventType;
  actor_id: string | null;
  comment: string | null;
  created_at: Generated<Date>;
}

export interface ReviewTimersTable {
  id: Generated<string>;
  tenant_id: string;
  review_id: string;
  step: number;
  kind: 'warning' | 'escalation';
  due_at: Timestamp;
  fired_at: NullableTimestamp;
}

/** A workspace's OpenID Connect sign-in (migration 0025). The secret is AES-GCM sealed, never returned. */
export interface SsoConfigsTable {
  tenant_id: string;
  issuer: string;
  client_id: string;
  client_secret_enc: string | null;
  enabled: Generated<boolean>;
  mandatory: Generated<boolean>;
  default_role: Exclude<TenantRole, 'owner'>;
  allowed_domains: ColumnType<string[], string[] | undefined, string[]>;
  updated_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** One SSO sign-in attempt: pending (state, nonce, verifier), then its one-time exchange code (migration 0025). */
export interface SsoLoginsTable {
  id: Generated<string>;
  tenant_id: string;
  state_hash: string;
  browser_hash: string;
  nonce: string;
  verifier_enc: string;
  ip: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  user_id: string | null;
  exchange_hash: string | null;
  exchange_expires_at: NullableTimestamp;
  exchanged_at: NullableTimestamp;
}

/** (tenant, issuer, subject) → user: who an identity provider's account is here (migration 0025). */
export interface UserIdentitiesTable {
  tenant_id: string;
  issuer: string;
  subject: string;
  user_id: string;
  email: string | null;
  created_at: Generated<Date>;
  last_login_at: NullableTimestamp;
}

/** An uploaded file of a document (migration 0026). */
export interface AttachmentsTable {
  id: string;
  tenant_id: string;
  /** Null once its document was purged: the collector removes the blob. */
  document_id: string | null;
  created_by: string | null;
  name: string;
  content_type: string;
  kind: 'image' | 'file';
  /** Bytes (int8: read as a string on Postgres, Number() it): the declared length while uploading, the stored length once ready. */
  size: ColumnType<string | number, number, number>;
  storage_key: string;
  status: Generated<'uploading' | 'ready'>;
  created_at: Generated<Date>;
  ready_at: NullableTimestamp;
  extraction_status: Generated<'none' | 'pending' | 'done' | 'failed'>;
  extracted_text: string | null;
  extracted_at: NullableTimestamp;
  extraction_error: string | null;
  unreferenced_since: NullableTimestamp;
  checked_at: NullableTimestamp;
}

/** Migration 0029: a workspace's webhook endpoint (secrets sealed, see core/secret-box.ts). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  tenant_id: string;
  url: string;
  description: Generated<string>;
  events: string[];
  enabled: Generated<boolean>;
  disabled_reason: 'failing' | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: NullableTimestamp;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  consecutive_failures: Generated<number>;
  failing_since: NullableTimestamp;
  last_success_at: NullableTimestamp;
  last_failure_at: NullableTimestamp;
}

/** Migration 0029: one event for one endpoint, unique per (endpoint, event id). */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  lease_until: NullableTimestamp;
  claim_token: string | null;
  last_status: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  last_attempt_at: NullableTimestamp;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  delivered_at: NullableTimestamp;
}

export interface Database {
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  tenants: TenantsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  sessions: SessionsTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  api_keys: ApiKeysTable;
  attachments: AttachmentsTable;
  secrets_key_check: SecretsKeyCheckTable;
  documents: DocumentsTable;
  document_permissions: DocumentPermissionsTable;
  collections: CollectionsTable;
  document_stars: DocumentStarsTable;
  document_views: DocumentViewsTable;
  document_public_links: DocumentPublicLinksTable;
  document_comments: DocumentCommentsTable;
  comment_mentions: CommentMentionsTable;
  document_versions: DocumentVersionsTable;
  document_authorship: DocumentAuthorshipTable;
  document_seen: DocumentSeenTable;
  audit_log: AuditLogTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  push_subscriptions: PushSubscriptionsTable;
  workflows: WorkflowsTable;
  reviews: ReviewsTable;
  review_tasks: ReviewTasksTable;
  review_events: ReviewEventsTable;
  review_timers: ReviewTimersTable;
  document_updates: DocumentUpdatesTable;
  document_snapshots: DocumentSnapshotsTable;
  document_quarantine: DocumentQuarantineTable;
  document_events: DocumentEventsTable;
  feed_cursors: FeedCursorsTable;
  search_documents: SearchDocumentsTable;
  search_vocabulary: SearchVocabularyTable;
  search_queries: SearchQueriesTable;
  search_clicks: SearchClicksTable;
  index_state: IndexStateTable;
  document_classifications: DocumentClassificationsTable;
  document_chunks: DocumentChunksTable;
  classifiers: ClassifiersTable;
  document_labels: DocumentLabelsTable;
  ml_settings: MlSettingsTable;
  sso_configs: SsoConfigsTable;
  sso_logins: SsoLoginsTable;
  user_identities: UserIdentitiesTable;
  invitations: InvitationsTable;
  password_resets: PasswordResetsTable;
}

export type UserRow = Selectable<UsersTable>;
export type DocumentRow = Selectable<DocumentsTable>;
export type NewAuditRow = Insertable<AuditLogTable>;
