/**
 * Tenant transactions on server Postgres in as few round trips as possible
 * (`TenantTransactions`, see tenant-transactions.ts).
 *
 * The hottest paths cost several round trips through an ordinary transaction (BEGIN, the
 * tenant setting, each statement, COMMIT), and on this kind of host each round trip's
 * socket write and read was the largest part of the API process' CPU (bench/RESULTS.md,
 * scenario 6). Here:
 *
 * - `withTenant` sends `BEGIN` and `SET LOCAL app.tenant_id` as one simple-protocol
 *   message, then the caller's queries, then `COMMIT`.
 * - `inOneTrip` sends every group's tenant setting and statements as one simple-protocol
 *   message, which Postgres runs as one implicit transaction: all or nothing, and
 *   `SET LOCAL` holds until the next group's setting or the transaction's end. The simple
 *   protocol takes no parameters, so values are written as escaped literals
 *   (literal-compiler.ts) and tenant ids are inlined only after they matched the UUID
 *   pattern (nothing to escape). With `prepare`, statements are prepared once per pooled
 *   connection and executed by name.
 */
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { compileWithLiterals, sqlLiteral } from './literal-compiler.js';
import { asUnavailable, type ResilientPool } from './pg-pool.js';
import type { Database } from './schema.js';
import { requireTenantIds, type Isolation, type TenantTransactions, type TripGroup, type TripOptions, type TripQuery, type Tx } from './tenant-transactions.js';

/**
 * Distinct statements prepared per connection. The hot reads and small inserts have a
 * handful of shapes; a query whose text varies with its input (an `in (…)` list, say)
 * would otherwise prepare without end, so past this many it goes as plain SQL with
 * literals.
 */
export const PREPARED_PER_CONNECTION = 64;
/** Statements the server lost before this pool stops preparing (see `OneTripTransactions.inOneTrip`). */
export const PREPARE_MISSES_BEFORE_OFF = 3;
/** SQLSTATE 26000: "prepared statement … does not exist". */
const INVALID_SQL_STATEMENT_NAME = '26000';

/**
 * `SET LOCAL app.tenant_id` with the id inlined, for simple-protocol messages; only for an
 * id that matched the UUID pattern. Not `select set_config(…)`: the same setting with no
 * row to send back and parse. It holds inside a transaction — an explicit one, or the
 * implicit one of a multi-statement message; outside any it would warn and set nothing,
 * and row-level security would show no rows.
 */
const setLocalTenant = (tenantId: string) => `set local app.tenant_id = '${tenantId}'`;

const literalSql = (q: TripQuery): string => ('literalSql' in q ? q.literalSql() : compileWithLiterals(q.toOperationNode()).sql);

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

export class OneTripTransactions implements TenantTransactions {
  /** What each pooled connection has prepared; forgotten with the connection. */
  private readonly prepared = new WeakMap<pg.PoolClient, PreparedOnConnection>();
  /** Statements the server lost; at `PREPARE_MISSES_BEFORE_OFF` this pool stops preparing. */
  private prepareMisses = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pool: ResilientPool,
  ) {}

  async withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>, isolation?: Isolation): Promise<T> {
    requireTenantIds([{ tenantId }], 'withTenant');
    return this.db.connection().execute(async (conn) => {
      await sql.raw(`begin${isolation ? ` isolation level ${isolation}` : ''}; ${setLocalTenant(tenantId)}`).execute(conn);
      let result: T;
      try {
        // Inside the transaction just begun on this connection, bound to the tenant.
        result = await fn(conn as Tx);
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw e;
      }
      await sql`commit`.execute(conn);
      return result;
    });
  }

  async inOneTrip(groups: readonly TripGroup[], opts: TripOptions = {}): Promise<unknown[][]> {
    requireTenantIds(groups, 'inOneTrip');
    if (groups.every((g) => g.queries.length === 0)) return [];
    const { pool } = this;
    const client = await pool.checkout();
    let on: PreparedOnConnection | null = null;
    if (opts.prepare && this.prepareMisses < PREPARE_MISSES_BEFORE_OFF) {
      on = this.prepared.get(client) ?? { names: new Map(), reset: false };
      this.prepared.set(client, on);
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
          const sqls = statementSql(q, on, pending);
          sqls.forEach((s, i) => add(s, i === sqls.length - 1));
        }
      }
      // A multi-statement simple query resolves to one result per statement (pg's types say one).
      raw = (await client.query(statements.join(';\n'))) as pg.QueryResult | pg.QueryResult[];
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
        this.prepareMisses += 1;
        if (this.prepareMisses === PREPARE_MISSES_BEFORE_OFF) {
          process.emitWarning('The database lost prepared statements between transactions (a pooler in transaction mode?): statements now go unprepared', 'QuireDatabaseWarning');
        }
        return this.inOneTrip(groups, { ...opts, prepare: false });
      }
      throw asUnavailable(e);
    }
    pool.release(client);
    if (on) for (const [text, name] of pending) on.names.set(text, name);
    const results = Array.isArray(raw) ? raw : [raw];
    return results.filter((_, i) => isQuery[i]).map((r) => r.rows as unknown[]);
  }
}

/** The SQL of one statement of a trip, and the `PREPARE` it needs first on this connection. */
function statementSql(q: TripQuery, on: PreparedOnConnection | null, pending: Map<string, string>): string[] {
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
