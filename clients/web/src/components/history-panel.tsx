/**
 * A document's version history: its versions newest first (named ones by their name,
 * restores as "Restored …", the rest as automatic saves), when and by whom, older pages on
 * request, and "Save version…" for those who may edit. Beside the text on a wide screen, a
 * full-screen sheet on a phone. Choosing a version opens it read-only (see version-preview).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Version } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { Avatar } from './avatar.js';
import { relativeTime } from './comments-panel.js';
import { ClipboardCheck, History, Save, X } from 'lucide-react';
import { escapeCloses } from './panel-keys.js';

/** How many versions one page asks for. */
const PAGE = 30;
/**
 * How often an open, visible list is read again. Versions saved or restored by others send
 * no signal to this page (comments do, over the socket), so the list is read when the panel
 * opens, every this often while it is open, and when the page becomes visible again.
 */
const REFRESH_MS = 30_000;

/** A user id's name among the people the app knows; "Someone" for anyone else. */
export type NameOf = (userId: string | null) => string;

/** The restore versions the server names "Restored from 2026-12-05 08:53:38 UTC" (an automatic version's time) read better in local time. */
export function versionTitle(v: Version): string {
  if (v.kind === 'named') return v.name ?? 'Named version';
  if (v.kind === 'restore') {
    const name = v.name ?? 'Restored';
    const at = /^Restored from (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/.exec(name);
    return at ? `Restored from ${new Date(`${at[1]}T${at[2]}Z`).toLocaleString()}` : name;
  }
  return 'Automatic save';
}

/** "Ann", "Ann and Bo", "Ann, Bo and 2 others". */
export function authorList(ids: string[], nameOf: NameOf): string {
  const names = [...new Set(ids.map(nameOf))];
  if (names.length === 0) return '';
  if (names.length === 1) return names[0]!;
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} other${names.length === 3 ? '' : 's'}`;
}

interface Props {
  documentId: string;
  canWrite: boolean;
  nameOf: NameOf;
  /** The version being looked at, marked in the list. */
  selected: string | null;
  onSelect: (v: Version) => void;
  /** "Save version…" (asks for the name; the panel reloads when `reload` changes). */
  onSave: () => void;
  /** Changes when the list should be read again (a version saved or restored here). */
  reload: number;
  sheet: boolean;
  onClose: () => void;
  /** Shows the document's reviews (their decisions are part of its history) in place of this panel. */
  onReviews?: () => void;
}

export function HistoryPanel({ documentId, canWrite, nameOf, selected, onSelect, onSave, reload, sheet, onClose, onReviews }: Props) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const closeButton = useRef<HTMLButtonElement>(null);
  // Only the latest read is shown (a reload may overtake an older page's answer).
  const asked = useRef(0);
  /** Older pages were added below the first: a refresh keeps them (and their cursor). */
  const olderShown = useRef(false);

  const loadFirst = useCallback(async () => {
    const n = ++asked.current;
    const r = await client.listVersions(documentId, { limit: PAGE });
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setError(null);
    olderShown.current = false;
    setVersions(r.value.versions);
    setCursor(r.value.nextCursor);
  }, [documentId]);
  useEffect(() => {
    void loadFirst();
  }, [loadFirst, reload]);

  // The periodic read: the newest page again, on top of the older pages already shown. A
  // failure says nothing (the next one may do better); any other read overtaking it wins.
  const refresh = useCallback(async () => {
    const n = asked.current;
    const r = await client.listVersions(documentId, { limit: PAGE });
    if (n !== asked.current || !r.ok) return;
    const fresh = r.value.versions;
    setError(null);
    if (!olderShown.current) {
      setVersions(fresh);
      setCursor(r.value.nextCursor);
      return;
    }
    const ids = new Set(fresh.map((x) => x.id));
    setVersions((v) => [...fresh, ...(v ?? []).filter((x) => !ids.has(x.id))]);
  }, [documentId]);
  useEffect(() => {
    const visible = () => document.visibilityState === 'visible';
    const timer = setInterval(() => {
      if (visible()) void refresh();
    }, REFRESH_MS);
    const onVisibility = () => {
      if (visible()) void refresh();
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [refresh]);

  const loadOlder = async () => {
    if (!cursor) return;
    const n = asked.current;
    setLoadingMore(true);
    const r = await client.listVersions(documentId, { cursor, limit: PAGE });
    setLoadingMore(false);
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setError(null);
    olderShown.current = true;
    setVersions((v) => {
      const seen = new Set((v ?? []).map((x) => x.id));
      return [...(v ?? []), ...r.value.versions.filter((x) => !seen.has(x.id))];
    });
    setCursor(r.value.nextCursor);
  };

  // As a sheet it covers the page: the focus moves into it.
  useEffect(() => {
    if (sheet) closeButton.current?.focus();
  }, [sheet]);

  return (
    <aside
      className={`comments-panel history-panel ${sheet ? 'sheet' : ''}`}
      aria-label="Version history"
      data-testid="history-panel"
      role={sheet ? 'dialog' : undefined}
      aria-modal={sheet ? true : undefined}
      onKeyDown={escapeCloses(onClose)}
    >
      <div className="comments-head">
        <h2>
          <History size={16} aria-hidden /> Version history
        </h2>
        <button ref={closeButton} type="button" className="icon-button" aria-label="Close version history" title="Close version history (Esc)" onClick={onClose}>
          <X size={18} aria-hidden />
        </button>
      </div>
      {(canWrite || onReviews) && (
        <div className="history-actions">
          {canWrite && (
            <button type="button" onClick={onSave}>
              <Save size={15} aria-hidden /> Save version…
            </button>
          )}
          {onReviews && (
            <button type="button" onClick={onReviews}>
              <ClipboardCheck size={15} aria-hidden /> Reviews and decisions
            </button>
          )}
        </div>
      )}
      {error && (
        <p className="error history-error" role="alert">
          {error}
        </p>
      )}
      <div className="version-list-wrap">
        {versions === null ? (
          !error && <p className="muted empty-comments">Loading versions…</p>
        ) : versions.length === 0 ? (
          <p className="muted empty-comments">No versions yet. Versions are saved automatically as people edit{canWrite ? ', or save one yourself with “Save version…”' : ''}.</p>
        ) : (
          <ol className="version-list" aria-label="Versions, newest first">
            {versions.map((v) => (
              <li key={v.id}>
                <VersionItem v={v} nameOf={nameOf} current={v.id === selected} onSelect={() => onSelect(v)} />
              </li>
            ))}
          </ol>
        )}
        {cursor && (
          <button type="button" className="link show-older" onClick={() => void loadOlder()} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Show older'}
          </button>
        )}
      </div>
    </aside>
  );
}

function VersionItem({ v, nameOf, current, onSelect }: { v: Version; nameOf: NameOf; current: boolean; onSelect: () => void }) {
  const authors = authorList(v.authors, nameOf);
  const when = new Date(v.createdAt);
  return (
    <button type="button" className={`version-item ${v.kind}`} aria-current={current ? 'true' : undefined} data-testid="version-item" data-kind={v.kind} onClick={onSelect}>
      <span className="version-title">{versionTitle(v)}</span>
      <span className="version-meta">
        <time dateTime={v.createdAt} title={when.toLocaleString()}>
          {relativeTime(v.createdAt)}
        </time>
        {v.kind === 'auto' ? null : <span className="version-kind">{v.kind === 'named' ? ' · Named version' : ' · Restore'}</span>}
      </span>
      {authors && (
        <span className="version-authors">
          <span className="avatars" aria-hidden>
            {[...new Set(v.authors)].slice(0, 3).map((id) => (
              <Avatar key={id} name={nameOf(id)} seed={id} size="sm" />
            ))}
          </span>
          <span>{authors}</span>
        </span>
      )}
    </button>
  );
}
