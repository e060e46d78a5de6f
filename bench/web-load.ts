/**
 * Cold load of the web app: a signed-in user opens `/d/<id>` of a typical document (three
 * pages, about 1,500 words of prose with headings and lists; see web-document.ts) in a new
 * browser context — empty HTTP cache, no service worker, nothing stored on the device — of
 * an already running headless Chromium. A MutationObserver installed before the app's own
 * scripts records, in ms since navigation start (`performance.now()`):
 *
 * - editable: `[data-testid=editor][contenteditable=true]` is in the page;
 * - saved: the save status reads "Saved";
 * - interactive: both, with the document's last paragraph shown;
 *
 * with the HTML's responseEnd, DOMContentLoaded and load from PerformanceNavigationTiming.
 * Bytes are what the network carried until the page was interactive, as the server sent
 * them (CDP `encodedDataLength`: headers and the gzip-compressed body where the server
 * compressed it), split into the app's files, API calls and the sync socket's frames
 * received; the app's files are also counted uncompressed. One load before the measured
 * ones is not counted (the server compresses each file on its first request).
 *
 * Usage: npm run bench:load -- [--runs=7] [--pages=3] [--seed=2] [--list] [--json=<file>]
 *   --list   prints every response of the first measured load (path, bytes sent, encoding)
 * The server and web app are this checkout's, or BENCH_QUIRE_ROOT's (`npm run bench:revisions
 * -- --scenarios=load` compares two revisions).
 */
import type { Browser } from 'playwright-core';
import { arg, median } from './lib.js';
import { benchDocument } from './web-document.js';
import { createDocument, describeCheckout, ensureWebApp, launchChromium, login, machine, signedInContext, signupOwner, startWebServer, writeJson, type Session } from './web.js';

