/**
 * A live document: a Y.Doc kept in sync with the server by a Hocuspocus provider, loaded
 * from and persisted to an offline store, with one status object a UI can render:
 * connection, first sync, how many local changes the server has not yet confirmed as
 * durable, the caller's access, and why the server refused or closed the document.
 *
 * "Confirmed" is exact: Quire acknowledges an update only after it is committed to
 * Postgres, so `pendingChanges === 0` while connected means every local edit is stored.
 * The count survives a reload (it is kept in the offline store) so an app opened offline
 * can still say how many changes wait.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { CLOSE, DENIED, FINAL_CLOSE_CODES, type CloseReason, type DeniedReason, type StatelessMessage } from '../../contract/sync.js';
import type { QuireClient } from './client.js';
import type { OfflineBinding, OfflineStore } from './offline.js';
import type { PermissionLevel } from './types.js';

/** Whether a live document is connecting, connected, offline by request (`goOffline`), or closed for good. */
export type ConnectionState = 'connecting' | 'connected' | 'offline' | 'closed';

/** Everything a UI shows about a live document; `onStatus` hears each change. */
export interface DocumentStatus {
  /** Where the connection to the server stands. */
  connection: ConnectionState;
  /** The first exchange with the server finished since the last (re)connect. */
  synced: boolean;
  /** Local changes not yet confirmed durable by the server. */
  pendingChanges: number;
  /** The caller's level as the server last said; null until known. */
  access: PermissionLevel | null;
  /** Why the server refused or closed the document (e.g. `forbidden`, `access_revoked`). */
  error: SessionError | null;
  /**
   * Local changes the server will not accept: made (offline) before the caller lost write
   * access. They stay in this copy only; `discardLocalChanges()` drops them.
   */
  rejectedChanges: number;
}

/** How `openDocument` keeps, connects and presents a document. */
export interface OpenDocumentOptions {
  /** Offline persistence; none keeps the document in memory only. */
  store?: OfflineStore;
  /** A WebSocket implementation where there is no global one (Node 20: the `ws` package). */
  WebSocket?: unknown;
  /** Follow the browser's online/offline events. @default true where `window` exists */
  followNetwork?: boolean;
  /** Presence shown to other users. */
  user?: { name: string; color: string };
  /** Reconnect backoff bounds in ms. @default {min: 250, max: 5000} */
  reconnectDelay?: { min: number; max: number };
  /** Pass an existing Y.Doc (e.g. one an editor already created). */
  doc?: Y.Doc;
}

/**
 * Why a document session stopped or was refused: a close reason or refusal reason of the
 * sync protocol (contract/sync.ts), `signed_out` when the account is gone, or
 * `closed (<code>)` for a close without a reason.
 */
export type SessionError = CloseReason | DeniedReason | 'signed_out' | (string & {});

/** Hears every change of a live document's status. */
export type StatusListener = (s: DocumentStatus) => void;

/** Whether a level edits the document's content (`read` and `comment` do not). */
export function canEdit(access: PermissionLevel | null): boolean {
  return access === 'write' || access === 'admin';
}

const PENDING_KEY = 'pendingChanges';
/** Refused tokens renewed in a row before a session gives up (`status.error` says why). */
const MAX_TOKEN_RENEWALS = 3;

/**
 * A document open live (made by `openDocument`): its `Y.Doc` (bind an editor to it), its
 * status, presence (`awareness`), and control over the connection. `destroy()` when done.
 */
export class DocumentSession {
  /** The document's id. */
  readonly id: string;
  /** The shared document; Tiptap's content is its `XmlFragment` named `default`. */
  readonly doc: Y.Doc;
  /** The Hocuspocus provider that syncs `doc` (for editor extensions that need it, e.g. carets). */
  readonly provider: HocuspocusProvider;
  /** The provider's WebSocket connection. */
  readonly socket: HocuspocusProviderWebsocket;
  private binding: OfflineBinding | null;
  private readonly listeners = new Set<StatusListener>();
  private readonly commentListeners = new Set<(commentId: string | null) => void>();
  private state: DocumentStatus;
  private destroyed = false;
  /** Set by a close that reconnecting cannot fix (access revoked, document deleted, too large). */
  private final = false;
  private pendingDirty = false;
  private pendingFlush: Promise<void> | null = null;
  /** Deleting the offline copy (access lost); `destroy` waits for it. */
  private forgetting: Promise<void> = Promise.resolve();
  private readonly cleanup: (() => void)[] = [];

