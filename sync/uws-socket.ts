/**
 * Adapts a uWebSockets.js socket to Hocuspocus' `WebSocketLike`, and owns the one place
 * where bytes leave for a client — which is where the write path holds acknowledgements:
 * a `SyncStatus` frame for an update is released only after that update's append has
 * committed, in order, per document address. Everything else (sync replies, broadcasts,
 * awareness) goes out at once.
 *
 * It is also where a fresh client's first sync can be answered from storage before the
 * server has integrated the document (see `Persistence.onLoadDocument`): the socket notes
 * which document addresses asked for the whole document (a SyncStep1 with an empty state
 * vector), sends the stored state as it was read, and replaces Hocuspocus' own answer to
 * that SyncStep1 (the whole document again) by the difference since what was sent.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';

/** Hocuspocus wire message types (the ack frame, sync frames) and y-protocols sync steps. */
export const MESSAGE_SYNC_STATUS = 8;
const MESSAGE_SYNC = 0;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;

/** Unanswered whole-document requests kept per socket; beyond this the standard sync answers. */
const MAX_WHOLE_DOCUMENT_REQUESTS = 16;

/** A Yjs update with no structs and an empty delete set. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

/** A client's pending request for a whole document; `diff` is set once it was answered early. */
interface WholeDocumentRequest {
  diff?: () => Uint8Array;
}

export interface SocketData {
  ip: string;
  socket?: UwsSocket;
}

/**
 * Where a socket's frames go: the uWS socket itself, or a protocol adapter in front of it
 * (`y-websocket.ts`), which sees each frame when it may leave (acks after their commit).
 */
export interface SocketWire {
  send(data: Uint8Array, isBinary: boolean, compress: boolean): unknown;
  end(code?: number, reason?: string): void;
  getUserData(): { ip: string };
}

export type CloseListener = (code: number, reason: string) => void;

export class UwsSocket {
  /** WsReadyStates: 0 connecting, 1 open, 2 closing, 3 closed. */
  readyState = 1;
  readonly ip: string;
  readonly openedAt = Date.now();
  /** Documents this socket authenticated for (the pre-auth deadline stops at the first). */
  authenticatedDocuments = 0;
  /** The workspace of the user signed in on this socket (set once a document is open). */
  tenantId: string | undefined;
  /** The upgrade request's `traceparent` (kept only while tracing is on): the updates' spans link to it. */
  upgradeTraceparent: string | undefined;
  private readonly pendingAcks = new Map<string, Promise<void>[]>();
  private readonly ackTails = new Map<string, Promise<void>>();
  /** Addresses where a held commit failed (null on almost every socket). */
  private failedAddresses: Set<string> | null = null;
  /** By document address, until the server's SyncStep2 goes out; null on most sockets (no cost when sending). */
  private wholeDocumentRequests: Map<string, WholeDocumentRequest> | null = null;

  constructor(
    private readonly ws: SocketWire,
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

  /**
   * Notes a client frame before Hocuspocus handles it: a SyncStep1 with an empty state
   * vector asks for the whole document at that address; any other SyncStep1 withdraws it.
   */
  noteIncoming(frame: Uint8Array): void {
    try {
      const d = decoding.createDecoder(frame);
      const addressLength = decoding.readVarUint(d); // the address is skipped, not decoded, for most frames
      d.pos += addressLength;
      if (decoding.readVarUint(d) !== MESSAGE_SYNC || decoding.readVarUint(d) !== SYNC_STEP1) return;
      const stateVector = decoding.readVarUint8Array(d);
      const address = decoding.readVarString(decoding.createDecoder(frame));
      if (stateVector.length !== 1 || stateVector[0] !== 0) this.forgetWholeDocumentRequest(address);
      else if ((this.wholeDocumentRequests?.size ?? 0) < MAX_WHOLE_DOCUMENT_REQUESTS) (this.wholeDocumentRequests ??= new Map()).set(address, {});
    } catch {
      // Malformed frames are Hocuspocus' to refuse.
    }
  }

  /**
   * The address at which this socket asked for the whole of `documentName` and was not
   * answered yet; null if none, or if several sessions on this socket did (which of them
   * caused the load is not known here, so none is answered early).
   */
  wholeDocumentRequest(documentName: string): string | null {
    let found: string | null = null;
    for (const [address, req] of this.wholeDocumentRequests ?? []) {
      if (req.diff || (address !== documentName && !address.startsWith(`${documentName}\0`))) continue;
      if (found !== null) return null;
      found = address;
    }
    return found;
  }

  /**
   * Answers a whole-document request from storage: the snapshot and the log tail as
   * updates, in log order (each integrates at once, nothing waits for a missing
   * dependency), then an empty SyncStep2, on which the client reports synced with all of
   * it. `diff` later gives what the document gained beyond the stored state; it replaces
   * the server's own SyncStep2 to this address.
   */
  answerFromStorage(address: string, snapshot: Uint8Array, tail: Uint8Array[], diff: () => Uint8Array): void {
    const req = this.wholeDocumentRequests?.get(address);
    if (!req || this.readyState !== 1) return;
    req.diff = diff;
    this.rawSend(syncFrame(address, SYNC_UPDATE, snapshot));
    for (const update of tail) this.rawSend(syncFrame(address, SYNC_UPDATE, update));
    this.rawSend(syncFrame(address, SYNC_STEP2, EMPTY_UPDATE));
  }

  forgetWholeDocumentRequest(address: string): void {
    this.wholeDocumentRequests?.delete(address);
    if (this.wholeDocumentRequests?.size === 0) this.wholeDocumentRequests = null;
  }

  /** An outgoing SyncStep2 ends the request at its address; if it was answered early, only the difference goes out. */
  private answerWholeDocument(frame: Uint8Array): Uint8Array {
    let address: string;
    try {
      const d = decoding.createDecoder(frame);
      address = decoding.readVarString(d);
      if (decoding.readVarUint(d) !== MESSAGE_SYNC || decoding.readVarUint(d) !== SYNC_STEP2) return frame;
    } catch {
      return frame;
    }
    const req = this.wholeDocumentRequests?.get(address);
    if (!req) return frame;
    this.forgetWholeDocumentRequest(address);
    return req.diff ? syncFrame(address, SYNC_STEP2, req.diff()) : frame;
  }

  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    if (this.readyState !== 1) return;
    if (this.wholeDocumentRequests !== null && data instanceof Uint8Array) data = this.answerWholeDocument(data);
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
        () => {
          if (!this.failedAddresses?.has(address)) this.rawSend(frame);
        },
        (e: unknown) => {
          // Nothing at this address is acknowledged after a failed commit: the client must
          // resend from the update that failed on.
          (this.failedAddresses ??= new Set()).add(address);
          this.onPersistFailure(this, e);
        },
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
    this.wholeDocumentRequests = null;
  }
}

function syncFrame(address: string, step: number, update: Uint8Array): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, address);
  encoding.writeVarUint(e, MESSAGE_SYNC);
  encoding.writeVarUint(e, step);
  encoding.writeVarUint8Array(e, update);
  return encoding.toUint8Array(e);
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