const RUNS = Number(arg('runs', '7'));
const PAGES = Number(arg('pages', '3'));
const SEED = Number(arg('seed', '2'));
const JSON_OUT = process.argv.find((a) => a.startsWith('--json='))?.slice('--json='.length);
/** Lists every response of the first measured load. */
const LIST = process.argv.includes('--list');
for (const [name, v] of Object.entries({ runs: RUNS, pages: PAGES })) if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} takes a positive integer`);

interface Probe {
  editable: number;
  saved: number;
  content: number;
  interactive: number;
}
type ProbeWindow = Window & { __load: Probe };

function installProbe(lastText: string): void {
  const probe: Probe = { editable: 0, saved: 0, content: 0, interactive: 0 };
  (window as unknown as ProbeWindow).__load = probe;
  // No named inner functions: the page runs this source as it is, without the bundler's helpers.
  const observer: MutationObserver = new MutationObserver(() => {
    const now = performance.now();
    const ed = document.querySelector('[data-testid=editor][contenteditable=true]');
    const saved = document.querySelector('[data-testid=save-status]')?.textContent?.trim() === 'Saved';
    const shown = Boolean(ed?.lastElementChild?.textContent?.includes(lastText));
    if (ed && !probe.editable) probe.editable = now;
    if (saved && !probe.saved) probe.saved = now;
    if (shown && !probe.content) probe.content = now;
    if (ed && saved && shown) {
      probe.interactive = now;
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
}

interface Row {
  run: number;
  editableMs: number;
  savedMs: number;
  contentMs: number;
  interactiveMs: number;
  htmlResponseEndMs: number;
  domContentLoadedMs: number;
  loadEventMs: number;
  requests: number;
  /** As sent, headers included (KB = 1,000 bytes). */
  appKb: number;
  appUncompressedKb: number;
  apiKb: number;
  socketKb: number;
  totalKb: number;
  gzipped: string;
}

interface Response {
  url: string;
  encoding: string;
  encoded: number;
  decoded: number;
  done: boolean;
}

async function load(browser: Browser, base: string, session: Session, id: string, lastText: string, run: number): Promise<Row> {
  const ctx = await signedInContext(browser, await login(base, session.user.email));
  try {
    await ctx.addInitScript(installProbe, lastText);
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    const responses = new Map<string, Response>();
    let socketBytes = 0;
    let counting = true;
    const entry = (requestId: string) => {
      let r = responses.get(requestId);
      if (!r) responses.set(requestId, (r = { url: '', encoding: '', encoded: 0, decoded: 0, done: false }));
      return r;
    };
    cdp.on('Network.responseReceived', (e) => {
      if (!counting) return;
      const r = entry(e.requestId);
      r.url = e.response.url;
      const h = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
      r.encoding = h['content-encoding'] ?? '';
    });
    cdp.on('Network.dataReceived', (e) => {
      if (counting) entry(e.requestId).decoded += e.dataLength;
    });
    cdp.on('Network.loadingFinished', (e) => {
      if (!counting) return;
      const r = entry(e.requestId);
      r.encoded = e.encodedDataLength;
      r.done = true;
    });
    cdp.on('Network.webSocketFrameReceived', (e) => {
      if (!counting) return;
      // Binary frames come base64-encoded.
      const data = e.response.payloadData;
      socketBytes += e.response.opcode === 2 ? Buffer.from(data, 'base64').length : Buffer.byteLength(data);
    });
    await cdp.send('Network.enable');
    await page.goto(`${base}/d/${id}`, { waitUntil: 'commit' });
    await page.waitForFunction(() => (window as unknown as ProbeWindow).__load.interactive > 0, undefined, { timeout: 120_000, polling: 'raf' });
    counting = false;
    const probe = await page.evaluate(() => (window as unknown as ProbeWindow).__load);
    const nav = await page.evaluate(() => {
      const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { responseEnd: n.responseEnd, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd };
    });
    const done = [...responses.values()].filter((r) => r.done && r.url);
    if (LIST && run === 0) for (const r of done) process.stderr.write(`  ${new URL(r.url).pathname}: ${r.encoded} bytes sent${r.encoding ? ` (${r.encoding})` : ''}, ${r.decoded} bytes of content\n`);
    const isApi = (r: Response) => new URL(r.url).pathname.startsWith('/api/');
    const sum = (rs: Response[], f: (r: Response) => number) => rs.reduce((s, r) => s + f(r), 0) / 1000;
    const app = done.filter((r) => !isApi(r));
    const api = done.filter(isApi);
    const compressible = app.filter((r) => /\.(js|css|html|webmanifest|svg)$|\/d\//.test(new URL(r.url).pathname));
    return {
      run,
      editableMs: probe.editable,
      savedMs: probe.saved,
      contentMs: probe.content,
      interactiveMs: probe.interactive,
      htmlResponseEndMs: nav.responseEnd,
      domContentLoadedMs: nav.dcl,
      // 0 while the load event has not fired yet.
      loadEventMs: nav.load,
      requests: done.length,
      appKb: sum(app, (r) => r.encoded),
      appUncompressedKb: sum(app, (r) => r.decoded),
      apiKb: sum(api, (r) => r.encoded),
      socketKb: socketBytes / 1000,
      totalKb: sum(done, (r) => r.encoded) + socketBytes / 1000,
      gzipped: `${compressible.filter((r) => r.encoding === 'gzip').length} of ${compressible.length}`,
    };
  } finally {
    await ctx.close();
  }
}

const fmt = (x: number) => (!Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

const checkout = describeCheckout();
const dist = ensureWebApp();
const server = await startWebServer(dist);
const browser = await launchChromium();
const rows: Row[] = [];
const doc = benchDocument({ pages: PAGES, seed: SEED });
process.stderr.write(`${PAGES} pages: ${doc.words} words, ${doc.blocks} blocks, ${doc.headings} headings, ${doc.lists} lists, ${doc.codeBlocks} code blocks\n`);
try {
  const owner = await signupOwner(server.base);
  const id = await createDocument(server.base, owner, 'Quarterly notes', doc.json);
  await load(browser, server.base, owner, id, doc.lastText, -1);
  for (let run = 0; run < RUNS; run++) {
    const r = await load(browser, server.base, owner, id, doc.lastText, run);
    rows.push(r);
    process.stderr.write(
      `run ${run + 1}: interactive ${fmt(r.interactiveMs)} ms (editable ${fmt(r.editableMs)}, Saved ${fmt(r.savedMs)}, HTML ${fmt(r.htmlResponseEndMs)}, load ${fmt(r.loadEventMs)}); ${r.requests} requests, app ${fmt(r.appKb)} KB (${fmt(r.appUncompressedKb)} KB uncompressed, gzip ${r.gzipped}), API ${fmt(r.apiKb)} KB, socket ${fmt(r.socketKb)} KB\n`,
    );
  }
} finally {
  await browser.close();
  await server.stop();
}

const m = (f: (r: Row) => number) => median(rows.map(f));
const summary = {
  runs: rows.length,
  interactiveMs: m((r) => r.interactiveMs),
  editableMs: m((r) => r.editableMs),
  savedMs: m((r) => r.savedMs),
  contentMs: m((r) => r.contentMs),
  htmlResponseEndMs: m((r) => r.htmlResponseEndMs),
  domContentLoadedMs: m((r) => r.domContentLoadedMs),
  requests: m((r) => r.requests),
  appKb: m((r) => r.appKb),
  appUncompressedKb: m((r) => r.appUncompressedKb),
  apiKb: m((r) => r.apiKb),
  socketKb: m((r) => r.socketKb),
  totalKb: m((r) => r.totalKb),
  gzipped: rows[0]?.gzipped ?? '',
};
process.stdout.write(
  [
    `Web app ${checkout}; cold load of a ${PAGES}-page document, median of ${rows.length}; ${machine()}`,
    '',
    '| interactive ms | editable ms | Saved ms | DOMContentLoaded ms | requests | app KB sent (uncompressed) | API KB | sync socket KB | total KB |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ${fmt(summary.interactiveMs)} | ${fmt(summary.editableMs)} | ${fmt(summary.savedMs)} | ${fmt(summary.domContentLoadedMs)} | ${summary.requests} | ${fmt(summary.appKb)} (${fmt(summary.appUncompressedKb)}) | ${fmt(summary.apiKb)} | ${fmt(summary.socketKb)} | ${fmt(summary.totalKb)} |`,
    '',
  ].join('\n'),
);
writeJson(JSON_OUT, { checkout, machine: machine(), pages: PAGES, words: doc.words, rows, summary });
process.exit(0);
