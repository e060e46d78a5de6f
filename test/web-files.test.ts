/**
 * Images and files in documents, in real headless Chromium against a real server: a pasted
 * image uploads with a progress bar, appears for a colleague live and shows again after
 * that colleague's offline reload (the service worker keeps its bytes); a picked file becomes
 * a card with its name, size and type whose Download gives the same bytes; an upload the
 * workspace's quota refuses shows the server's words; a large upload cut by a network drop
 * goes on once the connection is back; the public page shows uploaded images and downloads
 * files through its link. Screenshots in test-output/files-*.png.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import zlib from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
// Functions waited for are checked on a timer (a page in the background may paint rarely).
const POLL = { ...WAIT, polling: 100 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const WIDE = { viewport: { width: 1280, height: 860 } };

// ---- a real PNG, made here -------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A `w`×`h` RGB PNG: an evening sky (a gradient with a sun). */
function sunsetPng(w: number, h: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 3);
    for (let x = 0; x < w; x++) {
      const t = y / h;
      const sun = Math.hypot(x - w * 0.65, y - h * 0.62) < h * 0.18;
      const sea = y > h * 0.68;
      const [r, g, b] = sun ? [255, 214, 120] : sea ? [40 + 30 * t, 60 + 40 * t, 120 + 40 * t] : [250 - 60 * t, 140 - 40 * t, 90 + 80 * t];
      row[1 + x * 3] = r;
      row[2 + x * 3] = g;
      row[3 + x * 3] = b;
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

// ---- helpers ---------------------------------------------------------------------------

const editor = (p: Page) => p.locator('[data-testid=editor]');

async function open(p: Page, url: string, id: string): Promise<void> {
  await p.goto(`${url}/d/${id}`);
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await editor(p).locator('p').first().waitFor(WAIT);
}

/** Waits until the service worker controls the page (it then keeps attachments' bytes). */
async function controlled(p: Page): Promise<void> {
  await p.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await p.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, POLL);
}

/** Pastes files (and text, as an office app would beside them) into the editor as the clipboard would hand them over. */
async function paste(p: Page, files: { name: string; type: string; base64: string }[], text?: { html: string; plain: string }): Promise<void> {
  await editor(p).evaluate(
    (root, { files, text }) => {
      const dt = new DataTransfer();
      if (text) {
        dt.setData('text/html', text.html);
        dt.setData('text/plain', text.plain);
      }
      for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
      root.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    },
    { files, text },
  );
}

/** Drops files on the editor's first paragraph. */
async function drop(p: Page, files: { name: string; type: string; base64: string }[]): Promise<void> {
  await editor(p).evaluate((root, files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
    const box = root.querySelector('p')!.getBoundingClientRect();
    const at = { clientX: box.left + 4, clientY: box.top + box.height / 2, bubbles: true, cancelable: true, dataTransfer: dt };
    root.dispatchEvent(new DragEvent('dragover', at));
    root.dispatchEvent(new DragEvent('drop', at));
  }, files);
}

/** Picks a file through the slash menu's "Image or file…" and the file picker. */
async function pick(p: Page, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  // Listening first: the browser is told to hand the picker to the test before it opens.
  const chooser = p.waitForEvent('filechooser', WAIT);
  await p.keyboard.type('/file');
  await p.getByTestId('slash-menu').getByRole('option', { name: 'Image or file…', selected: true }).waitFor(WAIT);
  await p.keyboard.press('Enter');
  await (await chooser).setFiles(file);
}

/** Resolves once the image in the editor has been decoded (its natural width known). */
async function imageShown(p: Page): Promise<number> {
  const handle = await p.waitForFunction(
    () => {
      const img = document.querySelector<HTMLImageElement>('[data-testid=editor] .doc-image img');
      return img && img.complete && img.naturalWidth > 0 ? img.naturalWidth : false;
    },
    undefined,
    POLL,
  );
  return (await handle.jsonValue()) as number;
}

