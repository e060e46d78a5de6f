/**
 * Persistence: the write path's durability guarantee.
 *
 * - `onLoadDocument` loads snapshot + log tail; a load error refuses the connection and
 *   nothing is ever written over stored content.
 * - `beforeSync` validates each incoming SyncStep2/Update (`checkUpdate`, then applying it
 *   to the live document), appends it to the log through the group committer, and tells
 *   the socket to hold that frame's SyncStatus ack until the commit returns. The update
 *   itself applies and fans out at once. An update that cannot be applied is refused
 *   (4400) before anything is stored: stored, it would fail every later load.
 * - Server-side writes (direct connections) are appended from `onChange`; callers await
 *   `flushDocument`.
 * - Compaction runs after enough appends (debounced) and when a document unloads.
 * - Tracing on: each client update is a `sync.update` span (linked to the connection's
 *   upgrade request when that carried a `traceparent`) from its arrival to its commit; its
 *   `traceparent` is stored with the log row (a server-side write stores the active one,
 *   a REST request's).
 */
import {
  isTransactionOrigin,
  type afterUnloadDocumentPayload,
  type beforeSyncPayload,
  type Extension,
  type Hocuspocus,
  type onChangePayload,
  type onConfigurePayload,
  type onLoadDocumentPayload,
} from '@hocuspocus/server';
import * as Y from 'yjs';
import type { Logger } from '../../lib/log.js';
import { CLOSE, DENIED, SyncRefusal, tenantOf, type SyncContext } from '../context.js';
import type { DocumentStore } from '../../core/document-store.js';
import type { GroupCommitter } from '../group-commit.js';
import { startWork } from '../inbound-budget.js';
import { SliceSizer, UpdateSlicer } from '../update-slices.js';
import { applyChecked, checkOnEmptyDocument, checkStructure, checkUpdate, decodeChecked, InvalidUpdateError, type UpdateProblem } from '../../core/update-validation.js';
import type { UwsSocket } from '../uws-socket.js';
import { failSpan, linkTo, ROOT_CONTEXT, SpanKind, startSpan, traceparentOf, tracingOn, withActiveSpan } from '../../lib/tracing.js';

export interface PersistenceConfiguration {
  store: DocumentStore;
  committer: GroupCommitter;
  log: Logger;
  maxDocumentBytes: number;
  compactAfterUpdates: number;
  compactDebounceMs: number;
  onAppend?: (bytes: number) => void;
  /** Seconds from an update's hand-over to the group committer to its commit (its ack is released then). */
  onAck?: (seconds: number) => void;
  /**
   * Charges the milliseconds spent checking and applying a client's update to its
   * workspace; false when the workspace's budget is spent (the socket is then closed with
   * 4429 once this update is through).
   */
  chargeWork?: (tenantId: string, ms: number) => boolean;
  /** False while the workspace's processing budget is spent: its documents do not load. */
  canWork?: (tenantId: string) => boolean;
}

interface DocState {
  tenantId: string;
  bytes: number;
  sinceCompaction: number;
  timer?: NodeJS.Timeout;
  localWrites: Set<Promise<void>>;
  /** The commit of the latest append. The committer commits each document's appends in order, so once it settles every earlier one has. */
  lastCommit?: Promise<void>;
  /** An append failed: memory is ahead of the store until the document reloads. */
  failed?: boolean;
}

/**
 * Event-loop milliseconds a load spends per MB read, before integrating: the driver's
 * decoding of the rows (~150 ms of CPU for a 12 MB snapshot read as base64).
 */
const LOAD_MS_PER_MB = 12;
/** Updates with more structs than this are integrated in slices (`applyInSlices`). */
const SLICE_ABOVE_STRUCTS = 32;
/** Slice sizes in structs, and the time a slice should take. */
const SLICE_SIZES = { initial: 32, min: 1, max: 2048, targetMs: 4 };
/** The event loop is yielded once slices have taken this long in one turn. */
const SLICE_TURN_MS = 8;

/** Where a client's update goes: its socket and connection, and the document's state. */
interface SliceTarget {
  socket: UwsSocket;
  connection: beforeSyncPayload<SyncContext>['connection'];
  documentName: string;
  document: beforeSyncPayload<SyncContext>['document'];
  state: DocState;
  userId: string | null;
}

/** An empty Yjs update (no structs, empty delete set) needs no storage. */
function isEmptyUpdate(u: Uint8Array): boolean {
  return u.length <= 2 && u.every((b) => b === 0);
}

