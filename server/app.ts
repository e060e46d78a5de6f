/**
 * Assembles a Quire process from its configuration: store, keys, services, the HTTP edge
 * with the roles' routes, and the ordered shutdown. `main.ts` calls it; tests call it too,
 * with port 0 and their own schema.
 */
import { Redis } from 'ioredis';
import { startVacuumTimer } from '../db/maintenance.js';
import { openStore, type Store } from '../db/store.js';
import type { PGliteHandle } from '../db/pglite-dialect.js';
import { AccessEvents } from '../lib/access-events.js';
import { loadSigningKeys, type SigningKeys } from './auth/keys.js';
import { PasswordHasher } from './auth/passwords.js';
import { TokenService } from './auth/tokens.js';
import type { Config } from './config.js';
import { notFound } from '../lib/errors.js';
import { HttpEdge } from './http/edge.js';
import { StaticSite } from './http/static.js';
import { createLogger, type Logger } from '../lib/log.js';
import { Metrics } from '../lib/metrics.js';
import { MemoryRateLimiter } from './rate-limit/memory.js';
import type { RateLimiter } from './rate-limit/rate-limiter.js';
import { RedisRateLimiter } from './rate-limit/redis.js';
import { authRoutes } from './routes/auth.js';
import { limit, type RouteContext } from './routes/context.js';
import { documentRoutes } from './routes/documents.js';
import { healthRoutes } from './routes/health.js';
import { DependencyMonitor } from './dependencies.js';
import { userRoutes } from './routes/users.js';
import type { Services } from './services.js';
import { SyncServer } from '../sync/server.js';
import type { EventBus } from '../ml-workers/bus/bus.js';
import { PoisonMessageError } from '../ml-workers/bus/bus.js';
import { MemoryBus } from '../ml-workers/bus/memory.js';
import { decodeEvent, documentKeyOf } from '../contract/feed.js';
import { Indexer } from '../ml-workers/indexer.js';
import type { FullTextIndex } from '../ml-workers/search/fulltext.js';
import { PostgresFullText } from '../ml-workers/search/postgres-fulltext.js';
import { Relay } from './feed/relay.js';
import { searchRoutes } from './routes/search.js';
import { mlRoutes } from './routes/ml.js';
import { Trainer } from '../ml-workers/trainer.js';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import type { VectorIndex } from '../ml-workers/search/vectors.js';
import { PgVectorIndex } from '../ml-workers/search/pgvector.js';
import { loadClassifierModel } from '../ml-workers/classifier/model.js';

/** The default genre classifier, trained by `npm run train:default` and committed. */
const DEFAULT_CLASSIFIER_PATH = new URL('../ml-workers/classifier/default-model.json', import.meta.url);
import { Shutdown } from './shutdown.js';

export interface StartOptions {
  config: Config;
  log?: Logger;
  /** Share an open PGlite (tests); otherwise one is opened in `config.dataDir`. */
  pglite?: PGliteHandle;
  /** Pre-loaded signing keys (tests share one pair per process). */
  keys?: SigningKeys;
}

export interface Quire {
  port: number;
  config: Config;
  store: Store;
  svc: Services;
  metrics: Metrics;
  redis: Redis | null;
  log: Logger;
  edge: HttpEdge;
  sync: SyncServer | null;
  bus: EventBus | null;
  /** Runs the ordered shutdown; safe to call twice. */
  close(): Promise<void>;
}

/** Probes and scrapes are never rate limited. */
// Static files are served from memory; they do not count against the per-IP API budget.
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics', 'static']);

