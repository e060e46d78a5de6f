/** Real headless Chromium (Debian's `chromium`) driven by playwright-core, for the web app's end-to-end tests. */
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions } from 'playwright-core';
import { ensureWebBuild } from '../../scripts/build-web.mjs';
import type { Session } from './api.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TEST_OUTPUT = path.resolve('test-output');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** A browser profile already signed in as `session` (as if the user had logged in before). */
export async function signedInContext(browser: Browser, session: Session, opts: BrowserContextOptions = {}): Promise<BrowserContext> {
  const ctx = await browser.newContext(opts);
  // Only when empty: the app rotates tokens and must not get the old ones back on reload.
  await ctx.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(session));
  return ctx;
}

/**
 * Options for every browser test: a step that never settles (a page that stops answering
 * `evaluate`, a teardown that waits forever) fails that one test by name within this time
 * instead of holding the whole file until the runner's file timeout.
 */
export const BROWSER_TEST = { timeout: 180_000 };

export function outputPath(name: string): string {
  fs.mkdirSync(TEST_OUTPUT, { recursive: true });
  return path.join(TEST_OUTPUT, name);
}

/**
 * For a test file of the web app: builds the app if needed and launches Chromium before its
 * tests (handing the browser to `use`), and closes it after them.
 */
export function useWebBrowser(use: (browser: Browser) => void): void {
  let browser: Browser | undefined;
  before(async () => {
    await ensureWebBuild({ quiet: true });
    browser = await launchChromium();
    use(browser);
  });
  after(async () => {
    await browser?.close();
  });
}
