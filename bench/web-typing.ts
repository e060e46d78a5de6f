/**
 * Typing latency in the web app: a long document (50 pages by default, about 25,000 words
 * of Brown Corpus prose with headings, lists, quotes and code blocks; see web-document.ts)
 * is written over REST, opened in headless Chromium, the caret put in a paragraph in the
 * middle, and keys typed at a human pace (one every 50–100 ms, a typo corrected with
 * Backspace now and then). For every keypress the page records keydown → next paint:
 *
 * - frame: from the keydown's timestamp (when the browser took the key) until a task posted
 *   from the next animation frame runs, i.e. after that frame's style, layout and paint;
 *   every keypress gets a number.
 * - Event Timing: the browser's own keypress → presentation time of the interaction (the
 *   longest of its keydown, keypress, input and keyup entries, as INP counts it), which
 *   Chromium reports only from 16 ms on and rounds to 8 ms; a keypress it does not report
 *   counts as under 16 ms.
 *
 * Also reported: the main thread's script, style and layout time per keypress (CDP
 * Performance metrics) and how long the document took to open (navigation → whole text
 * shown, editable and "Saved"). Each measurement gets a fresh copy of the document; with
 * collaboration on, a second user (another account, in a second Chromium) has the same
 * document open with the caret near its start and types a key every second.
 *
 * Usage: npm run bench:typing -- [--pages=50] [--keys=300] [--interval=50-100] [--warmup=20]
 *   [--collab=off,on] [--tables=no,yes] [--peer-interval=1000] [--runs=1] [--seed=1] [--json=<file>]
 *   --tables=yes adds about one table every ten pages; an editor without tables is not
 *   measured on that document (it would drop them).
 *   --peer-interval=0 leaves the second user idle.
 * The server and web app are this checkout's, or BENCH_QUIRE_ROOT's (`npm run bench:revisions
 * -- --scenarios=typing` compares two revisions).
 */
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { arg, median } from './lib.js';
import { benchDocument, random, typingText, type BenchDocument } from './web-document.js';
import {
  addMember,
  createDocument,
  describeCheckout,
  ensureWebApp,
  launchChromium,
  login,
  machine,
  percentile,
  signedInContext,
  signupOwner,
  startWebServer,
  writeJson,
  type Session,
  type WebServer,
} from './web.js';

const PAGES = Number(arg('pages', '50'));
const KEYS = Number(arg('keys', '300'));
const [MIN_GAP, MAX_GAP] = arg('interval', '50-100').split('-').map(Number) as [number, number];
const WARMUP = Number(arg('warmup', '20'));
const COLLAB = arg('collab', 'off,on').split(',');
const TABLES = arg('tables', 'no,yes').split(',');
const PEER_INTERVAL = Number(arg('peer-interval', '1000'));
const RUNS = Number(arg('runs', '1'));
const SEED = Number(arg('seed', '1'));
const JSON_OUT = process.argv.find((a) => a.startsWith('--json='))?.slice('--json='.length);
/** A typo is corrected (Backspace) every this many keys. */
const BACKSPACE_EVERY = 40;
const OPEN_TIMEOUT = 180_000;

