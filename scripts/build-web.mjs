#!/usr/bin/env node
/**
 * Builds the web app (clients/web → clients/web/dist) when its sources changed since the
 * last build. `npm start` and `npm test` run it first; `--force` always rebuilds.
 * Without Vite installed (a production install without devDependencies) it says so and
 * leaves the server to run without the web app.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const webDir = path.join(root, 'clients', 'web');
const distDir = path.join(webDir, 'dist');
const stampFile = path.join(distDir, '.build-hash');

function hashInputs() {
  const h = crypto.createHash('sha256');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'dist' && e.name !== 'node_modules') walk(p);
      } else {
        h.update(path.relative(root, p));
        h.update(fs.readFileSync(p));
      }
    }
  };
  walk(webDir);
  walk(path.join(root, 'clients', 'sdk'));
  h.update(fs.readFileSync(path.join(root, 'package-lock.json')));
  return h.digest('hex');
}

export async function ensureWebBuild({ force = false, quiet = false } = {}) {
  const hash = hashInputs();
  if (!force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === hash) return { built: false, dir: distDir };
  let vite;
  try {
    vite = await import('vite');
  } catch {
    console.warn('[build-web] Vite is not installed (devDependencies omitted?): the web app is not built.');
    return { built: false, dir: distDir };
  }
  const started = Date.now();
  await vite.build({ configFile: path.join(webDir, 'vite.config.ts'), logLevel: quiet ? 'warn' : 'info', mode: 'production' });
  fs.writeFileSync(stampFile, hash);
  if (!quiet) console.log(`[build-web] built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { built: true, dir: distDir };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await ensureWebBuild({ force: process.argv.includes('--force'), quiet: process.argv.includes('--quiet') });
}
