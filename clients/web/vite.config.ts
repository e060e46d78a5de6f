/**
 * Vite build of the web app. `npm run build:web` writes `clients/web/dist`, which the
 * server serves at `/`. In development, `npx vite clients/web` proxies the API and the
 * sync socket to a server on :8080.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));

/** Stamps the service worker with a build id so browsers pick up a new release. */
function serviceWorkerVersion(): Plugin {
  return {
    name: 'quire-sw-version',
    apply: 'build',
    writeBundle(options) {
      const dir = options.dir ?? path.join(root, 'dist');
      const sw = path.join(dir, 'sw.js');
      const index = fs.readFileSync(path.join(dir, 'index.html'));
      const id = crypto.createHash('sha256').update(index).digest('hex').slice(0, 12);
      fs.writeFileSync(sw, fs.readFileSync(sw, 'utf8').replace('__BUILD_ID__', id));
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  plugins: [serviceWorkerVersion()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    rolldownOptions: {
      onwarn(warning, warn) {
        // Tiptap's "use client" marker is for React Server Components; it means nothing in a client bundle.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/sync': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
