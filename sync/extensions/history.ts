/**
 * History: automatic versions of the documents edited on this instance.
 *
 * A document that was edited gets a version once `intervalMs` has passed since its first
 * edit after the latest version (and at least that long after the latest version of any
 * kind), and when it is left: its last connection disconnects, or it unloads. A version is
 * taken of the committed state, after this instance's appends of the document have
 * committed; one whose state is already the latest version's is not stored (nothing
 * changed, or another instance versioned the same state).
 *
 * When a user leaves (their connection closes), the state they leave is versioned too and
 * recorded as what they last saw (`seen`), for "what changed since you were here".
 *
 * Authors are the users whose edits this instance applied since its last version of the
 * document (kept in memory here): a version taken on one instance names the authors seen
 * there. Failing to store a version never affects editing: it is logged, and the authors
 * wait for the next one.
 */
import { isTransactionOrigin, type beforeUnloadDocumentPayload, type Extension, type Hocuspocus, type onChangePayload, type onConfigurePayload, type onDisconnectPayload } from '@hocuspocus/server';
import type { Logger } from '../../lib/log.js';
import { stateDigest, type VersionStore } from '../../core/history.js';
import { tenantOf, type SyncContext } from '../context.js';
import type { Persistence } from './persistence.js';

export interface HistoryConfiguration {
  versions: VersionStore;
  persistence: Persistence;
  log: Logger;
  intervalMs: number;
  /** Records the version a user's copy held when they left the document ("last seen"). */
  recordSeen?: (tenantId: string, documentId: string, userId: string, versionId: string) => Promise<void>;
}

