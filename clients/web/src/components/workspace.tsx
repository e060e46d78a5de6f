/**
 * The signed-in workspace: header (search, connection, account), the document list and
 * the main view. On narrow screens the list and the document take turns (review layout).
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { Collection, DocumentMeta, DocumentSort, ListDocumentsQuery, Me, SessionUser } from '../../../sdk/index.js';
import { cacheDocuments, cachedDocuments, cacheProfile, cachedProfile, client, describeError, displayName, offlineDocuments, pendingTotal, signOut } from '../api.js';
import { navigate, useNarrow, useOnline, useRoute } from '../router.js';
import { DocumentList, type ListView } from './document-list.js';
import { ConfirmDialog, MenuButton, PromptDialog } from './menu.js';
import { ChartColumn, ClipboardCheck, Code, LogOut, Menu as MenuIcon, ScrollText, Search, UserRound, Users, Webhook, X } from 'lucide-react';
import { useToast } from './toast.js';
import { DocumentView } from './document-view.js';
import { PeopleView } from './people-view.js';
import { AccountView } from './account-view.js';
import { Avatar } from './avatar.js';
import { SearchAnalyticsView } from './search-analytics-view.js';
import { AuditView } from './audit-view.js';
import { WebhooksView } from './webhooks-view.js';
import { ApiReference } from './api-reference.js';
import { SearchView } from './search-view.js';
import { TrashView } from './trash-view.js';
import { countLabel, NotificationBell } from './notification-bell.js';
import { TaskInbox } from './task-inbox.js';
import type { Notification } from '../../../../contract/api.js';

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
  // Open review tasks, counted in the header: read on start, when a review notification
  // arrives, and when the user decides one.
  const [openTasks, setOpenTasks] = useState<number | null>(null);
  const tasksAsked = useRef(0);
  const loadTaskCount = useCallback(async () => {
    const n = ++tasksAsked.current;
    const r = await client.listTasks('open');
    if (r.ok && n === tasksAsked.current) setOpenTasks(r.value.length);
  }, []);
  useEffect(() => {
    void loadTaskCount();
  }, [loadTaskCount, online]);
  const onNotification = useCallback(
    (n: Notification) => {
      if (n.kind === 'review_assigned' || n.kind === 'review_decided' || n.kind === 'deadline') void loadTaskCount();
    },
    [loadTaskCount],
  );
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [listError, setListError] = useState<string | null>(null);
  const [query, setQuery] = useState(route.name === 'search' ? route.q : '');
  // The box shows the search being looked at, and is empty once the user moves on.
  const shownQuery = route.name === 'search' ? route.q : '';
  useEffect(() => setQuery(shownQuery), [shownQuery]);

  const [view, setView] = useState<ListView>({ name: 'all' });
  // Last edited first (the server advances a document's time within seconds of an edit).
  const [sort, setSort] = useState<DocumentSort>('recent');
  const [filter, setFilter] = useState('');
  const [collections, setCollections] = useState<Collection[]>([]);
  const canOrganise = user.role !== 'guest';
  const listQuery = useMemo((): ListDocumentsQuery => {
    const q = filter.trim() ? { q: filter.trim() } : {};
    if (view.name === 'recent') return { limit: 100, recent: true, ...q };
    const base = { limit: 100, sort, ...q };
    if (view.name === 'starred') return { ...base, starred: true };
    if (view.name === 'templates') return { ...base, kind: 'template' };
    if (view.name === 'collection') return { ...base, collectionId: view.id };
    return base;
  }, [view, sort, filter]);
  const isDefaultList = view.name === 'all' && !filter.trim();

  const load = useCallback(async () => {
    setLoading(true);
    const r = await client.listDocuments(listQuery);
    setLoading(false);
    if (r.ok) {
      setDocs(r.value.documents);
      setCursor(r.value.nextCursor);
      setListError(null);
      // What shows offline is the full list.
      if (isDefaultList) cacheDocuments(user.id, r.value.documents);
    } else {
      setListError(r.error.code === 'network_error' ? 'Offline: showing the documents saved on this device.' : describeError(r.error));
    }
  }, [user.id, listQuery, isDefaultList]);

  useEffect(() => {
    // Typing in the filter asks once the typing pauses.
    const timer = setTimeout(() => void load(), filter ? 200 : 0);
    return () => clearTimeout(timer);
  }, [load, online, filter]);

  const loadCollections = useCallback(async () => {
    if (!canOrganise) return;
    const r = await client.listCollections();
    if (r.ok) setCollections(r.value);
  }, [canOrganise]);
  useEffect(() => {
    void loadCollections();
  }, [loadCollections, online]);

  const loadMore = async () => {
    if (!cursor) return;
    const r = await client.listDocuments({ ...listQuery, cursor });
    if (r.ok) {
      setDocs((d) => [...d, ...r.value.documents]);
      setCursor(r.value.nextCursor);
    }
  };

  const create = async (): Promise<string | null> => {
    const r = await client.createDocument({ title: 'Untitled', ...(view.name === 'collection' ? { collectionId: view.id } : {}) });
    if (!r.ok) return describeError(r.error);
    setDocs((d) => [r.value, ...d]);
    navigate(`/d/${r.value.id}`);
    return null;
  };

  // A document brought back from the trash is listed again (in the views it belongs to).
  const onRestored = (meta: DocumentMeta) => {
    if (view.name === 'all' || (view.name === 'templates' && meta.kind === 'template') || (view.name === 'collection' && view.id === meta.collectionId)) {
      setDocs((d) => [meta, ...d.filter((x) => x.id !== meta.id)]);
    }
    if (isDefaultList) cacheDocuments(user.id, [meta, ...docs.filter((x) => x.id !== meta.id)]);
  };

  const onChanged = (meta: DocumentMeta) => setDocs((d) => d.map((x) => (x.id === meta.id ? { ...x, ...meta } : x)));
  const onCreated = (meta: DocumentMeta) => {
    if (meta.kind === 'template') setView({ name: 'templates' });
    else setDocs((d) => [meta, ...d.filter((x) => x.id !== meta.id)]);
    navigate(`/d/${meta.id}`);
  };
  const toast = useToast();
  const onDeleted = (meta: DocumentMeta) => {
    onGone(meta.id);
    navigate('/');
    toast({
      message: `Deleted “${meta.title}”`,
      action: {
        label: 'Undo',
        run: () =>
          void client.restoreDocument(meta.id).then((r) => {
            if (!r.ok) return toast({ message: `Could not restore “${meta.title}”: ${describeError(r.error)}`, tone: 'error' });
            setDocs((d) => [r.value, ...d.filter((x) => x.id !== r.value.id)]);
            navigate(`/d/${r.value.id}`);
          }),
      },
    });
  };

  // Collections: create, rename, delete (contents move up a level).
  const [collectionDialog, setCollectionDialog] = useState<{ mode: 'new'; parentId: string | null } | { mode: 'rename'; c: Collection } | { mode: 'delete'; c: Collection } | null>(null);
  const answerCollection = async (value: string | null | boolean) => {
    const d = collectionDialog;
    setCollectionDialog(null);
    if (!d || value === null || value === false) return;
    if (d.mode === 'delete') {
      const r = await client.deleteCollection(d.c.id);
      if (!r.ok) return toast({ message: describeError(r.error), tone: 'error' });
      if (view.name === 'collection' && view.id === d.c.id) setView({ name: 'all' });
    } else {
      const r = d.mode === 'new' ? await client.createCollection({ name: String(value), parentId: d.parentId }) : await client.updateCollection(d.c.id, { name: String(value) });
      if (!r.ok) return toast({ message: describeError(r.error), tone: 'error' });
      if (d.mode === 'new') setView({ name: 'collection', id: r.value.id });
    }
    await loadCollections();
  };
  const onGone = useCallback(
    (id: string) =>
      setDocs((d) => {
        const rest = d.filter((x) => x.id !== id);
        cacheDocuments(user.id, rest);
        return rest;
      }),
    [user.id],
  );

  const search = (e: FormEvent) => {
    e.preventDefault();
    const q = query.trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}&mode=${route.name === 'search' ? route.mode : 'hybrid'}`);
  };

  const [signingOut, setSigningOut] = useState(false);
  // On a phone the header is one row: search opens in place of the rest.
  const [searchOpen, setSearchOpen] = useState(false);
  const logout = async () => {
    const waiting = pendingTotal(user.id);
    if (waiting > 0 && !window.confirm('Some of your changes have not reached the server yet and will be lost if you sign out now. Sign out anyway?')) return;
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
  // On a phone, the open review tasks are one tap away from anywhere.
  const tasksButton = (
    <button
      type="button"
      className="icon-button tasks-button"
      aria-label={openTasks ? `Review tasks, ${openTasks} open` : 'Review tasks'}
      title="Review tasks"
      aria-current={route.name === 'tasks' ? 'page' : undefined}
      data-testid="tasks-link"
      onClick={() => navigate('/tasks')}
    >
      <ClipboardCheck size={19} aria-hidden />
      {openTasks ? (
        <span className="count-badge" aria-hidden>
          {countLabel(openTasks)}
        </span>
      ) : null}
    </button>
  );
  const showList = !narrow || route.name === 'home';
  const available = offlineDocuments(user.id);

  return (
    <div className={`workspace ${narrow ? 'narrow' : 'wide'}`}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        {!(narrow && searchOpen) && (
          <>
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
            {!narrow && me && (
              <span className="workspace-name" data-testid="workspace-name">
                {me.tenantName}
              </span>
            )}
          </>
        )}
        {(!narrow || searchOpen) && (
          <>
            <form className="search-form" role="search" onSubmit={search}>
              <label className="visually-hidden" htmlFor="search-input">
                Search documents
              </label>
              <input id="search-input" type="search" placeholder="Search documents" value={query} onChange={(e) => setQuery(e.target.value)} />
              <button type="submit" aria-label="Search">
                Search
              </button>
            </form>
            {narrow && (
              <button type="button" className="icon-button" aria-label="Close search" onClick={() => setSearchOpen(false)}>
                <X size={18} aria-hidden />
              </button>
            )}
          </>
        )}
        {narrow && !searchOpen && <span className="spacer" />}
        <span className={`net ${online ? 'online' : 'offline'}`} role="status" aria-live="polite" data-testid="network-status">
          {online ? 'Online' : 'Offline'}
        </span>
        {narrow && !searchOpen && (
          <>
            <button type="button" className="icon-button" aria-label="Search" onClick={() => setSearchOpen(true)}>
              <Search size={18} aria-hidden />
            </button>
            {tasksButton}
            <NotificationBell narrow onNotification={onNotification} />
            <MenuButton
              label="Menu"
              icon={<MenuIcon size={20} aria-hidden />}
              items={[
                { label: 'Your account', icon: <UserRound size={16} aria-hidden />, run: () => navigate('/account') },
                ...(user.role !== 'guest' ? [{ label: 'People', icon: <Users size={16} aria-hidden />, run: () => navigate('/people') }] : []),
                ...(user.role === 'owner' || user.role === 'admin' ? [{ label: 'Search analytics', icon: <ChartColumn size={16} aria-hidden />, run: () => navigate('/admin/search') }] : []),
                ...(user.role === 'owner' || user.role === 'admin' ? [{ label: 'Audit log', icon: <ScrollText size={16} aria-hidden />, run: () => navigate('/admin/audit') }] : []),
                ...(user.role === 'owner' || user.role === 'admin' ? [{ label: 'Webhooks', icon: <Webhook size={16} aria-hidden />, run: () => navigate('/admin/webhooks') }] : []),
                { label: 'API reference', icon: <Code size={16} aria-hidden />, run: () => navigate('/developers/api') },
                { label: 'Sign out', icon: <LogOut size={16} aria-hidden />, disabled: signingOut, run: () => void logout() },
              ]}
            />
          </>
        )}
        {!narrow && (
          <>
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
            {(user.role === 'owner' || user.role === 'admin') && (
              <a
                className="nav-link"
                href="/admin/audit"
                aria-current={route.name === 'audit' ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/admin/audit');
                }}
              >
                Audit log
              </a>
            )}
            {(user.role === 'owner' || user.role === 'admin') && (
              <a
                className="nav-link"
                href="/admin/webhooks"
                aria-current={route.name === 'webhooks' ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/admin/webhooks');
                }}
              >
                Webhooks
              </a>
            )}
            <a
              className="nav-link tasks-link"
              href="/tasks"
              aria-current={route.name === 'tasks' ? 'page' : undefined}
              data-testid="tasks-link"
              onClick={(e) => {
                e.preventDefault();
                navigate('/tasks');
              }}
            >
              Tasks
              {openTasks ? (
                <span className="count-badge inline" aria-hidden>
                  {countLabel(openTasks)}
                </span>
              ) : null}
              <span className="visually-hidden">{openTasks ? `, ${openTasks} open` : ''}</span>
            </a>
            <NotificationBell narrow={false} onNotification={onNotification} />
            <a
              className="who nav-link"
              href="/account"
              title={`${user.email}: your account`}
              aria-current={route.name === 'account' ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate('/account');
              }}
            >
              <Avatar name={name} seed={user.id} size="sm" />
              <span className="who-name">{name}</span>
            </a>
            <button type="button" className="link" onClick={logout} disabled={signingOut}>
              Sign out
            </button>
          </>
        )}
      </header>
      <div className="body">
        {showList && (
          <DocumentList
            docs={docs}
            activeId={openId}
            loading={loading}
            error={listError}
            available={available}
            hasMore={cursor !== null}
            onMore={loadMore}
            onCreate={create}
            view={view}
            onView={(v) => {
              setView(v);
              // A view is a list of documents: leave the trash for it.
              if (route.name === 'trash') navigate('/');
            }}
            trashOpen={route.name === 'trash'}
            sort={sort}
            onSort={setSort}
            filter={filter}
            onFilter={setFilter}
            collections={collections}
            canOrganise={canOrganise}
            onNewCollection={(parentId) => setCollectionDialog({ mode: 'new', parentId })}
            onRenameCollection={(c) => setCollectionDialog({ mode: 'rename', c })}
            onDeleteCollection={(c) => setCollectionDialog({ mode: 'delete', c })}
          />
        )}
        <main id="main" className="main" tabIndex={-1} ref={mainRef}>
          {route.name === 'document' && (
            <DocumentView
              key={route.id}
              id={route.id}
              user={user}
              name={name}
              docs={docs}
              narrow={narrow}
              online={online}
              collections={collections}
              onChanged={onChanged}
              onCreated={onCreated}
              onDeleted={onDeleted}
              onGone={onGone}
              comment={route.comment}
              panel={route.panel}
            />
          )}
          {route.name === 'people' && <PeopleView user={user} onWorkspaceRenamed={(tenantName) => setMe((m) => (m ? { ...m, tenantName } : m))} />}
          {route.name === 'account' && <AccountView user={user} me={me} onProfile={setMe} />}
          {route.name === 'search-analytics' && <SearchAnalyticsView />}
          {route.name === 'audit' && <AuditView user={user} />}
          {route.name === 'webhooks' && <WebhooksView user={user} />}
          {route.name === 'api-reference' && <ApiReference />}
          {route.name === 'tasks' && <TaskInbox narrow={narrow} selected={route.task} onChanged={() => void loadTaskCount()} />}
          {route.name === 'trash' && <TrashView narrow={narrow} onRestored={onRestored} />}
          {route.name === 'search' && <SearchView key={`${route.q}:${route.mode}`} q={route.q} mode={route.mode} />}
          {route.name === 'not-found' && (
            <div className="empty" role="alert" data-testid="not-found">
              <h2>Page not found</h2>
              <p className="muted">There is nothing at {window.location.pathname}. The link may be mistyped or out of date.</p>
              <button type="button" className="primary" onClick={() => navigate('/')}>
                Go to your documents
              </button>
            </div>
          )}
          {route.name === 'home' && !narrow && (
            <div className="empty">
              <h2>Welcome{docs.length ? ' back' : ''}</h2>
              <p className="muted">{docs.length ? 'Pick a document on the left, or start a new one.' : 'Create your first document to start writing.'}</p>
            </div>
          )}
        </main>
      </div>
      {collectionDialog?.mode === 'new' && <PromptDialog title="New collection" label="Name" initial="" confirmLabel="Create" maxLength={120} onAnswer={(v) => void answerCollection(v)} />}
      {collectionDialog?.mode === 'rename' && (
        <PromptDialog title="Rename collection" label="Name" initial={collectionDialog.c.name} confirmLabel="Rename" maxLength={120} onAnswer={(v) => void answerCollection(v)} />
      )}
      {collectionDialog?.mode === 'delete' && (
        <ConfirmDialog title={`Delete “${collectionDialog.c.name}”?`} confirmLabel="Delete collection" danger onAnswer={(yes) => void answerCollection(yes)}>
          <p>Its documents and collections move up one level. No document is deleted.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
