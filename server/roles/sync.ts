/**
 * The sync role: the Hocuspocus core with its extensions (durable writes, fan-out,
 * limits, revocation). It serves the WebSocket route when the process runs the sync role;
 * the api role starts it too, without sockets, for REST content writes.
 */
import { SyncServer } from '../../sync/server.js';
import type { Shared } from './shared.js';

export async function startSync(shared: Shared, opts: { serveSockets: boolean }): Promise<SyncServer> {
  const { config, svc, log, redis, metrics, shutdown } = shared;
  const sync = new SyncServer({
    store: svc.store,
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
  // Closes before the worker role's relay (registered earlier), so the relay's last polls
  // publish what the sync tier's final writes and compactions put in the outbox.
  shutdown.add('sync', () => sync.close());
  svc.content = sync.content;
  if (opts.serveSockets) sync.attach(shared.edge);
  return sync;
}