export async function startQuire(opts: StartOptions): Promise<Quire> {
  const { config } = opts;
  const log = opts.log ?? createLogger(config.logLevel);
  const shutdown = new Shutdown(log, config.shutdownTimeoutMs);
  let ready = false;
  try {
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

    const keys = opts.keys ?? (await loadSigningKeys({ privatePem: config.jwt.privateKeyPem, publicPem: config.jwt.publicKeyPem, dataDir: config.dataDir }));
    const svc: Services = {
      store,
      tokens: new TokenService(keys, { issuer: config.jwt.issuer, audience: config.jwt.audience, accessTtlSeconds: config.jwt.accessTtlSeconds }),
      passwords: new PasswordHasher(config.passwords.scryptCost),
      accessEvents: new AccessEvents(),
      log,
      refreshTtlSeconds: config.jwt.refreshTtlSeconds,
      refreshReuseGraceSeconds: config.jwt.refreshReuseGraceSeconds,
    };

    const metrics = new Metrics();
    // The relay stops after the sync tier (its stop step is registered before, so runs after,
    // the sync step): polls during the sync tier's shutdown publish what its last writes and
    // compactions put in the outbox; anything left waits there for the next relay.
    let stopRelay: (() => Promise<void>) | null = null;
    shutdown.add('feed', async () => {
      await stopRelay?.();
    });
    // The Hocuspocus core serves the WebSocket route (sync role) and REST content writes (api role).
    let sync: SyncServer | null = null;
    if (config.roles.includes('sync') || config.roles.includes('api')) {
      sync = new SyncServer({
        store,
        tokens: svc.tokens,
        accessEvents: svc.accessEvents,
        metrics,
        log,
        limits: config.sync,
        redis,
        redisUrl: config.redis.url,
        redisPrefix: config.redis.prefix,
        redisCommandTimeoutMs: config.redis.commandTimeoutMs,
      });
      await sync.start();
      const s = sync;
      shutdown.add('sync', () => s.close());
      svc.content = sync.content;
    }
    const edge = new HttpEdge({
      log,
      metrics,
      corsOrigins: config.http.corsOrigins,
      trustProxy: config.http.trustProxy,
      maxBodyBytes: config.http.maxBodyBytes,
      before: async (req) => {
        if (!UNLIMITED_ROUTES.has(req.route)) await limit(ctx, `ip:${req.ip}`, config.rateLimits.ip);
      },
    });
    const ctx: RouteContext = { edge, svc, config, limiter, metrics };

    healthRoutes(ctx, { ready: () => ready, dependencies });
    if (config.roles.includes('api')) {
      authRoutes(ctx);
      userRoutes(ctx);
      documentRoutes(ctx);
      searchRoutes(ctx);
      mlRoutes(ctx);
    }
    if (sync && config.roles.includes('sync')) sync.attach(edge);

    // Full-text index: used by search (api) and kept current by the indexer (worker).
    let fulltext: FullTextIndex | null = null;
    if (config.roles.includes('api') || config.roles.includes('worker')) {
      if (config.search.meiliUrl) {
        const { MeilisearchFullText } = await import('../ml-workers/search/meilisearch-fulltext.js');
        fulltext = await MeilisearchFullText.open({ url: config.search.meiliUrl, apiKey: config.search.meiliKey, indexName: config.search.meiliIndex });
      } else {
        fulltext = new PostgresFullText(store.db);
      }
      svc.fulltext = fulltext;
    }

    // Semantic search: a vector index (Qdrant when configured, else pgvector if the store
    // has it) and the sentence encoder, started on first use.
    let getEmbedder: (() => Promise<Embedder>) | null = null;
    if (config.search.semantic && (config.roles.includes('api') || config.roles.includes('worker'))) {
      let vectors: VectorIndex | null = null;
      if (config.search.qdrantUrl) {
        const { QdrantVectorIndex } = await import('../ml-workers/search/qdrant.js');
        vectors = await QdrantVectorIndex.open({ url: config.search.qdrantUrl, apiKey: config.search.qdrantKey, collection: config.search.qdrantCollection, dimensions: 512 });
      } else if (await PgVectorIndex.available(store.db)) {
        vectors = new PgVectorIndex(store.db);
      }
      if (vectors) {
        let embedder: Promise<Embedder> | null = null;
        const threads = config.search.embeddingThreads;
        const get = () => (embedder ??= import('../ml-workers/embeddings/use-embedder.js').then((m) => m.createUseEmbedder({ threads })));
        getEmbedder = get;
        shutdown.add('embedder', async () => {
          if (embedder) await (await embedder).destroy();
        });
        svc.semantic = { vectors, embedder: get };
      } else {
        log.warn({ cat: 'app' }, 'semantic search is off: no vector index (set QDRANT_URL, or use the embedded profile with pgvector)');
      }
    }

    // Worker role: the relay (outbox → bus) and the indexing consumer.
    let bus: EventBus | null = null;
    if (config.roles.includes('worker') && fulltext) {
      if (config.feed.natsUrl) {
        const { NatsBus } = await import('../ml-workers/bus/nats.js');
        bus = await NatsBus.connect({ url: config.feed.natsUrl, stream: config.feed.stream, prefix: config.feed.subjectPrefix });
      } else {
        bus = new MemoryBus();
      }
      const theBus = bus;
      const { DocumentStore } = await import('../sync/document-store.js');
      const semantic =
        svc.semantic && getEmbedder
          ? {
              embedder: await getEmbedder(),
              vectors: svc.semantic.vectors,
              classifier: { name: 'default', model: await loadClassifierModel(DEFAULT_CLASSIFIER_PATH) },
            }
          : undefined;
      const indexer = new Indexer({ db: store.db, store: new DocumentStore(store.db), fulltext, log, semantic });
      // Events for one document fold into one run (the indexer reads current state);
      // handler slots are shared fairly between tenants (see ml-workers/bus/dispatch.ts).
      const consumer = await bus.consume({ durable: 'indexer', coalesceKey: (m) => documentKeyOf(m.data) }, async (msg) => {
        let ev;
        try {
          ev = decodeEvent(msg.data);
        } catch (e) {
          throw new PoisonMessageError(`undecodable event on ${msg.subject}`, { cause: e });
        }
        await indexer.handle(ev);
      });
      // Without the sentence encoder, classifiers train the n-gram candidate only.
      const trainer = new Trainer({ db: store.db, embedder: getEmbedder ?? undefined, log });
      trainer.start();
      shutdown.add('trainer', () => trainer.stop());
      const relay = new Relay({ db: store.db, bus, subjectPrefix: config.feed.subjectPrefix, log, intervalMs: config.feed.pollMs });
      relay.start();
      stopRelay = async () => {
        await relay.stop();
        await consumer.stop();
        await theBus.close();
      };
    }
    const site = config.roles.includes('api') && config.web.enabled ? await StaticSite.load(config.web.dir) : null;
    if (config.roles.includes('api') && config.web.enabled && !site) {
      log.warn({ cat: 'app', dir: config.web.dir }, 'web app not built: run `npm run build:web` to serve it at /');
    }
    edge.fallback((req) => {
      const res = site?.serve(req);
      if (res) return res;
      throw notFound('route');
    }, 'static');

    const port = await edge.listen(config.host, config.port);
    shutdown.add('http', () => edge.close(config.shutdownTimeoutMs));
    ready = true;
    log.info({ cat: 'app', port, host: config.host, roles: config.roles, store: store.kind, redis: Boolean(redis) }, 'quire listening');

    return {
      port,
      config,
      store,
      svc,
      metrics,
      redis,
      log,
      edge,
      sync,
      bus,
      close: async () => {
        ready = false;
        await shutdown.run();
      },
    };
  } catch (e) {
    await shutdown.run();
    throw e;
  }
}
