/**
 * One open document: title, status (saved / saving / offline with waiting changes),
 * presence, classification, sharing, comments, version history (a version opens read-only
 * in place of the text, to compare or restore), and the collaborative editor. On narrow screens it
 * is the review view: read first (editing is one tap away when allowed), with who is
 * editing and previous/next to move through the list.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Editor } from '@tiptap/core';
import { TextSelection } from '@tiptap/pm/state';
import { canEdit, openDocument, type Collection, type DocumentMeta, type DocumentSession, type DocumentStatus, type QuireError, type SessionUser } from '../../../sdk/index.js';
import { MAX_TITLE_CHARS, type Comment, type Notification, type Review, type SinceSeen, type Version } from '../../../../contract/api.js';
import { client, colorFor, describeError, forgetOffline, offlineStore, recordPending, rememberOffline } from '../api.js';
import { navigate, type DocumentPanel } from '../router.js';
import { ClassificationBadge } from './classification-badge.js';
import { CollabEditor } from './editor.js';
import { CommentsPanel, type Draft, type Person } from './comments-panel.js';
import { revealThread, selectionAnchor } from '../editor/comments.js';
import { Presence } from './presence.js';
import { ShareDialog } from './share-dialog.js';
import { ChoiceDialog, ConfirmDialog, MenuButton, PromptDialog } from './menu.js';
import { ExportMenu } from './import-export.js';
import { useToast } from './toast.js';
import { HistoryPanel, type NameOf } from './history-panel.js';
import { ChangesSince, VersionPreview } from './version-preview.js';
import { AwayNotice, awayWorthTelling } from './since-seen.js';
import { ReviewBadge, ReviewsPanel, RequestReviewDialog } from './reviews-panel.js';
import { NOTIFICATION_EVENT } from './notification-bell.js';
import { ClipboardCheck, Copy, FilePlus2, FolderInput, History, LayoutTemplate, MessageSquare, MoreHorizontal, Save, Star, Trash2 } from 'lucide-react';

/** Longest version name, in characters. */
const MAX_VERSION_NAME = 200;

interface Props {
  id: string;
  user: SessionUser;
  /** How the user is shown to others (their display name, else their email's local part). */
  name: string;
  docs: DocumentMeta[];
  narrow: boolean;
  online: boolean;
  /** The workspace's collections (to move the document into one). */
  collections: Collection[];
  /** The document's details changed here (title, star, kind). */
  onChanged: (meta: DocumentMeta) => void;
  /** A document was made here (a copy, a template, a document from a template). */
  onCreated: (meta: DocumentMeta) => void;
  /** The user deleted it here (the workspace offers the undo). */
  onDeleted: (meta: DocumentMeta) => void;
  /** The document was deleted or the user lost access to it: take it off the list. */
  onGone: (id: string) => void;
  /** A comment a link points at (`?comment=<id>`): its thread opens in the comments panel. */
  comment?: string | null;
  /** A panel a link asks for (`?panel=reviews`). */
  panel?: DocumentPanel | null;
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
  // The SDK counts updates (about one per keystroke); people think in edits, so say that some wait.
  const waiting = 'unsaved changes kept on this device';
  if (s.error) return ERRORS[s.error] ?? 'Unavailable right now';
  if (s.connection === 'offline') return s.pendingChanges ? `Offline · ${waiting}` : 'Offline · saved on this device';
  if (s.connection !== 'connected') return s.pendingChanges ? `Connecting… · ${waiting}` : 'Connecting…';
  if (!s.synced) return 'Syncing…';
  return s.pendingChanges ? 'Saving…' : 'Saved';
}

