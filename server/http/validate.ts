/** Input validation at the edge: JSON bodies and query strings through zod schemas. */
import type { z } from 'zod';
import { AppError, badRequest } from '../errors.js';
import type { Req } from './edge.js';

function issues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
}

/** Parses a JSON body: 415 for another content type, 400 for malformed JSON or a schema mismatch. */
export function readJson<S extends z.ZodType>(req: Req, schema: S): z.infer<S> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/json')) {
    throw new AppError(415, 'unsupported_media_type', 'Send the body as application/json');
  }
  if (!req.body || req.body.length === 0) throw badRequest('empty_body', 'A JSON body is required');
  let value: unknown;
  try {
    value = JSON.parse(req.body.toString('utf8'));
  } catch (e) {
    throw badRequest('invalid_json', `The body is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest('validation_failed', 'The body does not match the expected shape', issues(parsed.error));
  return parsed.data;
}

export function readQuery<S extends z.ZodType>(req: Req, schema: S): z.infer<S> {
  const obj: Record<string, string> = {};
  for (const [k, v] of req.query) obj[k] = v;
  const parsed = schema.safeParse(obj);
  if (!parsed.success) throw badRequest('invalid_query', 'The query string is not valid', issues(parsed.error));
  return parsed.data;
}
