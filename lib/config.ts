/**
 * Configuration, read once from the environment into a typed, validated object.
 * Nothing else in the code base reads `process.env` (a lint rule enforces it).
 * Every variable is documented in `.env.example`.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from './http/client-ip.js';

/** Roles a process can run; `npm start` runs all of them in one process. */
export const ROLES = ['api', 'sync', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must start with ${protocols.join(' or ')}`,
    });
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? def : v === 'true' || v === '1' || v === 'yes'));
const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** OTLP over HTTP: protobuf (the standard default) or JSON; gRPC is not shipped. */
const otlpProtocol = z.enum(['http/protobuf', 'http/json']).optional();
/** `key=value,key2=value2`, values percent-encoded (the W3C Baggage form the OTEL_* lists use). */
const otlpHeaders = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const out: Record<string, string> = {};
    for (const part of (v ?? '').split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      const key = eq > 0 ? part.slice(0, eq).trim() : '';
      let value: string;
      try {
        value = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        value = '';
      }
      if (!key || eq < 0) {
        // The entry itself may be a secret (an API key header): name its position only.
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of key=value' });
        return z.NEVER;
      }
      out[key] = value;
    }
    return out;
  });

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: int(8080, 0, 65535),
  DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']),
  DATABASE_APP_URL: optionalUrl(['postgres://', 'postgresql://']),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('public'),
  DATABASE_APP_ROLE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier')
    .default('quire_app'),
  DATABASE_POOL_MAX: int(10, 1, 500),
  VACUUM_INTERVAL_SECONDS: int(300, 0, 86_400),
  DATABASE_APPLICATION_NAME: z.string().min(1).max(63).default('quire'),
  DATABASE_CONNECT_TIMEOUT_MS: int(5_000, 100, 600_000),
  DATABASE_STATEMENT_TIMEOUT_MS: int(15_000, 0, 3_600_000),
  DATABASE_QUERY_TIMEOUT_MS: int(20_000, 0, 3_600_000),

  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  REDIS_PREFIX: z.string().default('quire:'),
  REDIS_COMMAND_TIMEOUT_MS: int(1_000, 50, 60_000),
  READY_PROBE_INTERVAL_MS: int(2_000, 100, 60_000),
  READY_PROBE_TIMEOUT_MS: int(1_500, 50, 60_000),

  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_PUBLIC_KEY: z.string().optional(),
  JWT_ISSUER: z.string().min(1).default('quire'),
  JWT_AUDIENCE: z.string().min(1).default('quire'),
  ACCESS_TOKEN_TTL_SECONDS: int(900, 30, 86_400),
  REFRESH_TOKEN_TTL_SECONDS: int(30 * 86_400, 300, 365 * 86_400),
  REFRESH_REUSE_GRACE_SECONDS: int(30, 0, 300),

  CORS_ORIGINS: list,
  WEB_APP: bool(true),
  WEB_DIR: z.string().default('./clients/web/dist'),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = parseTrustProxy(v);
      if ('error' in t) {
        ctx.addIssue({ code: 'custom', message: `must be false, true, a hop count or a list of proxy addresses/CIDRs: ${t.error}` });
        return z.NEVER;
      }
      return t;
    }),
  MAX_BODY_BYTES: int(1_048_576, 1024, 64 * 1_048_576),
  METRICS_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || v.length >= 16, { message: 'must be at least 16 characters' }),

  RATE_LIMIT_IP_PER_MINUTE: int(600, 1),
  RATE_LIMIT_IP_BURST: int(120, 1),
  RATE_LIMIT_USER_PER_MINUTE: int(1200, 1),
  RATE_LIMIT_USER_BURST: int(240, 1),
  RATE_LIMIT_AUTH_PER_MINUTE: int(20, 1),
  RATE_LIMIT_AUTH_BURST: int(10, 1),
  RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: int(5, 1),
  RATE_LIMIT_LOGIN_ACCOUNT_BURST: int(10, 1),
  RATE_LIMIT_PUBLIC_PER_MINUTE: int(120, 1),
  RATE_LIMIT_PUBLIC_BURST: int(60, 1),

  PASSWORD_SCRYPT_COST: int(15, 10, 20),

  NATS_URL: optionalUrl(['nats://', 'tls://']),
  NATS_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only')
    .default('QUIRE'),
  NATS_SUBJECT_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/, 'lower-case letters, digits, _ and - only')
    .default('quire'),
  MEILI_URL: optionalUrl(['http://', 'https://']),
  MEILI_KEY: z.string().optional(),
  MEILI_INDEX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('quire-documents'),
  FEED_POLL_MS: int(100, 10, 60_000),
  LAST_EDITED_INTERVAL_MS: int(2_000, 100, 60_000),
  SEMANTIC_SEARCH: bool(true),
  EMBEDDING_THREADS: int(1, 1, 16),
  QDRANT_URL: optionalUrl(['http://', 'https://']),
  QDRANT_KEY: z.string().optional(),
  QDRANT_COLLECTION: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('quire-chunks'),

  SYNC_MAX_FRAME_BYTES: int(4 * 1_048_576, 1024, 256 * 1_048_576),
  SYNC_MAX_DOCUMENT_BYTES: int(32 * 1_048_576, 1024, 1024 * 1_048_576),
  SYNC_AUTH_TIMEOUT_MS: int(10_000, 100, 600_000),
  SYNC_MAX_UNAUTH_BYTES: int(1_048_576, 1024, 64 * 1_048_576),
  SYNC_MAX_UNAUTH_MESSAGES: int(200, 1, 100_000),
  SYNC_MAX_PENDING_DOCUMENTS: int(20, 1, 10_000),
  SYNC_MAX_CONNECTIONS: int(20_000, 1, 1_000_000),
  SYNC_MAX_CONNECTIONS_PER_IP: int(500, 1, 1_000_000),
  SYNC_MAX_CONNECTIONS_PER_DOCUMENT: int(1_000, 1, 1_000_000),
  SYNC_MAX_CONNECTIONS_PER_USER_DOCUMENT: int(20, 1, 1_000_000),
  SYNC_MAX_DOCUMENTS_PER_SOCKET: int(100, 1, 100_000),
  SYNC_SOCKET_BURST_BYTES: int(8 * 1_048_576, 1024, 1024 * 1_048_576),
  SYNC_SOCKET_BYTES_PER_SECOND: int(1_048_576, 1024, 1024 * 1_048_576),
  SYNC_TENANT_BURST_BYTES: int(32 * 1_048_576, 1024, 4096 * 1_048_576),
  SYNC_TENANT_BYTES_PER_SECOND: int(4 * 1_048_576, 1024, 4096 * 1_048_576),
  SYNC_TENANT_WORK_BURST_MS: int(2_000, 10, 600_000),
  SYNC_TENANT_WORK_MS_PER_SECOND: int(250, 1, 100_000),
  SYNC_IDLE_TIMEOUT_MS: int(60_000, 1_000, 3_600_000),
  SYNC_COMPACT_AFTER_UPDATES: int(500, 1, 1_000_000),
  SYNC_COMPACT_DEBOUNCE_MS: int(5_000, 0, 3_600_000),
  HISTORY_CHECKPOINT_INTERVAL_MS: int(600_000, 50, 86_400_000),
  TRASH_RETENTION_DAYS: int(30, 1, 3650),
  HISTORY_RETENTION_DAYS: int(0, 0, 36_500),
  RETENTION_INTERVAL_MS: int(3_600_000, 0, 7 * 86_400_000),
  ACCESS_RECHECK_SECONDS: int(5, 1, 300),
  PUBLIC_URL: optionalUrl(['http://', 'https://']),
  SMTP_URL: optionalUrl(['smtp://', 'smtps://']),
  MAIL_FROM: z.string().trim().default('Quire <quire@localhost>'),
  EMAIL_BATCH_MS: int(60_000, 0, 86_400_000),
  NOTIFY_POLL_MS: int(1_000, 10, 600_000),
  VAPID_PUBLIC_KEY: z.string().trim().optional(),
  VAPID_PRIVATE_KEY: z.string().trim().optional(),
  VAPID_SUBJECT: z.string().trim().default('mailto:quire@localhost'),
  PUSH_ALLOW_PRIVATE_ENDPOINTS: bool(false),
  REVIEW_TIMER_POLL_MS: int(1_000, 10, 600_000),
  INVITATION_TTL_HOURS: int(7 * 24, 1, 90 * 24),
  PASSWORD_RESET_TTL_MINUTES: int(60, 5, 24 * 60),
  SHUTDOWN_TIMEOUT_MS: int(10_000, 100, 120_000),
  // The key that seals secrets at rest (TOTP secrets, SSO client secrets; 32 bytes, base64);
  // unset: generated once into DATA_DIR/keys/secrets.key.
  SECRETS_KEY: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || Buffer.from(v, 'base64').length === 32, { message: 'must be 32 bytes, base64-encoded' }),
  SSO_ALLOW_PRIVATE_ISSUERS: bool(false),
  // Webhooks (ml-workers/webhooks): the SSRF guard, the per-request deadline, the retry
  // schedule (comma-separated delays in ms; unset: about a day), claim lease and concurrency.
  WEBHOOKS_ALLOW_PRIVATE_NETWORKS: bool(false),
  WEBHOOKS_TIMEOUT_MS: int(10_000, 100, 120_000),
  WEBHOOKS_RETRY_SCHEDULE_MS: list
    .refine((v) => v.length <= 30 && v.every((s) => /^\d{1,8}$/.test(s) && Number(s) <= 86_400_000), { message: 'must be up to 30 comma-separated delays in ms, each at most 86400000' })
    .transform((v) => v.map(Number)),
  WEBHOOKS_POLL_MS: int(1_000, 10, 600_000),
  WEBHOOKS_LEASE_MS: int(60_000, 100, 3_600_000),
  WEBHOOKS_CONCURRENCY: int(32, 1, 1_024),
  WEBHOOKS_PER_TENANT_CONCURRENCY: int(8, 1, 256),
  // Files: where their bytes live (the filesystem under DATA_DIR/blobs, or S3-compatible
  // object storage when S3_BUCKET is set), and how much a file and a workspace may take.
  STORAGE_BACKEND: z.enum(['fs', 's3']).optional(),
  S3_ENDPOINT: optionalUrl(['http://', 'https://']),
  S3_REGION: z.string().trim().default('us-east-1'),
  S3_BUCKET: z.string().trim().optional(),
  S3_ACCESS_KEY_ID: z.string().trim().optional(),
  S3_SECRET_ACCESS_KEY: z.string().trim().optional(),
  S3_PREFIX: z
    .string()
    .trim()
    .default('')
    .refine((v) => v === '' || /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/?$/.test(v), { message: 'must be a folder path like quire/ or empty' }),
  MAX_UPLOAD_BYTES: int(100 * 1_048_576, 1, 5 * 1024 * 1_048_576),
  WORKSPACE_STORAGE_QUOTA_BYTES: int(10 * 1024 * 1_048_576, 0, Number.MAX_SAFE_INTEGER),
  UPLOAD_EXPIRY_HOURS: int(24, 1, 24 * 30),
  FILE_ORPHAN_DAYS: int(7, 1, 36_500),
  // Tracing (OpenTelemetry, lib/tracing.ts): the standard OTEL_* variables; off unless an
  // OTLP exporter or endpoint is named.
  OTEL_SDK_DISABLED: bool(false),
  OTEL_TRACES_EXPORTER: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || v === 'otlp' || v === 'none', { message: 'must be otlp or none (the only trace exporters Quire ships)' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl(['http://', 'https://']),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl(['http://', 'https://']),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders,
  OTEL_EXPORTER_OTLP_TIMEOUT: z.coerce.number().int().min(1).max(600_000).optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: z.coerce.number().int().min(1).max(600_000).optional(),
  OTEL_EXPORTER_OTLP_COMPRESSION: z.enum(['gzip', 'none']).optional(),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: z.enum(['gzip', 'none']).optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('quire'),
  OTEL_RESOURCE_ATTRIBUTES: otlpHeaders,
  OTEL_TRACES_SAMPLER: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(5_000, 1, 600_000),
  OTEL_BSP_EXPORT_TIMEOUT: int(30_000, 1, 600_000),
  OTEL_BSP_MAX_QUEUE_SIZE: int(2_048, 1, 1_000_000),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(512, 1, 1_000_000),
});

export interface Config {
  env: 'development' | 'production' | 'test';
  roles: Role[];
  host: string;
  port: number;
  dataDir: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  database: {
    /** Owner/migrator connection; unset ⇒ embedded PGlite in `dataDir`. */
    url?: string;
    /** Connection of the application role (RLS applies). Derived from `url` when unset. */
    appUrl?: string;
    schema: string;
    appRole: string;
    poolMax: number;
    /** Vacuum the churned tables this often when the database has no autovacuum (embedded, or `autovacuum = off`); 0 = never. */
    vacuumIntervalSeconds: number;
    /** `application_name` of every connection, so operators find Quire's sessions in `pg_stat_activity`. @default 'quire' */
    applicationName: string;
    /**
     * Opening a connection or waiting for a free one; past it the request answers 503.
     * Connecting on a LAN takes milliseconds; 5 s rides out a brief failover without
     * holding requests for as long as a load balancer's own timeout. @default 5 s
     */
    connectTimeoutMs: number;
    /**
     * Postgres' `statement_timeout` for the application role (0 = none). Quire's statements
     * take milliseconds; the slowest (a compaction of a very long log, a full re-index
     * read) take a few seconds, so 15 s only stops statements that are stuck. @default 15 s
     */
    statementTimeoutMs: number;
    /**
     * Client-side bound on any application query's answer (0 = none): covers a database or
     * network that does not answer at all, which `statement_timeout` cannot. Kept above the
     * statement timeout so the server's own cancel normally comes first. Migrations and
     * vacuum (owner role) are not bounded. @default 20 s
     */
    queryTimeoutMs: number;
  };
  redis: {
    url?: string;
    prefix: string;
    /**
     * Bound on each Redis command. Redis answers in well under a millisecond; a command that
     * takes a second means a stalled link, and then rate limiting falls back to this
     * instance's memory and fan-out carries on locally instead of holding requests. @default 1 s
     */
    commandTimeoutMs: number;
  };
  /**
   * Readiness (`/ready`): a dependency the instance cannot work without (Postgres) is
   * probed on this period with a `select 1` bounded by the timeout, on its own connection;
   * a failed probe makes `/ready` answer 503 until one succeeds.
   */
  readiness: {
    /** @default 2 s: a load balancer stops routing within a few seconds of an outage. */
    probeIntervalMs: number;
    /** @default 1.5 s: `select 1` takes a millisecond; longer means unreachable or stalled. */
    probeTimeoutMs: number;
  };
  jwt: {
    privateKeyPem?: string;
    publicKeyPem?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
    /** A refresh token presented again this soon after its rotation gets a new pair instead of revoking the family (lost responses, racing tabs). */
    refreshReuseGraceSeconds: number;
  };
  http: {
    corsOrigins: string[];
    /** Which `X-Forwarded-For` entries to believe (see server/http/client-ip.ts). */
    trustProxy: TrustProxy;
    maxBodyBytes: number;
    /** Bearer token for `/metrics`; unset ⇒ `/metrics` answers loopback clients only. */
    metricsToken?: string;
  };
  /** The web app's production build, served at `/` by API processes. */
  web: { enabled: boolean; dir: string };
  rateLimits: {
    ip: { perMinute: number; burst: number };
    user: { perMinute: number; burst: number };
    auth: { perMinute: number; burst: number };
    /**
     * Login attempts per account, from any address: password guessing spread over many
     * addresses still gets `perMinute` guesses. A victim's own login can be slowed to that
     * rate by someone guessing at their account (the usual price of account throttling).
     */
    loginAccount: { perMinute: number; burst: number };
    /** Reads of public links (`GET /api/v1/public/:token`, no sign-in), per address. */
    publicLink: { perMinute: number; burst: number };
  };
  passwords: { scryptCost: number };
  shutdownTimeoutMs: number;
  /** How long a deleted document stays in the trash (`purgeAt` = deletion + this). @default 30 days */
  trashRetentionDays: number;
  /**
   * Automatic versions older than this many days are removed (named and restore versions,
   * and each document's newest version, are kept); 0 keeps every version. @default 0
   */
  historyRetentionDays: number;
  /** Files in documents: uploads, downloads, quotas. */
  files: {
    /** `fs`: `DATA_DIR/blobs` (the embedded default); `s3`: S3-compatible object storage. */
    backend: 'fs' | 's3';
    s3?: { endpoint?: string; region: string; bucket: string; accessKeyId: string; secretAccessKey: string; prefix: string };
    /** Largest file accepted, in bytes. @default 100 MiB */
    maxUploadBytes: number;
    /** What a workspace's files may take together, in bytes (a workspace can be given its own). @default 10 GiB */
    workspaceQuotaBytes: number;
    /** An upload not finished after this long is removed (and stops counting against the quota). @default 24 */
    uploadExpiryHours: number;
    /**
     * A file that neither its document nor any of its versions has shown for this many days
     * (and at least HISTORY_RETENTION_DAYS) is removed by the worker's retention job. @default 7
     */
    orphanDays: number;
  };
  /** How often the worker role purges the trash and expires versions; 0 = never. @default 1 hour */
  retentionIntervalMs: number;
  notifications: {
    /** Where links in emails and pushes point (the web app's origin). @default http://localhost:<PORT> */
    publicUrl: string;
    /** Email goes out through this SMTP server when set; unset: no email channel. */
    smtpUrl?: string;
    /** The From address of notification email. */
    mailFrom: string;
    /** Email waits this long for more notifications to the same person and sends them together (a digest). @default 60 s */
    emailBatchMs: number;
    /** How often the email and push senders look for due deliveries. @default 1 s */
    pollMs: number;
    /** Web Push application server keys (base64url); generated once into `DATA_DIR/keys/` when unset. */
    vapidPublicKey?: string;
    vapidPrivateKey?: string;
    /** The contact push services see (`mailto:` or `https:`). */
    vapidSubject: string;
    /** Web Push may go to endpoints on loopback, private or link-local addresses (tests, closed networks); off: only public `https:` push services (SSRF guard). @default false */
    pushAllowPrivateEndpoints: boolean;
    /** How often the worker looks for review deadlines that came due. @default 1 s */
    reviewTimerPollMs: number;
  };
  /** Invitations and password reset links (how long a link works). */
  accounts: {
    /** @default 168 (7 days) */
    invitationTtlHours: number;
    /** @default 60 */
    passwordResetTtlMinutes: number;
  };
  sync: SyncLimits;
  /**
   * Seals secrets kept at rest (TOTP secrets, SSO client secrets) with AES-256-GCM; unset:
   * generated once into `DATA_DIR/keys/secrets.key`. Instances sharing a database need the same one.
   */
  secretsKey?: string;
  /** Outgoing webhooks (docs/WEBHOOKS.md). */
  webhooks: {
    /** Endpoints may be `http:` or on loopback/private/link-local addresses (tests, closed networks); off: `https:` and public addresses only (SSRF guard). @default false */
    allowPrivateNetworks: boolean;
    /** One delivery request (connect, send, answer) ends after this long. @default 10 s */
    timeoutMs: number;
    /** Delay before each retry in ms; empty: the built-in schedule (about 24 h in all). */
    retryScheduleMs: number[];
    /** How often a worker looks for due deliveries (it is also woken when it enqueues). @default 1 s */
    pollMs: number;
    /** A claimed delivery not recorded within this long is taken by another worker. @default 60 s */
    leaseMs: number;
    /** Requests in flight per worker. @default 32 */
    concurrency: number;
    /** Requests in flight per workspace across all workers (per endpoint: half of it, at least 1). @default 8 */
    perTenantConcurrency: number;
  };
  /** Single sign-on (OpenID Connect), per workspace. */
  sso: {
    /** Issuers (and every URL their metadata names) may be `http:` or on loopback/private addresses (tests, closed networks); off: `https:` and public addresses only. @default false */
    allowPrivateIssuers: boolean;
  };
  feed: {
    /** NATS JetStream when set, else the in-process bus. */
    natsUrl?: string;
    stream: string;
    subjectPrefix: string;
    pollMs: number;
    /** How often the worker advances documents' `updated_at` to their newest edit (the lag it adds). */
    lastEditedMs: number;
  };
  /** Distributed tracing (lib/tracing.ts); `enabled` false ⇒ the SDK is never loaded. */
  tracing: TracingConfig;
  search: {
    meiliUrl?: string;
    meiliKey?: string;
    meiliIndex: string;
    /** Embeddings, semantic/hybrid search and classification. */
    semantic: boolean;
    embeddingThreads: number;
    qdrantUrl?: string;
    qdrantKey?: string;
    qdrantCollection: string;
  };
}

/**
 * OpenTelemetry tracing from the standard `OTEL_*` variables. On when `OTEL_TRACES_EXPORTER=otlp`
 * or an OTLP endpoint is set, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */
export interface TracingConfig {
  enabled: boolean;
  serviceName: string;
  /** Extra resource attributes (`OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes: Record<string, string>;
  /** Where spans go: the traces endpoint, or `<OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces`. @default http://localhost:4318/v1/traces */
  url: string;
  protocol: 'http/protobuf' | 'http/json';
  /** Sent with every export (an API key); never logged. */
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  sampler: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
  /** The ratio of the `traceidratio` samplers. @default 1 */
  samplerRatio: number;
  /** Batch span processor: delay between exports, export timeout, queue and batch sizes. */
  batch: { scheduleDelayMs: number; exportTimeoutMs: number; maxQueueSize: number; maxExportBatchSize: number };
}