export function DocumentView({ id, user, name, docs, narrow, online, collections, onChanged, onCreated, onDeleted, onGone, comment: linkedComment = null, panel: linkedPanel = null }: Props) {
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
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [moving, setMoving] = useState(false);
  const toast = useToast();
  const [editing, setEditing] = useState(false);
  /** While the title field has focus, the server's copy does not overwrite what is being typed. */
  const titleFocused = useRef(false);
  /** Renames made here: a details request that started before one answers with the old title. */
  const renames = useRef(0);
  const opened = useRef(false);
  const onGoneRef = useRef(onGone);
  onGoneRef.current = onGone;
  const me = useMemo(() => ({ name, color: colorFor(user.id), id: user.id }), [name, user.id]);
  // The session opens with the presence known then; a later name change updates it in place
  // (the editor's caret label and the awareness field) instead of reopening the document.
  const meAtOpen = useRef(me);
  meAtOpen.current = me;
  const [comments, setComments] = useState<Comment[] | null>(null);
  // The panel opens by itself (on a wide screen) when the document has open threads, and
  // otherwise stays out of the text's way until someone asks for it or starts a comment.
  const [panelOpen, setPanelOpen] = useState(false);
  const panelChosen = useRef(false);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [activeThread, setActiveThread] = useState<string | null>(null);
  /** The threads whose text is in this copy of the document, in text order (it follows every edit, before the server is asked again). */
  const [threadOrder, setThreadOrder] = useState<string[] | null>(null);
  const onThreadOrder = useCallback((order: string[]) => setThreadOrder((prev) => (prev && prev.join() === order.join() ? prev : order)), []);
  const [listedPeople, setListedPeople] = useState<Person[]>([]);
  // Version history: the panel (in place of the comments), the version shown read-only in
  // place of the text, and the questions it asks.
  const [historyOpen, setHistoryOpen] = useState(false);
  const [viewing, setViewing] = useState<Version | null>(null);
  const [historyReload, setHistoryReload] = useState(0);
  const [namingVersion, setNamingVersion] = useState(false);
  const [confirmRestore, setConfirmRestore] = useState<Version | null>(null);
  // Reviews: the document's reviews (the latest gives the header's badge), their panel (in
  // place of the comments and the history), and "Request review".
  const [reviews, setReviews] = useState<Review[] | null>(null);
  const [reviewsError, setReviewsError] = useState<string | null>(null);
  const [reviewsOpen, setReviewsOpen] = useState(false);
  const [requesting, setRequesting] = useState(false);
  const reviewsAsked = useRef(0);
  const fetchReviews = useCallback(async () => {
    const n = ++reviewsAsked.current;
    const r = await client.listReviews(id);
    if (n !== reviewsAsked.current) return;
    if (!r.ok) return setReviewsError(r.error.code === 'network_error' ? null : describeError(r.error));
    setReviewsError(null);
    setReviews(r.value);
  }, [id]);
  useEffect(() => {
    setReviews(null);
    setReviewsOpen(false);
    void fetchReviews();
  }, [fetchReviews]);
  // Decisions reach the people who asked as notifications: the badge and panel follow them.
  useEffect(() => {
    const on = (e: Event) => {
      if ((e as CustomEvent<Notification>).detail?.documentId === id) void fetchReviews();
    };
    window.addEventListener(NOTIFICATION_EVENT, on);
    return () => window.removeEventListener(NOTIFICATION_EVENT, on);
  }, [id, fetchReviews]);
  // Decisions by others who do not tell this user send no signal here: an open panel reads
  // the reviews again every half minute, and any open document when the page is shown again.
  useEffect(() => {
    if (reviewsOpen) void fetchReviews();
    const visible = () => document.visibilityState === 'visible';
    const timer = reviewsOpen ? setInterval(() => visible() && void fetchReviews(), 30_000) : null;
    const onVisibility = () => visible() && void fetchReviews();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      if (timer) clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [reviewsOpen, fetchReviews]);
  const openReviews = useCallback(() => {
    setHistoryOpen(false);
    setReviewsOpen(true);
  }, []);
  // "While you were away": what others changed since the user last had the document open,
  // the notice dismissed, and the changes shown in place of the text.
  const [away, setAway] = useState<SinceSeen | null>(null);
  const [awayDismissed, setAwayDismissed] = useState(false);
  const [showingAway, setShowingAway] = useState(false);
  const editorRef = useRef<Editor | null>(null);
  const onEditor = useCallback((e: Editor | null) => {
    editorRef.current = e;
  }, []);

  // Comments: read on open, again (a little later, once per burst) whenever anyone changes
  // one, and after every reconnect.
  // Answers may arrive out of order: only the latest request's is shown.
  const commentsAsked = useRef(0);
  const narrowRef = useRef(narrow);
  narrowRef.current = narrow;
  const fetchComments = useCallback(async () => {
    const n = ++commentsAsked.current;
    const r = await client.listComments(id);
    if (!r.ok || n !== commentsAsked.current) return;
    setComments(r.value);
    if (!panelChosen.current && !narrowRef.current && r.value.some((c) => c.parentId === null && c.resolvedAt === null)) setPanelOpen(true);
  }, [id]);
  useEffect(() => {
    panelChosen.current = false;
    setPanelOpen(false);
    setComments(null);
    setDraft(null);
    setActiveThread(null);
    void fetchComments();
  }, [fetchComments]);
  useEffect(() => {
    if (!session) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = session.onComments(() => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void fetchComments(), 150);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [session, fetchComments]);
  const highlightThreads = useMemo(
    () => (comments ?? []).filter((c) => c.parentId === null && c.anchor).map((c) => ({ id: c.id, start: c.anchor!.start, end: c.anchor!.end, resolved: c.resolvedAt !== null })),
    [comments],
  );
  const startComment = useCallback((anchor: Draft) => {
    panelChosen.current = true;
    setHistoryOpen(false);
    setReviewsOpen(false);
    setDraft(anchor);
    setActiveThread(null);
    setPanelOpen(true);
  }, []);
  const onThreadClick = useCallback((threadId: string) => {
    setHistoryOpen(false);
    setReviewsOpen(false);
    setActiveThread(threadId);
    setPanelOpen(true);
  }, []);
  const selectThread = useCallback((threadId: string | null) => {
    setActiveThread(threadId);
    if (threadId && editorRef.current) revealThread(editorRef.current, threadId);
  }, []);
  // Mod-Alt-M over a read-only text (which never has the keyboard focus): comment on the selection.
  const canCommentRef = useRef(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const e2 = editorRef.current;
      if (e.defaultPrevented || !e2 || !canCommentRef.current || !(e.ctrlKey || e.metaKey) || !e.altKey || e.code !== 'KeyM') return;
      const anchor = selectionAnchor(e2);
      if (!anchor) return;
      e.preventDefault();
      e2.view.dispatch(e2.state.tr.setSelection(TextSelection.create(e2.state.doc, e2.state.selection.to)));
      startComment(anchor);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [startComment]);
  // Mod-Alt-H: show or hide the version history.
  const canHistoryRef = useRef(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || !canHistoryRef.current || !(e.ctrlKey || e.metaKey) || !e.altKey || e.code !== 'KeyH') return;
      e.preventDefault();
      setReviewsOpen(false);
      setHistoryOpen((o) => !o);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => {
    setHistoryOpen(false);
    setViewing(null);
  }, [id]);
  // Asked once per opening, independently of the live connection: the server records "seen"
  // when a connection to the document closes, so the answer is about the previous visit.
  // Not asked again when the app comes back online with the document open: the user never
  // left, and what others wrote meanwhile merges into the text in front of them (the
  // dropped connection did record a "seen", which the next opening compares with).
  useEffect(() => {
    let live = true;
    setAway(null);
    setAwayDismissed(false);
    setShowingAway(false);
    void client
      .sinceSeen(id)
      .then((r) => {
        if (live && r.ok) setAway(r.value);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [id]);
  // Comments from everyone, and the people they came from, offered as mentions too.
  const mentionable = useMemo(() => {
    const seen = new Set([user.id, ...listedPeople.map((p) => p.id)]);
    const extra: Person[] = [];
    for (const c of comments ?? []) {
      if (c.author.id && !seen.has(c.author.id)) {
        seen.add(c.author.id);
        extra.push({ id: c.author.id, name: c.author.name });
      }
    }
    return [...listedPeople, ...extra];
  }, [listedPeople, comments, user.id]);
  // Names for the user ids of versions and changes: the people the app knows, else "Someone".
  const nameOf = useMemo<NameOf>(() => {
    const names = new Map<string, string>([...mentionable.map((p): [string, string] => [p.id, p.name]), [user.id, name]]);
    return (userId) => (userId && names.get(userId)) || 'Someone';
  }, [mentionable, user.id, name]);
  // People to mention: the workspace's (guests may not list them: then the people seen in the comments).
  useEffect(() => {
    let live = true;
    void client.listUsers().then((r) => {
      if (live && r.ok) setListedPeople(r.value.filter((u) => u.id !== user.id).map((u) => ({ id: u.id, name: u.displayName || u.email.replace(/@.*$/, ''), email: u.email })));
    });
    return () => {
      live = false;
    };
  }, [user.id]);

  useEffect(() => {
    let live = true;
    const renamesBefore = renames.current;
    void client.getDocument(id).then((r) => {
      if (!live) return;
      if (r.ok) {
        // For "recently viewed"; a failure here costs nothing the user would notice.
        if (!opened.current) void client.recordView(id);
        opened.current = true;
        // A rename made while this was on its way is newer than what it brings.
        if (renames.current !== renamesBefore) return;
        setMeta(r.value);
        if (!titleFocused.current) setTitle(r.value.title);
        setMetaError(null);
        setMetaNotice(null);
      } else if (r.error.status === 404) {
        // Gone or never shared: nothing of it may stay on this device, nor on the list.
        setMetaError(r.error);
        void forgetOffline(user.id, id);
        onGoneRef.current(id);
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
        // Access is gone for good: remove this device's copy too, and the list entry.
        if (st.error === 'access_revoked' || st.error === 'document_deleted') {
          void forgetOffline(user.id, id);
          onGoneRef.current(id);
        }
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

  // A link into the document: `?panel=` opens that panel, `?comment=` the comment's thread
  // (in the comments panel, marked in the text) once the comments are read.
  useEffect(() => {
    if (linkedPanel === 'reviews') openReviews();
    else if (linkedPanel === 'history') {
      setReviewsOpen(false);
      setHistoryOpen(true);
    } else if (linkedPanel === 'comments') {
      panelChosen.current = true;
      setHistoryOpen(false);
      setReviewsOpen(false);
      setPanelOpen(true);
    }
  }, [id, linkedPanel, openReviews]);
  const pendingComment = useRef<string | null>(null);
  useEffect(() => {
    pendingComment.current = linkedComment;
  }, [id, linkedComment]);
  useEffect(() => {
    const target = pendingComment.current;
    if (!target || !comments) return;
    pendingComment.current = null;
    const c = comments.find((x) => x.id === target);
    if (!c) {
      toast({ message: 'That comment was deleted.' });
      return;
    }
    panelChosen.current = true;
    setHistoryOpen(false);
    setReviewsOpen(false);
    setPanelOpen(true);
    selectThread(c.parentId ?? c.id);
  }, [comments, linkedComment, id, selectThread, toast]);

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
  const canWrite = canEdit(access);
  const canComment = access !== null && access !== 'read' && !status?.error;
  canCommentRef.current = canComment;
  const isAdmin = meta?.access === 'admin';
  const showingChanges = showingAway && awayWorthTelling(away, user.id) && !viewing;
  const editable = canWrite && !status?.error && (!narrow || editing) && !viewing && !showingChanges;
  canHistoryRef.current = Boolean(meta) && !status?.error;
  const sideOpen = historyOpen || panelOpen || reviewsOpen;
  const openThreads = (comments ?? []).filter((c) => c.parentId === null && c.resolvedAt === null).length;
  const commentsButton = (
    <button
      type="button"
      className="comments-toggle"
      aria-pressed={panelOpen && !historyOpen && !reviewsOpen}
      title="Show or hide comments"
      onClick={() => {
        panelChosen.current = true;
        // Comments take the history's (or the reviews') place beside the text.
        if (historyOpen || reviewsOpen) {
          setHistoryOpen(false);
          setReviewsOpen(false);
          setPanelOpen(true);
        } else setPanelOpen((o) => !o);
      }}
    >
      {/* An icon and the count, on a phone too: the header keeps its tools on one row. */}
      <MessageSquare size={16} aria-hidden /> {openThreads}
      <span className="visually-hidden"> open comments</span>
    </button>
  );

  // A title typed before the document's details arrived is saved too (it used to be dropped).
  const rename = async () => {
    const t = title.trim();
    if (!t || t === meta?.title) {
      setTitle(meta?.title ?? '');
      return;
    }
    const r = await client.renameDocument(id, t);
    if (r.ok) {
      renames.current++;
      setMeta(r.value);
      onChanged(r.value);
      setRenameError(null);
    } else {
      setRenameError(describeError(r.error));
      setTitle(meta?.title ?? '');
    }
  };

  const toggleStar = async () => {
    if (!meta) return;
    const starred = !meta.starred;
    const r = starred ? await client.starDocument(id) : await client.unstarDocument(id);
    if (!r.ok) return setMetaNotice(describeError(r.error));
    const next = { ...meta, starred };
    setMeta(next);
    onChanged(next);
  };
  const copy = async (as: 'copy' | 'template' | 'document') => {
    const r = await client.duplicateDocument(id, as === 'copy' ? {} : { kind: as });
    if (!r.ok) return setMetaNotice(describeError(r.error));
    onCreated(r.value);
    toast({ message: as === 'template' ? `Saved “${r.value.title}” as a template` : as === 'document' ? `Created “${r.value.title}” from the template` : `Created “${r.value.title}”` });
  };
  const move = async (to: string | null) => {
    setMoving(false);
    if (to === null || !meta) return;
    const r = await client.moveDocument(id, to || null);
    if (!r.ok) return setMetaNotice(describeError(r.error));
    setMeta(r.value);
    onChanged(r.value);
    toast({ message: `Moved to ${collectionPaths(collections).find((c) => c.value === to)?.label ?? 'the top level'}` });
  };
  const remove = async (yes: boolean) => {
    setConfirmDelete(false);
    if (!yes || !meta) return;
    const r = await client.deleteDocument(id);
    if (!r.ok) return setMetaNotice(describeError(r.error));
    onDeleted(meta);
  };

  const saveVersion = async (versionName: string | null) => {
    setNamingVersion(false);
    if (versionName === null) return;
    const r = await client.createVersion(id, versionName);
    if (!r.ok) return toast({ message: `Could not save the version: ${describeError(r.error)}`, tone: 'error' });
    setHistoryReload((n) => n + 1);
    toast({ message: `Saved version “${r.value.name ?? versionName}”`, ...(historyOpen ? {} : { action: { label: 'Show history', run: () => setHistoryOpen(true) } }) });
  };
  const restore = async (yes: boolean) => {
    const v = confirmRestore;
    setConfirmRestore(null);
    if (!yes || !v) return;
    const r = await client.restoreVersion(id, v.id);
    if (!r.ok) return toast({ message: `Could not restore the version: ${describeError(r.error)}`, tone: 'error' });
    setViewing(null);
    setHistoryReload((n) => n + 1);
    toast({ message: 'Restored' });
  };
  const selectVersion = (v: Version) => {
    setShowingAway(false);
    setViewing(v);
    // On a phone the version takes the screen the sheet had.
    if (narrow) setHistoryOpen(false);
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
            {/* The box grows with the title: a hidden copy of the text sizes the grid cell it shares with the textarea. */}
            <div className="title-grow" data-value={`${title} `}>
              <textarea
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
            </div>
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
          {access === 'comment' && <span className="pill">Can comment</span>}
          {meta && !status?.error && commentsButton}
          <ReviewBadge review={reviews?.[0]} onOpen={openReviews} />
          <ClassificationBadge id={id} online={online} active={!status?.error} />
          {meta && !status?.error && (
            <button
              type="button"
              className="icon-button star"
              aria-pressed={meta.starred}
              aria-label="Star"
              title={meta.starred ? 'Remove from starred' : 'Add to starred'}
              onClick={() => void toggleStar()}
            >
              <Star size={18} aria-hidden fill={meta.starred ? 'currentColor' : 'none'} />
            </button>
          )}
          {isAdmin && !narrow && (
            <button type="button" onClick={() => setSharing(true)} disabled={Boolean(status?.error)}>
              Share
            </button>
          )}
          {meta && !status?.error && <ExportMenu documentId={id} title={meta.title} />}
          {meta && !status?.error && (
            <MenuButton
              label="More actions"
              icon={<MoreHorizontal size={18} aria-hidden />}
              items={[
                ...(meta.kind === 'template'
                  ? [{ label: 'New document from this template', icon: <FilePlus2 size={16} aria-hidden />, run: () => void copy('document') }]
                  : [
                      { label: 'Duplicate', icon: <Copy size={16} aria-hidden />, run: () => void copy('copy') },
                      ...(canWrite && user.role !== 'guest' ? [{ label: 'Move to collection…', icon: <FolderInput size={16} aria-hidden />, run: () => setMoving(true) }] : []),
                      { label: 'Save as template', icon: <LayoutTemplate size={16} aria-hidden />, run: () => void copy('template') },
                    ]),
                {
                  label: 'Version history',
                  icon: <History size={16} aria-hidden />,
                  run: () => {
                    setReviewsOpen(false);
                    setHistoryOpen(true);
                  },
                },
                { label: 'Reviews', icon: <ClipboardCheck size={16} aria-hidden />, run: openReviews },
                ...(canWrite && user.role !== 'guest' ? [{ label: 'Request review…', icon: <ClipboardCheck size={16} aria-hidden />, run: () => setRequesting(true) }] : []),
                ...(canWrite ? [{ label: 'Save version…', icon: <Save size={16} aria-hidden />, run: () => setNamingVersion(true) }] : []),
                ...(isAdmin ? [{ label: 'Delete', icon: <Trash2 size={16} aria-hidden />, danger: true, run: () => setConfirmDelete(true) }] : []),
              ]}
            />
          )}
          {narrow && canWrite && !viewing && !showingChanges && (
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
      <div className={`doc-body ${sideOpen && !narrow ? 'with-comments' : ''}`}>
        <div className="doc-main">
          {awayWorthTelling(away, user.id) && !awayDismissed && !viewing && !showingChanges && (
            <AwayNotice seenAt={away.seenAt} diff={away.diff} selfId={user.id} nameOf={nameOf} onShow={() => setShowingAway(true)} onDismiss={() => setAwayDismissed(true)} />
          )}
          {showingChanges && awayWorthTelling(away, user.id) && <ChangesSince diff={away.diff} seenAt={away.seenAt} nameOf={nameOf} onBack={() => setShowingAway(false)} />}
          {viewing && (
            <VersionPreview documentId={id} version={viewing} canWrite={canWrite && !status?.error} nameOf={nameOf} onRestore={() => setConfirmRestore(viewing)} onBack={() => setViewing(null)} />
          )}
          {/* The live text stays open while a version is shown: it keeps receiving changes (a restore among them). */}
          <div className="live-text" hidden={viewing !== null || showingChanges}>
            {session && <Presence session={session} self={me} reading={!editable} />}
            {session ? (
              <CollabEditor
                key={session.id}
                session={session}
                user={me}
                editable={editable}
                toolbar={!narrow && canWrite}
                canComment={canComment}
                threads={highlightThreads}
                activeThread={activeThread}
                onComment={startComment}
                onThreadClick={onThreadClick}
                onThreadOrder={onThreadOrder}
                onEditor={onEditor}
              />
            ) : (
              <p className="muted loading">Loading document…</p>
            )}
          </div>
        </div>
        {reviewsOpen && (
          <ReviewsPanel
            reviews={reviews}
            error={reviewsError}
            nameOf={nameOf}
            canRequest={canWrite && user.role !== 'guest' && !status?.error}
            onRequest={() => setRequesting(true)}
            sheet={narrow}
            onClose={() => setReviewsOpen(false)}
          />
        )}
        {historyOpen && !reviewsOpen && (
          <HistoryPanel
            documentId={id}
            canWrite={canWrite && !status?.error}
            nameOf={nameOf}
            selected={viewing?.id ?? null}
            onSelect={selectVersion}
            onSave={() => setNamingVersion(true)}
            reload={historyReload}
            sheet={narrow}
            onClose={() => setHistoryOpen(false)}
            onReviews={openReviews}
          />
        )}
        {panelOpen && !historyOpen && !reviewsOpen && (
          <CommentsPanel
            documentId={id}
            comments={comments}
            textOrder={status?.synced && !status.error ? threadOrder : null}
            selfId={user.id}
            isAdmin={isAdmin}
            canComment={canComment}
            people={mentionable}
            draft={draft}
            onDraftDone={() => setDraft(null)}
            active={activeThread}
            onSelect={selectThread}
            onChanged={() => void fetchComments()}
            sheet={narrow}
            onClose={() => {
              panelChosen.current = true;
              setPanelOpen(false);
              setDraft(null);
            }}
          />
        )}
      </div>
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
      {moving && meta && (
        <ChoiceDialog
          title="Move to collection"
          label="Collection"
          options={[{ value: '', label: 'Top level (no collection)' }, ...collectionPaths(collections)]}
          initial={meta.collectionId ?? ''}
          confirmLabel="Move"
          onAnswer={(v) => void move(v)}
        />
      )}
      {requesting && (
        <RequestReviewDialog
          documentId={id}
          onDone={(review) => {
            setRequesting(false);
            if (!review) return;
            setReviews((list) => [review, ...(list ?? []).filter((x) => x.id !== review.id)]);
            toast({ message: `Review requested: ${review.workflowName}`, ...(reviewsOpen ? {} : { action: { label: 'Show reviews', run: openReviews } }) });
          }}
        />
      )}
      {namingVersion && <PromptDialog title="Save version" label="Version name" initial="" confirmLabel="Save version" maxLength={MAX_VERSION_NAME} onAnswer={(v) => void saveVersion(v)} />}
      {confirmRestore && (
        <ConfirmDialog title="Restore this version?" confirmLabel="Restore" onAnswer={(yes) => void restore(yes)}>
          <p>Everyone's open copy changes to it; the restore is itself a version, so it can be undone.</p>
        </ConfirmDialog>
      )}
      {confirmDelete && meta && (
        <ConfirmDialog title="Delete this document?" confirmLabel="Delete" danger onAnswer={(yes) => void remove(yes)}>
          <p>“{meta.title}” will be removed for everyone it is shared with. You can undo this right after.</p>
        </ConfirmDialog>
      )}
      {sharing && meta && (
        <ShareDialog
          documentId={id}
          title={meta.title}
          selfId={user.id}
          linkAccess={meta.linkAccess}
          onLinkAccess={(linkAccess) => {
            const next = { ...meta, linkAccess };
            setMeta(next);
            onChanged(next);
          }}
          onClose={() => setSharing(false)}
        />
      )}
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

/** Every collection as "Parent / Child", for choosing one. */
function collectionPaths(collections: Collection[]): { value: string; label: string }[] {
  const byId = new Map(collections.map((c) => [c.id, c]));
  const path = (c: Collection): string => {
    const names = [c.name];
    for (let p = c.parentId ? byId.get(c.parentId) : undefined, n = 0; p && n < 16; p = p.parentId ? byId.get(p.parentId) : undefined, n++) names.unshift(p.name);
    return names.join(' / ');
  };
  return collections.map((c) => ({ value: c.id, label: path(c) })).sort((a, b) => a.label.localeCompare(b.label));
}
