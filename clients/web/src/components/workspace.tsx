/**
 * The signed-in workspace: header (search, connection, account), the document list and
 * the main view. On narrow screens the list and the document take turns (review layout).
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { DocumentMeta, Me, SessionUser } from '../../../sdk/index.js';
import { cacheDocuments, cachedDocuments, cacheProfile, cachedProfile, client, describeError, displayName, offlineDocuments, pendingTotal, signOut } from '../api.js';
import { navigate, useNarrow, useOnline, useRoute } from '../router.js';
import { DocumentList } from './document-list.js';
import { DocumentView } from './document-view.js';
import { PeopleView } from './people-view.js';
import { SearchAnalyticsView } from './search-analytics-view.js';
import { SearchView } from './search-view.js';

export function Workspace({ user }: { user: SessionUser }) {
  const route = useRoute();
  const narrow = useNarrow();
  const online = useOnline();
  const [docs, setDocs] = useState<DocumentMeta[]>(() => cachedDocuments(user.id));
  // The profile (display name, workspace name), kept on this device for offline starts.
  const [me, setMe] = useState<Me | null>(() => cachedProfile(user.id));
  useEffect(() => {
    let live = true;
    void client.me().then((r) => {
      if (!live || !r.ok) return;
      cacheProfile(r.value);
      setMe(r.value);
    });
    return () => {
      live = false;
    };
  }, [user.id]);
  const name = me?.displayName || displayName(user.email);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [listError, setListError] = useState<string | null>(null);
  const [query, setQuery] = useState(route.name === 'search' ? route.q : '');

  const load = useCallback(async () => {
    setLoading(true);
    const r = await client.listDocuments({ limit: 100 });
    setLoading(false);
    if (r.ok) {
      setDocs(r.value.documents);
      setCursor(r.value.nextCursor);
      setListError(null);
      cacheDocuments(user.id, r.value.documents);
    } else {
      setListError(r.error.code === 'network_error' ? 'Offline: showing the documents saved on this device.' : describeError(r.error));
    }
  }, [user.id]);

  useEffect(() => {
    void load();
  }, [load, online]);

  const loadMore = async () => {
    if (!cursor) return;
    const r = await client.listDocuments({ limit: 100, cursor });
    if (r.ok) {
      setDocs((d) => [...d, ...r.value.documents]);
      setCursor(r.value.nextCursor);
    }
  };

  const create = async (): Promise<string | null> => {
    const r = await client.createDocument({ title: 'Untitled' });
    if (!r.ok) return describeError(r.error);
    setDocs((d) => [r.value, ...d]);
    navigate(`/d/${r.value.id}`);
    return null;
  };

  const onRenamed = (meta: DocumentMeta) => setDocs((d) => d.map((x) => (x.id === meta.id ? { ...x, title: meta.title } : x)));

  const search = (e: FormEvent) => {
    e.preventDefault();
    const q = query.trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}&mode=${route.name === 'search' ? route.mode : 'hybrid'}`);
  };

  const [signingOut, setSigningOut] = useState(false);
  const logout = async () => {
    const waiting = pendingTotal(user.id);
    if (waiting > 0 && !window.confirm(`${waiting} change${waiting === 1 ? ' has' : 's have'} not reached the server yet and will be lost if you sign out now. Sign out anyway?`)) return;
    setSigningOut(true);
    await signOut(user.id);
  };

  // Move focus to the new view so keyboard and screen-reader users land in it.
  const mainRef = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    if (route.name !== 'document') mainRef.current?.focus();
  }, [route]);

  const openId = route.name === 'document' ? route.id : null;
  const showList = !narrow || route.name === 'home';
  const available = offlineDocuments(user.id);

  return (
    <div className={`workspace ${narrow ? 'narrow' : 'wide'}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a
          className="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate('/');
          }}
        >
          Quire
        </a>
        {me && (
          <span className="workspace-name" data-testid="workspace-name">
            {me.tenantName}
          </span>
        )}
        <form className="search-form" role="search" onSubmit={search}>
          <label className="visually-hidden" htmlFor="search-input">
            Search documents
          </label>
          <input id="search-input" type="search" placeholder="Search documents" value={query} onChange={(e) => setQuery(e.target.value)} />
          <button type="submit" aria-label="Search">
            Search
          </button>
        </form>
        <span className={`net ${online ? 'online' : 'offline'}`} role="status" aria-live="polite" data-testid="network-status">
          {online ? 'Online' : 'Offline'}
        </span>
        {user.role !== 'guest' && (
          <a
            className="nav-link"
            href="/people"
            aria-current={route.name === 'people' ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate('/people');
            }}
          >
            People
          </a>
        )}
        {(user.role === 'owner' || user.role === 'admin') && (
          <a
            className="nav-link"
            href="/admin/search"
            aria-current={route.name === 'search-analytics' ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate('/admin/search');
            }}
          >
            Search analytics
          </a>
        )}
        <span className="who" title={user.email}>
          {name}
        </span>
        <button type="button" className="link" onClick={logout} disabled={signingOut}>
          Sign out
        </button>
      </header>
      <div className="body">
        {showList && <DocumentList docs={docs} activeId={openId} loading={loading} error={listError} available={available} hasMore={cursor !== null} onMore={loadMore} onCreate={create} />}
        <main id="main" className="main" tabIndex={-1} ref={mainRef}>
          {route.name === 'document' && <DocumentView key={route.id} id={route.id} user={user} name={name} docs={docs} narrow={narrow} online={online} onRenamed={onRenamed} />}
          {route.name === 'people' && <PeopleView user={user} />}
          {route.name === 'search-analytics' && <SearchAnalyticsView />}
          {route.name === 'search' && <SearchView key={`${route.q}:${route.mode}`} q={route.q} mode={route.mode} />}
          {route.name === 'home' && !narrow && (
            <div className="empty">
              <h2>Welcome{docs.length ? ' back' : ''}</h2>
              <p className="muted">{docs.length ? 'Pick a document on the left, or start a new one.' : 'Create your first document to start writing.'}</p>
            </div>
          )}
        </main>
      </div>
    </div>
  );
}