export class Persistence implements Extension {
  extensionName = 'Persistence';
  private readonly docs = new Map<string, DocState>();
  private readonly compactions = new Set<Promise<unknown>>();

  private instance: Hocuspocus | null = null;

  constructor(private readonly config: PersistenceConfiguration) {}

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  async onLoadDocument({ documentName, context, document }: onLoadDocumentPayload<SyncContext>): Promise<void> {
    const tenantId = tenantOf(context);
    if (!tenantId) {
      this.config.log.warn({ cat: 'sync', doc: documentName }, 'document load without a tenant refused');
      throw new SyncRefusal({ reason: DENIED.forbidden }, 'no tenant for document load');
    }
    // A fresh client (empty state vector) that caused this load gets the stored state as
    // soon as it is read, and integrates it while the server does the same; the server's
    // own answer to its SyncStep1 then carries only what changed since (see UwsSocket).
    // Loading a large document is the costliest thing a client can make the server do; a
    // workspace reconnecting in a loop to its largest documents spends the same budget
    // as its updates, and waits for it to refill.
    if (this.config.canWork && !this.config.canWork(tenantId)) {
      this.config.log.warn({ cat: 'sync', doc: documentName, tenant: tenantId }, 'workspace processing budget spent; document not loaded');
      document.destroy();
      throw new SyncRefusal({ reason: DENIED.workspaceBusy }, 'workspace processing budget spent');
    }
    // Charged from the end of the read: integrating is the work; waiting for a busy database
    // (another workspace's flood, say) is not this workspace's doing. Decoding what was
    // read is, and is charged by its bytes (`LOAD_MS_PER_MB`).
    let integration = startWork();
    const socket = context.socket;
    const address = socket?.wholeDocumentRequest(documentName) ?? null;
    let answered = false;
    let storedVector: Uint8Array | null = null;
    try {
      const { bytes, skipped } = await this.config.store.loadInto(tenantId, documentName, document, (stored) => {
        integration = startWork();
        if (!socket || address === null || !stored.snapshot || document.store.clients.size > 0) return;
        socket.answerFromStorage(address, stored.snapshot, stored.updates, () => Y.encodeStateAsUpdate(document, storedVector ?? undefined));
        answered = true;
      });
      // The document held nothing before the load, so its state vector now is the stored state's.
      if (answered) storedVector = Y.encodeStateVector(document);
      this.docs.set(documentName, { tenantId, bytes, sinceCompaction: 0, localWrites: new Set() });
      this.config.chargeWork?.(tenantId, integration() + (bytes / 1_048_576) * LOAD_MS_PER_MB);
      if (skipped.length > 0) {
        // The rest of the document is served; compaction moves the rows to quarantine.
        this.config.log.error(
          { cat: 'sync', doc: documentName, code: 'stored_update_skipped', rows: skipped.map((r) => ({ seq: r.seq, ...r.problem })) },
          'stored updates could not be applied and were skipped; compacting to quarantine them',
        );
        void this.compact(documentName, tenantId);
      }
    } catch (e) {
      if (answered && address !== null) socket?.forgetWholeDocumentRequest(address);
      this.config.log.error({ cat: 'sync', doc: documentName, err: e }, 'document load failed; connection refused');
      // Hocuspocus drops a document whose load failed without destroying it; its awareness
      // timer would otherwise live forever.
      document.destroy();
      throw new SyncRefusal({ reason: DENIED.loadFailed }, 'document load failed');
    }
  }

  async beforeSync(p: beforeSyncPayload<SyncContext>): Promise<void> {
    if (!tracingOn() || p.type === 0 || p.connection.readOnly || isEmptyUpdate(p.payload)) return this.receiveUpdate(p);
    const socket = p.connection.webSocket as UwsSocket;
    const link = linkTo(socket.upgradeTraceparent);
    const span = startSpan('sync.update', {
      kind: SpanKind.SERVER,
      parent: ROOT_CONTEXT,
      links: link ? [link] : undefined,
      attributes: () => ({ 'quire.document_id': p.documentName, 'quire.update.bytes': p.payload.byteLength, 'quire.sync.message_type': p.type }),
    });
    try {
      await withActiveSpan(span, () => this.receiveUpdate(p));
    } catch (e) {
      failSpan(span, e);
      span.end();
      throw e;
    }
    // The span lasts until the update is committed (when its ack goes out).
    const commit = this.docs.get(p.documentName)?.lastCommit;
    if (!commit) span.end();
    else
      commit.then(
        () => span.end(),
        (e: unknown) => {
          failSpan(span, e);
          span.end();
        },
      );
  }