async function attachments(api: ApiClient, s: Session, documentId: string): Promise<{ id: string; name: string; size: number; contentType: string }[]> {
  const r = await api.get(`/api/v1/documents/${documentId}/attachments`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.attachments as { id: string; name: string; size: number; contentType: string }[];
}

async function bytesOf(url: string, s: Session, id: string): Promise<Buffer> {
  const res = await fetch(`${url}/api/v1/attachments/${id}/content`, { headers: { Authorization: `Bearer ${s.accessToken}` } });
  assert.equal(res.status, 200, `attachment ${id}: ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
async function seriousViolations(p: Page): Promise<string[]> {
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE);
  const r = await p.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: unknown) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe.run(document, {
      resultTypes: ['violations'],
    }),
  );
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(' | ')}`);
}

async function team(api: ApiClient, text: string) {
  const owner = await api.signup();
  const colleague = await api.addUser(owner, 'member');
  const doc = (await api.post('/api/v1/documents', { title: 'Trip notes', text }, owner.accessToken)).body as { id: string };
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: colleague.user.id, level: 'write' }, owner.accessToken)).status, 200);
  return { owner, colleague, doc };
}

// ---- tests -----------------------------------------------------------------------------

test('images: a pasted image uploads with a progress bar, a colleague sees it live, and it shows again after their offline reload', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const { owner, colleague, doc } = await team(api, 'The view from the cliff:');
  const png = sunsetPng(480, 270);

  const ctxA = await signedInContext(browser, owner, WIDE);
  const ctxB = await signedInContext(browser, colleague, WIDE);
  t.after(() => Promise.all([ctxA.close(), ctxB.close()]));
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await open(a, url, doc.id);
  await open(b, url, doc.id);
  await controlled(b);

  // The upload's bytes are held back a moment, so its progress can be seen.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await a.route(/\/api\/v1\/uploads\/[^/?]+$/, async (route) => {
    if (route.request().method() === 'PATCH') await held;
    await route.continue();
  });
  await editor(a).click();
  await a.keyboard.press('Control+End');
  await paste(a, [{ name: 'sunset.png', type: 'image/png', base64: png.toString('base64') }]);
  const bar = a.getByRole('progressbar', { name: 'Uploading sunset.png' });
  await bar.waitFor(WAIT);
  assert.match((await bar.getAttribute('aria-valuenow')) ?? '', /^\d+$/, 'the bar says how far the upload is');
  await a.getByRole('button', { name: 'Cancel upload of sunset.png' }).waitFor(WAIT);
  assert.equal(await b.getByTestId('upload').count(), 0, 'only the uploader sees the upload in progress');
  await a.screenshot({ path: outputPath('files-uploading.png') });
  release();

  // The image takes the placeholder's place, for the uploader and the colleague alike.
  assert.equal(await imageShown(a), 480);
  await a.getByTestId('upload').waitFor({ state: 'detached', ...WAIT });
  assert.equal(await imageShown(b), 480);
  const [stored] = await eventually(async () => {
    const list = await attachments(api, owner, doc.id);
    assert.equal(list.length, 1, 'one attachment');
    return list;
  });
  assert.equal(stored!.name, 'sunset.png');
  assert.ok((await bytesOf(url, owner, stored!.id)).equals(png), 'the server keeps the pasted bytes');
  assert.equal(await b.locator(`[data-testid=editor] .doc-image img`).getAttribute('alt'), 'sunset');
  await b.screenshot({ path: outputPath('files-image-colleague.png') });

  // Offline, the colleague reloads: the document comes from this device, the image too.
  await b.waitForFunction(
    (id) =>
      caches
        .open('quire-attachments')
        .then((c) => c.match(`${location.origin}/api/v1/attachments/${id}/content`))
        .then((r) => !!r),
    stored!.id,
    POLL,
  );
  await ctxB.setOffline(true);
  await b.reload();
  await b.getByTestId('network-status').filter({ hasText: 'Offline' }).waitFor(WAIT);
  assert.equal(await imageShown(b), 480);
  await b.screenshot({ path: outputPath('files-image-offline.png') });
  await ctxB.setOffline(false);

  // Selected, the image is outlined; the page passes axe.
  await a.locator('[data-testid=editor] .doc-image').click();
  await a.locator('[data-testid=editor] .doc-image.ProseMirror-selectednode').waitFor(WAIT);
  await a.locator('[data-testid=editor] .doc-image').screenshot({ path: outputPath('files-image-selected.png') });
  assert.deepEqual(await seriousViolations(a), []);

  // Its description (alt text) is edited on the image, for everyone.
  await a.getByRole('button', { name: 'Alt text: sunset' }).click();
  const describe = a.getByRole('textbox', { name: 'Image description (alt text)' });
  assert.equal(await describe.inputValue(), 'sunset');
  await describe.fill('An orange sun setting over a calm sea');
  await a.locator('[data-testid=editor] .doc-image').screenshot({ path: outputPath('files-image-alt.png') });
  await describe.press('Enter');
  await b.locator('[data-testid=editor] .doc-image img[alt="An orange sun setting over a calm sea"]').waitFor(WAIT);
  await a.locator('[data-testid=editor] .doc-image').click();
  await a.locator('[data-testid=editor] .doc-image.ProseMirror-selectednode').waitFor(WAIT);

  // Copied and pasted within Quire (the HTML the editor puts on the clipboard), the image is
  // the same attachment again.
  await a.keyboard.press('Control+End');
  await paste(a, [], { html: `<img src="attachment:${stored!.id}" alt="The same sunset" width="480" height="270">`, plain: '' });
  // Each image's state on both pages, so a failure says where the second image stopped.
  const images = (p: Page) =>
    p.evaluate(() => [...document.querySelectorAll<HTMLElement>('[data-testid=editor] .doc-image')].map((d) => `${d.dataset.state ?? '?'}:${d.querySelector('img')?.naturalWidth ?? '-'}`).join(','));
  await eventually(async () => {
    const seen = await b.evaluate(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=editor] .doc-image img')].filter((i) => i.naturalWidth > 0).length);
    assert.equal(seen, 2, `the colleague sees both (uploader: ${await images(a)}; colleague: ${await images(b)})`);
  });
  assert.equal(
    await a
      .getByTestId('toasts')
      .getByText(/Pasted without/)
      .count(),
    0,
    'nothing left out',
  );
  assert.equal((await attachments(api, owner, doc.id)).length, 1, 'no new upload');

  // Signing out removes the kept images from the device.
  await b
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
  await b.getByRole('button', { name: 'Sign out' }).click();
  await eventually(async () => assert.equal(await b.evaluate(() => caches.has('quire-attachments')), false, 'the kept images are gone'));
});

