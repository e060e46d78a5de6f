/**
 * The OpenAPI document (`GET /api/v1/openapi.json`): public and cacheable, a valid OpenAPI 3.1
 * document, one operation for each /api/v1 route the server registers (and no other), its
 * examples valid against the very schemas the handlers validate with and the contract's
 * response schemas, answers of a running server valid against what it documents, and the
 * generated response schemas in step with contract/api.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { RegisteredRoute } from '../lib/http/edge.js';
import type { OpenApiDocument } from '../server/http/openapi/document.js';
import type { RouteDoc } from '../server/http/openapi/route-doc.js';
import { generateResponseSchemas, RESPONSE_SCHEMAS_FILE } from '../scripts/api-schemas.js';
import type { Session } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }>; requestBody?: unknown; security?: unknown[] };
const METHOD: Record<string, string> = { get: 'get', head: 'head', post: 'post', put: 'put', patch: 'patch', del: 'delete' };
const toPath = (pattern: string) => pattern.replace(/:(\w+)/g, '{$1}');

async function fetchDocument(server: TestServer): Promise<{ res: Response; doc: OpenApiDocument }> {
  const res = await fetch(`${server.url}/api/v1/openapi.json`);
  assert.equal(res.status, 200, 'the document is served without a token');
  return { res, doc: (await res.json()) as OpenApiDocument };
}

function documentedRoutes(server: TestServer): readonly Readonly<RegisteredRoute<RouteDoc>>[] {
  return (server.quire.edge.routes() as readonly Readonly<RegisteredRoute<RouteDoc>>[]).filter((r) => r.pattern.startsWith('/api/v1/'));
}

/** Validates a value against a schema of the document's components (`Me`, `DocumentPage`, …). */
function schemaChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://quire.invalid/openapi.json', components: doc.components });
  return (ref: string, value: unknown): string | null => {
    const validate = ajv.getSchema(`https://quire.invalid/openapi.json${ref}`);
    assert.ok(validate, `the schema ${ref} exists`);
    return validate(value) ? null : ajv.errorsText(validate.errors);
  };
}

test('the document is public JSON, cacheable, and revalidates by its ETag', async (t) => {
  const server = await startServer(t, { roles: ['api'] });
  const { res, doc } = await fetchDocument(server);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json; charset=utf-8$/, 'served as JSON');
  assert.match(res.headers.get('cache-control') ?? '', /public, max-age=\d+/, 'cacheable');
  assert.equal(doc.openapi, '3.1.0', 'an OpenAPI 3.1 document');
  const etag = res.headers.get('etag');
  assert.ok(etag, 'the answer has an ETag');
  const again = await fetch(`${server.url}/api/v1/openapi.json`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304, 'a revalidation with the ETag is answered 304');
  assert.equal(await again.text(), '', 'a 304 has no body');
});

test('the document validates against the OpenAPI 3.1 schema', async (t) => {
  const server = await startServer(t, { roles: ['api'] });
  const { doc } = await fetchDocument(server);
  const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
  assert.equal(result.valid, true, `the document is valid OpenAPI 3.1: ${JSON.stringify(result.errors, null, 1)?.slice(0, 4000)}`);
});

test('every /api/v1 route is documented, and every documented operation is a route', async (t) => {
  const server = await startServer(t, { roles: ['api'] });
  const { doc } = await fetchDocument(server);
  const registered = documentedRoutes(server);
  assert.ok(registered.length > 100, `the API registers its routes (${registered.length})`);
  const undocumented = registered.filter((r) => !r.doc).map((r) => `${r.method} ${r.pattern}`);
  assert.deepEqual(undocumented, [], 'every /api/v1 route carries its documentation');
  const routeKeys = new Set(registered.map((r) => `${METHOD[r.method]} ${toPath(r.pattern)}`));
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
  assert.deepEqual(
    documented.filter((k) => !routeKeys.has(k)),
    [],
    'no documented operation lacks a route',
  );
  assert.deepEqual(
    [...routeKeys].filter((k) => !documented.includes(k)),
    [],
    'no route lacks its operation',
  );
  const ids = documented.map((k) => {
    const [m, p] = k.split(' ') as [string, string];
    return (doc.paths[p]?.[m] as { operationId: string }).operationId;
  });
  assert.equal(new Set(ids).size, ids.length, 'operation ids are unique');
  for (const r of registered) {
    const op = doc.paths[toPath(r.pattern)]?.[METHOD[r.method] ?? ''] as Operation | undefined;
    assert.ok(op, `${r.method} ${r.pattern} is in the document`);
    if (r.doc?.auth === 'bearer') assert.ok((op.security ?? []).length > 0, `${r.pattern} says it needs a token`);
    if (r.doc?.body) assert.ok(op.requestBody, `${r.pattern} documents its body`);
  }
});