/** Limits of the sync tier; crossing one closes only the offending connection. */
export interface SyncLimits {
  /** Largest WebSocket frame a client may send. @default 4 MiB */
  maxFrameBytes: number;
  /** Largest document (stored state, approximately the encoded Yjs size). @default 32 MiB */
  maxDocumentBytes: number;
  /** A socket with no authenticated document after this long is closed (4408). @default 10 s */
  authTimeoutMs: number;
  /** Bytes queued before authentication, per socket. @default 1 MiB */
  maxUnauthBytes: number;
  /** Messages queued before authentication, per socket. @default 200 */
  maxUnauthMessages: number;
  /** Documents awaiting authentication on one socket. @default 20 */
  maxPendingDocuments: number;
  /** Open sockets on this instance. @default 20,000 */
  maxConnections: number;
  /** Open sockets from one IP on this instance. @default 500 */
  maxConnectionsPerIp: number;
  /** Connections to one document on this instance; the last 10 % are kept for writers. @default 1,000 */
  maxConnectionsPerDocument: number;
  /** One user's connections to one document on this instance (tabs, devices). @default 20 */
  maxConnectionsPerUserDocument: number;
  /** Document sessions multiplexed over one socket. @default 100 */
  maxDocumentsPerSocket: number;
  /** Bytes one socket may send at once, and its refill per second (see sync/inbound-budget.ts). @default 8 MiB, 1 MiB/s */
  socketBurstBytes: number;
  socketBytesPerSecond: number;
  /** The same for all sockets of one workspace on this instance. @default 32 MiB, 4 MiB/s */
  tenantBurstBytes: number;
  tenantBytesPerSecond: number;
  /** Milliseconds of update processing a workspace may use at once, and per second after. @default 2,000 ms, 250 ms/s */
  tenantWorkBurstMs: number;
  tenantWorkMsPerSecond: number;
  /** A socket that sent nothing for this long is closed. @default 60 s */
  idleTimeoutMs: number;
  /** Compact a document's log once this many updates were appended since the last compaction. @default 500 */
  compactAfterUpdates: number;
  /** Delay before a due compaction runs; at most one is pending per document. @default 5 s */
  compactDebounceMs: number;
  /**
   * How often each instance reads the tenants' access versions from Postgres and re-checks
   * the open connections of tenants whose access changed: the bound on a revocation that
   * missed its Redis event. Each poll is one query. @default 5 s
   */
  accessRecheckMs: number;
  /**
   * An automatic version is taken of a document that was edited once this long has passed
   * since its last version (and when its last editor leaves). @default 10 minutes
   */
  historyCheckpointIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function parseRoles(argv: string[], problems: string[]): Role[] {
  const arg = argv.find((a) => a.startsWith('--roles='));
  if (!arg) return [...ROLES];
  const roles = arg
    .slice('--roles='.length)
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length) problems.push(`--roles: unknown role(s) ${bad.join(', ')}; expected some of ${ROLES.join(', ')}`);
  if (roles.length === 0) problems.push('--roles: at least one role is required');
  return roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));
}

