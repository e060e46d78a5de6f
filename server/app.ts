/**
 * The root of a Quire process: opens what the roles share, then starts each role this
 * process runs from its own module, loaded only when the role is on (a `web` process
 * never loads the worker graph):
 *
 *   shared (store, Redis, rate limits, keys, metrics, edge) → search indexes (api, worker)
 *   → worker (relay, indexing consumer, trainer) → sync (Hocuspocus; api uses it for REST
 *   content writes) → api (REST routes, web app) → the edge listens.
 *
 * Shutdown runs the other way: the edge stops accepting, the sync tier flushes its writes,
 * the worker side publishes them and drains its handlers, then the search indexes and the
 * shared resources close, the store last, and the spans still queued are exported.
 * `main.ts` calls `startQuire`; tests call it too, with port 0 and their own schema.
 */
import type { PGliteHandle } from '../db/pglite-dialect.js';
import type { Store } from '../db/store.js';
import type { SigningKeys } from '../core/keys.js';
import type { Config } from '../lib/config.js';
import { notFound } from '../lib/errors.js';
import type { HttpEdge } from '../lib/http/edge.js';
import { createLogger, type Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import type { EventBus } from '../ml-workers/bus/bus.js';
import type { Redis } from 'ioredis';
import type { WorkerHandles } from './roles/worker.js';
import type { SyncServer } from '../sync/server.js';
import type { Services } from './services.js';
import { Shutdown } from './shutdown.js';
import { startTracing } from '../lib/tracing.js';
import { openShared } from './roles/shared.js';

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
  /** The worker role's notification senders (tests park or drive them). */
  senders: Omit<WorkerHandles, 'bus'> | null;
  /** Runs the ordered shutdown; safe to call twice. */
  close(): Promise<void>;
}

/** Hosts that mean "this machine" to a browser: shown as `localhost`. */
const LOCAL_HOSTS = new Set(['', '0.0.0.0', '::', '[::]', '127.0.0.1', '::1', '[::1]', 'localhost']);

/**
 * The address a person opens for a server bound to `host:port`: `localhost` for the
 * wildcard and loopback addresses (a browser cannot open `0.0.0.0`), else the host as
 * configured (an IPv6 address in brackets).
 */
export function openableUrl(host: string, port: number): string {
  const h = host.trim();
  if (LOCAL_HOSTS.has(h)) return `http://localhost:${port}`;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`;
}

export async function startQuire(opts: StartOptions): Promise<Quire> {
  const { config } = opts;
  const log = opts.log ?? createLogger(config.logLevel);
  const shutdown = new Shutdown(log, config.shutdownTimeoutMs);
  const runs = (role: 'api' | 'sync' | 'worker') => config.roles.includes(role);
  let ready = false;
  try {
    // Tracing first, so its flush is the last step of the shutdown (the spans of the other
    // steps go out too); off, nothing is loaded and the step does nothing.
    const tracing = await startTracing(config.tracing, log);
    shutdown.add('tracing', async () => tracing?.shutdown());
    const shared = await openShared({ config, log, shutdown, ready: () => ready, pglite: opts.pglite, keys: opts.keys });
    const search = runs('api') || runs('worker') ? await (await import('./roles/search.js')).openSearch(shared) : null;
    const worker = runs('worker') && search ? await (await import('./roles/worker.js')).startWorker(shared, search) : null;
    const sync = runs('sync') || runs('api') ? await (await import('./roles/sync.js')).startSync(shared, { serveSockets: runs('sync') }) : null;
    if (runs('api')) await (await import('./roles/api.js')).startApi(shared);
    else {
      shared.edge.fallback(() => {
        throw notFound('route');
      }, 'static');
    }

    const { edge, svc, metrics, redis } = shared;
    const port = await edge.listen(config.host, config.port);
    shutdown.add('http', () => edge.close(config.shutdownTimeoutMs));
    ready = true;
    const url = openableUrl(config.host, port);
    log.info({ cat: 'app', url, port, host: config.host, roles: config.roles, store: svc.store.kind, redis: Boolean(redis) }, `Quire is running at ${url}`);
    return {
      port,
      config,
      store: svc.store,
      svc,
      metrics,
      redis,
      log,
      edge,
      sync,
      bus: worker?.bus ?? null,
      senders: worker ? { push: worker.push, mailer: worker.mailer } : null,
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
