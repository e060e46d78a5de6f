/**
 * The y-websocket protocol on the same core as Hocuspocus' (`/yjs/<documentId>`).
 *
 * A stock `y-websocket` `WebsocketProvider` speaks y-protocols frames for one document per
 * socket, with no document address and no authentication message. This module adapts it to
 * the core every Quire socket runs on, so the same hooks decide everything: Authentication
 * (token, permission, read-only), Limits, Persistence (ack after commit), Revocation, the
 * inbound budgets and turns. Nothing about documents is decided here.
 *
 *   client → core: each frame gets the document's address in front; the first frame the
 *   core sees is an authentication frame made from the token of the upgrade (a `token`
 *   query parameter, or the `quire.token.<token>` subprotocol). Only sync, awareness and
 *   awareness queries are accepted from a client.
 *
 *   core → client: the address is taken off; a sync reply becomes a sync frame; the core's
 *   authentication answers, stateless messages and acknowledgements are not part of
 *   y-websocket and are not sent. A refusal is sent as y-protocols' permission-denied frame
 *   and the socket closes with the code of the refusal (`contract/sync.ts`).
 *
 * What "synced" promises. y-websocket marks a provider synced when the server's SyncStep2
 * arrives. The server's SyncStep1 goes out before its SyncStep2, and the client answers a
 * SyncStep1 with its own SyncStep2 (everything it has that the server lacks, such as edits
 * made offline). The SyncStep2 that follows a SyncStep1 is held back until that answer has
 * been committed to storage (the core acknowledges it only after the commit), so a client
 * that reports synced has had everything it held at connection time stored durably. Edits
 * made after that have no acknowledgement in y-websocket: they are committed before they
 * reach any other client (the write path), but the sending client is not told when. A
 * client that needs to know uses the Hocuspocus protocol (`/sync`), whose SyncStatus frame
 * is sent per update after its commit.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { CLOSE, DENIED } from '../contract/sync.js';
import { MESSAGE_SYNC_STATUS, type SocketWire } from './uws-socket.js';

/** The path prefix of y-websocket sockets: a provider's server URL is `wss://host/yjs`. */
export const Y_WEBSOCKET_PATH = '/yjs';

/** The subprotocol that carries the token: `quire.token.<token>` (offer `quire` beside it). */
export const TOKEN_PROTOCOL_PREFIX = 'quire.token.';
/** The subprotocol the server answers with when the client offered it (else the token protocol). */
export const QUIRE_PROTOCOL = 'quire';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Tokens are JWTs or API keys: base64url, dots and underscores, never this long. */
const TOKEN = /^[A-Za-z0-9._~+/=-]{1,4096}$/;

// y-protocols message types (y-websocket) and Hocuspocus' (which extend them).
const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
const MESSAGE_QUERY_AWARENESS = 3;
const MESSAGE_SYNC_REPLY = 4;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
const AUTH_TOKEN = 0;
const AUTH_PERMISSION_DENIED = 1;
/** y-protocols/auth's permission-denied subtype. */
const Y_AUTH_PERMISSION_DENIED = 0;

export interface YWebsocketTarget {
  documentId: string;
  token: string;
  /** The subprotocol to answer the upgrade with ('' when the client offered none). */
  protocol: string;
}

/**
 * What a y-websocket upgrade asks for: the document from the path (`/yjs/<uuid>`, any case)
 * and the token from the subprotocol or the `token` query parameter. Null with the reason
 * when the request cannot name a document or carries no usable token.
 */
export function parseUpgrade(path: string, query: string, protocolHeader: string): YWebsocketTarget | { error: 'unknown_path' | 'missing_token' } {
  const rest = path.startsWith(`${Y_WEBSOCKET_PATH}/`) ? path.slice(Y_WEBSOCKET_PATH.length + 1) : '';
  const documentId = rest.toLowerCase();
  if (!UUID.test(documentId)) return { error: 'unknown_path' };
  const offered = protocolHeader
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const tokenProtocol = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  let token = tokenProtocol?.slice(TOKEN_PROTOCOL_PREFIX.length) ?? '';
  if (!token) token = new URLSearchParams(query).get('token') ?? '';
  if (!TOKEN.test(token)) return { error: 'missing_token' };
  // The server must answer with one of the offered subprotocols, or none if none was offered.
  const protocol = offered.length === 0 ? '' : offered.includes(QUIRE_PROTOCOL) ? QUIRE_PROTOCOL : (tokenProtocol ?? offered[0] ?? '');
  return { documentId, token, protocol };
}

/** The varstring address every frame of this document starts with on the core's side. */
export function addressPrefix(documentId: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, documentId);
  return encoding.toUint8Array(e);
}

/** The authentication frame the core expects first: address, Auth, Token, the token. */
export function authenticationFrame(prefix: Uint8Array, token: string): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeUint8Array(e, prefix);
  encoding.writeVarUint(e, MESSAGE_AUTH);
  encoding.writeVarUint(e, AUTH_TOKEN);
  encoding.writeVarString(e, token);
  return encoding.toUint8Array(e);
}

/** What the server closes a y-websocket socket with after refusing it the document. */
export function closeForDenial(reason: string): { code: number; reason: string } {
  switch (reason) {
    case DENIED.invalidToken:
      return CLOSE.invalidToken;
    case DENIED.tokenExpired:
      return CLOSE.tokenExpired;
    case DENIED.sessionRevoked:
      return CLOSE.sessionRevoked;
    case DENIED.accountInactive:
      return CLOSE.accountInactive;
    case DENIED.tooManyConnections:
    case DENIED.workspaceBusy:
      return { code: CLOSE.tooManyConnections.code, reason };
    case DENIED.loadFailed:
      return { code: CLOSE.persistFailed.code, reason };
    default:
      // Missing and forbidden look the same: existence is not leaked.
      return { code: 4403, reason: DENIED.forbidden };
  }
}

