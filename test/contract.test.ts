/**
 * The shared contract (`contract/`): the error codes the server can raise are one list the
 * SDK's `QuireErrorCode` is made from (the compiler keeps the server to it), the close
 * codes the sync tier sends are the table the SDK decides from, and the REST types
 * (`contract/api.ts`) are the ones the server's commands return, its body schemas accept and
 * the SDK exports. Here: the list is sound, real error answers carry codes from it, a drift
 * from the REST types does not compile, and real answers carry exactly their fields.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import type {
  ClassifierList,
  CreateDocumentRequest,
  DocumentMeta,
  DocumentPage,
  Me,
  MlSettings,
  PublicDocument,
  PublicLink,
  PublicLinkState,
  Session,
  SessionUser,
  Workspace,
} from '../clients/sdk/index.js';
import { CLOSE as SDK_CLOSE, SERVER_ERROR_CODES as SDK_CODES } from '../clients/sdk/index.js';
import { SERVER_ERROR_CODES } from '../contract/errors.js';
import type { Accepts, Expect } from '../server/http/validate.js';
import { CLOSE } from '../sync/context.js';
import { startServer } from './helpers/server.js';

test('the error code list: unique, snake_case, and the one the SDK exports', () => {
  assert.equal(new Set(SERVER_ERROR_CODES).size, SERVER_ERROR_CODES.length);
  for (const c of SERVER_ERROR_CODES) assert.match(c, /^[a-z]+(_[a-z]+)*$/);
  assert.equal(SDK_CODES, SERVER_ERROR_CODES);
  assert.equal(SDK_CLOSE, CLOSE, 'the sync tier closes with the table the SDK reads');
});

test('error answers carry codes from the list', async (t) => {
  const { api, url } = await startServer(t);
  const s = await api.signup();
  const answers = [
    await fetch(`${url}/api/v1/nowhere`),
    await fetch(`${url}/api/v1/documents`),
    await fetch(`${url}/api/v1/documents/not-a-uuid`, { headers: { authorization: `Bearer ${s.accessToken}` } }),
    await fetch(`${url}/api/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' }, body: '{' }),
    await fetch(`${url}/api/v1/documents`, { method: 'POST', headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' }, body: '{"title": 5}' }),
    await fetch(`${url}/api/v1/documents?cursor=forged`, { headers: { authorization: `Bearer ${s.accessToken}` } }),
  ];
  const codes: string[] = [];
  for (const r of answers) {
    assert.ok(r.status >= 400, `${r.url}: ${r.status}`);
    const body = (await r.json()) as { error: { code: string } };
    codes.push(body.error.code);
  }
  for (const c of codes) assert.ok((SERVER_ERROR_CODES as readonly string[]).includes(c), `${c} is in the contract`);
  assert.deepEqual(codes, ['route_not_found', 'unauthorized', 'document_not_found', 'invalid_json', 'validation_failed', 'invalid_cursor']);
});

test('a schema or an answer that drifts from the REST contract does not compile', () => {
  // Every body and query schema in server/routes is checked this way (`type _Requests = [...]`).
  const Same = z.strictObject({ title: z.string().trim().min(1).max(500), text: z.string().optional(), collectionId: z.uuid().nullable().optional() });
  const Drifted = z.strictObject({ title: z.string().trim().min(1).max(500), text: z.number().optional(), collectionId: z.uuid().nullable().optional() });
  type _Same = Expect<Accepts<typeof Same, CreateDocumentRequest>>;
  // @ts-expect-error `text` is a string in the contract: the SDK would send what this schema refuses.
  type _Drifted = Expect<Accepts<typeof Drifted, CreateDocumentRequest>>;
  // Commands return the contract's types: an answer with a field the SDK does not declare is refused.
  const _answer: DocumentMeta = {
    id: 'd',
    title: 'T',
    createdBy: null,
    createdAt: '',
    updatedAt: '',
    access: 'read',
    kind: 'document',
    collectionId: null,
    starred: false,
    lastViewedAt: null,
    linkAccess: 'none',
    publicLink: false,
    // @ts-expect-error DocumentMeta has no `owner`.
    owner: 'u',
  };
  const request = { title: 'T', text: 'Hello' } satisfies CreateDocumentRequest;
  assert.equal(Same.safeParse(request).success, true);
  assert.equal(Drifted.safeParse(request).success, false);
});

test('answers carry exactly the fields of their contract types', async (t) => {
  // `satisfies Record<keyof T, true>`: each list is the type's fields, no more and no fewer.
  const SESSION = { accessToken: true, refreshToken: true, user: true } satisfies Record<keyof Session, true>;
  const SESSION_USER = { id: true, email: true, tenantId: true, role: true } satisfies Record<keyof SessionUser, true>;
  const ME = { id: true, email: true, displayName: true, role: true, createdAt: true, tenantId: true, tenantName: true } satisfies Record<keyof Me, true>;
  const DOCUMENT = {
    id: true,
    title: true,
    createdBy: true,
    createdAt: true,
    updatedAt: true,
    access: true,
    kind: true,
    collectionId: true,
    starred: true,
    lastViewedAt: true,
    linkAccess: true,
    publicLink: true,
  } satisfies Record<keyof DocumentMeta, true>;
  const PAGE = { documents: true, nextCursor: true } satisfies Record<keyof DocumentPage, true>;
  const CLASSIFIERS = { classifiers: true, truncated: true } satisfies Record<keyof ClassifierList, true>;
  const SETTINGS = { defaultClassifier: true } satisfies Record<keyof MlSettings, true>;
  const WORKSPACE = { id: true, name: true, publicLinksEnabled: true } satisfies Record<keyof Workspace, true>;
  const LINK = { token: true, url: true, createdAt: true } satisfies Record<keyof PublicLink, true>;
  const LINK_STATE = { active: true, createdAt: true, url: true } satisfies Record<keyof PublicLinkState, true>;
  const PUBLIC = { title: true, json: true, text: true, updatedAt: true, workspace: true } satisfies Record<keyof PublicDocument, true>;
  const fields = (o: object) => Object.keys(o).sort();

  const { api } = await startServer(t);
  const s = await api.signup();
  assert.deepEqual(fields(s), fields(SESSION));
  assert.deepEqual(fields(s.user), fields(SESSION_USER));
  assert.deepEqual(fields((await api.get('/api/v1/me', s.accessToken)).body), fields(ME));
  const created = await api.post('/api/v1/documents', { title: 'Contract', text: 'Hello' } satisfies CreateDocumentRequest, s.accessToken);
  assert.equal(created.status, 201);
  assert.deepEqual(fields(created.body), fields(DOCUMENT));
  const page = (await api.get('/api/v1/documents', s.accessToken)).body;
  assert.deepEqual(fields(page), fields(PAGE));
  assert.deepEqual(fields(page.documents[0]), fields(DOCUMENT));
  assert.deepEqual(fields((await api.get('/api/v1/ml/classifiers', s.accessToken)).body), fields(CLASSIFIERS));
  assert.deepEqual(fields((await api.get('/api/v1/ml/settings', s.accessToken)).body), fields(SETTINGS));
  assert.deepEqual(fields((await api.get('/api/v1/workspace', s.accessToken)).body), fields(WORKSPACE));
  const link = await api.post(`/api/v1/documents/${created.body.id}/public-link`, undefined, s.accessToken);
  assert.equal(link.status, 201, link.text);
  assert.deepEqual(fields(link.body), fields(LINK));
  assert.deepEqual(fields((await api.get(`/api/v1/documents/${created.body.id}/public-link`, s.accessToken)).body), fields(LINK_STATE));
  assert.deepEqual(fields((await api.get(`/api/v1/public/${link.body.token}`)).body), fields(PUBLIC));
});
