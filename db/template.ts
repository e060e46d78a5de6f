/**
 * Query templates: a kysely query of fixed shape, built and compiled once, then bound to
 * new values on every use.
 *
 * Building a kysely query (operation nodes, each frozen) and compiling it to SQL on every
 * request was about a sixth of the API process' CPU on the hottest reads
 * (bench/RESULTS.md, scenario 6), for SQL text that never changes: only the values do.
 * A template builds its query once with placeholders where the values go, compiles it,
 * and remembers which parameter is which placeholder; binding it is an array copy. The
 * query is still written with kysely's typed builder.
 *
 *   const userById = queryTemplate((db, p: { id: string }) =>
 *     db.selectFrom('users').select(['id', 'email']).where('id', '=', p.id));
 *   await userById({ id }).execute(db);
 *
 * A placeholder is opaque: it can stand wherever a value goes (a comparison, a `sql`
 * template's value, a limit), not where the builder must see the value itself (an array
 * for `in`, arithmetic, a condition on it). Such a choice belongs outside the template:
 * one template per shape.
 */
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type Compilable, type RootOperationNode } from 'kysely';
import type { Database } from './schema.js';
import { compileWithLiterals } from './literal-compiler.js';

class Placeholder {
  constructor(readonly name: string) {}
}

/** Builds and compiles only (it never connects): the Postgres compiler both dialects use. */
const builder = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

/** A template bound to its values: compiled SQL and parameters, ready to run. */
export interface BoundQuery<O> extends Compilable<O> {
  /** The SQL with the values written in as literals (literal-compiler.ts). */
  literalSql(): string;
  /** Runs the query on a database or inside a transaction; resolves to its rows. */
  execute(db: Pick<Kysely<Database>, 'executeQuery'>): Promise<O[]>;
}

type Buildable<O> = Compilable<O> & { toOperationNode(): RootOperationNode };

export function queryTemplate<P extends object, O>(build: (db: Kysely<Database>, p: P) => Buildable<O>): (values: P) => BoundQuery<O> {
  const placeholders = new Proxy({} as P, { get: (_, name) => (typeof name === 'string' ? new Placeholder(name) : undefined) });
  const query = build(builder, placeholders);
  const node = query.toOperationNode();
  const compiled = query.compile();
  // For each parameter, the name of the value it takes, or the constant the builder put there.
  const sources = compiled.parameters.map((v) => (v instanceof Placeholder ? v.name : { constant: v }));
  return (given) => {
    const values = given as Record<string, unknown>;
    const parameters = sources.map((s) => {
      if (typeof s !== 'string') return s.constant;
      if (values[s] === undefined) throw new Error(`queryTemplate: no value for ${s}`);
      return values[s];
    });
    const bound: CompiledQuery<O> = { sql: compiled.sql, parameters, query: compiled.query, queryId: compiled.queryId };
    return {
      compile: () => bound,
      literalSql: () => compileWithLiterals(node, (v) => (v instanceof Placeholder ? values[v.name] : v)).sql,
      execute: async (db) => (await db.executeQuery(bound)).rows,
    };
  };
}