for (const [name, v] of Object.entries({ pages: PAGES, keys: KEYS, runs: RUNS, warmup: WARMUP + 1 })) if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} takes a positive integer`);
if (!(MIN_GAP >= 0 && MAX_GAP >= MIN_GAP)) throw new Error('--interval takes <min>-<max> in ms');
for (const c of COLLAB) if (c !== 'off' && c !== 'on') throw new Error('--collab takes off, on or off,on');
for (const t of TABLES) if (t !== 'no' && t !== 'yes') throw new Error('--tables takes no, yes or no,yes');

/** What the page records; installed before the app's own scripts. */
interface Probe {
  recording: boolean;
  keys: { ts: number; paint: number; key: string }[];
  events: { id: number; name: string; duration: number }[];
}
type ProbeWindow = Window & { __typing: Probe };

function installProbe(): void {
  // No named inner functions: the page runs this source as it is, without the bundler's helpers.
  const probe: Probe = { recording: false, keys: [], events: [] };
  (window as unknown as ProbeWindow).__typing = probe;
  // A task posted from an animation frame callback runs after that frame's rendering.
  const channel = new MessageChannel();
  const waiting: Probe['keys'] = [];
  channel.port1.onmessage = () => {
    const now = performance.now();
    for (const rec of waiting.splice(0)) rec.paint = now;
  };
  addEventListener(
    'keydown',
    (e) => {
      if (!probe.recording) return;
      const rec = { ts: e.timeStamp, paint: 0, key: e.key };
      probe.keys.push(rec);
      requestAnimationFrame(() => {
        waiting.push(rec);
        channel.port2.postMessage(0);
      });
    },
    { capture: true },
  );
  try {
    new PerformanceObserver((list) => {
      if (!probe.recording) return;
      for (const e of list.getEntries() as (PerformanceEventTiming & { interactionId: number })[]) if (e.interactionId) probe.events.push({ id: e.interactionId, name: e.name, duration: e.duration });
    }).observe({ type: 'event', durationThreshold: 16 } as PerformanceObserverInit);
  } catch {
    // no Event Timing in this browser: the frame numbers stand alone
  }
}

/** Resolves with performance.now() once the document is whole, editable and saved. */
async function documentReady(page: Page, lastText: string): Promise<number> {
  const handle = await page.waitForFunction(
    (last: string) => {
      const ed = document.querySelector('[data-testid=editor][contenteditable=true]');
      const saved = document.querySelector('[data-testid=save-status]')?.textContent?.trim() === 'Saved';
      return ed && saved && ed.lastElementChild?.textContent?.includes(last) ? performance.now() : 0;
    },
    lastText,
    { timeout: OPEN_TIMEOUT, polling: 'raf' },
  );
  return (await handle.jsonValue()) as number;
}

/**
 * Puts the caret after a word in the middle of a paragraph at `fraction` of the document's
 * blocks and scrolls it into view; returns that block's index.
 */
async function placeCaret(page: Page, fraction: number): Promise<number> {
  const at = await page.evaluate((f: number) => {
    const ed = document.querySelector<HTMLElement>('[data-testid=editor]')!;
    const blocks = [...ed.children];
    let i = Math.floor(blocks.length * f);
    while (i < blocks.length && !(blocks[i]!.tagName === 'P' && (blocks[i]!.textContent ?? '').length > 120)) i++;
    const p = blocks[i];
    if (!p) return -1;
    const texts: Text[] = [];
    const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n as Text);
    const longest = texts.reduce((a, b) => (b.length > a.length ? b : a));
    const space = longest.data.indexOf(' ', Math.floor(longest.length / 2));
    ed.focus();
    getSelection()!.collapse(longest, space < 0 ? longest.length : space);
    p.scrollIntoView({ block: 'center' });
    return i;
  }, fraction);
  if (at < 0) throw new Error('no paragraph to type in');
  return at;
}

/** Resolves after the page has rendered a frame and run the task after it. */
const nextFrame = (page: Page) => page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => setTimeout(r, 0))));

async function mainThreadMs(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
  const out: Record<string, number> = {};
  for (const m of metrics) if (['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'].includes(m.name)) out[m.name] = m.value * 1000;
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The keys to press (one character or `Backspace` each) and the text they leave. */
function keystrokes(n: number, seed: number): { keys: string[]; result: string } {
  const text = typingText(n, seed);
  const keys: string[] = [];
  let result = '';
  for (let i = 0; keys.length < n; i++) {
    if (keys.length % BACKSPACE_EVERY === BACKSPACE_EVERY - 1) {
      keys.push('Backspace');
      result = result.slice(0, -1);
    } else {
      const ch = text[i % text.length]!;
      keys.push(ch);
      result += ch;
    }
  }
  return { keys, result };
}

async function press(page: Page, key: string): Promise<void> {
  if (key.length === 1) await page.keyboard.type(key);
  else await page.keyboard.press(key);
}

interface Row {
  document: string;
  collab: boolean;
  run: number;
  keys: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Event Timing percentiles; 0 = under the 16 ms Chromium reports from. */
  eventP50: number;
  eventP95: number;
  eventP99: number;
  eventMax: number;
  /** Keypresses Event Timing reported at 50 ms or more. */
  eventOver50: number;
  scriptMsPerKey: number;
  layoutMsPerKey: number;
  styleMsPerKey: number;
  taskMsPerKey: number;
  openMs: number;
  /** Keys the second user typed meanwhile. */
  peerKeys?: number;
}

interface Setup {
  server: WebServer;
  owner: Session;
  peer: Session;
  browser: Browser;
  peerBrowser?: Browser;
}

async function openDocument(
  browser: Browser,
  base: string,
  session: Session,
  id: string,
  doc: BenchDocument,
): Promise<{ ctx: BrowserContext; page: Page; cdp: CDPSession; openMs: number; tables: number }> {
  const ctx = await signedInContext(browser, await login(base, session.user.email));
  await ctx.addInitScript(installProbe);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${base}/d/${id}`);
  const openMs = await documentReady(page, doc.lastText);
  const tables = await page.locator('[data-testid=editor] table').count();
  return { ctx, page, cdp, openMs, tables };
}

