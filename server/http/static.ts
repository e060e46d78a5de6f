/**
 * Serves the web app's production build (`clients/web/dist`) from memory: files are read
 * once at start, with a strong ETag, gzip for text, immutable caching for Vite's hashed
 * `/assets/*` and revalidation for everything else (index.html, the service worker, the
 * manifest). Paths that look like app routes (no file extension) get `index.html`, so
 * `/d/<id>` can be bookmarked. API, sync and ops paths never fall through to the app.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Req, Res } from '../../lib/http/edge.js';

interface StaticFile {
  body: Buffer;
  /** Whether gzip helps (text, over 1 KiB); compressed on first request. */
  compressible: boolean;
  gzip?: Buffer;
  type: string;
  etag: string;
  cache: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** Paths that belong to the server, never to the app. */
const RESERVED = /^\/(api|sync|metrics|health|ready)(\/|$)/;

/**
 * The app's Content-Security-Policy: scripts and styles from our origin only (Tiptap and
 * the caret extension set inline `style` attributes, hence 'unsafe-inline' for styles),
 * API and sync on the same origin, no framing.
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export class StaticSite {
  private constructor(private readonly files: Map<string, StaticFile>) {}

  /** Loads `dir` into memory; null when there is no build (`index.html` missing). */
  static async load(dir: string): Promise<StaticSite | null> {
    const files = new Map<string, StaticFile>();
    const walk = async (rel: string): Promise<void> => {
      for (const entry of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
        const relPath = path.posix.join(rel, entry.name);
        if (entry.isDirectory()) await walk(relPath);
        else if (entry.isFile() && !entry.name.startsWith('.')) {
          const body = await fs.readFile(path.join(dir, relPath));
          const type = TYPES[path.extname(entry.name).toLowerCase()] ?? 'application/octet-stream';
          const compressible = /^(text\/|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 1024;
          files.set(`/${relPath}`, {
            body,
            compressible,
            type,
            etag: `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
            cache: relPath.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          });
        }
      }
    };
    try {
      await walk('');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return files.has('/index.html') ? new StaticSite(files) : null;
  }

  get size(): number {
    return this.files.size;
  }

  /** The answer for a GET, or null when the path is not the app's. */
  serve(req: Req): Res | null {
    if (req.method !== 'get' && req.method !== 'head') return null;
    const head = req.method === 'head';
    let p: string;
    try {
      p = decodeURIComponent(req.path);
    } catch {
      return null;
    }
    if (RESERVED.test(p)) return null;
    let file = this.files.get(p === '/' ? '/index.html' : p);
    // An app route (no extension; a public link `/p/<token>` whatever its token looks like):
    // the app shell; a missing file with an extension: 404.
    const publicLink = p.startsWith('/p/');
    if (!file && (!path.posix.extname(p) || publicLink)) file = this.files.get('/index.html');
    if (!file) return null;
    const headers: Record<string, string> = { 'content-type': file.type, etag: file.etag, 'cache-control': file.cache, vary: 'Accept-Encoding' };
    if (file.type.startsWith('text/html')) {
      headers['content-security-policy'] = APP_CSP;
      headers['referrer-policy'] = 'no-referrer';
      headers['x-frame-options'] = 'DENY';
      // A public document's page is for the people given the link, not for search engines.
      if (publicLink) headers['x-robots-tag'] = 'noindex';
    }
    if (req.headers['if-none-match'] === file.etag) return { status: 304, headers };
    let body = file.body;
    if (file.compressible && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      body = file.gzip ??= zlib.gzipSync(file.body, { level: 9 });
      headers['content-encoding'] = 'gzip';
    }
    // HEAD: the headers a GET would get, no body.
    if (head) return { status: 200, headers, headOnlyLength: body.length };
    return { status: 200, bytes: body, headers };
  }
}