  private async receiveUpdate({ type, payload, connection, documentName, document }: beforeSyncPayload<SyncContext>): Promise<void> {
    if (type === 0 || connection.readOnly) return;
    const socket = connection.webSocket as UwsSocket;
    const state = this.docs.get(documentName);
    const ctx = connection.context;
    const tenantId = tenantOf(ctx);
    if (!state || !tenantId) {
      this.config.log.warn({ cat: 'sync', doc: documentName, reason: CLOSE.documentNotLoaded.reason }, 'update for a document that is not loaded; closing socket');
      socket.close(CLOSE.documentNotLoaded.code, CLOSE.documentNotLoaded.reason);
      throw new SyncRefusal(CLOSE.documentNotLoaded);
    }
    if (isEmptyUpdate(payload)) return;
    // The size limit first: refusing costs nothing, checking a large update does.
    if (state.bytes + payload.byteLength > this.config.maxDocumentBytes) {
      this.config.log.warn(
        { cat: 'sync', doc: documentName, tenant: tenantId, bytes: state.bytes, update: payload.byteLength, limit: this.config.maxDocumentBytes },
        'update would pass the document size limit; closing socket',
      );
      socket.close(CLOSE.documentTooLarge.code, `${CLOSE.documentTooLarge.reason}: limit ${this.config.maxDocumentBytes} bytes`);
      throw new SyncRefusal(CLOSE.documentTooLarge);
    }
    const work = startWork();
    const decoded = decodeChecked(payload);
    if ('code' in decoded) this.refuse(socket, documentName, decoded);
    const structural = checkStructure(decoded);
    if (structural) this.refuse(socket, documentName, structural);
    if (decoded.structs.length > SLICE_ABOVE_STRUCTS) {
      // What the document already holds is left out: a client resending an update the
      // server stopped in the middle of (budget spent) carries on where it stopped.
      const news = Y.decodeUpdate(Y.diffUpdate(payload, Y.encodeStateVector(document)));
      await this.applyInSlices(new UpdateSlicer(news), { socket, connection, documentName, document, state, tenantId, userId: ctx.user?.id ?? null }, work());
      return;
    }
    const problem = checkOnEmptyDocument(payload);
    if (problem) this.refuse(socket, documentName, problem);
    const commit = this.appendAndApply({ socket, connection, documentName, document, state, userId: ctx.user?.id ?? null }, payload);
    socket.holdNextAck(connection.messageAddress, commit);
    if (this.config.chargeWork && !this.config.chargeWork(tenantId, work())) {
      // This update stands (it is stored and applied); the socket goes, so the client slows
      // down: it reconnects after its backoff and resyncs.
      this.budgetSpent(socket, documentName, tenantId);
    }
  }

  /**
   * Appends `update` to the log, then applies it to the live document; an update that
   * fails to apply is withdrawn from the commit queue and refused (4400). Returns its commit.
   */
  private appendAndApply(target: SliceTarget, update: Uint8Array): Promise<void> {
    const { socket, connection, documentName, document, state, userId } = target;
    // Appended before it is applied, so a fan-out waiting for durability covers it; applied
    // here rather than only by Hocuspocus (which applies it again after this hook, a no-op)
    // because only here can a throw still keep it out of the store.
    const data = update.slice();
    const commit = this.append(documentName, state, data, userId);
    try {
      applyChecked(document, update, { source: 'connection', connection });
    } catch (e) {
      const problem = e instanceof InvalidUpdateError ? e.problem : { code: 'conflicts_with_document' as const, detail: String(e) };
      // Yjs may have applied part of it: the commit's rejection resets the document, which
      // then reloads from the store.
      if (!this.config.committer.withdraw(data, e)) this.config.log.error({ cat: 'sync', doc: documentName, problem }, 'an update that failed to apply was already committing');
      this.refuse(socket, documentName, problem);
    }
    return commit;
  }

