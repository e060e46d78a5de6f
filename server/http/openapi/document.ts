/**
 * The OpenAPI 3.1 document of the REST API, built from the routes as registered: each
 * route's `doc` (./route-doc.ts), its request schemas (the zod schemas the handler validates
 * with, through `z.toJSONSchema`, draft 2020-12, as input) and its answers (the contract's
 * TypeScript types, generated into ./response-schemas.json by `npm run gen:api-schemas`).
 */
import { z } from 'zod';
import { SERVER_ERROR_CODES } from '../../../contract/errors.js';
import { scopeFor } from '../../../core/api-keys.js';
import type { RegisteredRoute } from '../../../lib/http/edge.js';
import responseSchemas from './response-schemas.json' with { type: 'json' };
import type { MediaDoc, RouteDoc } from './route-doc.js';

export const OPENAPI_PATH = '/api/v1/openapi.json';

type JsonSchema = Record<string, unknown>;
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema>; responses: Record<string, JsonSchema> };
}

/**
 * A request schema as JSON Schema: what may be sent (before defaults and transforms). A
 * recursive part (a ProseMirror node) becomes a component named `prefix` + its name, since
 * the schema is embedded in the document rather than standing alone.
 */
export function requestSchema(schema: z.ZodType, prefix = 'Request', components: Record<string, JsonSchema> = {}): JsonSchema {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  const defs = out.$defs as Record<string, JsonSchema> | undefined;
  if (!defs) return out;
  delete out.$defs;
  const named = (key: string) => `${prefix}Part${key.replace(/[^0-9]/g, '')}`;
  const text = JSON.stringify({ out, defs }).replace(/"#\/\$defs\/([^"]+)"/g, (_m, key: string) => JSON.stringify(`#/components/schemas/${named(key)}`));
  const moved = JSON.parse(text) as { out: JsonSchema; defs: Record<string, JsonSchema> };
  for (const [key, def] of Object.entries(moved.defs)) components[named(key)] = def;
  return moved.out;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function media(m: MediaDoc): JsonSchema {
  if (Array.isArray(m.schema)) return { schema: { anyOf: m.schema.map(ref) } };
  if (m.schema) return { schema: ref(m.schema) };
  if (m.contentType.endsWith('json')) return { schema: { type: 'object' } };
  return { schema: m.contentType.startsWith('text/') ? { type: 'string' } : { type: 'string', contentMediaType: m.contentType } };
}

/** Who may call: anyone, an access token, or also an API key with the scope the route needs. */
function security(method: string, pattern: string, doc: RouteDoc): JsonSchema {
  if (doc.auth === 'none') return { security: [] };
  const scope = scopeFor(METHOD[method] ?? method, pattern);
  if (scope === null) return { security: [{ accessToken: [] }], 'x-api-key-scope': null };
  return { security: [{ accessToken: [] }, { apiKey: [scope] }], 'x-api-key-scope': scope };
}

const METHOD: Record<string, string> = { get: 'get', head: 'head', post: 'post', put: 'put', patch: 'patch', del: 'delete' };