  /** Use `openDocument`. */
  constructor(id: string, doc: Y.Doc, provider: HocuspocusProvider, socket: HocuspocusProviderWebsocket, binding: OfflineBinding | null, pending: number) {
    this.id = id;
    this.doc = doc;
    this.provider = provider;
    this.socket = socket;
    this.binding = binding;
    this.state = { connection: 'connecting', synced: false, pendingChanges: pending, access: null, error: null, rejectedChanges: 0 };
  }

  /** The current status (a new object on each change). */
  get status(): DocumentStatus {
    return this.state;
  }

  /** Presence: who else has the document open, their names, colours and selections. */
  get awareness(): Awareness {
    return this.provider.awareness as Awareness;
  }

  /** Subscribes to status changes; the listener is called at once with the current status. */
  onStatus(listener: StatusListener): () => void {
    this.listeners.add(listener);
    listener(this.state);
    return () => this.listeners.delete(listener);
  }

  /**
   * Subscribes to changes of the document's comments: called with the changed comment's id
   * when someone comments, replies, edits, resolves or deletes, and with null after every
   * (re)connect (changes made while away are not announced one by one). Read the comments
   * again (`client.listComments`) when it is called.
   */
  onComments(listener: (commentId: string | null) => void): () => void {
    this.commentListeners.add(listener);
    return () => this.commentListeners.delete(listener);
  }

  /** @internal */
  commentsChanged(commentId: string | null): void {
    for (const l of this.commentListeners) l(commentId);
  }

  /** @internal */
  update(patch: Partial<DocumentStatus>): void {
    const next = { ...this.state, ...patch };
    if (Object.keys(patch).every((k) => this.state[k as keyof DocumentStatus] === next[k as keyof DocumentStatus])) return;
    const pendingChanged = next.pendingChanges !== this.state.pendingChanges;
    this.state = next;
    if (pendingChanged) this.persistPending();
    for (const l of this.listeners) l(this.state);
  }

  /**
   * Stores the pending count with the offline copy: one write at a time, always of the
   * latest value, so fast typing costs a few metadata writes rather than one per keystroke.
   */
  private persistPending(): void {
    if (!this.binding) return;
    this.pendingDirty = true;
    this.pendingFlush ??= (async () => {
      while (this.pendingDirty && this.binding) {
        this.pendingDirty = false;
        await this.binding.setMeta(PENDING_KEY, this.state.pendingChanges).catch(() => undefined);
      }
      this.pendingFlush = null;
    })();
  }

  /** Resolves when `predicate(status)` holds (checked on every status change). */
  waitFor(predicate: (s: DocumentStatus) => boolean): Promise<DocumentStatus> {
    return new Promise((resolve) => {
      const off = this.onStatus((s) => {
        if (predicate(s)) {
          queueMicrotask(() => off());
          resolve(s);
        }
      });
    });
  }

  /** Resolves once connected, synced, and every local change is durable on the server. */
  whenSaved(): Promise<DocumentStatus> {
    return this.waitFor((s) => s.connection === 'connected' && s.synced && s.pendingChanges === 0);
  }

  /** Stops using the network (edits continue locally and are counted as pending). */
  goOffline(): void {
    if (this.final || this.destroyed) return;
    this.socket.disconnect();
    this.socket.shouldConnect = false;
    this.update({ connection: 'offline', synced: false });
  }

  /** Reconnects; pending changes are merged by the sync handshake. */
  goOnline(): void {
    if (this.destroyed || this.final) return;
    this.update({ connection: 'connecting', error: null });
    if (this.socket.status === 'connected') {
      // Still closing from goOffline(): the socket reconnects by itself once the close lands.
      this.socket.shouldConnect = true;
      return;
    }
    void this.socket.connect();
  }

