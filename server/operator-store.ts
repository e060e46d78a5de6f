/**
 * What the operator's commands (`server/cli/`) share: the configured database, opened the
 * way a server opens it but without migrating (`quire db migrate` does that) and with one
 * connection per role. On the embedded profile the database files are locked by the
 * server that has them open: stop it first.
 */
import type { Config } from '../lib/config.js';
import { openStore, type Store } from '../db/store.js';

export async function openOperatorStore(config: Config, purpose: string): Promise<Store> {
  const { database, dataDir } = config;
  return openStore({
    url: database.url,
    appUrl: database.appUrl,
    schema: database.schema,
    appRole: database.appRole,
    poolMax: 2,
    dataDir,
    migrate: false,
    connections: {
      applicationName: `${database.applicationName}-${purpose}`.slice(0, 63),
      connectTimeoutMs: database.connectTimeoutMs,
      statementTimeoutMs: 0,
      queryTimeoutMs: 0,
    },
  });
}

/** Runs `fn` with the configured database open, closing it afterwards. */
export async function withOperatorStore<T>(config: Config, purpose: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openOperatorStore(config, purpose);
  try {
    return await fn(store);
  } finally {
    await store.destroy();
  }
}
