/**
 * One open document: title, status (saved / saving / offline with waiting changes),
 * presence, classification, sharing, and the collaborative editor. On narrow screens it
 * is the review view: read first (editing is one tap away when allowed), with who is
 * editing and previous/next to move through the list.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { openDocument, type DocumentMeta, type DocumentSession, type DocumentStatus, type QuireError, type SessionUser } from '../../../sdk/index.js';
import { MAX_TITLE_CHARS } from '../../../../contract/api.js';
import { client, colorFor, describeError, forgetOffline, offlineStore, recordPending, rememberOffline } from '../api.js';
import { navigate } from '../router.js';
import { ClassificationBadge } from './classification-badge.js';
import { CollabEditor } from './editor.js';
import { Presence } from './presence.js';
import { ShareDialog } from './share-dialog.js';

interface Props {
  id: string;
  user: SessionUser;
  /** How the user is shown to others (their display name, else their email's local part). */
  name: string;
  docs: DocumentMeta[];
  narrow: boolean;
  online: boolean;
  onRenamed: (meta: DocumentMeta) => void;
}

const ERRORS: Record<string, string> = {
  access_revoked: 'You no longer have access',
  document_deleted: 'This document was deleted',
  document_too_large: 'This document is too large to edit',
  signed_out: 'Signed out',
  token_expired: 'Your sign-in could not be renewed: sign in again',
  invalid_token: 'Your sign-in could not be renewed: sign in again',
  forbidden: 'You do not have access',
};

export function statusText(s: DocumentStatus | null): string {
  if (!s) return 'Opening…';
  const waiting = `${s.pendingChanges} change${s.pendingChanges === 1 ? '' : 's'} waiting`;
  if (s.error) return ERRORS[s.error] ?? 'Unavailable right now';
  if (s.connection === 'offline') return s.pendingChanges ? `Offline · ${waiting}` : 'Offline · saved on this device';
  if (s.connection !== 'connected') return s.pendingChanges ? `Connecting… · ${waiting}` : 'Connecting…';
  if (!s.synced) return 'Syncing…';
  return s.pendingChanges ? 'Saving…' : 'Saved';
}

