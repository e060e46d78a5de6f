/**
 * Live notifications: `GET /api/v1/notifications/stream` read with `fetch` (an
 * `EventSource` cannot send the bearer token). The stream opens with the unread count and
 * then carries each new notification; when it ends (a network change, the server closing it
 * at the token's lifetime, a restart) it is opened again after a backoff, with a fresh token,
 * and the first event of the new stream is the current count — so a client never shows a
 * stale count for longer than the reconnect takes.
 */
import type { NotificationStreamEvent } from '../../contract/api.js';
import type { Result } from './errors.js';

/** What `QuireClient.streamNotifications` calls, and how it reconnects. */
export interface NotificationStreamOptions {
  /** Each event: the unread count (first on every (re)connect) or a new notification. */
  onEvent: (event: NotificationStreamEvent) => void;
  /** Whether the stream is open now (false while reconnecting). */
  onState?: (open: boolean) => void;
  /** Backoff before reconnecting, doubled up to `maxRetryMs`. @default 1000 */
  retryMs?: number;
  /** Longest wait between reconnects. @default 30_000 */
  maxRetryMs?: number;
}

/** An open notification stream (it reconnects by itself until closed). */
export interface NotificationStream {
  /** Stops the stream for good. */
  close(): void;
}

interface Transport {
  url: string;
  fetch: typeof fetch;
  token: () => Promise<Result<string>>;
}

/** Splits SSE text into events; returns what is left of an unfinished one. */
export function parseEvents(buffer: string, emit: (event: string, data: string) => void): string {
  let rest = buffer.replace(/\r\n/g, '\n');
  let at: number;
  while ((at = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, at);
    rest = rest.slice(at + 2);
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) emit(event, data.join('\n'));
  }
  return rest;
}

/** Opens the stream on a transport (`QuireClient.streamNotifications` is the public way in). */
export function openNotificationStream(transport: Transport, opts: NotificationStreamOptions): NotificationStream {
  const base = opts.retryMs ?? 1_000;
  const max = opts.maxRetryMs ?? 30_000;
  let closed = false;
  let ctrl: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let delay = base;

  const again = () => {
    opts.onState?.(false);
    if (closed) return;
    timer = setTimeout(() => void run(), delay);
    delay = Math.min(max, delay * 2);
  };

  const run = async () => {
    timer = null;
    if (closed) return;
    const token = await transport.token();
    if (closed) return;
    if (!token.ok) {
      // Signed out, or the server cannot be reached for a refresh: try again later.
      again();
      return;
    }
    ctrl = new AbortController();
    try {
      const res = await transport.fetch(transport.url, { headers: { authorization: `Bearer ${token.value}`, accept: 'text/event-stream' }, signal: ctrl.signal });
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        again();
        return;
      }
      opts.onState?.(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + value, (_event, data) => {
          let parsed: NotificationStreamEvent;
          try {
            parsed = JSON.parse(data) as NotificationStreamEvent;
          } catch {
            return;
          }
          delay = base; // a stream that delivers is a healthy one
          opts.onEvent(parsed);
        });
      }
    } catch {
      // Aborted (closed) or the connection broke: reconnect below unless closed.
    }
    again();
  };

  void run();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      ctrl?.abort();
    },
  };
}
