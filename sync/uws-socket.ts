/**
 * Adapts a uWebSockets.js socket to Hocuspocus' `WebSocketLike`, and owns the one place
 * where bytes leave for a client — which is where the write path holds acknowledgements:
 * a `SyncStatus` frame for an update is released only after that update's append has
 * committed, in order, per document address. Everything else (sync replies, broadcasts,
 * awareness) goes out at once.
 */
import type { WebSocket } from '@trufflesuite/uws-js-unofficial';
import * as decoding from 'lib0/decoding';

/** Hocuspocus wire message type of the ack frame. */
export const MESSAGE_SYNC_STATUS = 8;

export interface SocketData {
  ip: string;
  socket?: UwsSocket;
}

export type CloseListener = (code: number, reason: string) => void;

export class UwsSocket {
  /** WsReadyStates: 0 connecting, 1 open, 2 closing, 3 closed. */
  readyState = 1;
  readonly ip: string;
  readonly openedAt = Date.now();
  /** Documents this socket authenticated for (the pre-auth deadline stops at the first). */
  authenticatedDocuments = 0;
  private readonly pendingAcks = new Map<string, Promise<void>[]>();
  private readonly ackTails = new Map<string, Promise<void>>();

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly onPersistFailure: (socket: UwsSocket, error: unknown) => void,
  ) {
    this.ip = ws.getUserData().ip;
  }

  /** The next SyncStatus for `address` waits for `commit`. Call once per acked frame, in order. */
  holdNextAck(address: string, commit: Promise<void>): void {
    const list = this.pendingAcks.get(address) ?? [];
    list.push(commit);
    this.pendingAcks.set(address, list);
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.readyState !== 1) return;
    // Hot path: a socket with no held ack (every reader) sends without decoding the frame.
    if (!(data instanceof Uint8Array) || (this.pendingAcks.size === 0 && this.ackTails.size === 0)) {
      this.rawSend(data as Uint8Array);
      return;
    }
    const address = ackAddress(data);
    if (address === null) {
      this.rawSend(data);
      return;
    }
    const queued = this.pendingAcks.get(address);
    const commit = queued?.shift();
    if (queued && queued.length === 0) this.pendingAcks.delete(address);
    const prev = this.ackTails.get(address);
    if (!commit && !prev) {
      this.rawSend(data);
      return;
    }
    const frame = data.slice();
    const tail = (prev ?? Promise.resolve())
      .then(() => commit)
      .then(
        () => this.rawSend(frame),
        (e: unknown) => this.onPersistFailure(this, e),
      );
    this.ackTails.set(address, tail);
    void tail.then(() => {
      if (this.ackTails.get(address) === tail) this.ackTails.delete(address);
    });
  }

  private rawSend(data: Uint8Array | ArrayBufferLike): void {
    if (this.readyState !== 1) return;
    try {
      this.ws.send(data as Uint8Array, true, false);
    } catch {
      // The socket closed between the check and the send; the close handler cleans up.
      this.readyState = 3;
    }
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    try {
      this.ws.end(code ?? 1000, (reason ?? '').slice(0, 120));
    } catch {
      this.readyState = 3;
    }
  }

  /** Called from the uWS close handler. */
  markClosed(): void {
    this.readyState = 3;
    this.pendingAcks.clear();
  }
}

/** The document address of a SyncStatus frame, or null for any other frame. */
export function ackAddress(frame: Uint8Array): string | null {
  try {
    const d = decoding.createDecoder(frame);
    const address = decoding.readVarString(d);
    return decoding.readVarUint(d) === MESSAGE_SYNC_STATUS ? address : null;
  } catch {
    return null;
  }
}
