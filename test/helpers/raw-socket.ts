/** A raw WebSocket speaking (or abusing) the Hocuspocus wire protocol, for hostile-input tests. */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import { wsUrl } from './provider.js';
import { eventually } from './wait.js';

export interface RawSocket {
  ws: WebSocket;
  frames: Uint8Array[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  send(data: Uint8Array): void;
}

export function rawSocket(httpUrl: string): RawSocket {
  const ws = new WebSocket(wsUrl(httpUrl));
  ws.binaryType = 'arraybuffer';
  const frames: Uint8Array[] = [];
  ws.on('message', (d: ArrayBuffer) => frames.push(new Uint8Array(d)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', () => undefined);
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    closed,
    opened,
    send: (d) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(d);
    },
  };
}

/** `[doc][Auth=2][Token=0][token]` */
export function authFrame(doc: string, token: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint(e, 0);
  encoding.writeVarString(e, token);
  return encoding.toUint8Array(e);
}

/** `[doc][Sync=0][step][bytes]` */
function syncFrame(doc: string, step: number, bytes: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, bytes);
  return encoding.toUint8Array(e);
}

/** `[doc][Sync=0][Update=2][bytes]` */
export function updateFrame(doc: string, update: Uint8Array): Uint8Array {
  return syncFrame(doc, 2, update);
}

/** `[doc][Awareness=1][bytes]` */
export function awarenessFrame(doc: string, bytes: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, 1);
  encoding.writeVarUint8Array(e, bytes);
  return encoding.toUint8Array(e);
}

/** Message type of a server frame (after its document address). */
export function frameType(frame: Uint8Array): { doc: string; type: number; sub?: number } {
  const d = decoding.createDecoder(frame);
  const doc = decoding.readVarString(d);
  const type = decoding.readVarUint(d);
  const sub = decoding.hasContent(d) ? decoding.readVarUint(d) : undefined;
  return { doc, type, sub };
}

/** `[doc][Sync=0][SyncStep1=0][state vector]` */
export function syncStep1Frame(doc: string, stateVector: Uint8Array): Uint8Array {
  return syncFrame(doc, 0, stateVector);
}

/** A server sync frame's step (0 SyncStep1, 1 SyncStep2, 2 Update) and payload; null for other frames. */
export function syncPayload(frame: Uint8Array): { step: number; payload: Uint8Array } | null {
  const d = decoding.createDecoder(frame);
  decoding.readVarString(d);
  if (decoding.readVarUint(d) !== 0) return null;
  const step = decoding.readVarUint(d);
  return { step, payload: decoding.readVarUint8Array(d) };
}

/** A raw socket authenticated for one document (resolves once the server said so). */
export async function authenticatedSocket(httpUrl: string, documentId: string, token: string): Promise<RawSocket> {
  const s = rawSocket(httpUrl);
  await s.opened;
  s.send(authFrame(documentId, token));
  await eventually(() => {
    if (!s.frames.some((f) => frameType(f).type === 2 && frameType(f).sub === 2)) throw new Error('not authenticated yet');
  });
  return s;
}