async function measure(s: Setup, doc: BenchDocument, label: string, collab: boolean, run: number): Promise<Row | 'no tables'> {
  const base = s.server.base;
  const id = await createDocument(base, s.owner, `Typing ${label}`, doc.json, [s.peer]);
  const a = await openDocument(s.browser, base, s.owner, id, doc);
  const contexts = [a.ctx];
  try {
    if (a.tables !== doc.tables) return 'no tables';
    let peer: Page | undefined;
    if (collab) {
      s.peerBrowser ??= await launchChromium();
      const b = await openDocument(s.peerBrowser, base, s.peer, id, doc);
      contexts.push(b.ctx);
      peer = b.page;
      await placeCaret(peer, 0.05);
      // The typing user sees the second user's caret: presence has gone both ways.
      await a.page.locator('[data-testid=editor] .collaboration-carets__caret').first().waitFor({ timeout: 60_000 });
    }
    const block = await placeCaret(a.page, 0.5);
    const warm = keystrokes(WARMUP, SEED + 100);
    for (const k of warm.keys) {
      await press(a.page, k);
      await sleep(MIN_GAP);
    }
    await nextFrame(a.page);

    const { keys, result } = keystrokes(KEYS, SEED + run);
    const rnd = random(SEED * 1000 + run);
    const before = await mainThreadMs(a.cdp);
    await a.page.evaluate(() => ((window as unknown as ProbeWindow).__typing.recording = true));
    let typing = true;
    let peerKeys = 0;
    const peerLoop = (async () => {
      if (!peer || PEER_INTERVAL <= 0) return;
      const text = keystrokes(1000, SEED + 500).keys.filter((k) => k !== 'Backspace');
      while (typing) {
        await sleep(PEER_INTERVAL);
        if (!typing) break;
        await press(peer, text[peerKeys++ % text.length]!);
      }
    })();
    const t0 = Date.now();
    let due = 0;
    try {
      for (const k of keys) {
        await sleep(t0 + due - Date.now());
        await press(a.page, k);
        due += MIN_GAP + rnd() * (MAX_GAP - MIN_GAP);
      }
    } finally {
      typing = false;
      await peerLoop;
    }
    await a.page.waitForFunction((n: number) => {
      const p = (window as unknown as ProbeWindow).__typing;
      return p.keys.length >= n && p.keys.every((k) => k.paint > 0);
    }, KEYS);
    await a.page.evaluate(() => ((window as unknown as ProbeWindow).__typing.recording = false));
    const after = await mainThreadMs(a.cdp);
    const probe = await a.page.evaluate(() => (window as unknown as ProbeWindow).__typing);
    if (probe.keys.length !== KEYS) throw new Error(`the page saw ${probe.keys.length} keydowns, ${KEYS} were pressed`);

    // What was typed is in the paragraph, and saved.
    const typed = warm.result + result;
    const landed = await a.page.evaluate(
      ({ i, tail }: { i: number; tail: string }) => {
        const blocks = [...document.querySelector('[data-testid=editor]')!.children];
        const active = document.activeElement;
        return {
          ok: (blocks[i]?.textContent ?? '').includes(tail),
          foundIn: blocks.findIndex((b) => (b.textContent ?? '').includes(tail)),
          focus: active ? `${active.tagName.toLowerCase()}${active.getAttribute('aria-label') ? ` "${active.getAttribute('aria-label')}"` : ''}` : 'none',
        };
      },
      { i: block, tail: typed.slice(-40) },
    );
    if (!landed.ok) {
      throw new Error(
        `the typed text is not in block ${block}: ${landed.foundIn < 0 ? 'not in the document at all' : `it is in block ${landed.foundIn}`}; focus on ${landed.focus}; it ends ${JSON.stringify(typed.slice(-40))}`,
      );
    }
    await a.page.getByTestId('save-status').filter({ hasText: 'Saved' }).waitFor({ timeout: 60_000 });

    const frame = probe.keys.map((k) => k.paint - k.ts);
    const byInteraction = new Map<number, number>();
    for (const e of probe.events) byInteraction.set(e.id, Math.max(byInteraction.get(e.id) ?? 0, e.duration));
    const reported = [...byInteraction.values()];
    const events = [...reported, ...Array<number>(Math.max(0, KEYS - reported.length)).fill(0)];
    const per = (name: string) => (after[name]! - before[name]!) / KEYS;
    return {
      document: label,
      collab,
      run,
      keys: KEYS,
      p50: percentile(frame, 0.5),
      p95: percentile(frame, 0.95),
      p99: percentile(frame, 0.99),
      max: Math.max(...frame),
      eventP50: percentile(events, 0.5),
      eventP95: percentile(events, 0.95),
      eventP99: percentile(events, 0.99),
      eventMax: Math.max(...events),
      eventOver50: reported.filter((d) => d >= 50).length,
      scriptMsPerKey: per('ScriptDuration'),
      layoutMsPerKey: per('LayoutDuration'),
      styleMsPerKey: per('RecalcStyleDuration'),
      taskMsPerKey: per('TaskDuration'),
      openMs: a.openMs,
      ...(peer ? { peerKeys } : {}),
    };
  } finally {
    for (const c of contexts) await c.close();
  }
}

