/**
 * Connection limits per document, per user and per socket, and the end of the
 * pre-authentication window. Frame size, per-IP and total socket limits are enforced at
 * the uWS edge (sync/server.ts); pre-authentication queue limits by Hocuspocus' own options.
 *
 * Admission is decided once the caller is known (Authentication calls `admit` with the
 * user and the access level), so that:
 * - one user cannot fill a document: at most `maxConnectionsPerUserDocument` of their
 *   connections (any number of sockets and sessions) are open on it;
 * - one socket cannot fan out: at most `maxDocumentsPerSocket` document sessions;
 * - readers never starve writers: the last `writerReserve` slots of a document are kept
 *   for connections that may write (editors, owners, admins).
 * Connections admitted but not yet established count too, so a burst of authentications
 * cannot race past a limit.
 */
import type { connectedPayload, Extension, Hocuspocus, onDisconnectPayload } from '@hocuspocus/server';
import { CLOSE, DENIED, denied, type SyncContext } from '../context.js';
import type { UwsSocket } from '../uws-socket.js';

export interface LimitsConfiguration {
  /** Connections to one document on this instance. @default 1_000 */
  maxConnectionsPerDocument: number;
  /** One user's connections to one document (tabs, devices, sessions). @default 20 */
  maxConnectionsPerUserDocument: number;
  /** Document sessions multiplexed over one socket. @default 100 */
  maxDocumentsPerSocket: number;
  /**
   * Slots of each document only writers may take; readers are refused past
   * `maxConnectionsPerDocument - writerReserve`. @default 10 % of the document limit, at least 1
   */
  writerReserve?: number;
}

export interface Admission {
  documentName: string;
  userId: string;
  socket: UwsSocket | undefined;
  readOnly: boolean;
}

/** Admitted, not yet established: forgotten once `connected` runs or after this long. */
const PENDING_TTL_MS = 30_000;

interface Pending extends Admission {
  at: number;
}

export class Limits implements Extension {
  extensionName = 'Limits';
  private instance: Hocuspocus | null = null;
  private readonly pending = new Map<string, Set<Pending>>();
  private readonly socketSessions = new WeakMap<UwsSocket, number>();

  constructor(private readonly config: LimitsConfiguration) {}

  async onConfigure({ instance }: { instance: Hocuspocus }): Promise<void> {
    this.instance = instance;
  }

  private get reserve(): number {
    return this.config.writerReserve ?? Math.max(1, Math.floor(this.config.maxConnectionsPerDocument / 10));
  }

  /**
   * Throws a `too-many-connections` refusal when admitting this connection would pass a
   * limit. A socket with no other document is closed with 4429 (nothing else runs on it).
   */
  admit(a: Admission): void {
    const why = this.check(a);
    if (why === null) {
      const list = this.pending.get(a.documentName) ?? new Set<Pending>();
      list.add({ ...a, at: Date.now() });
      this.pending.set(a.documentName, list);
      if (a.socket) this.socketSessions.set(a.socket, (this.socketSessions.get(a.socket) ?? 0) + 1);
      return;
    }
    if (a.socket && (this.socketSessions.get(a.socket) ?? 0) === 0) a.socket.close(CLOSE.tooManyConnections.code, `${CLOSE.tooManyConnections.reason}: ${why}`);
    throw denied(DENIED.tooManyConnections);
  }

  private check(a: Admission): string | null {
    const now = Date.now();
    let total = 0;
    let mine = 0;
    const count = (userId: string | undefined) => {
      total++;
      if (userId === a.userId) mine++;
    };
    for (const conn of this.instance?.documents.get(a.documentName)?.getConnections() ?? []) count((conn.context as SyncContext).user?.id);
    const pending = this.pending.get(a.documentName);
    for (const p of pending ?? []) {
      if (now - p.at > PENDING_TTL_MS) pending!.delete(p);
      else count(p.userId);
    }
    const { maxConnectionsPerDocument, maxConnectionsPerUserDocument, maxDocumentsPerSocket } = this.config;
    if (total >= maxConnectionsPerDocument) return 'this document is full';
    if (a.readOnly && total >= maxConnectionsPerDocument - this.reserve) return 'the remaining places of this document are kept for editors';
    if (mine >= maxConnectionsPerUserDocument) return `at most ${maxConnectionsPerUserDocument} connections per person to one document`;
    if (a.socket && (this.socketSessions.get(a.socket) ?? 0) >= maxDocumentsPerSocket) return `at most ${maxDocumentsPerSocket} documents per socket`;
    return null;
  }

  async connected({ context, documentName }: connectedPayload<SyncContext>): Promise<void> {
    if (context.socket) {
      context.socket.authenticatedDocuments++;
      context.socket.tenantId ??= context.user?.tenantId;
    }
    const list = this.pending.get(documentName);
    for (const p of list ?? []) {
      if (p.socket === context.socket && p.userId === context.user?.id) {
        list!.delete(p);
        break;
      }
    }
    if (list && list.size === 0) this.pending.delete(documentName);
  }

  async onDisconnect({ context }: onDisconnectPayload<SyncContext>): Promise<void> {
    const s = context.socket;
    if (!s) return;
    const n = (this.socketSessions.get(s) ?? 1) - 1;
    if (n <= 0) this.socketSessions.delete(s);
    else this.socketSessions.set(s, n);
  }
}