  /**
   * Integrates a large update a slice at a time (see `sync/update-slices.ts`), yielding the
   * event loop between turns. Each slice is checked, stored and applied as an update of its
   * own, and charged to the workspace: once its processing budget is spent, the rest is
   * not processed, the socket is closed (4429) and nothing is acknowledged; the slices
   * already applied are stored, so the client's resync sends only the rest.
   */
  private async applyInSlices(slicer: UpdateSlicer, target: SliceTarget & { tenantId: string }, decodingMs: number): Promise<void> {
    const { socket, connection, documentName, tenantId } = target;
    const sizer = new SliceSizer(SLICE_SIZES);
    let commit: Promise<void> = Promise.resolve();
    let turnStarted = performance.now();
    let uncharged = decodingMs;
    for (;;) {
      const before = slicer.remaining;
      const started = performance.now();
      const work = startWork();
      const slice = slicer.take(sizer.size);
      if (!slice) break;
      const problem = checkOnEmptyDocument(slice);
      if (problem) this.refuse(socket, documentName, problem);
      commit = this.appendAndApply(target, slice);
      const ms = performance.now() - started;
      sizer.record(before - slicer.remaining, ms);
      const charged = work() + uncharged;
      uncharged = 0;
      if (this.config.chargeWork && !this.config.chargeWork(tenantId, charged)) {
        this.budgetSpent(socket, documentName, tenantId);
        if (slicer.done) break; // all of it stands, as for an update in one piece
        throw new SyncRefusal(CLOSE.sendingTooFast, 'workspace CPU budget spent');
      }
      if (performance.now() - turnStarted >= SLICE_TURN_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        turnStarted = performance.now();
        // The client went away meanwhile: what was applied is stored, it resyncs the rest.
        if (socket.readyState !== 1) throw new SyncRefusal({ code: CLOSE.sendingTooFast.code, reason: 'closed' }, 'socket closed');
      }
    }
    socket.holdNextAck(connection.messageAddress, commit);
  }

  private budgetSpent(socket: UwsSocket, documentName: string, tenantId: string): void {
    this.config.log.warn({ cat: 'sync', doc: documentName, tenant: tenantId }, 'workspace CPU budget spent; closing socket');
    socket.close(CLOSE.sendingTooFast.code, `${CLOSE.sendingTooFast.reason}: workspace CPU budget`);
  }

  /** Closes the socket with 4400 and throws: the update is not stored, and nothing of it is acknowledged. */
  private refuse(socket: UwsSocket, documentName: string, problem: UpdateProblem): never {
    this.config.log.warn({ cat: 'sync', doc: documentName, code: 'invalid_update', problem }, 'update refused');
    const reason = `${CLOSE.invalidUpdate.reason}: ${problem.code}`;
    socket.close(CLOSE.invalidUpdate.code, reason);
    throw new SyncRefusal({ code: CLOSE.invalidUpdate.code, reason });
  }

  async onChange({ documentName, transactionOrigin, context, update }: onChangePayload<SyncContext>): Promise<void> {
    // Connection updates were appended in beforeSync; peer instances store their own.
    if (isTransactionOrigin(transactionOrigin) && transactionOrigin.source !== 'local') return;
    const state = this.docs.get(documentName);
    if (!state) {
      this.config.log.error({ cat: 'sync', doc: documentName }, 'local change on a document that was not loaded; not stored');
      return;
    }
    const origin = transactionOrigin as { context?: SyncContext } | undefined;
    const userId = origin?.context?.userId ?? context?.user?.id ?? null;
    // Server-side writes are made by Yjs itself, but they are stored the same way as a
    // client's: checked first, so no path can store what a load cannot apply.
    const problem = checkUpdate(update);
    if (problem) {
      state.failed = true;
      this.resetDocument(documentName, new InvalidUpdateError(problem));
    }
    const stored = problem ? Promise.reject(new InvalidUpdateError(problem)) : this.append(documentName, state, update, userId);
    const p = stored.catch((e: unknown) => {
      this.config.log.error({ cat: 'sync', doc: documentName, err: e }, 'server-side change could not be stored');
      throw e;
    });
    state.localWrites.add(p);
    p.then(
      () => state.localWrites.delete(p),
      () => state.localWrites.delete(p),
    );
  }

  private append(documentName: string, state: DocState, data: Uint8Array, userId: string | null): Promise<void> {
    state.bytes += data.byteLength;
    state.sinceCompaction++;
    this.config.onAppend?.(data.byteLength);
    const t0 = process.hrtime.bigint();
    const traceparent = tracingOn() ? traceparentOf() : undefined;
    const commit = this.config.committer.append(
      traceparent ? { tenantId: state.tenantId, documentId: documentName, data, userId, traceparent } : { tenantId: state.tenantId, documentId: documentName, data, userId },
    );
    const onAck = this.config.onAck;
    if (onAck)
      commit.then(
        () => onAck(Number(process.hrtime.bigint() - t0) / 1e9),
        () => undefined,
      );
    commit.catch((e: unknown) => {
      state.failed = true;
      this.resetDocument(documentName, e);
    });
    state.lastCommit = commit;
    if (state.sinceCompaction >= this.config.compactAfterUpdates) this.scheduleCompaction(documentName, state);
    return commit;
  }

