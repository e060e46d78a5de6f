/**
 * A document's comments: threads in the order of the text they are on (comments on the
 * whole document first, threads whose text was deleted last), each with its quote, replies,
 * a reply box, resolve / reopen, edit (own) and delete (own, or as the document's admin).
 * Open and resolved threads are shown apart. Comment boxes suggest people after `@`; a
 * mention is kept in the body as `@[Name](user:<id>)` and shown as "@Name".
 */
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Result } from '../../../sdk/index.js';
import { MAX_COMMENT_CHARS, type Comment } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { Avatar } from './avatar.js';
import { ConfirmDialog } from './menu.js';
import { Check, MessageSquare, Pencil, RotateCcw, Trash2, X } from 'lucide-react';

export interface Person {
  id: string;
  name: string;
  email?: string;
}

export interface Draft {
  start: string;
  end: string;
  quote: string;
}

export interface Thread {
  root: Comment;
  replies: Comment[];
}

const MENTION = /@\[([^\]\n]{1,200})\]\(user:([0-9a-fA-F-]{36})\)/g;

/**
 * Threads with their replies, in the order of the text they are on. `textOrder` (the
 * editor's view: threads whose text is there, in order) wins over the server's offsets,
 * which date from the last read: a thread whose text was just deleted shows as detached.
 */
export function threadsOf(comments: Comment[], textOrder: string[] | null = null): Thread[] {
  const live = textOrder && new Map(textOrder.map((id, i) => [id, i]));
  const roots = comments
    .filter((c) => c.parentId === null)
    .map((c) => {
      if (!live || !c.anchor) return c;
      const i = live.get(c.id);
      return { ...c, anchor: { ...c.anchor, detached: i === undefined, from: i ?? null } };
    });
  const replies = new Map<string, Comment[]>();
  for (const c of comments) if (c.parentId) replies.set(c.parentId, [...(replies.get(c.parentId) ?? []), c]);
  const rank = (c: Comment) => (c.anchor === null ? -1 : c.anchor.detached || c.anchor.from === null ? Number.MAX_SAFE_INTEGER : c.anchor.from);
  return roots
    .map((root) => ({ root, replies: (replies.get(root.id) ?? []).sort((a, b) => a.createdAt.localeCompare(b.createdAt)) }))
    .sort((a, b) => rank(a.root) - rank(b.root) || a.root.createdAt.localeCompare(b.root.createdAt));
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", then the date. */
export function relativeTime(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86_400) return `${Math.round(s / 86_400)} d ago`;
  return new Date(iso).toLocaleDateString();
}

/** A body as people read it: mentions as "@Name" chips. */
export function CommentBody({ body }: { body: string }) {
  const parts: React.ReactNode[] = [];
  let last = 0;
  for (const m of body.matchAll(MENTION)) {
    if (m.index > last) parts.push(body.slice(last, m.index));
    parts.push(
      <span key={m.index} className="mention" data-user={m[2]}>
        @{m[1]}
      </span>,
    );
    last = m.index + m[0].length;
  }
  if (last < body.length) parts.push(body.slice(last));
  return <p className="comment-body">{parts}</p>;
}

/**
 * A sheet covers the page: when it closes (Escape, its close button), the focus goes back to
 * what had it when the sheet opened (the button that opened it), unless it has moved on to
 * something still on the page meanwhile, or that element is gone.
 */
export function useReturnFocus(sheet: boolean): void {
  // What has the focus at the first render, before the sheet takes it.
  const opener = useRef<Element | null | undefined>(undefined);
  if (opener.current === undefined) opener.current = document.activeElement;
  useEffect(() => {
    if (!sheet) return;
    const from = opener.current;
    return () => {
      const now = document.activeElement;
      if (from instanceof HTMLElement && from.isConnected && (!now || now === document.body || !now.isConnected)) from.focus();
    };
  }, [sheet]);
}

const mentionName = (name: string) => name.replace(/[[\]()\n]/g, ' ').trim() || 'someone';

