/**
 * Shared pieces of the web app's browser benchmarks (`bench/web-typing.ts`,
 * `bench/web-load.ts`): the web app of the checkout under test (QUIRE_ROOT, see lib.ts)
 * built and served by that checkout's server, headless Chromium, accounts and documents
 * made over REST, and percentiles.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { benchDirs, dropSchema, QUIRE_ROOT, ROOT, startQuire, type Running } from './lib.js';
import type { PMNode } from './web-document.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags the browser tests launch Chromium with (test/helpers/browser.ts). */
export function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install Debian's chromium or set CHROMIUM_PATH`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export function chromiumVersion(): string {
  try {
    return execFileSync(CHROMIUM_PATH, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * The web app of QUIRE_ROOT, built with that checkout's own build script and Vite config
 * (rebuilt only when its sources changed); returns the build directory.
 */
export function ensureWebApp(): string {
  const started = Date.now();
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--quiet'], { cwd: QUIRE_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const dist = path.join(QUIRE_ROOT, 'clients/web/dist');
  if (!fs.existsSync(path.join(dist, 'index.html'))) throw new Error(`no web build in ${dist}`);
  if (Date.now() - started > 5000) process.stderr.write(`built the web app of ${QUIRE_ROOT} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return dist;
}

/** Which checkout is measured, for the reports. */
export function describeCheckout(): string {
  const git = (args: string[]) => execFileSync('git', args, { cwd: QUIRE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const dirty = QUIRE_ROOT === ROOT && git(['status', '--porcelain', '--untracked-files=no', '--', 'clients']) !== '';
    return `${git(['rev-parse', '--short=10', 'HEAD'])}${dirty ? ' + uncommitted changes in clients/' : ''}`;
  } catch {
    return QUIRE_ROOT;
  }
}

export interface WebServer extends Running {
  base: string;
  stop(): Promise<void>;
}

/**
 * Quire (api and sync roles, on the benchmarks' Postgres in a schema of its own) serving
 * QUIRE_ROOT's web app. Without the worker role: indexing a long document would compete
 * with the browser for the same cores.
 */
export async function startWebServer(dist: string): Promise<WebServer> {
  const dirs = benchDirs();
  const q = await startQuire({
    ...dirs,
    roles: 'api,sync',
    env: {
      WEB_APP: 'true',
      WEB_DIR: dist,
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_BURST: '100000',
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_BURST: '100000',
      RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1000000',
      RATE_LIMIT_LOGIN_ACCOUNT_BURST: '100000',
      MAX_BODY_BYTES: String(16 * 1_048_576),
    },
  });
  return {
    ...q,
    stop: async () => {
      await q.stop();
      await dropSchema(dirs.schema);
      fs.rmSync(dirs.dataDir, { recursive: true, force: true });
    },
  };
}

/** What the server answers to signup and login; the web app keeps it in localStorage. */
export interface Session {
  accessToken: string;
  refreshToken: string;
  user: { id: string; email: string; tenantId: string; role: string };
}

/** A password the strength policy accepts. */
const PASSWORD = 'violet harbour lantern 4719 quietly';

async function call<T>(base: string, method: string, p: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(60_000) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export async function signupOwner(base: string): Promise<Session> {
  return call<Session>(base, 'POST', '/api/v1/auth/signup', { tenant: 'Bench Co', email: `owner-${unique()}@bench.test`, password: PASSWORD });
}

/** A member of the owner's workspace, signed in. */
export async function addMember(base: string, owner: Session, name: string): Promise<Session> {
  const email = `${name.toLowerCase()}-${unique()}@bench.test`;
  await call(base, 'POST', '/api/v1/users', { email, password: PASSWORD, role: 'member' }, owner.accessToken);
  return login(base, email);
}

/** A new session for an account (a new device). */
export async function login(base: string, email: string): Promise<Session> {
  return call<Session>(base, 'POST', '/api/v1/auth/login', { email, password: PASSWORD });
}

/** A document holding `json`, written over REST; shared for writing with `writers`. */
export async function createDocument(base: string, owner: Session, title: string, json: PMNode, writers: Session[] = []): Promise<string> {
  const { id } = await call<{ id: string }>(base, 'POST', '/api/v1/documents', { title }, owner.accessToken);
  await call(base, 'PUT', `/api/v1/documents/${id}/content`, { json }, owner.accessToken);
  for (const w of writers) await call(base, 'PUT', `/api/v1/documents/${id}/permissions`, { userId: w.user.id, level: 'write' }, owner.accessToken);
  return id;
}

/** A browser profile already signed in as `session` (an empty cache, no service worker, no stored documents). */
export async function signedInContext(browser: Browser, session: Session): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Only when empty: the app rotates tokens and must not get the old ones back on reload.
  await ctx.addInitScript((s: string) => {
    if (!localStorage.getItem('quire.session')) localStorage.setItem('quire.session', s);
  }, JSON.stringify(session));
  return ctx;
}

/** Nearest-rank percentile of unsorted samples (NaN for none). */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** Writes a scenario's summary where `--json=<file>` says (bench:revisions reads it). */
export function writeJson(file: string | undefined, data: unknown): void {
  if (!file) return;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
}

/** Machine and browser, for the reports. */
export function machine(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, ${chromiumVersion()}, Node ${process.version}`;
}
