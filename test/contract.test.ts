/**
 * The shared contract (`contract/`): the error codes the server can raise are one list the
 * SDK's `QuireErrorCode` is made from (the compiler keeps the server to it), and the close
 * codes the sync tier sends are the table the SDK decides from. Here: the list is sound, and
 * real error answers carry codes from it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOSE as SDK_CLOSE, SERVER_ERROR_CODES as SDK_CODES } from '../clients/sdk/index.js';
import { SERVER_ERROR_CODES } from '../contract/errors.js';
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