test('examples validate against the schemas the routes use', async (t) => {
  const server = await startServer(t, { roles: ['api'] });
  const { doc } = await fetchDocument(server);
  const check = schemaChecker(doc);
  let requests = 0;
  let responses = 0;
  for (const r of documentedRoutes(server)) {
    const example = r.doc?.example;
    if (!example || !r.doc) continue;
    const name = `${r.method} ${r.pattern}`;
    if (example.request !== undefined) {
      assert.ok(r.doc.body, `${name}: a request example goes with a body schema`);
      const parsed = r.doc.body.safeParse(example.request);
      assert.ok(parsed.success, `${name}: the request example is accepted by the route's schema: ${parsed.error?.message}`);
      requests++;
    }
    if (example.response !== undefined) {
      const op = doc.paths[toPath(r.pattern)]?.[METHOD[r.method] ?? ''] as Operation;
      const ref = op.responses[String(r.doc.status)]?.content?.['application/json']?.schema?.$ref;
      assert.ok(ref, `${name}: a response example goes with a JSON response schema`);
      assert.equal(check(ref, example.response), null, `${name}: the response example matches ${ref}`);
      responses++;
    }
  }
  assert.ok(requests >= 30, `request examples were checked (${requests})`);
  assert.ok(responses >= 3, `response examples were checked (${responses})`);
});

test('answers of a running server match the documented response schemas', async (t) => {
  const server = await startServer(t, { roles: ['api'] });
  const { doc } = await fetchDocument(server);
  const check = schemaChecker(doc);
  const owner: Session = await server.api.signup();
  const token = owner.accessToken;
  const documented = async (method: string, pattern: string, path: string, json?: unknown) => {
    const op = doc.paths[toPath(pattern)]?.[method] as Operation | undefined;
    assert.ok(op, `${method} ${pattern} is documented`);
    const res = await server.api.request(method.toUpperCase(), path, { token, ...(json === undefined ? {} : { json }) });
    const [status, answer] = Object.entries(op.responses).find(([s]) => s !== 'default') ?? [];
    assert.equal(String(res.status), status, `${method} ${path} answers the documented status: ${res.text}`);
    const ref = answer?.content?.['application/json']?.schema?.$ref;
    assert.ok(ref, `${method} ${pattern} documents a JSON answer`);
    assert.equal(check(ref, res.body), null, `${method} ${path}: the answer matches ${ref}`);
    return res.body as Record<string, unknown>;
  };
  await documented('get', '/api/v1/me', '/api/v1/me');
  await documented('get', '/api/v1/workspace', '/api/v1/workspace');
  const created = await documented('post', '/api/v1/documents', '/api/v1/documents', { title: 'Plan', text: 'First line' });
  const id = String(created.id);
  await documented('get', '/api/v1/documents', '/api/v1/documents?limit=5');
  await documented('get', '/api/v1/documents/:id', `/api/v1/documents/${id}`);
  await documented('post', '/api/v1/documents/:id/comments', `/api/v1/documents/${id}/comments`, { body: 'Looks good' });
  await documented('get', '/api/v1/documents/:id/comments', `/api/v1/documents/${id}/comments`);
  await documented('post', '/api/v1/collections', '/api/v1/collections', { name: 'Handbook' });
  await documented('get', '/api/v1/collections', '/api/v1/collections');
  await documented('get', '/api/v1/users', '/api/v1/users');
  await documented('get', '/api/v1/me/sessions', '/api/v1/me/sessions');
  await documented('post', '/api/v1/documents/:id/versions', `/api/v1/documents/${id}/versions`, { name: 'v1' });
  await documented('get', '/api/v1/documents/:id/versions', `/api/v1/documents/${id}/versions`);

  // Content in three formats: each answer's media type is one the operation documents.
  const content = doc.paths['/api/v1/documents/{id}/content']?.get as Operation;
  const types = Object.keys(content.responses['200']?.content ?? {});
  for (const format of ['text', 'json', 'yjs']) {
    const res = await server.api.request('GET', `/api/v1/documents/${id}/content?format=${format}`, { token });
    assert.equal(res.status, 200, `content as ${format}: ${res.text}`);
    const type = (res.headers.get('content-type') ?? '').split(';')[0] ?? '';
    assert.ok(types.includes(type), `content as ${format} answers ${type}, one of the documented ${types.join(', ')}`);
    if (format === 'json') assert.equal(check('#/components/schemas/ProseMirrorJson', res.body), null, 'the JSON content matches ProseMirrorJson');
  }
});

test('the response schemas are generated from contract/api.ts and up to date', async () => {
  const fresh = await generateResponseSchemas();
  assert.equal(fs.readFileSync(RESPONSE_SCHEMAS_FILE, 'utf8'), fresh, 'server/http/openapi/response-schemas.json is stale: run `npm run gen:api-schemas`');
});