  /** @internal A close after which reconnecting cannot help. */
  end(error: SessionError): void {
    this.final = true;
    this.socket.disconnect();
    this.update({ error, connection: 'closed', synced: false });
  }

  /**
   * Forgets this device's copy (and any changes only it has), e.g. after they were
   * rejected. The session is closed; open the document again to load it from the server.
   */
  async discardLocalChanges(): Promise<void> {
    const binding = this.binding;
    this.binding = null;
    await this.destroy();
    await binding?.clear();
  }

  /**
   * @internal Deletes this device's copy of the document (access to it is gone). The
   * session keeps running on memory only until it is destroyed; nothing is written back.
   */
  forgetCopy(): Promise<void> {
    const binding = this.binding;
    this.binding = null;
    if (!binding) return this.forgetting;
    this.forgetting = (async () => {
      await binding.destroy();
      await binding.clear();
    })().catch(() => undefined);
    return this.forgetting;
  }

  /** @internal */
  addCleanup(fn: () => void): void {
    this.cleanup.push(fn);
  }

  /** Disconnects and stops persisting; the offline copy stays for next time. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const fn of this.cleanup) fn();
    this.provider.destroy();
    this.socket.destroy();
    await this.pendingFlush;
    const binding = this.binding;
    this.binding = null;
    await binding?.destroy();
    await this.forgetting;
    this.update({ connection: 'closed' });
    this.listeners.clear();
    this.commentListeners.clear();
  }
}

/** Caret and avatar colours (hex: the Tiptap caret extension accepts only hex), dark enough for white text. */
export const PRESENCE_COLORS = ['#b3261e', '#8e24aa', '#3949ab', '#00796b', '#2e7d32', '#ad5400', '#6d4c41', '#c2185b', '#1565c0', '#00838f', '#5e35b1', '#546e7a'];

/** A stable colour for a user id. */
export function colorFor(seed: string): string {
  let h = 0;
  for (const ch of seed) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PRESENCE_COLORS[h % PRESENCE_COLORS.length]!;
}

/**
 * Opens document `id` for the signed-in user: loads the offline copy first (so it is
 * usable at once, connected or not), then connects and syncs. The provider asks the
 * client for a fresh access token whenever it (re)authenticates or the server asks.
 */
export async function openDocument(client: QuireClient, id: string, opts: OpenDocumentOptions = {}): Promise<DocumentSession> {
  const user = client.user;
  const doc = opts.doc ?? new Y.Doc();
  // Offline copies are per user: another account on this device never opens them.
  let binding = opts.store && user ? await opts.store.open(`${user.id}/${id}`, doc) : null;
  if (binding && client.user?.id !== user?.id) {
    // The session ended (signed out, or the account is gone) while the copy was opening:
    // nothing of it may stay on the device, even if it was removed before it was opened.
    await binding.destroy();
    await binding.clear();
    binding = null;
  }
  const pending = Number((await binding?.getMeta<number>(PENDING_KEY)) ?? 0) || 0;
  const delay = opts.reconnectDelay ?? { min: 250, max: 5000 };

  const socket = new HocuspocusProviderWebsocket({
    url: client.syncUrl,
    ...(opts.WebSocket ? { WebSocketPolyfill: opts.WebSocket } : {}),
    delay: delay.min,
    minDelay: delay.min,
    maxDelay: delay.max,
    factor: 2,
    maxAttempts: 0,
  });
  // Frames produced while disconnected are dropped instead of queued: the sync handshake on
  // reconnect carries every missing change. A queue would be flushed right after the
  // handshake (before authentication completes; a long offline session overflows the
  // server's pre-auth limit) and its acks would count against the handshake's.
  const rawSend = socket.send.bind(socket);
  socket.send = (message: unknown) => {
    // OPEN only: a socket that is closing (goOffline) would queue the frame too.
    if (socket.status !== 'connected' || socket.webSocket?.readyState !== 1) return;
    rawSend(message);
  };
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: id,
    document: doc,
    token: async () => {
      // This session's copy belongs to the user who opened it: never continue as another.
      if (user && client.user?.id !== user.id) throw new Error('not_signed_in');
      const t = await client.accessToken();
      if (!t.ok) throw new Error(t.error.code);
      return t.value;
    },
  });
  const session = new DocumentSession(id, doc, provider, socket, binding, pending);

  // Changes made before a downgrade to read-only can never be stored: say so instead of
  // showing them as waiting forever.
  const checkRejected = () => {
    const st = session.status;
    if (st.synced && st.access !== null && !canEdit(st.access) && st.pendingChanges > 0) {
      session.update({ rejectedChanges: st.rejectedChanges + st.pendingChanges, pendingChanges: 0 });
    }
  };
  // Local edits: anything not applied by the provider (remote) or the offline store (load).
  const onUpdate = (_u: Uint8Array, origin: unknown) => {
    if (origin === provider || (binding !== null && origin === binding)) return;
    session.update({ pendingChanges: session.status.pendingChanges + 1 });
    if (session.status.access !== null && !canEdit(session.status.access)) checkRejected();
  };
  doc.on('update', onUpdate);
  session.addCleanup(() => doc.off('update', onUpdate));

  // Renewals of a refused token in a row (since the last authentication), and 4429 closes
  // in a row (since the server last took every change: a throttled client authenticates
  // on each reconnect before it is refused again).
  let renewals = 0;
  let authenticatedBefore = false;
  let throttled = 0;
  provider.on('unsyncedChanges', ({ number }: { number: number }) => {
    if (number === 0) throttled = 0;
    if (number === 0 && provider.isSynced && session.status.connection === 'connected') session.update({ pendingChanges: 0 });
  });
  provider.on('synced', () => {
    session.update({ synced: true });
    session.commentsChanged(null);
    if (provider.unsyncedChanges === 0) session.update({ pendingChanges: 0 });
    checkRejected();
  });
  provider.on('status', ({ status }: { status: string }) => {
    // A closed connection removed everyone else's presence here but kept their clocks; the
    // server's copy of a state that did not change since comes with the same clock and would
    // be ignored until its owner renews it (up to 30 s with nobody shown). Forgetting the
    // clocks of those who are not shown lets the server's states in again.
    if (status === 'connected') {
      const awareness = session.awareness;
      for (const id of [...awareness.meta.keys()]) if (id !== awareness.clientID && !awareness.states.has(id)) awareness.meta.delete(id);
    }
    const current = session.status.connection;
    if ((current === 'offline' || current === 'closed') && status !== 'connected') return;
    session.update({ connection: status === 'connected' ? 'connected' : 'connecting', ...(status === 'connected' ? {} : { synced: false }) });
  });
  provider.on('authenticated', ({ scope }: { scope: string }) => {
    renewals = 0;
    // After a reconnect: the server dropped this client's presence when the connection
    // closed, keeping its clock, so the same state sent again would be ignored there. A new
    // clock brings it back. (Not on the first connection: nothing is stale yet.)
    const local = session.awareness.getLocalState();
    if (authenticatedBefore && local !== null) session.awareness.setLocalState({ ...local });
    authenticatedBefore = true;
    // The socket tells read-only from read-write; which read-only level (`read` or `comment`)
    // follows at once in a quire.access message, and admin is only known from REST or one.
    const known = session.status.access;
    const access = scope === 'readonly' ? (known === 'comment' ? 'comment' : 'read') : known === 'admin' ? 'admin' : 'write';
    session.update({ access, error: null });
    checkRejected();
  });
  provider.on('authenticationFailed', ({ reason }: { reason: string }) => {
    const why = reason ?? '';
    if (why.includes('network_error')) {
      // No token because the auth server was unreachable: a connectivity problem, not a refusal.
      socket.disconnect();
      session.update({ connection: 'connecting', synced: false });
      const retry = setTimeout(() => session.goOnline(), delay.max);
      session.addCleanup(() => clearTimeout(retry));
      return;
    }
    // Also the REST code of a refresh that failed because the account is gone.
    if (why.includes(DENIED.accountInactive)) {
      // The account is gone: this document's copy goes, and so does the session.
      void session.forgetCopy();
      session.end('signed_out');
      client.endSession();
      return;
    }
    if (why.includes('not_signed_in') || why.includes('refresh_token')) {
      session.end('signed_out');
      return;
    }
    if (client.usesApiKey && (why === DENIED.tokenExpired || why === DENIED.invalidToken || why === DENIED.sessionRevoked || why.includes('invalid_api_key'))) {
      // An API key cannot be renewed: refused (revoked, expired) is the end of this session.
      session.end(why);
      return;
    }
    if (why === DENIED.tokenExpired || why === DENIED.invalidToken || why === DENIED.sessionRevoked) {
      // Our clock and the server's disagree, its signing keys changed, or the session was
      // ended (signed out everywhere, password changed: only a session started since
      // refreshes): refresh and authenticate again — a few times at most, in case the new
      // tokens are refused too.
      if (++renewals > MAX_TOKEN_RENEWALS) {
        session.end(why);
        return;
      }
      void client.refresh().then((r) => {
        if (!r.ok) return;
        socket.disconnect();
        session.goOnline();
      });
      return;
    }
    if (why === DENIED.forbidden) {
      // Not (or no longer) readable by this user, or deleted: keep nothing of it here.
      void session.forgetCopy();
      session.end(CLOSE.accessRevoked.reason);
      return;
    }
    session.update({ error: why || 'forbidden' });
  });
  provider.on('close', ({ event }: { event: { code: number; reason: string } }) => {
    if (event.code === CLOSE.tooManyConnections.code) {
      // The server is refusing load: come back after a growing, jittered pause instead of
      // the provider's fixed reconnect delay.
      socket.disconnect();
      session.update({ connection: 'connecting', synced: false });
      const pause = Math.min(delay.max, delay.min * 2 ** throttled++) * (0.5 + Math.random() / 2);
      const retry = setTimeout(() => session.goOnline(), pause);
      session.addCleanup(() => clearTimeout(retry));
      return;
    }
    // Any other close is the provider's to recover from: it reconnects (with a fresh token after a 4401).
    if (!FINAL_CLOSE_CODES.has(event.code)) return;
    const inactive = event.code === CLOSE.accountInactive.code;
    if (event.code === CLOSE.accessRevoked.code || event.code === CLOSE.documentDeleted.code || inactive) void session.forgetCopy();
    // The reason without its detail (`document_too_large: limit … bytes`).
    const reason = event.reason.split(': ')[0];
    session.end(inactive ? 'signed_out' : reason || `closed (${event.code})`);
    if (inactive) client.endSession();
  });
  provider.on('stateless', ({ payload }: { payload: string }) => {
    try {
      const msg = JSON.parse(payload) as Partial<StatelessMessage>;
      if (msg.type === 'quire.access' && msg.level) {
        session.update({ access: msg.level });
        checkRejected();
      } else if (msg.type === 'quire.comments' && typeof msg.commentId === 'string') {
        session.commentsChanged(msg.commentId);
      }
    } catch {
      // Not one of ours.
    }
  });

  if (user) {
    const presence = opts.user ?? { name: user.email, color: colorFor(user.id) };
    provider.setAwarenessField('user', presence);
  }

  const follow = opts.followNetwork ?? typeof window !== 'undefined';
  if (follow && typeof window !== 'undefined') {
    const offline = () => session.goOffline();
    const online = () => session.goOnline();
    window.addEventListener('offline', offline);
    window.addEventListener('online', online);
    session.addCleanup(() => {
      window.removeEventListener('offline', offline);
      window.removeEventListener('online', online);
    });
    if (typeof navigator !== 'undefined' && navigator.onLine === false) {
      session.goOffline();
      provider.attach();
      return session;
    }
  }
  provider.attach();
  return session;
}
