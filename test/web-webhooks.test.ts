/**
 * The webhooks page in real headless Chromium, against a server that may POST to loopback
 * (`WEBHOOKS_ALLOW_PRIVATE_NETWORKS`) and a receiver on 127.0.0.1: an owner adds an endpoint
 * (a refused URL is explained next to the field), sees its signing secret once, sends a test
 * event and sees it delivered (200) in the delivery log; edits its events, disables it,
 * rotates the secret and deletes it. A member has no link and is told who may manage
 * webhooks. Screenshots in test-output/webhooks-*.png.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import type { WebhookEndpoint } from '../contract/webhooks.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));

interface Received {
  id: string;
  timestamp: string;
  signatures: string[];
  body: string;
  type: string;
}

/** A webhook receiver on loopback that records every request and answers `answer` (200 by default). */
async function receiver(t: TestContext, answer: () => number = () => 200) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      got.push({
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signatures: String(req.headers['webhook-signature'] ?? '').split(' '),
        body,
        type: String((JSON.parse(body) as { type?: unknown }).type),
      });
      res.writeHead(answer(), { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, got };
}

/** Verifies a request as docs/WEBHOOKS.md tells receivers to. */
function signedWith(secret: string, r: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = crypto.createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`).digest('base64');
  return r.signatures.some((s) => {
    const [v, sig] = s.split(',');
    return v === 'v1' && sig !== undefined && sig.length === expected.length && crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
  });
}

test('an owner adds a webhook endpoint, sees its secret once, sends a test event and reads the delivery log; a member may not', BROWSER_TEST, async (t) => {
  const hooks = await receiver(t);
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true', WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOKS_POLL_MS: '50', FEED_POLL_MS: '50' } });
  const owner = await api.signup('Hooks Co', `hana-${Math.random().toString(36).slice(2)}@example.test`, 'correct horse battery');
  assert.equal((await api.patch('/api/v1/me', { displayName: 'Hana Owner' }, owner.accessToken)).status, 200);
  const member = await api.addUser(owner, 'member');
  const endpoints = async () => {
    const r = await api.get('/api/v1/webhooks', owner.accessToken);
    assert.equal(r.status, 200, r.text);
    return r.body.endpoints as WebhookEndpoint[];
  };

  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 900 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(url);
  await p.getByRole('link', { name: 'Webhooks' }).click();
  await p.waitForURL(/\/admin\/webhooks$/, WAIT);
  await p.getByRole('heading', { name: 'Webhooks' }).waitFor(WAIT);
  assert.equal(await p.title(), 'Webhooks · Quire');
  await p.getByTestId('webhooks-empty').waitFor(WAIT);

  // A URL the server refuses: the reason is shown under the URL field, nothing is added.
  await p.getByRole('button', { name: 'Add endpoint' }).click();
  const form = p.getByRole('form', { name: 'Add an endpoint' });
  await form.getByLabel('Endpoint URL').fill('ftp://127.0.0.1/hooks');
  await form.getByRole('button', { name: 'Add endpoint' }).click();
  const urlError = await p.getByTestId('webhook-url-error').textContent(WAIT);
  assert.match(urlError ?? '', /refused.*https/i, `the refusal in words: ${urlError}`);
  assert.equal(await form.getByLabel('Endpoint URL').getAttribute('aria-invalid'), 'true', 'the field is marked invalid');
  assert.deepEqual(await endpoints(), [], 'nothing was added');
  await p.screenshot({ path: outputPath('webhooks-url-refused.png') });

  // The receiver's URL, a description and one more event.
  await form.getByLabel('Endpoint URL').fill(hooks.url);
  await form.getByLabel('Description').fill('Loopback receiver');
  await form.getByRole('checkbox', { name: /^Comment posted/ }).check();
  await form.getByRole('checkbox', { name: /^Document changed/ }).uncheck();
  await form.getByRole('button', { name: 'Add endpoint' }).click();
  const secretBox = p.getByTestId('webhook-secret');
  await secretBox.waitFor(WAIT);
  const secret = (await p.getByTestId('webhook-secret-value').textContent()) ?? '';
  assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, `the signing secret: ${secret}`);
  assert.match(await secretBox.innerText(), /shown only this once/, 'the note says the secret is shown once');
  await p.screenshot({ path: outputPath('webhooks-created.png') });
  const [created] = await endpoints();
  assert.ok(created, 'the endpoint exists');
  assert.equal(created.url, hooks.url);
  assert.equal(created.description, 'Loopback receiver');
  assert.deepEqual(created.events, ['document.created', 'comment.created'], 'the chosen events');

  // Done: the secret is gone from the page and is not shown again.
  await secretBox.getByRole('button', { name: 'Done' }).click();
  await secretBox.waitFor({ state: 'detached', ...WAIT });
  assert.ok(!(await p.content()).includes(secret), 'the secret is no longer in the page');
  const item = p.getByTestId('webhook-endpoint');
  await item.waitFor(WAIT);
  assert.match(await item.innerText(), new RegExp(hooks.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'the URL is listed');
  assert.equal(await item.getByTestId('webhook-status').innerText(), 'Active');
  assert.match(await item.innerText(), /Document created[\s\S]*Comment posted/, 'with its events');
  assert.match(await item.innerText(), /No deliveries yet/, 'and no delivery yet');
  await p.reload();
  await item.waitFor(WAIT);
  assert.equal(await p.getByTestId('webhook-secret').count(), 0, 'the secret is not shown after a reload');

  // A test event: it reaches the receiver, signed with the secret, and shows in the log with 200.
  await item.getByRole('button', { name: 'Send test event' }).click();
  const log = item.getByTestId('webhook-log');
  await log.waitFor(WAIT);
  const row = log.locator('tbody tr[data-event="webhook.test"][data-status="delivered"]');
  await eventually(
    async () => {
      // The log reads itself again while a delivery is pending; Refresh is the fallback.
      if ((await row.count()) === 0) await log.getByRole('button', { name: 'Refresh' }).click();
      assert.equal(await row.count(), 1, 'the test event is delivered');
    },
    { timeoutMs: 60_000 },
  );
  assert.equal((await row.getByTestId('webhook-response').innerText()).trim(), '200', 'response code 200');
  const cells = await row.getByRole('cell').allInnerTexts();
  assert.match(cells[1]!, /^Test event\nwebhook\.test$/, `the event in words: ${cells[1]}`);
  assert.equal(cells[2]!.trim(), 'Delivered');
  assert.equal(cells[4]!.trim(), '1', 'one attempt');
  assert.match(cells[5]!, /^\d+ ms$/, `a duration: ${cells[5]}`);
  const sent = hooks.got.find((r) => r.type === 'webhook.test');
  assert.ok(sent, 'the receiver got the test event');
  assert.ok(signedWith(secret, sent), 'signed with the secret shown once');
  await p.screenshot({ path: outputPath('webhooks-log.png') });
  await p.reload();
  await item.waitFor(WAIT);
  await eventually(async () => assert.match(await item.getByTestId('webhook-last').innerText(), /Last delivery: delivered · 200 · Test event/, 'the list shows the last outcome'));
  await p.screenshot({ path: outputPath('webhooks-list.png') });

  // Replay since an hour ago: the test event is sent again.
  await item.getByRole('button', { name: 'Deliveries' }).click();
  await log.getByRole('button', { name: 'Replay' }).click();
  await p
    .getByTestId('webhook-log')
    .getByRole('status')
    .filter({ hasText: /1 delivery is being sent again/ })
    .waitFor(WAIT);
  await eventually(async () => assert.equal(hooks.got.filter((r) => r.type === 'webhook.test').length, 2, 'the replay reached the receiver'), { timeoutMs: 60_000 });
  assert.equal(hooks.got.filter((r) => r.type === 'webhook.test')[1]!.id, sent.id, 'with the same id');

  // Edit the events, then disable it.
  await item.getByRole('button', { name: 'Edit' }).click();
  const edit = item.getByRole('form', { name: `Edit ${hooks.url}` });
  await edit.getByRole('checkbox', { name: /^Review decided/ }).check();
  await edit.getByRole('button', { name: 'Save changes' }).scrollIntoViewIfNeeded();
  await p.screenshot({ path: outputPath('webhooks-edit.png') });
  await edit.getByRole('button', { name: 'Save changes' }).click();
  await edit.waitFor({ state: 'detached', ...WAIT });
  assert.deepEqual((await endpoints())[0]!.events, ['document.created', 'comment.created', 'review.decided'], 'the events are saved');
  await item.getByRole('button', { name: 'Disable' }).click();
  await eventually(async () => assert.equal(await item.getByTestId('webhook-status').innerText(), 'Disabled'));
  assert.equal((await endpoints())[0]!.enabled, false, 'disabled on the server');

  // Rotate the secret: a new one, shown once, after a confirmation.
  await item.getByRole('button', { name: 'Rotate secret' }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  await p.getByTestId('webhook-secret').waitFor(WAIT);
  const rotated = (await p.getByTestId('webhook-secret-value').textContent()) ?? '';
  assert.match(rotated, /^whsec_/, 'a new secret');
  assert.notEqual(rotated, secret, 'different from the first');
  await p.getByTestId('webhook-secret').getByRole('button', { name: 'Done' }).click();
  await eventually(async () => assert.match(await item.innerText(), /previous secret signs too until/, 'the previous secret still signs for a while'));

  // On a phone: the link is in the menu; the endpoint and its log fit the width.
  const phone = await signedInContext(browser, owner, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  t.after(() => phone.close());
  const pp = await phone.newPage();
  await pp.goto(url);
  await pp.getByRole('button', { name: 'Menu' }).click();
  await pp.getByRole('menuitem', { name: 'Webhooks' }).click();
  await pp.waitForURL(/\/admin\/webhooks$/, WAIT);
  const phoneItem = pp.getByTestId('webhook-endpoint');
  await phoneItem.getByRole('button', { name: 'Deliveries' }).click();
  await phoneItem.getByTestId('webhook-deliveries').locator('tbody tr').first().waitFor(WAIT);
  const box = await phoneItem.boundingBox();
  assert.ok(box && box.width <= 390, `the endpoint fits the phone's width (${box?.width})`);
  await pp.screenshot({ path: outputPath('webhooks-phone.png'), fullPage: false });

  // Delete, after a confirmation.
  await item.getByRole('button', { name: `Delete ${hooks.url}` }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
  await p.getByTestId('webhooks-empty').waitFor(WAIT);
  assert.deepEqual(await endpoints(), [], 'deleted on the server');

  // A member: no link, and the page says who may manage webhooks.
  const m = await signedInContext(browser, member, { viewport: { width: 1280, height: 800 } });
  t.after(() => m.close());
  const pm = await m.newPage();
  await pm.goto(`${url}/admin/webhooks`);
  await pm.getByTestId('webhooks-forbidden').waitFor(WAIT);
  assert.equal(await pm.getByRole('link', { name: 'Webhooks' }).count(), 0, 'a member has no link to webhooks');
  const r = await api.get('/api/v1/webhooks', member.accessToken);
  assert.equal(r.status, 403, 'the API refuses a member too');
});