interface DocHistory {
  tenantId: string;
  /** Users whose edits are not in a version yet. */
  authors: Set<string>;
  /** Edited since the latest version this instance took or was told of. */
  edited: boolean;
  /** Some of those edits came from a socket (not only from REST writes). */
  socketEdits: boolean;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export class History implements Extension {
  extensionName = 'History';
  private readonly docs = new Map<string, DocHistory>();
  private readonly running = new Set<Promise<void>>();
  /** Users who left a document and wait for its last-seen version. */
  private readonly seenWaiting = new Map<string, Set<string>>();
  private closing = false;

  private instance: Hocuspocus | null = null;

  constructor(private readonly config: HistoryConfiguration) {}

  async onConfigure({ instance }: onConfigurePayload): Promise<void> {
    this.instance = instance;
  }

  /** Forgets a document that is not loaded and has nothing waiting for a version. */
  private forgetIdle(documentName: string): void {
    const state = this.docs.get(documentName);
    if (state && !state.edited && !state.running && !state.timer && !this.instance?.documents.has(documentName)) this.docs.delete(documentName);
  }

  async onChange({ documentName, transactionOrigin, context }: onChangePayload<SyncContext>): Promise<void> {
    let ctx: SyncContext | undefined = context;
    if (isTransactionOrigin(transactionOrigin)) {
      // Another instance applied it and versions it.
      if (transactionOrigin.source === 'redis') return;
      if (transactionOrigin.source === 'connection') ctx = transactionOrigin.connection.context as SyncContext;
      else if (transactionOrigin.context) ctx = transactionOrigin.context as SyncContext;
    }
    const userId = ctx?.user?.id ?? ctx?.userId;
    const tenantId = tenantOf(ctx);
    if (!tenantId) return;
    let state = this.docs.get(documentName);
    if (!state) {
      state = { tenantId, authors: new Set(), edited: false, socketEdits: false };
      this.docs.set(documentName, state);
    }
    if (userId) state.authors.add(userId);
    state.edited = true;
    if (isTransactionOrigin(transactionOrigin) && transactionOrigin.source === 'connection') state.socketEdits = true;
    if (!state.timer && !this.closing) this.arm(documentName, state, this.config.intervalMs);
  }

  async onDisconnect({ documentName, clientsCount, context }: onDisconnectPayload<SyncContext>): Promise<void> {
    const left = clientsCount === 0 ? this.checkpoint(documentName, 'left') : Promise.resolve();
    const userId = context?.user?.id;
    const tenantId = tenantOf(context);
    if (userId && tenantId && this.config.recordSeen) this.seen(documentName, tenantId, userId, left);
  }

  /**
   * "Last seen": once the user's connection closed, the document's committed state is
   * versioned (an automatic version, unless the latest version already holds it) and the
   * user's last-seen version set to it. A version is taken whoever made the edits, also
   * another instance: what the user saw live is in it, so "what changed since" shows only
   * what came after. Edits arriving in the moment between the close and the version count
   * as seen.
   */
  private seen(documentName: string, tenantId: string, userId: string, after: Promise<void>): void {
    // Users leaving together (a meeting ends) share one version.
    const waiting = this.seenWaiting.get(documentName);
    if (waiting) {
      waiting.add(userId);
      return;
    }
    const users = new Set([userId]);
    this.seenWaiting.set(documentName, users);
    const run = (async () => {
      await after;
      await this.config.persistence.whenDurable(documentName);
      await this.config.persistence.flushDocument(documentName);
      const state = this.docs.get(documentName);
      // After a checkpoint in progress (versions are serialized in the database anyway; this
      // only spares reading the same state twice). One wait, not a loop on a promise.
      if (state?.running) await state.running;
      this.seenWaiting.delete(documentName);
      const edited = state?.edited ?? false;
      const socketEdits = state?.socketEdits ?? false;
      const authors = edited ? this.take(documentName) : [];
      let versionId: string | undefined;
      try {
        // Nothing edited here since the latest version and the loaded copy (all committed:
        // other instances' edits arrive durable) is that version's state: no need to read the
        // document back from the store.
        const live = edited ? undefined : this.instance?.documents.get(documentName);
        const latest = live ? await this.config.versions.latest(tenantId, documentName) : null;
        if (live && latest && latest.digest === stateDigest(live)) versionId = latest.id;
        else {
          const res = await this.config.versions.create(tenantId, documentName, { kind: 'auto', name: null, createdBy: null, authors });
          versionId = 'created' in res ? res.created.id : (await this.config.versions.latest(tenantId, documentName))?.id;
        }
      } catch (e) {
        if (edited) this.giveBack(documentName, tenantId, authors, socketEdits);
        throw e;
      }
      if (versionId) for (const u of users) await this.config.recordSeen!(tenantId, documentName, u, versionId);
    })()
      .catch((e: unknown) => this.config.log.error({ cat: 'sync', doc: documentName, err: e }, 'last-seen version could not be recorded'))
      .finally(() => {
        if (this.seenWaiting.get(documentName) === users) this.seenWaiting.delete(documentName);
        this.running.delete(run);
        this.forgetIdle(documentName);
      });
    this.running.add(run);
  }

  async beforeUnloadDocument({ documentName }: beforeUnloadDocumentPayload): Promise<void> {
    void this.checkpoint(documentName, 'left');
  }

  async afterUnloadDocument({ documentName }: { documentName: string }): Promise<void> {
    // A document with edits not in a version yet stays until its timer records them.
    this.forgetIdle(documentName);
  }

  /**
   * Takes what the next version of the document would name as its authors, and marks the
   * document as versioned: the caller is about to record a version of its current state.
   */
  take(documentName: string): string[] {
    const state = this.docs.get(documentName);
    if (!state) return [];
    const authors = [...state.authors];
    state.authors.clear();
    state.edited = false;
    state.socketEdits = false;
    if (state.timer) clearTimeout(state.timer);
    state.timer = undefined;
    return authors;
  }

  /** Hands back authors taken for a version that was not recorded. */
  giveBack(documentName: string, tenantId: string, authors: string[], socketEdits = false): void {
    let state = this.docs.get(documentName);
    if (!state) {
      state = { tenantId, authors: new Set(), edited: false, socketEdits: false };
      this.docs.set(documentName, state);
    }
    for (const a of authors) state.authors.add(a);
    state.edited = true;
    state.socketEdits ||= socketEdits;
    if (!state.timer && !this.closing) this.arm(documentName, state, this.config.intervalMs);
  }

  private arm(documentName: string, state: DocHistory, ms: number): void {
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.checkpoint(documentName, 'interval').then(() => this.forgetIdle(documentName));
    }, ms);
    state.timer.unref();
  }

  /**
   * An automatic version of the document, when it was edited since the latest one. When it
   * is left after REST writes alone (a script appending, say), the interval still applies:
   * such writes are versioned at most once per interval, by the timer, which outlives the
   * document's unloading.
   */
  checkpoint(documentName: string, reason: 'interval' | 'left'): Promise<void> {
    const state = this.docs.get(documentName);
    if (!state || !state.edited) return Promise.resolve();
    // One at a time per document: the next edit (or leaving) asks again.
    if (state.running) return state.running.then(() => this.checkpoint(documentName, reason));
    const socketEdits = state.socketEdits;
    const authors = this.take(documentName);
    const spaced = reason === 'interval' || !socketEdits;
    const run = (async () => {
      // The version is read from the store: wait for this instance's appends of the document.
      await this.config.persistence.whenDurable(documentName);
      await this.config.persistence.flushDocument(documentName);
      const res = await this.config.versions.create(state.tenantId, documentName, {
        kind: 'auto',
        name: null,
        createdBy: null,
        authors,
        minIntervalMs: spaced ? this.config.intervalMs : undefined,
      });
      if ('skipped' in res && res.skipped === 'too_soon') {
        this.giveBack(documentName, state.tenantId, authors, socketEdits);
        if (state.timer) clearTimeout(state.timer);
        if (!this.closing) this.arm(documentName, state, res.retryInMs);
      } else if ('created' in res) {
        this.config.log.debug({ cat: 'sync', doc: documentName, version: res.created.id, full: res.created.full, bytes: res.created.bytes, reason }, 'version recorded');
      }
    })()
      .catch((e: unknown) => {
        this.config.log.error({ cat: 'sync', doc: documentName, err: e }, 'automatic version could not be recorded');
        this.giveBack(documentName, state.tenantId, authors, socketEdits);
      })
      .finally(() => {
        state.running = undefined;
        this.running.delete(run);
        this.forgetIdle(documentName);
      });
    state.running = run;
    this.running.add(run);
    return run;
  }

  /** Shutdown: records a version of every document with edits not in one yet, and waits for them; no new timers start. */
  async flush(): Promise<void> {
    this.closing = true;
    for (const [name, s] of this.docs) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      if (s.edited) {
        s.socketEdits = true;
        void this.checkpoint(name, 'left');
      }
    }
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
