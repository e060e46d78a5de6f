/**
 * The seam between the code that reads and writes as a tenant and how a backend runs it.
 *
 * Every tenant-scoped statement runs inside a transaction bound to one tenant
 * (`SET LOCAL app.tenant_id`), where row-level security hides every other tenant's rows.
 * `TenantTransactions` is that capability; a store picks its implementation when it opens:
 *
 * - `StandardTransactions` (here): Kysely transactions with the tenant as a parameter, a
 *   round trip per statement. Embedded PGlite uses it (there are no sockets to save).
 * - `OneTripTransactions` (`one-trip.ts`): server Postgres — BEGIN and the tenant setting
 *   in one message, statement groups in one simple-protocol message with escaped literals,
 *   hot statements prepared once per pooled connection.
 *
 * Both pass the same conformance suite (`test/tenant-transactions.test.ts`). The
 * application database is an `AppDb`, which carries its implementation; `withTenant` and
 * friends (store.ts) take an `AppDb`, so a Kysely that `openStore` did not make cannot be
 * passed to them by mistake (it does not type-check) and never silently takes another path.
 */
import { Kysely, sql, type Compilable, type KyselyConfig, type RootOperationNode } from 'kysely';
import type { Database } from './schema.js';
import { inSpan, SpanKind, tracingOn } from '../lib/tracing.js';

declare const inTenantTransaction: unique symbol;
/**
 * A connection inside a tenant's transaction, as `withTenant` hands it to its callback.
 * Branded, so the application database itself (outside any transaction) is not a `Tx`:
 * a command that takes one runs under a tenant's row-level security, never beside it.
 */
export type Tx = Kysely<Database> & { readonly [inTenantTransaction]: true };

export type Isolation = 'repeatable read' | 'serializable';

/** A statement that can go in one trip: a Kysely query (any compilable query node), or a bound query template (template.ts). */
export type TripQuery<O = unknown> = Compilable<O> & ({ toOperationNode(): RootOperationNode } | { literalSql(): string });

/** One tenant's statements, run under that tenant's row-level security. */
export interface TripGroup {
  tenantId: string;
  queries: readonly TripQuery[];
}

/** Options of `inOneTrip`. */
export interface TripOptions {
  /**
   * Send each statement as `EXECUTE` of a statement prepared on that pooled connection
   * (prepared in the same message the first time): Postgres skips parsing and planning on
   * every later use. For statements with a small, fixed set of shapes: the hot reads, and
   * the group commit's insert of a few rows (its shape changes with the row count). A
   * backend without the fast path ignores it.
   */
  prepare?: boolean;
}

/** How a backend runs tenant-scoped transactions (see the module comment). */
export interface TenantTransactions {
  /** Runs `fn` in a transaction bound to `tenantId`; rolls back if it throws. */
  withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>, isolation?: Isolation): Promise<T>;
  /**
   * Runs every group's statements, each group under its tenant, as one transaction (all or
   * nothing), and resolves to each statement's rows in order, flattened across groups.
   */
  inOneTrip(groups: readonly TripGroup[], opts?: TripOptions): Promise<unknown[][]>;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requireTenantIds(groups: readonly { tenantId: string }[], what: string): void {
  for (const g of groups) if (!UUID.test(g.tenantId)) throw new Error(`${what}: the tenant id is not a UUID`);
}

/** `SET LOCAL app.tenant_id`, as a statement with the id as a parameter. */
const tenantSetting = (tenantId: string) => sql`select set_config('app.tenant_id', ${tenantId}, true)`;

/**
 * Groups of statements as an ordinary Kysely transaction with parameters: a round trip per
 * statement, values sent as they are (binary for bytea). Works on any Kysely.
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

/** Kysely transactions, the tenant set by parameter (see the module comment). */
export class StandardTransactions implements TenantTransactions {
  constructor(private readonly db: Kysely<Database>) {}

  async withTenant<T>(tenantId: string, fn: (tx: Tx) => Promise<T>, isolation?: Isolation): Promise<T> {
    requireTenantIds([{ tenantId }], 'withTenant');
    const begin = isolation ? this.db.transaction().setIsolationLevel(isolation) : this.db.transaction();
    return begin.execute(async (tx) => {
      await tenantSetting(tenantId).execute(tx);
      // Kysely's transaction, seen as the connection inside it (the brand marks it as tenant-bound).
      const inside: Kysely<Database> = tx;
      return fn(inside as Tx);
    });
  }

  async inOneTrip(groups: readonly TripGroup[]): Promise<unknown[][]> {
    requireTenantIds(groups, 'inOneTrip');
    return inOneTransaction(this.db, groups);
  }
}

/**
 * Tracing on: each tenant transaction is a client span (`db.transaction`, a child of
 * whatever span is active: a request, a commit, a worker's run). Off, calls go straight
 * through.
 */
function traced<T extends TenantTransactions>(inner: T): T {
  const attributes = (mode: string, groups: number) => () => ({ 'db.system.name': 'postgresql', 'db.operation.name': 'transaction', 'quire.db.mode': mode, 'quire.db.groups': groups });
  const withTenant = inner.withTenant.bind(inner);
  const inOneTrip = inner.inOneTrip.bind(inner);
  // Own properties over the prototype's methods: the object stays what it was (instanceof).
  inner.withTenant = (tenantId, fn, isolation) => {
    if (!tracingOn()) return withTenant(tenantId, fn, isolation);
    return inSpan('db.transaction', { kind: SpanKind.CLIENT, attributes: attributes('transaction', 1) }, () => withTenant(tenantId, fn, isolation));
  };
  inner.inOneTrip = (groups, opts) => {
    if (!tracingOn()) return inOneTrip(groups, opts);
    return inSpan('db.transaction', { kind: SpanKind.CLIENT, attributes: attributes('one-trip', groups.length) }, () => inOneTrip(groups, opts));
  };
  return inner;
}

/**
 * The application role's database as `openStore` makes it: a Kysely that knows how its
 * backend runs tenant transactions.
 */
export class AppDb extends Kysely<Database> {
  readonly tenants: TenantTransactions;

  constructor(config: KyselyConfig, transactions: (db: Kysely<Database>) => TenantTransactions) {
    super(config);
    this.tenants = traced(transactions(this));
  }
}
