/** Real @hocuspocus/provider clients (Node, `ws` polyfill) connected to a test server. */
import type { TestContext } from 'node:test';
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { eventually } from './wait.js';

/**
 * `ws` with an error listener always attached: a socket closed while still connecting
 * (a test tearing down a reconnecting provider) emits 'error', which would otherwise be
 * an uncaught exception after the test ended.
 */
export class QuietWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

export interface Client {
  provider: HocuspocusProvider;
  socket: HocuspocusProviderWebsocket;
  doc: Y.Doc;
  /** Frames of type `quire.*` the server sent as stateless messages. */
  notices: any[];
  closes: { code: number; reason: string }[];
  authFailures: string[];
  destroy(): void;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws') + '/sync';
}

export function connect(t: TestContext | null, httpUrl: string, documentId: string, token: string | (() => string), opts: { doc?: Y.Doc; reconnect?: boolean } = {}): Client {
  const socket = new HocuspocusProviderWebsocket({
    url: wsUrl(httpUrl),
    WebSocketPolyfill: QuietWebSocket as any,
    maxAttempts: opts.reconnect === false ? 1 : 0,
    delay: 50,
    minDelay: 50,
    maxDelay: 500,
  });
  const doc = opts.doc ?? new Y.Doc();
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: documentId, document: doc, token });
  provider.attach();
  const client: Client = {
    provider,
    socket,
    doc,
    notices: [],
    closes: [],
    authFailures: [],
    destroy() {
      provider.destroy();
      socket.destroy();
    },
  };
  provider.on('stateless', ({ payload }: { payload: string }) => {
    try {
      client.notices.push(JSON.parse(payload));
    } catch {
      client.notices.push(payload);
    }
  });
  socket.on('disconnect', ({ event }: { event: { code: number; reason: string } }) => client.closes.push({ code: event.code, reason: String(event.reason) }));
  provider.on('authenticationFailed', ({ reason }: { reason: string }) => client.authFailures.push(reason));
  t?.after(() => client.destroy());
  return client;
}

export async function synced(c: Client, timeoutMs = 15_000): Promise<void> {
  await eventually(
    () => {
      if (!c.provider.isSynced) throw new Error('not synced');
    },
    { timeoutMs, message: 'provider sync' },
  );
}

/** Waits until the server acknowledged every local change. */
export async function acked(c: Client, timeoutMs = 15_000): Promise<void> {
  await eventually(
    () => {
      if (c.provider.hasUnsyncedChanges) throw new Error(`${c.provider.unsyncedChanges} unacked`);
    },
    { timeoutMs, message: 'acks', intervalMs: 5 },
  );
}

/**
 * The first paragraph's text, creating nothing: what a poll must use. (`paragraphText`
 * creates the paragraph when it is missing — a poll that ran before a peer's paragraph
 * arrived would add an empty paragraph of its own to the document.)
 */
export function readParagraph(doc: Y.Doc): string {
  const p = doc.getXmlFragment('default').get(0);
  const text = p instanceof Y.XmlElement ? p.get(0) : undefined;
  return text instanceof Y.XmlText ? text.toString() : '';
}

/** The paragraph XmlText a Tiptap-like editor writes to (created on first use). */
export function paragraphText(doc: Y.Doc): Y.XmlText {
  const frag = doc.getXmlFragment('default');
  let p = frag.get(0) as Y.XmlElement | undefined;
  if (!p) {
    doc.transact(() => frag.insert(0, [new Y.XmlElement('paragraph')]));
    p = frag.get(0) as Y.XmlElement;
  }
  let text = p.get(0) as Y.XmlText | undefined;
  if (!text) {
    doc.transact(() => p!.insert(0, [new Y.XmlText()]));
    text = p.get(0) as Y.XmlText;
  }
  return text;
}
