/**
 * Opens the relational store: server Postgres when a URL is configured, otherwise
 * embedded PGlite in `DATA_DIR`. Either way the caller gets two Kysely instances:
 * `db`, connected as the application role (row-level security applies), and `owner`,
 * used only for migrations and maintenance.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect, sql, type Compilable, type DatabaseIntrospector } from 'kysely';
import pg from 'pg';

import { migrateToLatest } from './migrate.js';
import { ident } from './migrations/context.js';
import { PGliteDialect, PGliteHandle } from './pglite-dialect.js';
import { SchemaScopedIntrospector } from './introspector.js';
import { asUnavailable, openResilientPool, type ResilientPool } from './pg-pool.js';
import { OneTripTransactions } from './one-trip.js';
import { AppDb, StandardTransactions, type Isolation, type TripGroup, type TripOptions, type TripQuery, type Tx } from './tenant-transactions.js';

/** Postgres with the schema-scoped introspector (see introspector.ts). */
class ScopedPostgresDialect extends PostgresDialect {
  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaScopedIntrospector(db);
  }
}

export type StoreKind = 'postgres' | 'pglite';

export interface StoreOptions {
  /** Owner connection (runs migrations). Unset ⇒ PGlite. */
  url?: string;
  /** Application-role connection; derived from `url` (user = appRole, no password) when unset. */
  appUrl?: string;
  schema: string;
  appRole: string;
  poolMax?: number;
  /** PGlite data directory; unset ⇒ in memory. Ignored with `url`. */
  dataDir?: string;
  /** An already open PGlite to share (tests put one schema per test in one database). */
  pglite?: PGliteHandle;
  /** Run migrations on open. @default true */
  migrate?: boolean;
  /** Timeouts and naming of server Postgres connections (see `db/pg-pool.ts`); ignored on PGlite. */
  connections?: ConnectionSettings;
  /** Told of each server Postgres connection that failed (the process carries on). */
  onConnectionError?: (err: Error, pool: 'app' | 'owner') => void;
}

/** How Quire's connections to server Postgres are named and bounded in time. */
export interface ConnectionSettings {
  /** `application_name` in `pg_stat_activity`; a connection string's own parameter wins. @default 'quire' */
  applicationName: string;
  /** Opening a connection, or waiting for a free one. @default 5 s */
  connectTimeoutMs: number;
  /** Postgres' `statement_timeout` on application connections; 0 = none. @default 15 s */
  statementTimeoutMs: number;
  /** Client-side bound on an application query's answer; 0 = none. @default 20 s */
  queryTimeoutMs: number;
}

/** Defaults of {@link ConnectionSettings} (the reasons are in `lib/config.ts`). */
export const DEFAULT_CONNECTIONS: ConnectionSettings = { applicationName: 'quire', connectTimeoutMs: 5_000, statementTimeoutMs: 15_000, queryTimeoutMs: 20_000 };

export interface Store {
  kind: StoreKind;
  /** Application role: every query runs under row-level security. */
  db: AppDb;
  /** Owner role: migrations and maintenance only. */
  owner: Kysely<unknown>;
  schema: string;
  appRole: string;
  /**
   * Whether the database answers `select 1` within `timeoutMs`, on a connection of its own
   * (a busy pool does not make the database look down). Rejects when it does not.
   */
  ping(timeoutMs: number): Promise<void>;
  destroy(): Promise<void>;
}

// Parse int8 as number where safe is not guaranteed; keep bigint columns as strings.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => v);

/** The schema first (tables are created there), then public (where extensions live). */
function searchPath(schema: string): string {
  return schema === 'public' ? 'public' : `${ident(schema)},public`;
}

export function deriveAppUrl(ownerUrl: string, appRole: string): string {
  const u = new URL(ownerUrl);
  u.username = appRole;
  u.password = '';
  return u.toString();
}

/** The file in `DATA_DIR` naming the process that has the embedded database open. */
export const DATA_DIR_LOCK = 'quire.lock';