const fmt = (x: number) => (!Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ev = (x: number) => (x === 0 ? '<16' : fmt(x));

const checkout = describeCheckout();
const dist = ensureWebApp();
const server = await startWebServer(dist);
const setup: Setup = { server, owner: await signupOwner(server.base), peer: undefined as unknown as Session, browser: await launchChromium() };
setup.peer = await addMember(server.base, setup.owner, 'Bea');
const rows: Row[] = [];
const skipped: string[] = [];
const failed: string[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    for (const t of TABLES) {
      const doc = benchDocument({ pages: PAGES, seed: SEED, tables: t === 'yes' });
      const label = `${PAGES} pages${t === 'yes' ? ` with ${doc.tables} table${doc.tables === 1 ? '' : 's'}` : ''}`;
      if (run === 0) process.stderr.write(`${label}: ${doc.words} words, ${doc.blocks} blocks, ${doc.headings} headings, ${doc.lists} lists, ${doc.codeBlocks} code blocks, ${doc.tables} tables\n`);
      for (const c of COLLAB) {
        if (skipped.includes(label)) continue;
        const mode = c === 'on' ? 'second user typing' : 'alone';
        let r: Awaited<ReturnType<typeof measure>>;
        try {
          r = await measure(setup, doc, label, c === 'on', run);
        } catch (e) {
          // One measurement that went wrong (its keys did not all land in the paragraph, a page
          // did not open in time) is reported and left out; the others still count.
          failed.push(`${label}, ${mode}, run ${run + 1}: ${(e as Error).message}`);
          process.stderr.write(`${label}, ${mode}, run ${run + 1}: not measured: ${(e as Error).message}\n`);
          continue;
        }
        if (r === 'no tables') {
          skipped.push(label);
          process.stderr.write(`${label}: this web app's editor does not render tables; not measured\n`);
          continue;
        }
        rows.push(r);
        process.stderr.write(
          `${label}, ${mode}, run ${run + 1}: frame p50 ${fmt(r.p50)} p95 ${fmt(r.p95)} p99 ${fmt(r.p99)} max ${fmt(r.max)} ms; Event Timing p95 ${ev(r.eventP95)} p99 ${ev(r.eventP99)} max ${ev(r.eventMax)} ms; script ${fmt(r.scriptMsPerKey)} ms/key; opened in ${fmt(r.openMs)} ms\n`,
        );
      }
    }
  }
} finally {
  await setup.browser.close();
  await setup.peerBrowser?.close();
  await server.stop();
}