  /**
   * A failed commit leaves the in-memory document ahead of the store. Every socket on it is
   * closed so the document unloads; clients reconnect, the server reloads from the store,
   * and each client's sync step sends back whatever the store is missing. Nothing that
   * was acknowledged is affected: acks wait for commits.
   */
  private resetDocument(documentName: string, error: unknown): void {
    this.config.log.error({ cat: 'sync', doc: documentName, err: error }, 'append failed or was refused; resetting the document so clients resend');
    const doc = this.instance?.documents.get(documentName);
    for (const conn of doc?.getConnections() ?? []) (conn.webSocket as UwsSocket).close(CLOSE.persistFailed.code, CLOSE.persistFailed.reason);
  }

  /**
   * Resolves true once everything appended to the document so far is committed; false when
   * an append of this document failed (its memory stays ahead of the store until it
   * reloads). The Redis fan-out holds document state leaving the instance until then, so
   * another instance never holds an update the store may lack.
   */
  whenDurable(documentName: string): Promise<boolean> {
    const state = this.docs.get(documentName);
    if (!state?.lastCommit || state.failed) return Promise.resolve(!state?.failed);
    return state.lastCommit.then(
      () => !state.failed,
      () => false,
    );
  }

  /** Resolves when every server-side write to the document so far is committed; rejects if one failed. */
  async flushDocument(documentName: string): Promise<void> {
    const state = this.docs.get(documentName);
    if (state) await Promise.all([...state.localWrites]);
  }

  /**
   * Throttled, not debounced: under a continuous stream of edits a debounce would never
   * fire and the log would grow without bound (and so would the next cold load).
   */
  private scheduleCompaction(documentName: string, state: DocState): void {
    if (state.timer) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.compact(documentName, state.tenantId);
    }, this.config.compactDebounceMs);
    state.timer.unref();
  }

  /**
   * Compacts a document's log (after pending appends commit), in chunks of at most
   * `COMPACT_CHUNK_ROWS` rows that each commit on their own, so a huge log is folded even
   * when the process does not live long enough to fold it at once. Safe on any instance.
   */
  compact(documentName: string, tenantId: string): Promise<unknown> {
    const run = (async () => {
      const before = this.docs.get(documentName)?.bytes ?? 0;
      await this.config.committer.flush();
      const work = startWork();
      const res = await this.config.store.compactAll(tenantId, documentName, { shouldStop: () => this.closing });
      this.config.chargeWork?.(tenantId, work());
      const state = this.docs.get(documentName);
      if (res && state) {
        state.sinceCompaction = 0;
        // The new snapshot and the rows left replace what was stored; appends made meanwhile still count.
        state.bytes = res.bytes + Math.max(0, state.bytes - before);
      }
      if (res && res.quarantined.length > 0) {
        this.config.log.error(
          { cat: 'sync', doc: documentName, code: 'stored_update_quarantined', rows: res.quarantined.map((r) => ({ seq: r.seq, ...r.problem })) },
          'stored updates that cannot be applied were moved to document_quarantine',
        );
      }
      if (res) this.config.log.debug({ cat: 'sync', doc: documentName, folded: res.folded, chunks: res.chunks, bytes: res.bytes, remaining: res.remaining }, 'compacted');
      // Rows appended while this compaction ran wait for the next one.
      if (res && res.remaining > 0 && state && !this.closing) this.scheduleCompaction(documentName, state);
      return res;
    })().catch((e: unknown) => this.config.log.error({ cat: 'sync', doc: documentName, err: e }, 'compaction failed'));
    this.compactions.add(run);
    void run.then(() => this.compactions.delete(run));
    return run;
  }

  async afterUnloadDocument({ documentName }: afterUnloadDocumentPayload): Promise<void> {
    const state = this.docs.get(documentName);
    if (!state) return;
    this.docs.delete(documentName);
    if (state.timer) clearTimeout(state.timer);
    if (state.sinceCompaction > 0) void this.compact(documentName, state.tenantId);
  }

  private closing = false;

  /** Waits for every queued append and running compaction (shutdown). */
  async flush(): Promise<void> {
    this.closing = true;
    await this.config.committer.flush();
    for (const s of this.docs.values()) if (s.timer) clearTimeout(s.timer);
    while (this.compactions.size > 0) await Promise.all([...this.compactions]);
    await this.config.committer.flush();
  }
}