/** A comment box: Ctrl+Enter posts; `@` suggests people. */
function Composer({
  label,
  placeholder,
  submitLabel,
  people,
  initial = '',
  autoFocus,
  onSubmit,
  onCancel,
  rows = 2,
  extra,
}: {
  rows?: number;
  /** Shown at the start of the buttons' row (a thread's Resolve). */
  extra?: React.ReactNode;
  label: string;
  placeholder: string;
  submitLabel: string;
  people: Person[];
  initial?: string;
  autoFocus?: boolean;
  onSubmit: (body: string) => Promise<boolean>;
  onCancel?: () => void;
}) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [query, setQuery] = useState<{ at: number; q: string } | null>(null);
  const [pick, setPick] = useState(0);
  const box = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  useEffect(() => {
    if (autoFocus) box.current?.focus();
  }, [autoFocus]);

  const matches = useMemo(() => {
    if (!query) return [];
    const q = query.q.toLowerCase();
    return people.filter((p) => p.name.toLowerCase().includes(q) || (p.email ?? '').toLowerCase().startsWith(q)).slice(0, 6);
  }, [query, people]);

  const track = (value: string, caret: number) => {
    const m = /(^|\s)@([^\s@[\]()]{0,30})$/.exec(value.slice(0, caret));
    setQuery(m ? { at: caret - m[2]!.length - 1, q: m[2]! } : null);
    setPick(0);
  };
  const insert = (p: Person) => {
    if (!query) return;
    const caret = box.current?.selectionStart ?? text.length;
    const mention = `@[${mentionName(p.name)}](user:${p.id}) `;
    const next = text.slice(0, query.at) + mention + text.slice(caret);
    setText(next);
    setQuery(null);
    const at = query.at + mention.length;
    requestAnimationFrame(() => {
      box.current?.focus();
      box.current?.setSelectionRange(at, at);
    });
  };
  const submit = async () => {
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    const done = await onSubmit(body);
    setBusy(false);
    if (done) setText('');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (matches.length > 0) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        setPick((i) => (i + (e.key === 'ArrowDown' ? 1 : -1) + matches.length) % matches.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        insert(matches[Math.min(pick, matches.length - 1)]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setQuery(null);
        return;
      }
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && onCancel) {
      e.preventDefault();
      e.stopPropagation();
      onCancel();
    }
  };
  const open = matches.length > 0;
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <div className="composer-field">
        <textarea
          ref={box}
          aria-label={label}
          placeholder={placeholder}
          rows={rows}
          value={text}
          maxLength={MAX_COMMENT_CHARS}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={listId}
          aria-activedescendant={open ? `${listId}-${Math.min(pick, matches.length - 1)}` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            track(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setQuery(null), 150)}
        />
        {open && (
          <ul className="menu mention-list" role="listbox" id={listId} aria-label="People">
            {matches.map((p, i) => (
              <li
                key={p.id}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === pick}
                className="menu-item"
                onMouseDown={(e) => {
                  e.preventDefault();
                  insert(p);
                }}
              >
                <Avatar name={p.name} seed={p.id} size="sm" /> <span>{p.name}</span>
                {p.email && <span className="muted">{p.email}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="composer-actions">
        {extra}
        {onCancel && (
          <button type="button" className="link" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="primary" disabled={busy || !text.trim()}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

interface PanelProps {
  documentId: string;
  comments: Comment[] | null;
  /** Threads whose text is in the document, in text order, as the editor sees it now (null: not known). */
  textOrder: string[] | null;
  selfId: string;
  isAdmin: boolean;
  canComment: boolean;
  people: Person[];
  /** A selection waiting for its first comment. */
  draft: Draft | null;
  onDraftDone: () => void;
  active: string | null;
  onSelect: (id: string | null) => void;
  /** Something was posted or changed here: read the list again. */
  onChanged: () => void;
  /** Phone layout: a full-screen sheet with a close button. */
  sheet: boolean;
  onClose: () => void;
}

export function CommentsPanel({ documentId, comments, textOrder, selfId, isAdmin, canComment, people, draft, onDraftDone, active, onSelect, onChanged, sheet, onClose }: PanelProps) {
  const [filter, setFilter] = useState<'open' | 'resolved'>('open');
  const [error, setError] = useState<string | null>(null);
  const threads = useMemo(() => threadsOf(comments ?? [], textOrder), [comments, textOrder]);
  const shown = threads.filter((t) => (filter === 'open' ? t.root.resolvedAt === null : t.root.resolvedAt !== null));
  const openCount = threads.filter((t) => t.root.resolvedAt === null).length;
  const list = useRef<HTMLDivElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  useReturnFocus(sheet);
  // As a sheet it covers the page: the focus moves into it (a new comment's box takes it itself).
  useEffect(() => {
    if (sheet && !draft) closeButton.current?.focus();
  }, [sheet]);

  // A thread chosen elsewhere (its highlight clicked) is shown, under its filter, and scrolled to.
  useEffect(() => {
    if (!active) return;
    const t = threads.find((x) => x.root.id === active);
    if (t) setFilter(t.root.resolvedAt === null ? 'open' : 'resolved');
    requestAnimationFrame(() => list.current?.querySelector(`[data-thread-id="${active}"]`)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' }));
  }, [active]);
  useEffect(() => {
    if (draft) setFilter('open');
  }, [draft]);

  const run: Run = async (p) => {
    const r = await p;
    if (!r.ok) {
      setError(describeError(r.error));
      return false;
    }
    setError(null);
    onChanged();
    return true;
  };

  return (
    <aside
      className={`comments-panel ${sheet ? 'sheet' : ''}`}
      aria-label="Comments"
      data-testid="comments-panel"
      role={sheet ? 'dialog' : undefined}
      aria-modal={sheet ? true : undefined}
      onKeyDown={(e) => {
        if (sheet && e.key === 'Escape' && !e.defaultPrevented) onClose();
      }}
    >
      <div className="comments-head">
        <h2>Comments</h2>
        <button ref={closeButton} type="button" className="icon-button" aria-label="Close comments" title="Close comments (Esc)" onClick={onClose}>
          <X size={18} aria-hidden />
        </button>
      </div>
      <div className="segmented comments-filter" role="group" aria-label="Show">
        <button type="button" aria-pressed={filter === 'open'} onClick={() => setFilter('open')}>
          Open ({openCount})
        </button>
        <button type="button" aria-pressed={filter === 'resolved'} onClick={() => setFilter('resolved')}>
          Resolved ({threads.length - openCount})
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {draft && canComment && (
        <div className="thread draft" data-testid="comment-draft">
          <blockquote className="quote">{draft.quote}</blockquote>
          <Composer
            key={draft.start}
            label="Comment on the selected text"
            placeholder="Add a comment… (@ to mention)"
            submitLabel="Comment"
            people={people}
            autoFocus
            onSubmit={async (body) => {
              const ok = await run(client.createComment(documentId, { body, anchor: { start: draft.start, end: draft.end } }));
              if (ok) onDraftDone();
              return ok;
            }}
            onCancel={onDraftDone}
          />
        </div>
      )}
      <div className="thread-list" ref={list}>
        {comments === null ? (
          <p className="muted">Loading comments…</p>
        ) : shown.length === 0 ? (
          <p className="muted empty-comments">{filter === 'open' ? (threads.length ? 'No open comments.' : 'No comments yet. Select text to comment on it.') : 'No resolved comments.'}</p>
        ) : (
          shown.map((t) => (
            <ThreadView
              key={t.root.id}
              thread={t}
              documentId={documentId}
              selfId={selfId}
              isAdmin={isAdmin}
              canComment={canComment}
              people={people}
              active={active === t.root.id}
              onSelect={() => onSelect(t.root.id)}
              run={run}
            />
          ))
        )}
      </div>
      {canComment && filter === 'open' && (
        <div className="whole-doc">
          <Composer
            label="Comment on the whole document"
            placeholder="Comment on the whole document…"
            submitLabel="Comment"
            people={people}
            onSubmit={(body) => run(client.createComment(documentId, { body }))}
          />
        </div>
      )}
    </aside>
  );
}

type Run = <T>(p: Promise<Result<T>>) => Promise<boolean>;

function ThreadView({
  thread,
  documentId,
  selfId,
  isAdmin,
  canComment,
  people,
  active,
  onSelect,
  run,
}: {
  thread: Thread;
  documentId: string;
  selfId: string;
  isAdmin: boolean;
  canComment: boolean;
  people: Person[];
  active: boolean;
  onSelect: () => void;
  run: Run;
}) {
  const { root, replies } = thread;
  const resolved = root.resolvedAt !== null;
  const anchor = root.anchor;
  const resolveButton = (
    <button type="button" className="resolve" onClick={() => void run(client.updateComment(documentId, root.id, { resolved: !resolved }))}>
      {resolved ? <RotateCcw size={15} aria-hidden /> : <Check size={15} aria-hidden />} {resolved ? 'Reopen' : 'Resolve'}
    </button>
  );
  return (
    <section
      className={`thread ${active ? 'active' : ''} ${resolved ? 'resolved' : ''}`}
      data-thread-id={root.id}
      data-testid="comment-thread"
      aria-label={`Comment by ${root.author.name}`}
      onClick={(e) => {
        if (!(e.target as HTMLElement).closest('button, textarea, a, input, [role=option]')) onSelect();
      }}
    >
      {anchor ? (
        <>
          {anchor.detached && <p className="detached-note">The text this was on was deleted</p>}
          <button type="button" className={`quote ${anchor.detached ? 'detached' : ''}`} onClick={onSelect} aria-label={`Show the text: ${anchor.quote}`} disabled={anchor.detached}>
            {anchor.quote}
          </button>
        </>
      ) : (
        <p className="whole-doc-note">
          <MessageSquare size={14} aria-hidden /> On the whole document
        </p>
      )}
      <CommentItem comment={root} documentId={documentId} selfId={selfId} isAdmin={isAdmin} people={people} run={run} isThread />
      {replies.map((r) => (
        <CommentItem key={r.id} comment={r} documentId={documentId} selfId={selfId} isAdmin={isAdmin} people={people} run={run} />
      ))}
      {resolved && root.resolvedBy && (
        <p className="muted resolved-note">
          Resolved by {root.resolvedBy.name} · {relativeTime(root.resolvedAt!)}
        </p>
      )}
      {canComment &&
        (resolved ? (
          <div className="composer-actions">{resolveButton}</div>
        ) : (
          <Composer
            label={`Reply to ${root.author.name}`}
            placeholder="Reply… (@ to mention)"
            submitLabel="Reply"
            rows={1}
            people={people}
            extra={resolveButton}
            onSubmit={(body) => run(client.createComment(documentId, { body, parentId: root.id }))}
          />
        ))}
    </section>
  );
}

function CommentItem({
  comment,
  documentId,
  selfId,
  isAdmin,
  people,
  run,
  isThread,
}: {
  comment: Comment;
  documentId: string;
  selfId: string;
  isAdmin: boolean;
  people: Person[];
  run: Run;
  isThread?: boolean;
}) {
  const [editing, setEditing] = useState(false);
  const [confirm, setConfirm] = useState(false);
  const own = comment.author.id === selfId;
  return (
    <div className={`comment ${isThread ? 'first' : 'reply'}`} data-testid="comment">
      <div className="comment-head">
        <Avatar name={comment.author.name} seed={comment.author.id ?? comment.author.name} size="sm" />
        <span className="comment-author">{comment.author.name}</span>
        <time className="muted" dateTime={comment.createdAt} title={new Date(comment.createdAt).toLocaleString()}>
          {relativeTime(comment.createdAt)}
          {comment.editedAt ? ' · edited' : ''}
        </time>
        <span className="comment-tools">
          {own && !editing && (
            <button type="button" className="icon-button" aria-label="Edit comment" title="Edit" onClick={() => setEditing(true)}>
              <Pencil size={14} aria-hidden />
            </button>
          )}
          {(own || isAdmin) && (
            <button type="button" className="icon-button" aria-label={isThread ? 'Delete thread' : 'Delete comment'} title="Delete" onClick={() => setConfirm(true)}>
              <Trash2 size={14} aria-hidden />
            </button>
          )}
        </span>
      </div>
      {editing ? (
        <Composer
          label="Edit comment"
          placeholder="Comment…"
          submitLabel="Save"
          people={people}
          initial={comment.body}
          autoFocus
          onSubmit={async (body) => {
            const ok = await run(client.updateComment(documentId, comment.id, { body }));
            if (ok) setEditing(false);
            return ok;
          }}
          onCancel={() => setEditing(false)}
        />
      ) : (
        <CommentBody body={comment.body} />
      )}
      {confirm && (
        <ConfirmDialog
          title={isThread ? 'Delete this thread?' : 'Delete this comment?'}
          confirmLabel="Delete"
          danger
          onAnswer={(yes) => {
            setConfirm(false);
            if (yes) void run(client.deleteComment(documentId, comment.id));
          }}
        >
          <p>{isThread ? 'The comment and all its replies will be removed for everyone.' : 'The reply will be removed for everyone.'}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