test('files: a picked file becomes a card (name, size, type) whose Download gives the same bytes; a file over the quota is refused with the server’s words', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true', WORKSPACE_STORAGE_QUOTA_BYTES: String(64 * 1024) } });
  const { owner, colleague, doc } = await team(api, 'Papers for the trip.');
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n% booking confirmation\n'), crypto.randomBytes(12 * 1024 - 33)]);

  const ctxA = await signedInContext(browser, owner, WIDE);
  const ctxB = await signedInContext(browser, colleague, { ...WIDE, acceptDownloads: true, colorScheme: 'dark' });
  t.after(() => Promise.all([ctxA.close(), ctxB.close()]));
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  await open(a, url, doc.id);
  await open(b, url, doc.id);

  // Through the slash menu's "Image or file…", with the file picker.
  await editor(a).click();
  await a.keyboard.press('Control+End');
  await a.keyboard.press('Enter');
  await pick(a, { name: 'booking.pdf', mimeType: 'application/pdf', buffer: pdf });

  const cardA = editor(a).getByTestId('file-card');
  await cardA.waitFor(WAIT);
  const cardB = editor(b).getByTestId('file-card');
  await cardB.waitFor(WAIT);
  for (const card of [cardA, cardB]) {
    assert.equal(await card.locator('.file-card-name').textContent(), 'booking.pdf');
    assert.equal(await card.locator('.file-card-meta').textContent(), '12 KB · PDF document');
  }
  assert.equal(await editor(a).locator('p', { hasText: '/file' }).count(), 0, 'the typed /file is gone');
  await a.screenshot({ path: outputPath('files-card.png') });

  // The colleague downloads it (from the server), by keyboard.
  const download = cardB.getByRole('button', { name: 'Download booking.pdf' });
  await download.focus();
  const [file] = await Promise.all([b.waitForEvent('download', WAIT), b.keyboard.press('Enter')]);
  assert.equal(file.suggestedFilename(), 'booking.pdf');
  assert.ok(fs.readFileSync(await file.path()).equals(pdf), 'the download holds the uploaded bytes');

  // Text copied from an office app comes with a picture of itself: the text is pasted, not the picture.
  await editor(a).click();
  await a.keyboard.press('Control+End');
  await paste(a, [{ name: 'image.png', type: 'image/png', base64: sunsetPng(40, 20).toString('base64') }], { html: '<p>Totals for <b>March</b></p>', plain: 'Totals for March' });
  await editor(a).locator('p', { hasText: 'Totals for March' }).waitFor(WAIT);
  assert.equal(await a.getByTestId('upload').count(), 0, 'no upload of the picture');

  // An upload can be cancelled while it runs: nothing is put in the document.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await a.route(/\/api\/v1\/uploads\/[^/?]+$/, async (route) => {
    if (route.request().method() === 'PATCH') await held;
    await route.continue().catch(() => undefined);
  });
  await drop(a, [{ name: 'draft.txt', type: 'text/plain', base64: Buffer.from('not this one').toString('base64') }]);
  await a.getByRole('progressbar', { name: 'Uploading draft.txt' }).waitFor(WAIT);
  await a.getByRole('button', { name: 'Cancel upload of draft.txt' }).click();
  await a.getByTestId('upload').waitFor({ state: 'detached', ...WAIT });
  release();
  await a.unroute(/\/api\/v1\/uploads\/[^/?]+$/);
  assert.equal(await editor(a).getByTestId('file-card').count(), 1, 'no card for the cancelled file');

  // A file that does not fit in what is left of the workspace's storage is refused, in the server's words.
  await drop(a, [{ name: 'archive.zip', type: 'application/zip', base64: crypto.randomBytes(80 * 1024).toString('base64') }]);
  const toast = a.getByTestId('toasts').getByText(/“archive\.zip” was not uploaded:/);
  await toast.waitFor(WAIT);
  const said = (await toast.textContent()) ?? '';
  assert.match(said, /quota|storage|space/i, `the server's reason is shown: ${said}`);
  await a.screenshot({ path: outputPath('files-quota.png') });
  await a.getByTestId('upload').waitFor({ state: 'detached', ...WAIT });
  assert.equal(await editor(a).getByTestId('file-card').count(), 1, 'no card for the refused file');
  assert.equal((await attachments(api, owner, doc.id)).filter((x) => x.name === 'archive.zip').length, 0, 'nothing kept of it');

  await b.screenshot({ path: outputPath('files-card-colleague.png') });
  assert.deepEqual(await seriousViolations(b), []);
});

