/** Input validation at the edge: JSON bodies and query strings through zod schemas. */
import type { z } from 'zod';
import { AppError, badRequest } from '../../lib/errors.js';
import type { Req } from '../../lib/http/edge.js';

function issues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
}

/**
 * Deepest nesting of arrays and objects a JSON body may have. Validation and the
 * ProseMirror → Yjs conversion walk a body recursively, so a 100,000-deep body would
 * overflow the stack; a real document is a few dozen levels deep (nested lists).
 * @default 128
 */
export const MAX_JSON_DEPTH = 128;

/** The deepest nesting in a JSON text (strings skipped), counted without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** A string holds U+0000, which Postgres text cannot store and no product field needs. */
function nulPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') || '(root)' : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return [...path, k].join('.');
    const found = nulPath(v, [...path, k]);
    if (found !== null) return found;
  }
  return null;
}

/** Parses a JSON body: 415 for another content type, 400 for malformed JSON or a schema mismatch. */
export function readJson<S extends z.ZodType>(req: Req, schema: S): z.infer<S> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/json')) {
    throw new AppError(415, 'unsupported_media_type', 'Send the body as application/json');
  }
  if (!req.body || req.body.length === 0) throw badRequest('empty_body', 'A JSON body is required');
  const text = req.body.toString('utf8');
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw badRequest('too_deep', `The body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw badRequest('invalid_json', `The body is not valid JSON: ${(e as Error).message}`);
  }
  const nul = nulPath(value);
  if (nul !== null) throw badRequest('invalid_characters', `The NUL character (U+0000) is not allowed (at ${nul})`, [{ path: nul, message: 'contains U+0000' }]);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest('validation_failed', 'The body does not match the expected shape', issues(parsed.error));
  return parsed.data;
}

export function readQuery<S extends z.ZodType>(req: Req, schema: S): z.infer<S> {
  const obj: Record<string, string> = {};
  for (const [k, v] of req.query) {
    if (k.includes('\u0000') || v.includes('\u0000')) throw badRequest('invalid_characters', `The NUL character (U+0000) is not allowed (in the query parameter ${k.split('\u0000').join('')})`);
    obj[k] = v;
  }
  const parsed = schema.safeParse(obj);
  if (!parsed.success) throw badRequest('invalid_query', 'The query string is not valid', issues(parsed.error));
  return parsed.data;
}

// ---- compile-time checks against the contract (contract/api.ts) -----------------------

/** True only when A and B are the same type: the same fields, each with the same type and optionality. */
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when T is `true`: `type _Check = Expect<Accepts<typeof Schema, ContractType>>`. */
export type Expect<T extends true> = T;

type Flat<T> = { [K in keyof T]: T[K] };
type AllKeys<T> = T extends unknown ? keyof T : never;
type ValueAt<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? Exclude<T[K], undefined> : never) : never;
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type OptionalSomewhere<T, Keys extends PropertyKey> = T extends unknown ? Exclude<Keys, RequiredKeys<T>> : never;

/**
 * A request type as one object: a union (`{ text } | { json }`) becomes its members' fields
 * together, each required only where every member requires it.
 */
type Merged<R> = Flat<{ [K in Exclude<AllKeys<R>, OptionalSomewhere<R, AllKeys<R>>>]: ValueAt<R, K> } & { [K in OptionalSomewhere<R, AllKeys<R>>]?: ValueAt<R, K> }>;

/**
 * What a request schema accepts, as the contract describes a request: the parsed types
 * (`z.output`) with the optionality of what may be sent (`z.input`: a field with a default
 * may be left out). A query parameter arrives as text; its type is the one it is parsed to.
 */
type Accepted<S extends z.ZodType, In = z.input<S>, Out = z.output<S>> = {
  [K in keyof In]: K extends keyof Out ? (K extends RequiredKeys<In> ? Out[K] : Exclude<Out[K], undefined>) : In[K];
};

/**
 * True when schema `S` accepts exactly the contract's request type `R`: the same fields, each
 * with the same type and optionality, so a change on either side alone fails `tsc`. A union
 * `R` (exactly one of two fields) is compared by its fields together; the schema's
 * refinement enforces the rest at run time.
 */
export type Accepts<S extends z.ZodType, R> = Equals<Accepted<S>, Merged<R>>;
