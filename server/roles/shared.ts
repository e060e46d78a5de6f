/**
 * What every role of a process shares, opened once by the root (`server/app.ts`) before any
 * role starts: the store and its vacuum timer, Redis, rate limits, the dependency probes,
 * the signing keys and the services commands use, metrics, and the HTTP edge (not yet
 * listening) with its health routes. Each resource registers its shutdown step as it
 * opens, so it closes after every role that uses it.
 */
import { Redis } from 'ioredis';
import { NotificationHub } from '../../lib/notification-hub.js';
import { startVacuumTimer } from '../../db/maintenance.js';
import type { PGliteHandle } from '../../db/pglite-dialect.js';
import { openStore } from '../../db/store.js';
import { KeyRing } from '../../core/key-ring.js';
import { loadSigningKeys, type SigningKeys } from '../../core/keys.js';
import { TokenService } from '../../core/tokens.js';
import { AccessEvents } from '../../lib/access-events.js';
import type { Config } from '../../lib/config.js';
import { HttpEdge } from '../../lib/http/edge.js';
import type { Logger } from '../../lib/log.js';
import { Metrics } from '../../lib/metrics.js';
import { PasswordHasher } from '../auth/passwords.js';
import { DependencyMonitor } from '../dependencies.js';
import { MemoryRateLimiter } from '../rate-limit/memory.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { RedisRateLimiter } from '../rate-limit/redis.js';
import type { RouteDoc } from '../http/openapi/route-doc.js';
import { limit, type RouteContext } from '../routes/context.js';
import { healthRoutes } from '../routes/health.js';
import type { Services } from '../services.js';
import { loadSecretBox, sameSecretsKey } from '../../core/secret-box.js';
import type { Shutdown } from '../shutdown.js';
import { openBlobStore } from '../../lib/storage/open.js';

/** Probes and scrapes are never rate limited. */
// Static files are served from memory; they do not count against the per-IP API budget.
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics', 'static']);

export interface Shared {
  config: Config;
  log: Logger;
  shutdown: Shutdown;
  svc: Services;
  redis: Redis | null;
  metrics: Metrics;
  edge: HttpEdge;
  /** What route modules receive. */
  routes: RouteContext;
  /** The configured signing key (rotated keys: `svc.tokens.keys`, whose current key signs email's unsubscribe links). */
  keys: SigningKeys;
  /** What `/ready` and `quire_dependency_up` report. */
  dependencies: DependencyMonitor;
}

export interface SharedOptions {
  config: Config;
  log: Logger;
  shutdown: Shutdown;
  /** `/ready` answers 503 until this returns true. */
  ready: () => boolean;
  pglite?: PGliteHandle;
  keys?: SigningKeys;
}