export function DocumentView({ id, user, name, docs, narrow, online, onRenamed }: Props) {
  const cached = docs.find((d) => d.id === id) ?? null;
  const [meta, setMeta] = useState<DocumentMeta | null>(cached);
  const [metaError, setMetaError] = useState<QuireError | null>(null);
  const [metaNotice, setMetaNotice] = useState<string | null>(null);
  const [reopen, setReopen] = useState(0);
  const [session, setSession] = useState<DocumentSession | null>(null);
  const [status, setStatus] = useState<DocumentStatus | null>(null);
  const [title, setTitle] = useState(cached?.title ?? '');
  const [renameError, setRenameError] = useState<string | null>(null);
  const [sharing, setSharing] = useState(false);
  const [editing, setEditing] = useState(false);
  /** While the title field has focus, the server's copy does not overwrite what is being typed. */
  const titleFocused = useRef(false);
  // The title wraps: its box grows with the text (and with a narrower window).
  const titleBox = useRef<HTMLTextAreaElement>(null);
  useLayoutEffect(() => {
    const box = titleBox.current;
    if (!box) return;
    const fit = () => {
      box.style.height = 'auto';
      box.style.height = `${box.scrollHeight + 2}px`;
    };
    fit();
    const observer = new ResizeObserver(fit);
    observer.observe(box.parentElement ?? box);
    return () => observer.disconnect();
  }, [title]);
  const me = useMemo(() => ({ name, color: colorFor(user.id) }), [name, user.id]);
  // The session opens with the presence known then; a later name change updates it in place
  // (the editor's caret label and the awareness field) instead of reopening the document.
  const meAtOpen = useRef(me);
  meAtOpen.current = me;

  useEffect(() => {
    let live = true;
    void client.getDocument(id).then((r) => {
      if (!live) return;
      if (r.ok) {
        setMeta(r.value);
        if (!titleFocused.current) setTitle(r.value.title);
        setMetaError(null);
        setMetaNotice(null);
      } else if (r.error.status === 404) {
        // Gone or never shared: nothing of it may stay on this device.
        setMetaError(r.error);
        void forgetOffline(user.id, id);
      } else if (r.error.code !== 'network_error') {
        setMetaNotice(describeError(r.error));
      }
    });
    return () => {
      live = false;
    };
  }, [id, online, user.id]);

  useEffect(() => {
    if (metaError) return;
    let live = true;
    let opened: DocumentSession | null = null;
    let off: (() => void) | null = null;
    void openDocument(client, id, { store: offlineStore, user: meAtOpen.current }).then((s) => {
      if (!live) {
        void s.destroy();
        return;
      }
      opened = s;
      rememberOffline(user.id, id);
      off = s.onStatus((st) => {
        setStatus(st);
        recordPending(user.id, id, st.pendingChanges);
        // Access is gone for good: remove this device's copy too.
        if (st.error === 'access_revoked' || st.error === 'document_deleted') void forgetOffline(user.id, id);
      });
      setSession(s);
    });
    return () => {
      live = false;
      off?.();
      void opened?.destroy();
      setSession(null);
      setStatus(null);
    };
  }, [id, metaError, user.id, reopen]);

  useEffect(() => {
    const previous = document.title;
    document.title = meta ? `${meta.title} · Quire` : 'Quire';
    return () => {
      document.title = previous;
    };
  }, [meta]);

  const discard = async () => {
    await session?.discardLocalChanges();
    setReopen((n) => n + 1);
  };

  if (metaError) {
    return (
      <div className="empty" role="alert">
        <h2>Cannot open this document</h2>
        <p>{describeError(metaError)}</p>
        <button type="button" onClick={() => navigate('/')}>
          Back to documents
        </button>
      </div>
    );
  }

  const access = status?.access ?? meta?.access ?? null;
  const canWrite = access === 'write' || access === 'admin';
  const isAdmin = meta?.access === 'admin';
  const editable = canWrite && !status?.error && (!narrow || editing);

  const rename = async () => {
    const t = title.trim();
    if (!meta || !t || t === meta.title) {
      setTitle(meta?.title ?? '');
      return;
    }
    const r = await client.renameDocument(id, t);
    if (r.ok) {
      setMeta({ ...meta, title: r.value.title });
      onRenamed(r.value);
      setRenameError(null);
    } else {
      setRenameError(describeError(r.error));
      setTitle(meta.title);
    }
  };

  const index = docs.findIndex((d) => d.id === id);
  const prev = index > 0 ? docs[index - 1] : undefined;
  const next = index >= 0 && index < docs.length - 1 ? docs[index + 1] : undefined;

  return (
    <article className={`document ${narrow ? 'review' : ''}`} data-testid={narrow ? 'review-view' : 'document-view'} aria-busy={!session}>
      <div className="doc-header">
        {narrow && (
          <button type="button" className="link back" onClick={() => navigate('/')}>
            ‹ Documents
          </button>
        )}
        {canWrite && !narrow ? (
          <div className="title-field">
            <textarea
              ref={titleBox}
              className="doc-title"
              aria-label="Title"
              aria-describedby="title-limit"
              rows={1}
              value={title}
              maxLength={MAX_TITLE_CHARS}
              onChange={(e) => setTitle(e.target.value.replace(/\s*\n\s*/g, ' '))}
              onFocus={() => {
                titleFocused.current = true;
              }}
              onBlur={() => {
                titleFocused.current = false;
                void rename();
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  (e.target as HTMLTextAreaElement).blur();
                }
                if (e.key === 'Escape') setTitle(meta?.title ?? '');
              }}
            />
            <span id="title-limit" className={`title-limit ${title.length >= MAX_TITLE_CHARS ? 'at-limit' : ''}`} aria-live="polite">
              {title.length >= MAX_TITLE_CHARS - 50 ? `${title.length} of ${MAX_TITLE_CHARS} characters${title.length >= MAX_TITLE_CHARS ? ': titles cannot be longer' : ''}` : ''}
            </span>
          </div>
        ) : (
          <h1 className="doc-title">{meta?.title ?? 'Document'}</h1>
        )}
        <div className="doc-tools">
          <span className="save-status" data-testid="save-status" data-pending={status?.pendingChanges ?? 0} data-connection={status?.connection ?? 'opening'}>
            {statusText(status)}
          </span>
          {access === 'read' && <span className="pill">Read only</span>}
          <ClassificationBadge id={id} online={online} />
          {isAdmin && !narrow && (
            <button type="button" onClick={() => setSharing(true)}>
              Share
            </button>
          )}
          {narrow && canWrite && (
            <button type="button" aria-pressed={editing} onClick={() => setEditing((e) => !e)}>
              {editing ? 'Done' : 'Edit'}
            </button>
          )}
        </div>
      </div>
      <Announcer status={status} />
      {metaNotice && <p className="notice">{metaNotice}</p>}
      {status && status.rejectedChanges > 0 && (
        <div className="notice" role="alert">
          {status.rejectedChanges} change{status.rejectedChanges === 1 ? '' : 's'} made on this device could not be saved: you can only read this document now.{' '}
          <button type="button" onClick={discard}>
            Discard them and reload
          </button>
        </div>
      )}
      {renameError && (
        <p className="error" role="alert">
          {renameError}
        </p>
      )}
      {session && <Presence session={session} self={me} />}
      {session ? <CollabEditor key={session.id} session={session} user={me} editable={editable} toolbar={!narrow && canWrite} /> : <p className="muted loading">Loading document…</p>}
      {narrow && (
        <nav className="review-nav" aria-label="Move between documents">
          <button type="button" disabled={!prev} onClick={() => prev && navigate(`/d/${prev.id}`)}>
            ‹ Previous
          </button>
          <span className="muted">{index >= 0 ? `${index + 1} of ${docs.length}` : ''}</span>
          <button type="button" disabled={!next} onClick={() => next && navigate(`/d/${next.id}`)}>
            Next ›
          </button>
        </nav>
      )}
      {sharing && meta && <ShareDialog documentId={id} title={meta.title} selfId={user.id} onClose={() => setSharing(false)} />}
    </article>
  );
}

/**
 * Tells screen readers what matters (going offline, coming back, everything saved after
 * being offline, losing access) without announcing every "Saving…/Saved" flip while typing.
 */
function Announcer({ status }: { status: DocumentStatus | null }) {
  const [message, setMessage] = useState('');
  const last = useRef<{ connection: string; error: string | null } | null>(null);
  useEffect(() => {
    if (!status) return;
    const prev = last.current;
    last.current = { connection: status.connection, error: status.error };
    if (!prev) return;
    if (status.error && status.error !== prev.error) setMessage(statusText(status));
    else if (status.connection === 'offline' && prev.connection !== 'offline') setMessage('Offline. Your changes are kept on this device.');
    else if (status.connection === 'connected' && prev.connection !== 'connected' && prev.connection !== 'connecting') setMessage('Back online. Saving your changes.');
  }, [status]);
  return (
    <span className="visually-hidden" role="status" aria-live="polite">
      {message}
    </span>
  );
}
