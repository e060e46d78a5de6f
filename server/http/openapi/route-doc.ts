/**
 * What a route registration documents about its operation (`edge.route(…, { doc })`): the
 * OpenAPI document (`GET /api/v1/openapi.json`, ./document.ts) is built from these and from
 * the zod schemas the handlers validate with, so it cannot describe a route that is not there.
 */
import type { z } from 'zod';
import type responseSchemas from './response-schemas.json';

/** A type of the REST contract (contract/api.ts), as generated into response-schemas.json. */
export type ContractType = keyof (typeof responseSchemas)['definitions'];

/**
 * Who may call: `bearer` — `Authorization: Bearer` with a signed-in person's access token
 * (JWT), or an API key where the key's scopes cover the route (which scope, if any, is
 * derived from `scopeFor` in core/api-keys.ts); `none` — anyone (a public route; a secret, if
 * any, is in the body or the path).
 */
export type RouteAuth = 'bearer' | 'none';

/** A body or answer that is not JSON: its media type, and a schema where it has one. */
export interface MediaDoc {
  contentType: string;
  /** Its schema: a contract type, or several when the answer is one of them. */
  schema?: ContractType | ContractType[];
  description?: string;
}

export interface RouteDoc {
  /** The group the operation is listed under (`Documents`, `Auth`, …). */
  tag: string;
  /** One line, imperative: "List the documents the caller can read". */
  summary: string;
  description?: string;
  auth: RouteAuth;
  /** The schema the handler passes to `readJson` (the same object). */
  body?: z.ZodType;
  /** A body that is not JSON (a file, a tus piece, a form): its media type or types. */
  rawBody?: MediaDoc | MediaDoc[];
  /** The body (JSON or raw) may be left out. */
  bodyOptional?: boolean;
  /** The schema the handler passes to `readQuery` (the same object). */
  query?: z.ZodType;
  /** Query parameters read without a schema: name → description. */
  queryParams?: Record<string, string>;
  /** Path parameters (`:id` in the pattern) → description; every parameter is a UUID unless named here as `{ text }`. */
  params?: Record<string, string | { text: string }>;
  /** The success status. */
  status: number;
  /** The success answer: a contract type as JSON, other media types, or nothing (204, a redirect). */
  response?: ContractType | MediaDoc | MediaDoc[];
  /** Other successful answers, by status (a 206 range, a 304 revalidation). */
  otherResponses?: Record<number, string>;
  /** Headers of the answer worth knowing: name → description. */
  responseHeaders?: Record<string, string>;
  /** A request body (validates against `body`) and an answer (validates against `response`). */
  example?: { request?: unknown; response?: unknown };
}