// Medians over runs, per document and mode.
const groups = new Map<string, Row[]>();
for (const r of rows) {
  const k = `${r.document}|${r.collab}`;
  groups.set(k, [...(groups.get(k) ?? []), r]);
}
const summary = [...groups.values()].map((rs) => {
  const m = (f: (r: Row) => number) => median(rs.map(f));
  return {
    document: rs[0]!.document,
    collab: rs[0]!.collab,
    runs: rs.length,
    p50: m((r) => r.p50),
    p95: m((r) => r.p95),
    p99: m((r) => r.p99),
    max: m((r) => r.max),
    eventP95: m((r) => r.eventP95),
    eventP99: m((r) => r.eventP99),
    eventMax: m((r) => r.eventMax),
    eventOver50: m((r) => r.eventOver50),
    scriptMsPerKey: m((r) => r.scriptMsPerKey),
    layoutMsPerKey: m((r) => r.layoutMsPerKey),
    styleMsPerKey: m((r) => r.styleMsPerKey),
    taskMsPerKey: m((r) => r.taskMsPerKey),
    openMs: m((r) => r.openMs),
  };
});
const lines = [
  `Web app ${checkout}; ${KEYS} keys at ${MIN_GAP}–${MAX_GAP} ms, caret mid-document; ${machine()}`,
  '',
  '| document | second user | frame p50 | p95 | p99 | max | Event Timing p95 | p99 | max | ≥ 50 ms | script / style / layout ms per key | open ms |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (r) =>
      `| ${r.document} | ${r.collab ? (PEER_INTERVAL > 0 ? `typing 1/${PEER_INTERVAL} ms` : 'idle') : '—'} | ${fmt(r.p50)} | ${fmt(r.p95)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${ev(r.eventP95)} | ${ev(r.eventP99)} | ${ev(r.eventMax)} | ${r.eventOver50} | ${fmt(r.scriptMsPerKey)} / ${fmt(r.styleMsPerKey)} / ${fmt(r.layoutMsPerKey)} | ${fmt(r.openMs)} |`,
  ),
];
if (skipped.length) lines.push('', `Not measured (the editor does not render tables): ${skipped.join(', ')}`);
if (failed.length) lines.push('', `Failed measurements (left out): ${failed.join('; ')}`);
process.stdout.write(`${lines.join('\n')}\n`);
writeJson(JSON_OUT, { checkout, machine: machine(), keys: KEYS, interval: [MIN_GAP, MAX_GAP], pages: PAGES, peerInterval: PEER_INTERVAL, rows, summary, skipped, failed });
process.exit(rows.length > 0 ? 0 : 1);
