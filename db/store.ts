/**
 * Opens the relational store: server Postgres when a URL is configured, otherwise
 * embedded PGlite in `DATA_DIR`. Either way the caller gets two Kysely instances:
 * `db`, connected as the application role (row-level security applies), and `owner`,
 * used only for migrations and maintenance.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Kysely, PostgresDialect, sql, type Compilable, type DatabaseIntrospector, type RootOperationNode, type Transaction } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import { compileWithLiterals, sqlLiteral } from './literal-compiler.js';
import { migrateToLatest } from './migrate.js';
import { ident } from './migrations/context.js';
import { PGliteDialect, PGliteHandle } from './pglite-dialect.js';
import { SchemaScopedIntrospector } from './introspector.js';
import { asUnavailable, openResilientPool, type ResilientPool } from './pg-pool.js';

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
  db: Kysely<Database>;
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

/** Opens the embedded database files, creating them on first use. */
export async function openPGlite(dataDir?: string): Promise<PGliteHandle> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { vector } = await import('@electric-sql/pglite-pgvector');
  // Trigram similarity for typo-tolerant full-text search (migration 0010 creates it).
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  if (dataDir) await fs.mkdir(dataDir, { recursive: true });
  const pgl = await PGlite.create({ dataDir: dataDir ? path.join(dataDir, 'pg') : undefined, extensions: { vector, pg_trgm } });
  return new PGliteHandle(pgl);
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
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: appPool.forKysely }) });
    SERVER_POSTGRES.set(db, appPool);
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
  const db = new Kysely<Database>({ dialect: new PGliteDialect(handle, `set role ${ident(opts.appRole)}; ${setSearchPath}`) });
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

export type Tx = Transaction<Database>;

/**
 * Application databases on server Postgres, with their pools: there withTenant opens its
 * transaction in one round trip, and readAsTenant sends all its reads in one.
 */
const SERVER_POSTGRES = new WeakMap<Kysely<Database>, ResilientPool>();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `SET LOCAL app.tenant_id` with the id inlined, for simple-protocol messages; only for an
 * id that matched the UUID pattern (nothing to escape). Not `select set_config(…)`: the same
 * setting with no row to send back and parse. It holds inside a transaction — an explicit
 * one, or the implicit one of a multi-statement message; outside any it would warn and set
 * nothing, and row-level security would show no rows.
 */
const setLocalTenant = (tenantId: string) => `set local app.tenant_id = '${tenantId}'`;

/**
 * `BEGIN` and the tenant setting as one simple-protocol message (two statements, one round
 * trip), then the caller's queries, then `COMMIT`. Every database write costs a syscall
 * and a trip through the loopback or network stack — 40 % of the API process' CPU under
 * load went to those writes (bench/RESULTS.md, scenario 6) — and this saves one of the
 * four or five per request. The simple protocol takes no parameters, so the tenant id is
 * inlined: only after it matched the UUID pattern, which leaves nothing to escape.
 */
