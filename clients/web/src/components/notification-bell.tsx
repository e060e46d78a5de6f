/**
 * The bell in the header: the unread count, kept live by the notification stream (the
 * server pushes each new notification and every read made elsewhere), and the list it opens
 * — newest first, unread ones emphasised, each going where it is about when chosen (and
 * marked read), "Mark all read", older pages on request. Beside the bell on a wide screen, a
 * full-screen sheet on a phone.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Notification } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { Avatar } from './avatar.js';
import { relativeTime } from './comments-panel.js';
import { Bell, CheckCheck, Clock, X } from 'lucide-react';

/** How many notifications one page asks for. */
const PAGE = 20;

/** The window event each live notification is announced with, for views that show what it is about (a document's reviews). */
export const NOTIFICATION_EVENT = 'quire:notification';

export function countLabel(n: number): string {
  return n > 99 ? '99+' : String(n);
}

interface Props {
  narrow: boolean;
  /** A new notification arrived live. */
  onNotification?: (n: Notification) => void;
}

export function NotificationBell({ narrow, onNotification }: Props) {
  const [unread, setUnread] = useState<number | null>(null);
  const [open, setOpen] = useState(false);
  const [items, setItems] = useState<Notification[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const onNotificationRef = useRef(onNotification);
  onNotificationRef.current = onNotification;
  // Only the latest read of the first page is shown.
  const asked = useRef(0);

  useEffect(() => {
    const stream = client.streamNotifications({
      onEvent: (e) => {
        setUnread(e.unread);
        if (e.type !== 'notification') return;
        const n = e.notification;
        setItems((list) => (list ? [n, ...list.filter((x) => x.id !== n.id)] : list));
        onNotificationRef.current?.(n);
        window.dispatchEvent(new CustomEvent(NOTIFICATION_EVENT, { detail: n }));
      },
    });
    return () => stream.close();
  }, []);

  const loadFirst = useCallback(async () => {
    const n = ++asked.current;
    const r = await client.listNotifications({ limit: PAGE });
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setError(null);
    setItems(r.value.notifications);
    setCursor(r.value.nextCursor);
    setUnread(r.value.unread);
  }, []);

  useEffect(() => {
    if (open) void loadFirst();
  }, [open, loadFirst]);

  const close = useCallback((focusBell = true) => {
    setOpen(false);
    if (focusBell) button.current?.focus();
  }, []);

  // A click outside the list closes it (on a phone the sheet covers everything).
  useEffect(() => {
    if (!open || narrow) return;
    const outside = (e: PointerEvent) => {
      if (!panel.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open, narrow]);

  // Escape closes the list wherever the focus is (a button inside it may have been disabled).
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || document.querySelector('dialog[open]')) return;
      e.preventDefault();
      close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open, close]);

  // The focus moves into the list when it opens.
  useEffect(() => {
    if (open) panel.current?.querySelector<HTMLElement>('.notification-head button:not(:disabled), .notification-item')?.focus();
  }, [open]);

  const loadMore = async () => {
    if (!cursor) return;
    const n = asked.current;
    setLoadingMore(true);
    const r = await client.listNotifications({ limit: PAGE, cursor });
    setLoadingMore(false);
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setItems((list) => {
      const seen = new Set((list ?? []).map((x) => x.id));
      return [...(list ?? []), ...r.value.notifications.filter((x) => !seen.has(x.id))];
    });
    setCursor(r.value.nextCursor);
    setUnread(r.value.unread);
  };

  const markAll = async () => {
    const r = await client.markNotificationsRead({ all: true });
    if (!r.ok) return setError(describeError(r.error));
    const now = new Date().toISOString();
    setItems((list) => list?.map((x) => (x.readAt ? x : { ...x, readAt: now })) ?? list);
    setUnread(r.value.unread);
    // The button is disabled now: keep the focus in the list.
    panel.current?.querySelector<HTMLElement>('.notification-head .icon-button')?.focus();
  };

  const choose = (n: Notification) => {
    if (!n.readAt) {
      const now = new Date().toISOString();
      setItems((list) => list?.map((x) => (x.id === n.id ? { ...x, readAt: now } : x)) ?? list);
      setUnread((u) => (u === null ? u : Math.max(0, u - 1)));
      void client.markNotificationsRead({ ids: [n.id] }).then((r) => {
        if (r.ok) setUnread(r.value.unread);
      });
    }
    close(false);
    navigate(n.link);
  };

  const count = unread ?? 0;
  return (
    <span className="menu-anchor notification-anchor">
      <button
        ref={button}
        type="button"
        className="icon-button bell"
        aria-label={count ? `Notifications, ${count} unread` : 'Notifications'}
        title="Notifications"
        aria-haspopup="dialog"
        aria-expanded={open}
        data-testid="notification-bell"
        onClick={() => setOpen((o) => !o)}
      >
        <Bell size={19} aria-hidden />
        {count > 0 && (
          <span className="count-badge" data-testid="notification-count" aria-hidden>
            {countLabel(count)}
          </span>
        )}
      </button>
      <span className="visually-hidden" role="status" aria-live="polite">
        {count ? `${count} unread notification${count === 1 ? '' : 's'}` : ''}
      </span>
      {open && (
        <div
          ref={panel}
          className={`notification-panel ${narrow ? 'sheet' : 'popover'}`}
          role="dialog"
          aria-modal={narrow ? true : undefined}
          aria-labelledby="notification-heading"
          data-testid="notification-panel"
        >
          <div className="notification-head">
            <h2 id="notification-heading">Notifications</h2>
            <button type="button" className="link" onClick={() => void markAll()} disabled={count === 0}>
              <CheckCheck size={15} aria-hidden /> Mark all read
            </button>
            <button type="button" className="icon-button" aria-label="Close notifications" title="Close (Esc)" onClick={() => close()}>
              <X size={18} aria-hidden />
            </button>
          </div>
          {error && (
            <p className="error notification-error" role="alert">
              {error}
            </p>
          )}
          <div className="notification-scroll">
            {items === null ? (
              !error && <p className="muted notification-empty">Loading…</p>
            ) : items.length === 0 ? (
              <div className="notification-empty">
                <Bell size={28} aria-hidden className="muted" />
                <p>You are all caught up.</p>
                <p className="muted">Mentions, replies, shares and review requests show up here.</p>
              </div>
            ) : (
              <ol className="notification-list" aria-label="Notifications, newest first">
                {items.map((n) => (
                  <li key={n.id}>
                    <NotificationItem n={n} onChoose={() => choose(n)} />
                  </li>
                ))}
              </ol>
            )}
            {cursor && (
              <button type="button" className="link show-older" onClick={() => void loadMore()} disabled={loadingMore}>
                {loadingMore ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        </div>
      )}
    </span>
  );
}

function NotificationItem({ n, onChoose }: { n: Notification; onChoose: () => void }) {
  const unread = !n.readAt;
  return (
    <button type="button" className={`notification-item ${unread ? 'unread' : ''}`} data-testid="notification-item" data-kind={n.kind} data-unread={unread} onClick={onChoose}>
      {n.actor?.id ? (
        <Avatar name={n.actor.name} seed={n.actor.id} size="sm" />
      ) : (
        <span className="avatar sm notification-icon" aria-hidden>
          <Clock size={14} />
        </span>
      )}
      <span className="notification-text">
        <span>{n.text}</span>
        <time dateTime={n.createdAt} title={new Date(n.createdAt).toLocaleString()}>
          {relativeTime(n.createdAt)}
        </time>
      </span>
      {unread && (
        <span className="unread-dot">
          <span className="visually-hidden">Unread</span>
        </span>
      )}
    </button>
  );
}
