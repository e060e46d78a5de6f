/*
 * Quire's service worker: keeps the app shell (index.html and the assets it references)
 * so the app opens without a network. Navigations go to the network first and fall back
 * to the cached shell; hashed assets are served from the cache. The API and the sync
 * socket are never cached (documents live in IndexedDB, managed by the app), except the
 * bytes of attachments (`GET /api/v1/attachments/<id>/content`): they never change, so
 * they are served from their own cache once fetched, and an image seen once shows offline.
 * The app empties that cache when its user signs out (clients/web/src/editor/files.ts).
 */
const BUILD = '__BUILD_ID__';
const CACHE = 'quire-shell';
const ATTACHMENTS = 'quire-attachments';
const ATTACHMENT_CONTENT = /^\/api\/v1\/attachments\/[0-9a-fA-F-]{36}\/content$/;

/** Cache-first for an attachment's whole bytes (keyed by address; errors and ranges are not kept). */
async function attachmentContent(req, url) {
  const key = url.origin + url.pathname;
  const cache = await caches.open(ATTACHMENTS);
  const hit = await cache.match(key, { ignoreVary: true });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.status === 200) await cache.put(key, res.clone()).catch(() => undefined);
  return res;
}

async function shellUrls() {
  const res = await fetch('/', { cache: 'no-cache' });
  const html = await res.clone().text();
  const urls = new Set(['/', '/manifest.webmanifest', '/icon.svg', '/icon-192.png']);
  for (const m of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)) urls.add(m[1]);
  return { res, urls };
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      const { res, urls } = await shellUrls();
      await cache.put('/', res);
      await Promise.all([...urls].filter((u) => u !== '/').map((u) => cache.add(u).catch(() => undefined)));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // Drop assets of older builds: keep what the current shell references.
      const cache = await caches.open(CACHE);
      const shell = await cache.match('/');
      if (shell) {
        const html = await shell.text();
        const keep = new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]));
        for (const req of await cache.keys()) {
          const p = new URL(req.url).pathname;
          if (p.startsWith('/assets/') && !keep.has(p)) await cache.delete(req);
        }
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (req.mode !== 'navigate' && ATTACHMENT_CONTENT.test(url.pathname) && !url.search && !req.headers.has('range')) {
    event.respondWith(attachmentContent(req, url));
    return;
  }
  if (/^\/(api|sync|metrics|health|ready|\.well-known)(\/|$)/.test(url.pathname)) return;

  // App routes (no file extension) are the shell; a navigation to a file (an icon, a
  // script, a JSON document) is passed through and never cached as the app.
  if (req.mode === 'navigate' && !/\.[a-z0-9]+$/i.test(url.pathname)) {
    event.respondWith(
      (async () => {
        try {
          const res = await fetch(req);
          const isShell = res.ok && (res.headers.get('content-type') ?? '').startsWith('text/html');
          if (isShell) (await caches.open(CACHE)).put('/', res.clone());
          // A server that is restarting (5xx) is no reason to show an error page.
          if (res.status >= 500) return (await caches.match('/')) ?? res;
          return res;
        } catch {
          return (await caches.match('/')) ?? Response.error();
        }
      })(),
    );
    return;
  }
  if (req.mode === 'navigate') return;
  event.respondWith(
    (async () => {
      const cached = await caches.match(req);
      if (cached) return cached;
      const res = await fetch(req);
      if (res.ok && url.pathname.startsWith('/assets/')) (await caches.open(CACHE)).put(req, res.clone());
      return res;
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'version') event.source?.postMessage({ build: BUILD });
});

/*
 * Web Push (ml-workers/notify/push.ts sends it): the payload is JSON
 * `{title, body, url, tag, notificationId, count}`. A notification with the same tag
 * replaces the older one on this device. Clicking it focuses an open Quire window and takes
 * it to the notification's page, or opens one.
 */

/** A link from a push, always on this app's origin (a path from another origin is kept, on ours). */
function appUrl(raw) {
  try {
    const u = new URL(typeof raw === 'string' && raw ? raw : '/', self.location.origin);
    if (u.origin === self.location.origin) return u.href;
    return new URL(u.pathname + u.search + u.hash, self.location.origin).href;
  } catch {
    return new URL('/', self.location.origin).href;
  }
}

self.addEventListener('push', (event) => {
  let data;
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  if (!data || typeof data !== 'object') data = {};
  const title = typeof data.title === 'string' && data.title ? data.title : 'Quire';
  const options = {
    body: typeof data.body === 'string' ? data.body : '',
    icon: '/icon-192.png',
    badge: '/icon-192.png',
    data: { url: appUrl(data.url), notificationId: typeof data.notificationId === 'string' ? data.notificationId : null },
  };
  if (typeof data.tag === 'string' && data.tag) options.tag = data.tag;
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = appUrl(event.notification.data && event.notification.data.url);
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const ours = windows.filter((c) => new URL(c.url).origin === self.location.origin);
      const there = ours.find((c) => c.url === url);
      if (there) {
        await there.focus();
        return;
      }
      const client = ours.find((c) => c.focused) ?? ours[0];
      if (client) {
        try {
          const focused = await client.focus();
          // navigate() only works on a window this worker controls; otherwise open one.
          if (await (focused ?? client).navigate(url)) return;
        } catch {
          // Not controlled or not allowed to focus: open a window instead.
        }
      }
      await self.clients.openWindow(url);
    })(),
  );
});