function operation(method: string, pattern: string, doc: RouteDoc, components: Record<string, JsonSchema>): JsonSchema {
  const operationId = `${METHOD[method]}${pattern.replace(/[/:.-]+(\w)?/g, (_m, c?: string) => (c ? c.toUpperCase() : ''))}`;
  const convert = (schema: z.ZodType) => requestSchema(schema, `${operationId.charAt(0).toUpperCase()}${operationId.slice(1)}`, components);
  const parameters: JsonSchema[] = [];
  for (const name of pattern.split('/').filter((s) => s.startsWith(':'))) {
    const key = name.slice(1);
    const given = doc.params?.[key];
    const text = typeof given === 'object';
    const description = typeof given === 'string' ? given : given?.text;
    parameters.push({
      name: key,
      in: 'path',
      required: true,
      ...(description ? { description } : {}),
      schema: text ? { type: 'string' } : { type: 'string', format: 'uuid' },
    });
  }
  if (doc.query) {
    const q = convert(doc.query);
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties as Record<string, JsonSchema> | undefined) ?? {})) {
      const { description, ...rest } = schema;
      parameters.push({ name, in: 'query', required: required.has(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  for (const [name, description] of Object.entries(doc.queryParams ?? {})) parameters.push({ name, in: 'query', required: false, description, schema: { type: 'string' } });

  const op: JsonSchema = {
    operationId,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...security(method, pattern, doc),
  };
  if (parameters.length > 0) op.parameters = parameters;
  if (doc.body) {
    op.requestBody = {
      required: !doc.bodyOptional,
      content: { 'application/json': { schema: convert(doc.body), ...(doc.example?.request !== undefined ? { example: doc.example.request } : {}) } },
    };
  } else if (doc.rawBody) {
    const kinds = [doc.rawBody].flat();
    op.requestBody = { required: !doc.bodyOptional, content: Object.fromEntries(kinds.map((m) => [m.contentType, media(m)])) };
  }
  const headers = doc.responseHeaders ? { headers: Object.fromEntries(Object.entries(doc.responseHeaders).map(([k, d]) => [k, { description: d, schema: { type: 'string' } }])) } : {};
  const success: JsonSchema = { description: STATUS_TEXT[doc.status] ?? 'Success', ...headers };
  const example = doc.example?.response !== undefined ? { example: doc.example.response } : {};
  if (typeof doc.response === 'string') {
    success.content = { 'application/json': { schema: ref(doc.response), ...example } };
  } else if (doc.response) {
    const kinds = [doc.response].flat();
    success.content = Object.fromEntries(kinds.map((m, i) => [m.contentType, { ...media(m), ...(i === 0 ? example : {}) }]));
    const said = kinds.filter((m) => m.description).map((m) => m.description);
    if (said.length > 0) success.description = said.join('; ');
  }
  const responses: Record<string, JsonSchema> = { [String(doc.status)]: success };
  for (const [status, description] of Object.entries(doc.otherResponses ?? {})) responses[status] = { description };
  responses.default = { $ref: '#/components/responses/Error' };
  op.responses = responses;
  return op;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content', 302: 'Redirect' };

/** The document for `routes` (those under /api/v1 with a `doc`), operations in registration order. */
export function buildOpenApi(routes: readonly Readonly<RegisteredRoute<RouteDoc>>[], info: { version: string }): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const requestParts: Record<string, JsonSchema> = {};
  const tags: string[] = [];
  for (const r of routes) {
    if (!r.doc || !r.pattern.startsWith('/api/v1/')) continue;
    const path = r.pattern.replace(/:(\w+)/g, '{$1}');
    (paths[path] ??= {})[METHOD[r.method] ?? r.method] = operation(r.method, r.pattern, r.doc, requestParts);
    if (!tags.includes(r.doc.tag)) tags.push(r.doc.tag);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Quire REST API',
      version: info.version,
      description:
        'The REST API of Quire (v1). Send JSON with `Content-Type: application/json`; timestamps are ISO 8601 (UTC), ids are UUIDs. ' +
        'Errors are `{ "error": { "code", "message", "details"? } }` with a stable `code`. ' +
        'Authenticate with `Authorization: Bearer <token>`: an access token from `/api/v1/auth/login`, or an API key (`qak_…`) whose scopes cover the route.',
    },
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    servers: [{ url: '/' }],
    tags: tags.map((name) => ({ name })),
    paths,
    components: {
      schemas: {
        ...(responseSchemas.definitions as Record<string, JsonSchema>),
        ...requestParts,
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string', enum: [...SERVER_ERROR_CODES] }, message: { type: 'string' }, details: {} },
            },
          },
        },
      },
      securitySchemes: {
        accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /api/v1/auth/login, /signup or /refresh.' },
        apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'qak_…', description: 'An API key (POST /api/v1/api-keys); refused on routes its scopes do not cover.' },
      },
      responses: {
        Error: {
          description: 'An error: 400 invalid input, 401 not signed in, 403 not allowed, 404 not found, 409 conflict, 413 too large, 429 rate limited, 5xx',
          content: { 'application/json': { schema: ref('Error') } },
        },
      },
    },
  };
}
