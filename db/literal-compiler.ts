/**
 * A Postgres query compiler that writes every value into the SQL text as a literal
 * instead of a `$n` parameter, for queries sent through the simple query protocol
 * (which takes no parameters: see `readAsTenant` in store.ts).
 *
 * Each value becomes a quoted literal of the text `pg` would have sent as the parameter.
 * A quoted literal has Postgres' "unknown" type and is resolved from its context exactly as
 * an untyped parameter is, so a query means the same either way (an unquoted `42` or
 * `true` would not: in a select list those are int and boolean, where a parameter is
 * text). Quoting goes through `pg`'s own `escapeLiteral`, which is correct whatever
 * `standard_conforming_strings` says. Value types a read has no use for (arrays, objects)
 * are refused rather than guessed at.
 */
import { PostgresQueryCompiler, createQueryId, type CompiledQuery, type RootOperationNode } from 'kysely';
import pg from 'pg';

function parameterText(value: unknown): string {
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new Error('sqlLiteral: a string with a NUL byte cannot be sent to Postgres');
    return value;
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('sqlLiteral: invalid date');
    return value.toISOString();
  }
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  throw new Error(`sqlLiteral: no literal form for a value of type ${Object.prototype.toString.call(value)}`);
}

/** A value as a Postgres literal that means what the same value as a parameter would. */
export function sqlLiteral(value: unknown): string {
  return value === null || value === undefined ? 'null' : pg.escapeLiteral(parameterText(value));
}

const asIs = (value: unknown): unknown => value;

class LiteralCompiler extends PostgresQueryCompiler {
  resolve: (value: unknown) => unknown = asIs;
  busy = false;

  protected override appendValue(value: unknown): void {
    this.append(sqlLiteral(this.resolve(value)));
  }
}

/**
 * One compiler serves every call, as kysely's own does per instance: compiling is
 * synchronous and starts from a clean state, and a compiler's construction (a table of
 * bound visitor methods) was most of what a compile allocated.
 */
const shared = new LiteralCompiler();

/**
 * Compiles a query with its values inlined as literals; `parameters` is always empty.
 * `resolve` maps each value of the query to the one to write (a template's placeholders to
 * their values: template.ts).
 */
export function compileWithLiterals(node: RootOperationNode, resolve: (value: unknown) => unknown = asIs): CompiledQuery {
  // A compile from inside `resolve` gets a compiler of its own.
  const compiler = shared.busy ? new LiteralCompiler() : shared;
  compiler.busy = true;
  compiler.resolve = resolve;
  try {
    return compiler.compileQuery(node, createQueryId());
  } finally {
    compiler.busy = false;
    compiler.resolve = asIs;
  }
}
