/** The server serves the web app's build: caching headers, CSP, gzip, app routes, HEAD, and never over the API. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { before, test } from 'node:test';
import { ensureWebBuild } from '../scripts/build-web.mjs';
import { startServer } from './helpers/server.js';

before(() => ensureWebBuild({ quiet: true }));

function head(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'HEAD' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the app shell, its assets and app routes are served with the right caching; the API is never shadowed', async (t) => {
  const { url } = await startServer(t, { env: { WEB_APP: 'true' } });
  const index = await fetch(`${url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const csp = index.headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset, 'the shell references a hashed script');

  const js = await fetch(`${url}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  const etag = js.headers.get('etag')!;
  assert.equal((await fetch(`${url}${asset}`, { headers: { 'if-none-match': etag } })).status, 304);

  // Chunks the app fetches on demand (a code highlighting grammar) are served like it.
  const grammar = fs.readdirSync(path.join('clients', 'web', 'dist', 'assets')).find((f) => /^python-[\w-]+\.js$/.test(f));
  assert.ok(grammar, 'the build has a chunk for the Python grammar');
  const chunk = await fetch(`${url}/assets/${grammar}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(chunk.status, 200);
  assert.match(chunk.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(chunk.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(await chunk.text(), /export\s*\{/);

  // App routes get the shell; files that do not exist and server paths do not.
  const route = await fetch(`${url}/d/${crypto.randomUUID()}`);
  assert.equal(route.status, 200);
  assert.equal(await route.text(), html);
  assert.equal((await fetch(`${url}/assets/missing.js`)).status, 404);
  const api = await fetch(`${url}/api/v1/nothing-here`);
  assert.equal(api.status, 404);
  assert.match(api.headers.get('content-type') ?? '', /json/);
  assert.equal((await fetch(`${url}/sync/x`)).status, 404);
  assert.equal((await fetch(`${url}/%2e%2e/package.json`)).status, 404);

  const manifest = await fetch(`${url}/manifest.webmanifest`);
  assert.match(manifest.headers.get('content-type') ?? '', /manifest\+json/);
  assert.equal((await manifest.json()).start_url, '/');
  assert.equal((await fetch(`${url}/sw.js`)).headers.get('cache-control'), 'no-cache');

  // HEAD: a GET's headers, no body.
  const h = await head(`${url}/`);
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal(Number(h.headers['content-length']), Buffer.byteLength(html));
});

test('WEB_APP=false serves the API only', async (t) => {
  const { url } = await startServer(t, { env: { WEB_APP: 'false' } });
  assert.equal((await fetch(`${url}/`)).status, 404);
  assert.equal((await fetch(`${url}/health`)).status, 200);
});