/**
 * One y-websocket client's side of the translation: turns its frames into the core's and
 * the core's into its own, holding the SyncStep2 that answers a connection until the
 * client's own SyncStep2 has been committed (see the module comment).
 */
export class YWebsocketSession implements SocketWire {
  private readonly prefix: Uint8Array;
  /** Client frames that the core acknowledges (SyncStep2 and updates), counted as they go in. */
  private acknowledged = 0;
  /** SyncStatus frames seen from the core, in the same order. */
  private statuses = 0;
  /** A server SyncStep1 went out and the client's SyncStep2 answering it has not arrived. */
  private awaitingAnswer = false;
  /** The ordinal (in `acknowledged`) of the client's answer whose commit releases `held`. */
  private answerOrdinal: number | null = null;
  private held: Uint8Array[] = [];

  constructor(
    private readonly socket: { send(data: Uint8Array, isBinary: boolean, compress: boolean): unknown; end(code?: number, reason?: string): void; getUserData(): { ip: string } },
    readonly documentId: string,
  ) {
    this.prefix = addressPrefix(documentId);
  }

  getUserData(): { ip: string } {
    return this.socket.getUserData();
  }

  /** The first frame for the core: authentication with the upgrade's token. */
  authenticate(token: string): Uint8Array {
    return authenticationFrame(this.prefix, token);
  }

  /**
   * A client frame as the core's, or null for a frame y-websocket clients never send (the
   * caller closes the socket: `4400 malformed_message`).
   */
  inbound(frame: Uint8Array): Uint8Array | null {
    let type: number;
    let step = -1;
    try {
      const d = decoding.createDecoder(frame);
      type = decoding.readVarUint(d);
      if (type === MESSAGE_SYNC) step = decoding.readVarUint(d);
    } catch {
      return null;
    }
    if (type !== MESSAGE_SYNC && type !== MESSAGE_AWARENESS && type !== MESSAGE_QUERY_AWARENESS) return null;
    if (type === MESSAGE_SYNC) {
      if (step !== SYNC_STEP1 && step !== SYNC_STEP2 && step !== SYNC_UPDATE) return null;
      if (step !== SYNC_STEP1) {
        this.acknowledged++;
        if (step === SYNC_STEP2 && this.awaitingAnswer) {
          this.awaitingAnswer = false;
          this.answerOrdinal = this.acknowledged;
        }
      }
    }
    const out = new Uint8Array(this.prefix.length + frame.length);
    out.set(this.prefix, 0);
    out.set(frame, this.prefix.length);
    return out;
  }

  /** A core frame on its way to the client (called by UwsSocket once it may leave). */
  send(data: Uint8Array, isBinary: boolean, compress: boolean): void {
    let type: number;
    let start: number;
    const d = decoding.createDecoder(data);
    try {
      const addressLength = decoding.readVarUint(d); // the address: always this document's
      d.pos += addressLength;
      start = d.pos;
      type = decoding.readVarUint(d);
    } catch {
      return;
    }
    switch (type) {
      case MESSAGE_SYNC:
      case MESSAGE_SYNC_REPLY: {
        const stepAt = d.pos;
        let step: number;
        try {
          step = decoding.readVarUint(d);
        } catch {
          return;
        }
        // A sync frame is the client's as it stands past the address (no copy: broadcasts
        // send one buffer to every connection); a sync reply gets the sync type.
        const frame = type === MESSAGE_SYNC ? data.subarray(start) : withType(MESSAGE_SYNC, data.subarray(stepAt));
        if (step === SYNC_STEP1) this.awaitingAnswer = true;
        if (step === SYNC_STEP2 && (this.awaitingAnswer || this.answerOrdinal !== null)) {
          this.held.push(frame);
          return;
        }
        this.socket.send(frame, isBinary, compress);
        return;
      }
      case MESSAGE_AWARENESS:
      case MESSAGE_QUERY_AWARENESS:
        this.socket.send(data.subarray(start), isBinary, compress);
        return;
      case MESSAGE_SYNC_STATUS:
        this.statuses++;
        if (this.answerOrdinal !== null && this.statuses >= this.answerOrdinal) this.release(isBinary, compress);
        return;
      case MESSAGE_AUTH:
        this.onAuth(d);
        return;
      default:
        // Stateless messages, token renewal requests and the like have no y-websocket form.
        return;
    }
  }

  end(code?: number, reason?: string): void {
    this.held = [];
    this.socket.end(code, reason);
  }

  private release(isBinary: boolean, compress: boolean): void {
    this.answerOrdinal = null;
    const held = this.held;
    this.held = [];
    for (const frame of held) this.socket.send(frame, isBinary, compress);
  }

  /** A refusal: y-protocols' permission-denied frame, then the close that says what to do. */
  private onAuth(d: decoding.Decoder): void {
    let reason: string;
    try {
      if (decoding.readVarUint(d) !== AUTH_PERMISSION_DENIED) return;
      reason = decoding.readVarString(d);
    } catch {
      return;
    }
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, MESSAGE_AUTH);
    encoding.writeVarUint(e, Y_AUTH_PERMISSION_DENIED);
    encoding.writeVarString(e, reason);
    this.socket.send(encoding.toUint8Array(e), true, false);
    const close = closeForDenial(reason);
    this.end(close.code, close.reason);
  }
}

/** `rest` (a sync step and its payload) under message type `type`. */
function withType(type: number, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(rest.length + 1);
  out[0] = type;
  out.set(rest, 1);
  return out;
}
