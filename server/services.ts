/** What commands need from the process: store, tokens, hashing, events, settings. */
import type { Store } from '../db/store.js';
import type { AccessEvents } from '../lib/access-events.js';
import type { NotificationHub } from '../lib/notification-hub.js';
import type { PasswordHasher } from './auth/passwords.js';
import type { TokenService } from '../core/tokens.js';
import type { Logger } from '../lib/log.js';
import type { ContentService } from '../sync/content-service.js';
import type { FullTextIndex } from '../ml-workers/search/fulltext.js';
import type { VectorIndex } from '../ml-workers/search/vectors.js';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import type { SecretBox } from '../core/secret-box.js';
import type { BlobStore } from '../lib/storage/blob-store.js';

export interface Services {
  store: Store;
  tokens: TokenService;
  passwords: PasswordHasher;
  accessEvents: AccessEvents;
  /** Live notification signals between the worker that makes notifications and the API streams that show them. */
  notificationHub: NotificationHub;
  log: Logger;
  refreshTtlSeconds: number;
  /** Seals secrets kept at rest (TOTP secrets, single sign-on client secrets). */
  secrets: SecretBox;
  refreshReuseGraceSeconds: number;
  /** Where file bytes live (the filesystem under DATA_DIR, or S3-compatible object storage). */
  blobs: BlobStore;
  /** File limits: the largest file, a workspace's default quota, when unfinished uploads expire. */
  files: { maxUploadBytes: number; workspaceQuotaBytes: number; uploadExpiryHours: number };
  /** Days a deleted document stays in the trash (`purgeAt`). @default 30 */
  trashRetentionDays?: number;
  /** Document content (present when this process runs the api or sync role). */
  content?: ContentService;
  /** Full-text index (Meilisearch when configured, else Postgres). */
  fulltext?: FullTextIndex;
  /** Semantic search: the vector index and the (lazily started) query embedder. */
  semantic?: { vectors: VectorIndex; embedder: () => Promise<Embedder> };
}

/** Who is acting and from where; commands receive it with their props. */
export interface ActorContext {
  userId: string;
  tenantId: string;
  ip: string | null;
}