/**
 * Parses configuration from an environment map and argv. Throws {@link ConfigError}
 * listing every problem at once.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, argv: string[] = process.argv): Config {
  const problems: string[] = [];
  const roles = parseRoles(argv, problems);
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`${issue.path.join('.') || '(env)'}: ${issue.message}`);
    }
  }
  if (parsed.success) {
    const e = parsed.data;
    if (Boolean(e.VAPID_PUBLIC_KEY) !== Boolean(e.VAPID_PRIVATE_KEY)) {
      problems.push('VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together (or both left unset to generate them in DATA_DIR)');
    }
    if (Boolean(e.JWT_PRIVATE_KEY) !== Boolean(e.JWT_PUBLIC_KEY)) {
      problems.push('JWT_PRIVATE_KEY and JWT_PUBLIC_KEY must be set together (or both left unset to generate keys in DATA_DIR)');
    }
    if (e.STORAGE_BACKEND === 's3' && !e.S3_BUCKET) problems.push('STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY; S3_ENDPOINT for a store other than AWS)');
    if (e.S3_BUCKET && (!e.S3_ACCESS_KEY_ID || !e.S3_SECRET_ACCESS_KEY)) problems.push('S3_BUCKET needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
    if (e.DATABASE_APP_URL && !e.DATABASE_URL) {
      problems.push('DATABASE_APP_URL needs DATABASE_URL (the owner connection that runs migrations)');
    }
  }
  if (problems.length || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const pem = (v?: string) => (v ? v.replace(/\\n/g, '\n') : undefined);
  return {
    env: e.NODE_ENV,
    roles,
    host: e.HOST,
    port: e.PORT,
    dataDir: path.resolve(e.DATA_DIR),
    logLevel: e.LOG_LEVEL,
    database: {
      url: e.DATABASE_URL,
      appUrl: e.DATABASE_APP_URL,
      schema: e.DATABASE_SCHEMA,
      appRole: e.DATABASE_APP_ROLE,
      poolMax: e.DATABASE_POOL_MAX,
      vacuumIntervalSeconds: e.VACUUM_INTERVAL_SECONDS,
      applicationName: e.DATABASE_APPLICATION_NAME,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      queryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL, prefix: e.REDIS_PREFIX, commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS },
    readiness: { probeIntervalMs: e.READY_PROBE_INTERVAL_MS, probeTimeoutMs: e.READY_PROBE_TIMEOUT_MS },
    jwt: {
      privateKeyPem: pem(e.JWT_PRIVATE_KEY),
      publicKeyPem: pem(e.JWT_PUBLIC_KEY),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    },
    http: { corsOrigins: e.CORS_ORIGINS, trustProxy: e.TRUST_PROXY, maxBodyBytes: e.MAX_BODY_BYTES, metricsToken: e.METRICS_TOKEN },
    web: { enabled: e.WEB_APP, dir: path.resolve(e.WEB_DIR) },
    rateLimits: {
      ip: { perMinute: e.RATE_LIMIT_IP_PER_MINUTE, burst: e.RATE_LIMIT_IP_BURST },
      user: { perMinute: e.RATE_LIMIT_USER_PER_MINUTE, burst: e.RATE_LIMIT_USER_BURST },
      auth: { perMinute: e.RATE_LIMIT_AUTH_PER_MINUTE, burst: e.RATE_LIMIT_AUTH_BURST },
      loginAccount: { perMinute: e.RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE, burst: e.RATE_LIMIT_LOGIN_ACCOUNT_BURST },
      publicLink: { perMinute: e.RATE_LIMIT_PUBLIC_PER_MINUTE, burst: e.RATE_LIMIT_PUBLIC_BURST },
    },
    passwords: { scryptCost: e.PASSWORD_SCRYPT_COST },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    sso: { allowPrivateIssuers: e.SSO_ALLOW_PRIVATE_ISSUERS },
    webhooks: {
      allowPrivateNetworks: e.WEBHOOKS_ALLOW_PRIVATE_NETWORKS,
      timeoutMs: e.WEBHOOKS_TIMEOUT_MS,
      retryScheduleMs: e.WEBHOOKS_RETRY_SCHEDULE_MS,
      pollMs: e.WEBHOOKS_POLL_MS,
      leaseMs: e.WEBHOOKS_LEASE_MS,
      concurrency: e.WEBHOOKS_CONCURRENCY,
      perTenantConcurrency: e.WEBHOOKS_PER_TENANT_CONCURRENCY,
    },
    secretsKey: e.SECRETS_KEY,
    trashRetentionDays: e.TRASH_RETENTION_DAYS,
    historyRetentionDays: e.HISTORY_RETENTION_DAYS,
    files: {
      backend: e.STORAGE_BACKEND ?? (e.S3_BUCKET ? 's3' : 'fs'),
      s3: e.S3_BUCKET
        ? {
            endpoint: e.S3_ENDPOINT,
            region: e.S3_REGION,
            bucket: e.S3_BUCKET,
            accessKeyId: e.S3_ACCESS_KEY_ID ?? '',
            secretAccessKey: e.S3_SECRET_ACCESS_KEY ?? '',
            prefix: e.S3_PREFIX.replace(/\/+$/, ''),
          }
        : undefined,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      workspaceQuotaBytes: e.WORKSPACE_STORAGE_QUOTA_BYTES,
      uploadExpiryHours: e.UPLOAD_EXPIRY_HOURS,
      orphanDays: Math.max(e.FILE_ORPHAN_DAYS, e.HISTORY_RETENTION_DAYS),
    },
    retentionIntervalMs: e.RETENTION_INTERVAL_MS,
    notifications: {
      publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
      smtpUrl: e.SMTP_URL,
      mailFrom: e.MAIL_FROM,
      emailBatchMs: e.EMAIL_BATCH_MS,
      pollMs: e.NOTIFY_POLL_MS,
      vapidPublicKey: e.VAPID_PUBLIC_KEY || undefined,
      vapidPrivateKey: e.VAPID_PRIVATE_KEY || undefined,
      vapidSubject: e.VAPID_SUBJECT,
      pushAllowPrivateEndpoints: e.PUSH_ALLOW_PRIVATE_ENDPOINTS,
      reviewTimerPollMs: e.REVIEW_TIMER_POLL_MS,
    },
    accounts: { invitationTtlHours: e.INVITATION_TTL_HOURS, passwordResetTtlMinutes: e.PASSWORD_RESET_TTL_MINUTES },
    feed: { natsUrl: e.NATS_URL, stream: e.NATS_STREAM, subjectPrefix: e.NATS_SUBJECT_PREFIX, pollMs: e.FEED_POLL_MS, lastEditedMs: e.LAST_EDITED_INTERVAL_MS },
    tracing: tracingConfig(e),
    search: {
      meiliUrl: e.MEILI_URL,
      meiliKey: e.MEILI_KEY,
      meiliIndex: e.MEILI_INDEX,
      semantic: e.SEMANTIC_SEARCH,
      embeddingThreads: e.EMBEDDING_THREADS,
      qdrantUrl: e.QDRANT_URL,
      qdrantKey: e.QDRANT_KEY,
      qdrantCollection: e.QDRANT_COLLECTION,
    },
    sync: {
      maxFrameBytes: e.SYNC_MAX_FRAME_BYTES,
      maxDocumentBytes: e.SYNC_MAX_DOCUMENT_BYTES,
      authTimeoutMs: e.SYNC_AUTH_TIMEOUT_MS,
      maxUnauthBytes: e.SYNC_MAX_UNAUTH_BYTES,
      maxUnauthMessages: e.SYNC_MAX_UNAUTH_MESSAGES,
      maxPendingDocuments: e.SYNC_MAX_PENDING_DOCUMENTS,
      maxConnections: e.SYNC_MAX_CONNECTIONS,
      maxConnectionsPerIp: e.SYNC_MAX_CONNECTIONS_PER_IP,
      maxConnectionsPerDocument: e.SYNC_MAX_CONNECTIONS_PER_DOCUMENT,
      maxConnectionsPerUserDocument: e.SYNC_MAX_CONNECTIONS_PER_USER_DOCUMENT,
      maxDocumentsPerSocket: e.SYNC_MAX_DOCUMENTS_PER_SOCKET,
      socketBurstBytes: e.SYNC_SOCKET_BURST_BYTES,
      socketBytesPerSecond: e.SYNC_SOCKET_BYTES_PER_SECOND,
      tenantBurstBytes: e.SYNC_TENANT_BURST_BYTES,
      tenantBytesPerSecond: e.SYNC_TENANT_BYTES_PER_SECOND,
      tenantWorkBurstMs: e.SYNC_TENANT_WORK_BURST_MS,
      tenantWorkMsPerSecond: e.SYNC_TENANT_WORK_MS_PER_SECOND,
      idleTimeoutMs: e.SYNC_IDLE_TIMEOUT_MS,
      compactAfterUpdates: e.SYNC_COMPACT_AFTER_UPDATES,
      compactDebounceMs: e.SYNC_COMPACT_DEBOUNCE_MS,
      accessRecheckMs: e.ACCESS_RECHECK_SECONDS * 1000,
      historyCheckpointIntervalMs: e.HISTORY_CHECKPOINT_INTERVAL_MS,
    },
  };
}

/** The tracing section from the parsed `OTEL_*` variables (see {@link TracingConfig}). */
function tracingConfig(e: z.infer<typeof EnvSchema>): TracingConfig {
  const exporterNamed = e.OTEL_TRACES_EXPORTER === 'otlp';
  const endpointSet = Boolean(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || e.OTEL_EXPORTER_OTLP_ENDPOINT);
  const enabled = !e.OTEL_SDK_DISABLED && e.OTEL_TRACES_EXPORTER !== 'none' && (exporterNamed || endpointSet);
  const base = (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '');
  return {
    enabled,
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: e.OTEL_RESOURCE_ATTRIBUTES,
    url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
    protocol: e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf',
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    compression: e.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? e.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    sampler: e.OTEL_TRACES_SAMPLER,
    samplerRatio: e.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
    },
  };
}