test('a failed delivery shows as failing, with its response code, and is retried from the log', BROWSER_TEST, async (t) => {
  let status = 500;
  const hooks = await receiver(t, () => status);
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true', WEBHOOKS_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOKS_POLL_MS: '50', FEED_POLL_MS: '50', WEBHOOKS_RETRY_SCHEDULE_MS: '20,20' } });
  const owner = await api.signup('Retry Co', `rita-${Math.random().toString(36).slice(2)}@example.test`, 'correct horse battery');
  const r = await api.post('/api/v1/webhooks', { url: hooks.url, events: ['document.created'], description: 'Down for maintenance' }, owner.accessToken);
  assert.equal(r.status, 201, r.text);
  const endpointId = (r.body as { endpoint: { id: string } }).endpoint.id;
  assert.equal((await api.post(`/api/v1/webhooks/${endpointId}/test`, {}, owner.accessToken)).status, 202);
  // Three attempts (the first and two retries), each answered 500: the delivery has failed.
  await eventually(
    async () => {
      const d = await api.get(`/api/v1/webhooks/${endpointId}/deliveries`, owner.accessToken);
      assert.equal((d.body.deliveries as { status: string }[])[0]?.status, 'failed', d.text);
    },
    { timeoutMs: 60_000 },
  );

  const ctx = await signedInContext(browser, owner, { viewport: { width: 1280, height: 900 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await p.goto(`${url}/admin/webhooks`);
  const item = p.getByTestId('webhook-endpoint');
  await item.waitFor(WAIT);
  assert.equal(await item.getByTestId('webhook-status').innerText(), 'Failing');
  assert.match(await item.innerText(), /3 failed attempts in a row/, 'the failures are counted');
  assert.match(await item.getByTestId('webhook-last').innerText(), /Last delivery: failed · 500/, 'the last outcome');
  await item.getByRole('button', { name: 'Deliveries' }).click();
  const row = item.getByTestId('webhook-deliveries').locator('tbody tr').first();
  await row.waitFor(WAIT);
  const cells = await row.getByRole('cell').allInnerTexts();
  assert.equal(cells[2]!.trim(), 'Failed');
  assert.equal(cells[3]!.trim(), '500', 'the response code');
  assert.equal(cells[4]!.trim(), '3', 'three attempts');
  await p.screenshot({ path: outputPath('webhooks-failing.png') });

  // The receiver is back: Retry sends it again, and it is delivered.
  status = 200;
  await row.getByRole('button', { name: /^Retry/ }).click();
  await eventually(
    async () => {
      if ((await item.locator('tbody tr[data-status="delivered"]').count()) === 0) await item.getByRole('button', { name: 'Refresh' }).click();
      assert.equal(await item.locator('tbody tr[data-status="delivered"]').count(), 1, 'delivered after the retry');
    },
    { timeoutMs: 60_000 },
  );
  assert.equal((await item.locator('tbody tr').first().getByTestId('webhook-response').innerText()).trim(), '200');
  assert.equal(hooks.got.filter((g) => g.type === 'webhook.test').length, 4, 'three failed attempts and the retry');
  await p.reload();
  await eventually(async () => assert.equal(await p.getByTestId('webhook-status').innerText(), 'Active', 'a success clears the failing state'));
});