/** Whether a process with this id is running on this machine. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The process id holding `dataDir` (its lock names a running process of this host other
 * than this one), or null. The embedded database is one process's: a second one opening the
 * same files would corrupt them, so servers and operator commands take this lock first. The
 * lock names the host too: a process id means nothing in another container sharing the
 * folder, and a lock left by a container that is gone must not keep the next one from starting.
 */
export async function dataDirHolder(dataDir: string): Promise<number | null> {
  const text = await fs.readFile(path.join(dataDir, DATA_DIR_LOCK), 'utf8').catch(() => null);
  const [pidText, host] = (text ?? '').split('\n');
  const pid = Number.parseInt(pidText ?? '', 10);
  // A process of another host (or container) cannot be seen from here: only this host's count.
  if (host && host !== os.hostname()) return null;
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : null;
}

/** Takes `dataDir`'s lock for this process (a lock of a process that is gone is taken over); returns its release. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await fs.mkdir(dataDir, { recursive: true });
  const holder = await dataDirHolder(dataDir);
  if (holder !== null) throw new Error(`${path.resolve(dataDir)} is in use by process ${holder} (a Quire server or operator command); stop it first`);
  const file = path.join(dataDir, DATA_DIR_LOCK);
  await fs.writeFile(file, `${process.pid}\n${os.hostname()}\n`);
  return async () => {
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    if (text?.split('\n')[0] === String(process.pid)) await fs.rm(file, { force: true });
  };
}

/** Opens the embedded database files, creating them on first use (and locking `dataDir` while open, unless `locked`: the caller holds it). */
export async function openPGlite(dataDir?: string, opts: { locked?: boolean } = {}): Promise<PGliteHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  // Trigram similarity for typo-tolerant full-text search (migration 0010 creates it).
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  // A caller that holds the lock already (a backup) keeps it past the database's close.
  const unlock = dataDir && !opts.locked ? await lockDataDir(dataDir) : null;
  if (dataDir && opts.locked) await fs.mkdir(dataDir, { recursive: true });
  try {
    const pgl = await PGlite.create({ dataDir: dataDir ? path.join(dataDir, 'pg') : undefined, extensions: { vector, pg_trgm } });
    if (unlock) {
      const close = pgl.close.bind(pgl);
      pgl.close = async () => {
        try {
          await close();
        } finally {
          await unlock();
        }
      };
    }
    return new PGliteHandle(pgl);
  } catch (e) {
    await unlock?.();
    throw e;
  }
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const ctx = { schema: opts.schema, appRole: opts.appRole };
  if (opts.url) {
    const options = `-c search_path=${searchPath(opts.schema)}`;
    const conn = opts.connections ?? DEFAULT_CONNECTIONS;
    const appUrl = opts.appUrl ?? deriveAppUrl(opts.url, opts.appRole);
    // Migrations and vacuum may legitimately run for minutes: the owner's pool bounds only connecting.
    const ownerPool = openResilientPool({
      connectionString: opts.url,
      max: 2,
      options,
      applicationName: conn.applicationName,
      connectTimeoutMs: conn.connectTimeoutMs,
      statementTimeoutMs: 0,
      queryTimeoutMs: 0,
      onConnectionError: (err) => opts.onConnectionError?.(err, 'owner'),
    });
    const appPool = openResilientPool({
      connectionString: appUrl,
      max: opts.poolMax ?? 10,
      options,
      applicationName: conn.applicationName,
      connectTimeoutMs: conn.connectTimeoutMs,
      statementTimeoutMs: conn.statementTimeoutMs,
      queryTimeoutMs: conn.queryTimeoutMs,
      onConnectionError: (err) => opts.onConnectionError?.(err, 'app'),
    });
    // The readiness probe's own connection, so a saturated pool does not look like a dead database.
    let probe: ResilientPool | null = null;
    const ping = async (timeoutMs: number) => {
      probe ??= openResilientPool({
        connectionString: appUrl,
        max: 1,
        options,
        applicationName: conn.applicationName,
        connectTimeoutMs: timeoutMs,
        statementTimeoutMs: timeoutMs,
        queryTimeoutMs: timeoutMs,
      });
      const client = await probe.checkout();
      try {
        await client.query('select 1');
      } catch (e) {
        probe.release(client, e);
        throw asUnavailable(e);
      }
      probe.release(client);
    };
    const owner = new Kysely<unknown>({ dialect: new ScopedPostgresDialect({ pool: ownerPool.forKysely }) });
    const db = new AppDb({ dialect: new PostgresDialect({ pool: appPool.forKysely }) }, (self) => new OneTripTransactions(self, appPool));
    const closeProbe = async () => {
      await probe?.pool.end();
    };
    try {
      if (opts.migrate !== false) await migrateToLatest(owner, ctx);
    } catch (e) {
      await Promise.allSettled([owner.destroy(), db.destroy(), closeProbe()]);
      throw e;
    }
    return {
      kind: 'postgres',
      db,
      owner,
      schema: opts.schema,
      appRole: opts.appRole,
      ping,
      async destroy() {
        await Promise.allSettled([db.destroy(), owner.destroy(), closeProbe()]);
      },
    };
  }

  const shared = Boolean(opts.pglite);
  const handle = opts.pglite ?? (await openPGlite(opts.dataDir));
  const setSearchPath = `set search_path to ${searchPath(opts.schema)}`;
  const owner = new Kysely<unknown>({ dialect: new PGliteDialect(handle, `reset role; ${setSearchPath}`) });
  const db = new AppDb({ dialect: new PGliteDialect(handle, `set role ${ident(opts.appRole)}; ${setSearchPath}`) }, (self) => new StandardTransactions(self));
  try {
    if (opts.migrate !== false) {
      await sql`create extension if not exists vector schema public`.execute(owner);
      await migrateToLatest(owner, ctx);
    }
  } catch (e) {
    if (!shared) await handle.pg.close();
    throw e;
  }
  return {
    kind: 'pglite',
    db,
    owner,
    schema: opts.schema,
    appRole: opts.appRole,
    async ping(timeoutMs: number) {
      // One session: a long transaction holds it, and then the database cannot serve anyone.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the embedded database did not answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([sql`select 1`.execute(db), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async destroy() {
      await Promise.allSettled([db.destroy(), owner.destroy()]);
      if (!shared) await handle.pg.close();
    },
  };
}

