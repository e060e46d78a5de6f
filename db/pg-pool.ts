/**
 * Connection pools to server Postgres that survive losing connections.
 *
 * A failover, a pooler restart, `pg_terminate_backend` or a TCP reset ends connections
 * under the application. `pg` reports that as an `'error'` event on the client, and an
 * `'error'` event without a listener ends the Node process — which the pool's own listener
 * prevents only while a client is idle, not while it is checked out (inside a transaction,
 * a REST read, a group commit). Here every client gets a listener for its whole life, the
 * pool gets one for idle clients, and a client whose connection failed (or whose query
 * timed out on our side, leaving an answer in flight) is released with an error, so the
 * pool closes it instead of handing it to the next caller. The caller sees a
 * {@link DatabaseUnavailableError} (HTTP 503, code `database_unavailable`); the next
 * checkout opens a new connection.
 *
 * Timeouts keep a stalled database from holding requests: `connectTimeoutMs` bounds a
 * checkout (opening a connection, or waiting for a free one), `statementTimeoutMs` is
 * Postgres' `statement_timeout` (the server cancels a statement that runs too long), and
 * `queryTimeoutMs` is the client-side bound for a database or network that does not answer
 * at all.
 */
import pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { AppError } from '../lib/errors.js';

/** The database could not be reached, or did not answer in time; retrying later may work. */
export class DatabaseUnavailableError extends AppError {
  constructor(message: string, options: { cause: unknown }) {
    super(503, 'database_unavailable', message, undefined, { 'retry-after': '1' });
    this.name = 'DatabaseUnavailableError';
    this.cause = options.cause;
  }
}

/**
 * SQLSTATE classes after which the connection is gone or must not be trusted: 08
 * (connection exception), 57P01–57P05 (administrator shutdown, crash shutdown, cannot
 * connect now, database dropped, idle session timeout).
 */
const CONNECTION_LOST = /^(08|57P0)/;
/** SQLSTATE 57014: the statement was cancelled (here: `statement_timeout`). The connection stays usable. */
const QUERY_CANCELED = '57014';

/**
 * Whether an error from a query means the connection itself failed: anything that is not
 * an answer from the server (a socket error, "Connection terminated unexpectedly", our
 * own read timeout with the answer still in flight), or a server error of the classes above.
 */
export function connectionFailed(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return CONNECTION_LOST.test(e.code ?? '');
  return true;
}

/**
 * The error a caller sees: a failed connection or a timeout becomes
 * {@link DatabaseUnavailableError}; an ordinary server error (a constraint, a syntax
 * error) passes through as it is.
 */
export function asUnavailable(e: unknown): unknown {
  if (e instanceof DatabaseUnavailableError || e instanceof AppError) return e;
  if (e instanceof pg.DatabaseError && e.code === QUERY_CANCELED) return new DatabaseUnavailableError('The database did not answer in time', { cause: e });
  if (connectionFailed(e)) return new DatabaseUnavailableError(`The database is unavailable: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  return e;
}

export interface ResilientPoolOptions {
  connectionString: string;
  max: number;
  /** Startup options (`-c search_path=…`). */
  options?: string;
  /** Shown in `pg_stat_activity`; a connection string's own `application_name` wins. */
  applicationName: string;
  /** Opening a connection or waiting for a free one. */
  connectTimeoutMs: number;
  /** Postgres' `statement_timeout`; 0 = none. */
  statementTimeoutMs: number;
  /** Client-side bound on a query's answer; 0 = none. */
  queryTimeoutMs: number;
  /** Told of each connection that failed (once per connection). */
  onConnectionError?: (err: Error) => void;
}

/** A pg pool, and the same pool as Kysely's dialect wants it (failed clients discarded, errors mapped). */
export interface ResilientPool {
  pool: pg.Pool;
  forKysely: PostgresPool;
  /** Checks out a client; a checkout that fails or times out throws {@link DatabaseUnavailableError}. */
  checkout(): Promise<pg.PoolClient>;
  /** Returns a client to the pool; one whose connection failed (`failed`, or seen by its listener) is closed instead. */
  release(client: pg.PoolClient, failed?: unknown): void;
}

/** Clients whose connection failed: released with an error so the pool closes them. */
const BROKEN = new WeakSet<pg.PoolClient | pg.Client>();

/** Opens a pool whose lost connections never end the process (see the module comment). */
export function openResilientPool(opts: ResilientPoolOptions): ResilientPool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max,
    options: opts.options,
    application_name: opts.applicationName,
    connectionTimeoutMillis: opts.connectTimeoutMs,
    statement_timeout: opts.statementTimeoutMs > 0 ? opts.statementTimeoutMs : undefined,
    query_timeout: opts.queryTimeoutMs > 0 ? opts.queryTimeoutMs : undefined,
    // Dead peers on a silent network are found by the kernel instead of never.
    keepAlive: true,
  });
  const broken = (client: pg.PoolClient | pg.Client, err: Error) => {
    if (BROKEN.has(client)) return;
    BROKEN.add(client);
    opts.onConnectionError?.(err);
  };
  // An idle client's failure: the pool has already dropped it.
  pool.on('error', (err, client) => broken(client, err));
  // Every client, for its whole life (the pool's own listener is removed while it is checked out).
  pool.on('connect', (client) => client.on('error', (err) => broken(client, err)));

  const checkout = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (e) {
      throw new DatabaseUnavailableError(`No database connection: ${(e as Error).message}`, { cause: e });
    }
  };
  const release = (client: pg.PoolClient, failed?: unknown) => {
    if (failed !== undefined && connectionFailed(failed)) BROKEN.add(client);
    client.release(BROKEN.has(client) ? new Error('connection failed; discarded') : undefined);
  };

  // One wrapper per client, so Kysely keeps one connection object per pooled client.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrappers.get(client);
    if (!w) {
      const query = (textOrCursor: unknown, parameters?: readonly unknown[]): unknown => {
        // A cursor (streamed query) reports its own errors.
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor as pg.Submittable);
        return client.query(textOrCursor, parameters as unknown[]).catch((e: unknown) => {
          if (connectionFailed(e)) BROKEN.add(client);
          throw asUnavailable(e);
        });
      };
      w = { query: query as PostgresPoolClient['query'], release: () => release(client) };
      wrappers.set(client, w);
    }
    return w;
  };

  return {
    pool,
    checkout,
    release,
    forKysely: {
      connect: async () => wrap(await checkout()),
      end: () => pool.end(),
    },
  };
}