async function withTenantOneTrip<T>(db: Kysely<Database>, tenantId: string, fn: (tx: Tx) => Promise<T>, isolation?: 'repeatable read' | 'serializable'): Promise<T> {
  if (!UUID.test(tenantId)) throw new Error('withTenant: the tenant id is not a UUID');
  return db.connection().execute(async (conn) => {
    await sql.raw(`begin${isolation ? ` isolation level ${isolation}` : ''}; ${setLocalTenant(tenantId)}`).execute(conn);
    let result: T;
    try {
      result = await fn(conn as unknown as Tx);
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
    await sql`commit`.execute(conn);
    return result;
  });
}

/** `SET LOCAL app.tenant_id`, as a statement with the id as a parameter. */
const tenantSetting = (tenantId: string) => sql`select set_config('app.tenant_id', ${tenantId}, true)`;

/**
 * Runs `fn` in a transaction bound to one tenant (`SET LOCAL app.tenant_id`). Row-level
 * security makes every other tenant's rows invisible and unwritable inside it.
 */
export async function withTenant<T>(
  db: Kysely<Database>,
  tenantId: string,
  fn: (tx: Tx) => Promise<T>,
  opts: { isolation?: 'repeatable read' | 'serializable' } = {},
): Promise<T> {
  if (SERVER_POSTGRES.has(db)) return withTenantOneTrip(db, tenantId, fn, opts.isolation);
  const begin = opts.isolation ? db.transaction().setIsolationLevel(opts.isolation) : db.transaction();
  return begin.execute(async (tx) => {
    await tenantSetting(tenantId).execute(tx);
    return fn(tx);
  });
}

/** A statement that can go in one trip: a Kysely query (any compilable query node), or a bound query template (template.ts). */
export type TripQuery<O = unknown> = Compilable<O> & ({ toOperationNode(): RootOperationNode } | { literalSql(): string });
const literalSql = (q: TripQuery): string => ('literalSql' in q ? q.literalSql() : compileWithLiterals(q.toOperationNode()).sql);
type TripRows<Q> = Q extends Compilable<infer O> ? O[] : never;
/** One tenant's statements, run under that tenant's row-level security. */
export interface TripGroup {
  tenantId: string;
  queries: readonly TripQuery[];
}

/**
 * Statements prepared on one pooled connection, by SQL text (with `$n` placeholders) →
 * statement name. `reset` is set when a message failed: Postgres keeps a `PREPARE` that ran
 * before the failing statement (prepared statements are not transactional) and skips the
 * ones after it, so the next message starts with `DEALLOCATE ALL` and prepares afresh.
 */
interface PreparedOnConnection {
  names: Map<string, string>;
  reset: boolean;
}
const PREPARED = new WeakMap<pg.PoolClient, PreparedOnConnection>();
/**
 * Distinct statements prepared per connection. The hot reads and small inserts have a
 * handful of shapes; a query whose text varies with its input (an `in (…)` list, say)
 * would otherwise prepare without end, so past this many it goes as plain SQL with
 * literals.
 */
export const PREPARED_PER_CONNECTION = 64;

/** SQLSTATE 26000: "prepared statement … does not exist". */
const INVALID_SQL_STATEMENT_NAME = '26000';
/** Statements the server lost, per pool; at `PREPARE_MISSES_BEFORE_OFF` the pool stops preparing. */
const PREPARE_MISSES = new WeakMap<ResilientPool, number>();
export const PREPARE_MISSES_BEFORE_OFF = 3;

/** Options of `inOneTrip`. */
export interface TripOptions {
  /**
   * Send each statement as `EXECUTE` of a statement prepared on that pooled connection
   * (prepared in the same message the first time): Postgres skips parsing and planning on
   * every later use. For statements with a small, fixed set of shapes: the hot reads, and
   * the group commit's insert of a few rows (its shape changes with the row count). A trip
   * whose prepared statement the server lost (a pooler in transaction mode) is sent again
   * unprepared; that is safe for writes too, because the failed message was one implicit
   * transaction and committed nothing.
   */
  prepare?: boolean;
}

/** The SQL of one statement of a trip, and the `PREPARE` it needs first on this connection. */
function tripStatement(q: TripQuery, on: PreparedOnConnection | null, pending: Map<string, string>): string[] {
  if (!on) return [literalSql(q)];
  const compiled = q.compile();
  let name = on.names.get(compiled.sql) ?? pending.get(compiled.sql);
  const out: string[] = [];
  if (!name) {
    const count = on.names.size + pending.size;
    if (count >= PREPARED_PER_CONNECTION) return [literalSql(q)];
    name = `quire_${count}`;
    pending.set(compiled.sql, name);
    out.push(`prepare ${name} as ${compiled.sql}`);
  }
  // EXECUTE's arguments are literals like any other (literal-compiler.ts): unknown-typed,
  // each resolves to its parameter's type as inferred when the statement was prepared —
  // what it would resolve to as a parameter of the extended protocol.
  out.push(compiled.parameters.length ? `execute ${name}(${compiled.parameters.map(sqlLiteral).join(', ')})` : `execute ${name}`);
  return out;
}

/**
 * Runs statements for one or more tenants as one transaction under row-level security —
 * on server Postgres in a single round trip — and resolves to each statement's rows, in
 * order, flattened across the groups.
 *
 * The hottest paths cost several round trips through `withTenant` (BEGIN with the tenant
 * setting, each statement, COMMIT), and on this kind of host each round trip's socket
 * write and read was the largest part of the API process' CPU (bench/RESULTS.md, scenario
 * 6). Here every group's tenant setting and statements go as one simple-protocol message,
 * which Postgres runs as one implicit transaction: all or nothing, and `SET LOCAL` holds
 * until the next group's setting or the transaction's end. The simple protocol takes no
 * parameters, so the statements' values are written as escaped literals
 * (literal-compiler.ts) and tenant ids are inlined only after they matched the UUID
 * pattern. With `prepare`, statements are prepared once per connection and executed by
 * name (see `TripOptions`).
 *
 * On embedded PGlite (no sockets) the same runs as an ordinary transaction.
 * A caller that must decide between statements uses `withTenant` instead.
 */
export async function inOneTrip(db: Kysely<Database>, groups: readonly TripGroup[], opts: TripOptions = {}): Promise<unknown[][]> {
  for (const g of groups) if (!UUID.test(g.tenantId)) throw new Error('inOneTrip: a tenant id is not a UUID');
  const pool = SERVER_POSTGRES.get(db);
  if (!pool) return inOneTransaction(db, groups);
  if (groups.every((g) => g.queries.length === 0)) return [];
  const client = await pool.checkout();
  let on: PreparedOnConnection | null = null;
  if (opts.prepare && (PREPARE_MISSES.get(pool) ?? 0) < PREPARE_MISSES_BEFORE_OFF) {
    on = PREPARED.get(client) ?? { names: new Map(), reset: false };
    PREPARED.set(client, on);
  }
  const statements: string[] = [];
  const isQuery: boolean[] = [];
  const add = (sqlText: string, query: boolean) => {
    statements.push(sqlText);
    isQuery.push(query);
  };
  if (on?.reset) {
    add('deallocate all', false);
    on.names.clear();
    on.reset = false;
  }
  const pending = new Map<string, string>();
  let raw: pg.QueryResult | pg.QueryResult[];
  try {
    for (const g of groups) {
      if (g.queries.length === 0) continue;
      add(setLocalTenant(g.tenantId), false);
      for (const q of g.queries) {
        const sqls = tripStatement(q, on, pending);
        sqls.forEach((s, i) => add(s, i === sqls.length - 1));
      }
    }
    raw = (await client.query(statements.join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
  } catch (e) {
    // Which statements were prepared before the failure is unknown: start over next time.
    if (on) on.reset = true;
    // A server's error leaves the connection usable; a lost connection (a broken socket, a
    // terminated backend, our read timeout with the answer still in flight) is closed.
    pool.release(client, e);
    if (on && e instanceof pg.DatabaseError && e.code === INVALID_SQL_STATEMENT_NAME) {
      // The server lost a statement this connection prepared: a pooler in transaction mode
      // (PgBouncer) hands each transaction to any server connection. The message ran as one
      // implicit transaction and its failure undid all of it, so it is sent again, as plain
      // SQL; after a few such misses this pool stops preparing.
      const misses = (PREPARE_MISSES.get(pool) ?? 0) + 1;
      PREPARE_MISSES.set(pool, misses);
      if (misses === PREPARE_MISSES_BEFORE_OFF) {
        process.emitWarning('The database lost prepared statements between transactions (a pooler in transaction mode?): statements now go unprepared', 'QuireDatabaseWarning');
      }
      return inOneTrip(db, groups, { ...opts, prepare: false });
    }
    throw asUnavailable(e);
  }
  pool.release(client);
  if (on) for (const [text, name] of pending) on.names.set(text, name);
  const results = Array.isArray(raw) ? raw : [raw];
  return results.filter((_, i) => isQuery[i]).map((r) => r.rows as unknown[]);
}

/**
 * The same as `inOneTrip`, as an ordinary transaction with parameters: a round trip per
 * statement, values sent as they are (binary for bytea).
 */
export async function inOneTransaction(db: Kysely<Database>, groups: readonly TripGroup[]): Promise<unknown[][]> {
  return db.transaction().execute(async (tx) => {
    const out: unknown[][] = [];
    for (const g of groups) {
      if (g.queries.length === 0) continue;
      await tenantSetting(g.tenantId).execute(tx);
      for (const q of g.queries) out.push((await tx.executeQuery(q.compile())).rows as unknown[]);
    }
    return out;
  });
}

/**
 * Read-only queries for one tenant in one round trip (see `inOneTrip`); resolves to each
 * query's rows in order. The hottest REST reads (a document, the document list) use it:
 * the caller's user row and the read go together instead of in four round trips, each
 * statement prepared once per pooled connection (`TripOptions.prepare`).
 */
export async function readAsTenant<const Q extends readonly TripQuery[]>(
  db: Kysely<Database>,
  tenantId: string,
  queries: Q,
): Promise<{ -readonly [K in keyof Q]: TripRows<Q[K]> }> {
  return (await inOneTrip(db, [{ tenantId, queries }], { prepare: true })) as { -readonly [K in keyof Q]: TripRows<Q[K]> };
}