export type { Tx, TripGroup, TripOptions, TripQuery } from './tenant-transactions.js';
export { AppDb, inOneTransaction } from './tenant-transactions.js';
export { PREPARE_MISSES_BEFORE_OFF, PREPARED_PER_CONNECTION } from './one-trip.js';

type TripRows<Q> = Q extends Compilable<infer O> ? O[] : never;

/**
 * Runs `fn` in a transaction bound to one tenant (`SET LOCAL app.tenant_id`). Row-level
 * security makes every other tenant's rows invisible and unwritable inside it. On server
 * Postgres the transaction opens in one round trip (one-trip.ts).
 */
export function withTenant<T>(db: AppDb, tenantId: string, fn: (tx: Tx) => Promise<T>, opts: { isolation?: Isolation } = {}): Promise<T> {
  return db.tenants.withTenant(tenantId, fn, opts.isolation);
}

/**
 * Runs statements for one or more tenants as one transaction under row-level security —
 * on server Postgres in a single round trip (one-trip.ts), on embedded PGlite as an
 * ordinary transaction — and resolves to each statement's rows, in order, flattened
 * across the groups. A caller that must decide between statements uses `withTenant`.
 */
export function inOneTrip(db: AppDb, groups: readonly TripGroup[], opts: TripOptions = {}): Promise<unknown[][]> {
  return db.tenants.inOneTrip(groups, opts);
}

/**
 * Read-only queries for one tenant in one round trip (see `inOneTrip`); resolves to each
 * query's rows in order. The hottest REST reads (a document, the document list) use it:
 * the caller's user row and the read go together instead of in four round trips, each
 * statement prepared once per pooled connection (`TripOptions.prepare`).
 */
export async function readAsTenant<const Q extends readonly TripQuery[]>(db: AppDb, tenantId: string, queries: Q): Promise<{ -readonly [K in keyof Q]: TripRows<Q[K]> }> {
  return (await inOneTrip(db, [{ tenantId, queries }], { prepare: true })) as { -readonly [K in keyof Q]: TripRows<Q[K]> };
}
