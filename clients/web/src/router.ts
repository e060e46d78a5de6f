/**
 * A small history-API router: `/`, `/d/<id>` (with `?comment=<id>` to open that thread, or
 * `?panel=reviews|history|comments`), `/search?q=&mode=`, `/people`, `/account`,
 * `/admin/search`, `/admin/audit`, `/admin/webhooks`, `/trash`, `/developers/api`, `/tasks` (with `?task=<id>` to open that task); anything else (an
 * unknown path, a malformed document id) is not found.
 */
import { useEffect, useState } from 'react';

export type Route =
  | { name: 'home' }
  | { name: 'not-found' }
  | { name: 'account' }
  | { name: 'people' }
  | { name: 'search-analytics' }
  | { name: 'audit' }
  | { name: 'webhooks' }
  | { name: 'trash' }
  | { name: 'invite' }
  | { name: 'reset-password' }
  | { name: 'forgot-password' }
  | { name: 'sso-done' }
  | { name: 'api-reference' }
  | { name: 'tasks'; task: string | null }
  | { name: 'document'; id: string; comment: string | null; panel: DocumentPanel | null }
  | { name: 'search'; q: string; mode: 'fulltext' | 'semantic' | 'hybrid' };

/** A side panel a link into a document may open. */
export type DocumentPanel = 'reviews' | 'history' | 'comments';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseRoute(loc: Location = window.location): Route {
  const doc = /^\/d\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(loc.pathname);
  if (doc?.[1]) {
    const p = new URLSearchParams(loc.search);
    const comment = p.get('comment');
    const panel = p.get('panel');
    return {
      name: 'document',
      id: doc[1].toLowerCase(),
      comment: comment && UUID.test(comment) ? comment.toLowerCase() : null,
      panel: panel === 'reviews' || panel === 'history' || panel === 'comments' ? panel : null,
    };
  }
  if (loc.pathname === '/' || loc.pathname === '/index.html') return { name: 'home' };
  if (loc.pathname === '/people') return { name: 'people' };
  if (loc.pathname === '/account') return { name: 'account' };
  if (loc.pathname === '/admin/search') return { name: 'search-analytics' };
  if (loc.pathname === '/admin/audit') return { name: 'audit' };
  if (loc.pathname === '/admin/webhooks') return { name: 'webhooks' };
  if (loc.pathname === '/trash') return { name: 'trash' };
  if (loc.pathname === '/developers/api') return { name: 'api-reference' };
  // Pages a link from an email opens, signed in or not (components/account-links.tsx).
  if (loc.pathname === '/invite') return { name: 'invite' };
  if (loc.pathname === '/reset-password') return { name: 'reset-password' };
  if (loc.pathname === '/forgot-password') return { name: 'forgot-password' };
  // Where the server sends the browser back after single sign-on (components/sso.tsx).
  if (loc.pathname === '/sso/done') return { name: 'sso-done' };
  if (loc.pathname === '/tasks' || loc.pathname === '/tasks/') {
    const task = new URLSearchParams(loc.search).get('task');
    return { name: 'tasks', task: task && UUID.test(task) ? task.toLowerCase() : null };
  }
  if (loc.pathname === '/search') {
    const p = new URLSearchParams(loc.search);
    const mode = p.get('mode');
    return { name: 'search', q: p.get('q') ?? '', mode: mode === 'semantic' || mode === 'fulltext' ? mode : 'hybrid' };
  }
  return { name: 'not-found' };
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseRoute);
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return route;
}

/** True on phone-sized screens, where the app shows the review layout. */
export function useNarrow(maxWidth = 720): boolean {
  const query = `(max-width: ${maxWidth}px)`;
  const [narrow, setNarrow] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const mq = window.matchMedia(query);
    const on = () => setNarrow(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, [query]);
  return narrow;
}

export function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const up = () => setOnline(true);
    const down = () => setOnline(false);
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, []);
  return online;
}
