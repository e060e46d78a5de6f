/** A person's open `GET /api/v1/notifications/stream`, read with fetch as the web app does (the SDK's parser). */
import assert from 'node:assert/strict';
import { parseEvents } from '../../clients/sdk/notifications.js';

export interface StreamEvent {
  event: string;
  data: any;
}

export interface OpenStream {
  events: StreamEvent[];
  close(): Promise<void>;
}

export async function openNotificationStream(base: string, token: string): Promise<OpenStream> {
  const ctrl = new AbortController();
  const res = await fetch(`${base}/api/v1/notifications/stream`, { headers: { authorization: `Bearer ${token}` }, signal: ctrl.signal });
  assert.equal(res.status, 200, 'the notification stream opens');
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/, 'it is an event stream');
  const events: StreamEvent[] = [];
  const reading = (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + value, (event, data) => events.push({ event, data: JSON.parse(data) }));
      }
    } catch {
      // closed
    }
  })();
  return {
    events,
    close: async () => {
      ctrl.abort();
      await reading;
    },
  };
}