export async function openShared(opts: SharedOptions): Promise<Shared> {
  const { config, log, shutdown } = opts;
  const store = await openStore({
    url: config.database.url,
    appUrl: config.database.appUrl,
    schema: config.database.schema,
    appRole: config.database.appRole,
    poolMax: config.database.poolMax,
    dataDir: config.dataDir,
    pglite: opts.pglite,
    connections: {
      applicationName: config.database.applicationName,
      connectTimeoutMs: config.database.connectTimeoutMs,
      statementTimeoutMs: config.database.statementTimeoutMs,
      queryTimeoutMs: config.database.queryTimeoutMs,
    },
    // A lost connection is closed and replaced; requests on it answer 503, acks are refused.
    onConnectionError: (err, pool) => log.warn({ cat: 'db', pool, err: err.message }, 'database connection lost; it is replaced on next use'),
  });
  shutdown.add('store', () => store.destroy());
  log.info({ cat: 'db', kind: store.kind, schema: store.schema }, 'store ready');
  const vacuum = await startVacuumTimer(store, config.database.vacuumIntervalSeconds * 1000, (r) =>
    'error' in r ? log.warn({ cat: 'db', err: r.error }, 'vacuum failed; retried at the next interval') : log.debug({ cat: 'db', ...r }, 'vacuumed'),
  );
  if (vacuum.running) log.info({ cat: 'db', everySeconds: config.database.vacuumIntervalSeconds }, `${vacuum.reason}: Quire vacuums its tables itself`);
  else if (vacuum.reason) log.warn({ cat: 'db' }, `${vacuum.reason} and VACUUM_INTERVAL_SECONDS=0: rows folded out of the document log are never reclaimed, and document loads slow down`);
  shutdown.add('vacuum', () => vacuum.stop());

  const redis = config.redis.url ? new Redis(config.redis.url, { maxRetriesPerRequest: 2, lazyConnect: false, commandTimeout: config.redis.commandTimeoutMs }) : null;
  if (redis) {
    redis.on('error', (err) => log.warn({ cat: 'app', err: err.message }, 'redis error'));
    shutdown.add('redis', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  }
  const limiter: RateLimiter = redis ? new RedisRateLimiter(redis, config.redis.prefix, { log }) : new MemoryRateLimiter();
  shutdown.add('rate-limiter', () => limiter.destroy());
  const dependencies = new DependencyMonitor({ store, redis, log, intervalMs: config.readiness.probeIntervalMs, timeoutMs: config.readiness.probeTimeoutMs });
  dependencies.start();
  shutdown.add('dependencies', () => dependencies.stop());

  const notificationHub = new NotificationHub({ redis, channel: `${config.redis.prefix}notifications`, log });
  shutdown.add('notification-hub', () => notificationHub.stop());
  const keys = opts.keys ?? (await loadSigningKeys({ privatePem: config.jwt.privateKeyPem, publicPem: config.jwt.publicKeyPem, dataDir: config.dataDir }));
  const secrets = await loadSecretBox({ secretKey: config.secretsKey, dataDir: config.dataDir });
  // Rotated keys live in the database (`quire keys rotate`); every instance follows them.
  const keyRing = new KeyRing(keys, { db: store.db, secrets, log });
  await keyRing.start();
  shutdown.add('signing-keys', async () => keyRing.stop());
  if (!(await sameSecretsKey(store.db, secrets))) {
    log.error(
      { cat: 'app' },
      "this instance's secrets key differs from the one this database's secrets were sealed with: two-factor sign-in and single sign-on will fail here; set the same SECRETS_KEY on every instance",
    );
  }
  const blobs = openBlobStore(config.files, config.dataDir);
  shutdown.add('blobs', () => blobs.close());
  log.info({ cat: 'app', kind: blobs.kind }, 'blob store ready');
  const svc: Services = {
    store,
    blobs,
    files: { maxUploadBytes: config.files.maxUploadBytes, workspaceQuotaBytes: config.files.workspaceQuotaBytes, uploadExpiryHours: config.files.uploadExpiryHours },
    tokens: new TokenService(keyRing, { issuer: config.jwt.issuer, audience: config.jwt.audience, accessTtlSeconds: config.jwt.accessTtlSeconds }),
    passwords: new PasswordHasher(config.passwords.scryptCost),
    accessEvents: new AccessEvents(),
    notificationHub,
    log,
    refreshTtlSeconds: config.jwt.refreshTtlSeconds,
    secrets,
    refreshReuseGraceSeconds: config.jwt.refreshReuseGraceSeconds,
    trashRetentionDays: config.trashRetentionDays,
  };
  const metrics = new Metrics();
  dependencies.registerMetrics(metrics.registry);
  const edge = new HttpEdge<RouteDoc>({
    log,
    metrics,
    corsOrigins: config.http.corsOrigins,
    trustProxy: config.http.trustProxy,
    maxBodyBytes: config.http.maxBodyBytes,
    before: async (req) => {
      if (!UNLIMITED_ROUTES.has(req.route)) await limit(routes, `ip:${req.ip}`, config.rateLimits.ip);
    },
  });
  const routes: RouteContext = { edge, svc, config, limiter, metrics };
  healthRoutes(routes, { ready: opts.ready, dependencies });
  return { config, log, shutdown, svc, redis, metrics, edge, routes, keys, dependencies };
}