test('files: a large upload cut by a network drop goes on from where it stopped once the connection is back', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const { owner, doc } = await team(api, 'Raw footage below.');
  const big = crypto.randomBytes(12 * 1024 * 1024);
  const ctx = await signedInContext(browser, owner, WIDE);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await open(p, url, doc.id);

  // The connection drops while the second 5 MB piece is on its way.
  const creations: string[] = [];
  let patches = 0;
  await p.route(/\/api\/v1\/uploads(\/[^/?]+)?$/, async (route) => {
    const method = route.request().method();
    if (method === 'POST') creations.push(route.request().url());
    if (method === 'PATCH' && ++patches === 2) {
      await ctx.setOffline(true);
      await route.abort('internetdisconnected');
      return;
    }
    await route.continue();
  });
  await editor(p).click();
  await p.keyboard.press('Control+End');
  await p.keyboard.press('Enter');
  await pick(p, { name: 'footage.mov', mimeType: 'video/quicktime', buffer: big });
  const waiting = p.getByTestId('upload').locator('.upload-status', { hasText: /Offline/ });
  await waiting.waitFor(WAIT);
  await p.screenshot({ path: outputPath('files-upload-offline.png') });
  const pct = Number(await p.getByRole('progressbar', { name: 'Uploading footage.mov' }).getAttribute('aria-valuenow'));
  assert.ok(pct >= 40 && pct < 100, `the first piece counted (${pct}%)`);
  await ctx.setOffline(false);

  const card = editor(p).getByTestId('file-card');
  await card.waitFor({ timeout: 90_000 });
  assert.equal(await card.locator('.file-card-meta').textContent(), '12 MB · MOV video');
  const [stored] = await attachments(api, owner, doc.id);
  assert.ok(stored, 'the attachment is listed');
  assert.ok((await bytesOf(url, owner, stored.id)).equals(big), 'the server has every byte, once');
  assert.equal(creations.length, 1, 'the upload went on instead of starting over');
  assert.equal((await attachments(api, owner, doc.id)).length, 1, 'one attachment');
});

test('public page: uploaded images show and files download through the link; an image that cannot be fetched says so', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const { owner, doc } = await team(api, 'Shared notes.');
  const png = sunsetPng(320, 180);
  const ctx = await signedInContext(browser, owner, WIDE);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await open(p, url, doc.id);
  await editor(p).click();
  await p.keyboard.press('Control+End');
  await paste(p, [{ name: 'harbour.png', type: 'image/png', base64: png.toString('base64') }]);
  await imageShown(p);
  await drop(p, [{ name: 'menu.txt', type: 'text/plain', base64: Buffer.from('Fish soup\n').toString('base64') }]);
  await editor(p).getByTestId('file-card').waitFor(WAIT);
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);

  const link = await api.post(`/api/v1/documents/${doc.id}/public-link`, {}, owner.accessToken);
  assert.equal(link.status, 201, link.text);
  const anon = await browser.newContext(WIDE);
  t.after(() => anon.close());
  const q = await anon.newPage();
  await q.goto(`${url}${(link.body as { url: string }).url}`);
  const shown = q.getByTestId('public-document').locator('img[alt="harbour"]');
  await shown.waitFor(WAIT);
  await eventually(async () => assert.ok((await shown.evaluate((i: HTMLImageElement) => i.naturalWidth)) === 320, 'the image is painted from the public link'));
  const publicCard = q.getByTestId('file-card').filter({ hasText: 'menu.txt' });
  await publicCard.waitFor(WAIT);
  const [saved] = await Promise.all([q.waitForEvent('download'), publicCard.getByRole('link', { name: 'Download menu.txt' }).click()]);
  assert.equal(fs.readFileSync(await saved.path()).toString(), 'Fish soup\n', 'anyone with the link downloads the file');
  await q.screenshot({ path: outputPath('files-public.png') });
  assert.deepEqual(await seriousViolations(q), []);
  await q.setViewportSize({ width: 390, height: 844 });
  await q.screenshot({ path: outputPath('files-public-phone.png') });

  // An image whose bytes cannot be had says so, in the space the image would take.
  const gone = await signedInContext(browser, owner, { ...WIDE, serviceWorkers: 'block' });
  t.after(() => gone.close());
  const g = await gone.newPage();
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  await g.route(/\/api\/v1\/attachments\/[^/]+\/content$/, async (route) => {
    await answered;
    await route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"attachment_not_found","message":"gone"}}' });
  });
  await open(g, url, doc.id);
  // While the bytes are on their way, a box of the image's size stands in.
  const loading = editor(g).getByRole('img', { name: 'Loading image: harbour' });
  await loading.waitFor(WAIT);
  assert.deepEqual(await loading.evaluate((e) => [Math.round(e.getBoundingClientRect().width), Math.round(e.getBoundingClientRect().height)]), [320, 180]);
  await editor(g).screenshot({ path: outputPath('files-image-loading.png') });
  answer();
  const unavailable = editor(g).getByRole('img', { name: 'Image unavailable: harbour' });
  await unavailable.waitFor(WAIT);
  assert.match((await unavailable.textContent()) ?? '', /Image unavailable.*removed, or you cannot open it/);
  await editor(g).screenshot({ path: outputPath('files-image-unavailable.png') });
});
