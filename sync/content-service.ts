/**
 * Document content for the REST API: read from the live in-memory document when this
 * instance has it, else from the store (which holds every acknowledged update); write
 * through a direct connection so live clients see the change at once, and answer only
 * after the change is committed to the log.
 */
import type { Hocuspocus } from '@hocuspocus/server';
import * as Y from 'yjs';
import { toProseMirrorJSON, writeContent, type ProseMirrorNode } from '../core/content.js';
import type { VersionRecord, VersionStore } from '../core/history.js';
import type { History } from './extensions/history.js';
import type { SyncContext } from './context.js';
import type { DocumentStore } from '../core/document-store.js';
import type { Persistence } from './extensions/persistence.js';
import { checkUpdate } from '../core/update-validation.js';
import type { z } from 'zod';

export type ContentInput = { text: string; json?: undefined } | { json: z.infer<typeof ProseMirrorNode>; text?: undefined };

export class ContentService {
  constructor(
    private readonly hocuspocus: Hocuspocus,
    private readonly persistence: Persistence,
    private readonly store: DocumentStore,
    private readonly history: History,
    readonly versions: VersionStore,
  ) {}

  async read<T>(tenantId: string, documentId: string, fn: (doc: Y.Doc) => T): Promise<T> {
    const live = this.hocuspocus.documents.get(documentId);
    if (live && !live.isLoading && !live.isDestroyed) return fn(live);
    const { doc, skipped } = await this.store.loadInto(tenantId, documentId);
    // The rest is served; compaction moves the rows that failed to quarantine.
    if (skipped.length > 0) void this.persistence.compact(documentId, tenantId);
    try {
      return fn(doc);
    } finally {
      doc.destroy();
    }
  }

  /**
   * The document's Yjs state as one update. A document that is not in memory is answered
   * from storage without integrating it: the snapshot as stored when the log tail is
   * empty (compacted), else snapshot and tail merged (`Y.mergeUpdates` decodes but does
   * not integrate). Any of these applies to the same document state. A log row that fails
   * `checkUpdate` would make the merged update fail on the client too: then the document is
   * loaded (which skips such rows) and encoded instead.
   */
  async state(tenantId: string, documentId: string): Promise<Uint8Array> {
    const live = this.hocuspocus.documents.get(documentId);
    if (live && !live.isLoading && !live.isDestroyed) return Y.encodeStateAsUpdate(live);
    const stored = await this.store.load(tenantId, documentId);
    const parts = stored.snapshot ? [stored.snapshot, ...stored.updates] : stored.updates;
    if (parts.length === 0) return Y.encodeStateAsUpdate(new Y.Doc());
    if (stored.updates.some((u) => checkUpdate(u) !== null)) return this.read(tenantId, documentId, (doc) => Y.encodeStateAsUpdate(doc));
    return parts.length === 1 ? parts[0]! : Y.mergeUpdates(parts);
  }

  async write(actor: { tenantId: string; userId: string }, documentId: string, input: ContentInput, mode: 'replace' | 'append'): Promise<void> {
    const context: SyncContext = { tenantId: actor.tenantId, userId: actor.userId };
    const dc = await this.hocuspocus.openDirectConnection(documentId, context);
    try {
      await dc.transact((doc) => writeContent(doc, input, mode));
      await this.persistence.flushDocument(documentId);
    } finally {
      // Unloading may wait on fan-out housekeeping; the write is already durable.
      void dc.disconnect().catch(() => undefined);
    }
  }

  /** Waits until every change this instance applied to the document so far is committed. */
  private async durable(documentId: string): Promise<void> {
    await this.persistence.whenDurable(documentId);
    await this.persistence.flushDocument(documentId);
  }

  /**
   * Records a named version of the document's committed state; its authors are the users
   * whose edits this instance applied since its latest version.
   */
  async createNamedVersion(actor: { tenantId: string; userId: string }, documentId: string, name: string): Promise<VersionRecord> {
    await this.durable(documentId);
    const authors = this.history.take(documentId);
    try {
      const res = await this.versions.create(actor.tenantId, documentId, { kind: 'named', name, createdBy: actor.userId, authors });
      if (!('created' in res)) throw new Error(`named version not recorded: ${res.skipped}`);
      return res.created;
    } catch (e) {
      this.history.giveBack(documentId, actor.tenantId, authors);
      throw e;
    }
  }

  /**
   * Makes a version's content the document's current content: an automatic version of the
   * current state first (when it changed since the latest version, so the restore can be
   * undone exactly), then the version's ProseMirror JSON replaces the content as a new
   * change through a direct connection — live clients receive it like any edit — and once it
   * is committed a `restore` version records the result. Null when there is no such version.
   */
  async restoreVersion(actor: { tenantId: string; userId: string }, documentId: string, versionId: string, name: (v: VersionRecord) => string): Promise<VersionRecord | null> {
    const found = await this.versions.read(actor.tenantId, documentId, versionId);
    if (!found) return null;
    let json: ReturnType<typeof toProseMirrorJSON>;
    try {
      json = toProseMirrorJSON(found.doc);
    } finally {
      found.doc.destroy();
    }
    await this.durable(documentId);
    const before = this.history.take(documentId);
    try {
      await this.versions.create(actor.tenantId, documentId, { kind: 'auto', name: null, createdBy: null, authors: before });
    } catch (e) {
      this.history.giveBack(documentId, actor.tenantId, before);
      throw e;
    }
    const context: SyncContext = { tenantId: actor.tenantId, userId: actor.userId };
    const dc = await this.hocuspocus.openDirectConnection(documentId, context);
    try {
      await dc.transact((doc) => writeContent(doc, { json }, 'replace'));
      await this.durable(documentId);
      const authors = this.history.take(documentId);
      const res = await this.versions.create(actor.tenantId, documentId, { kind: 'restore', name: name(found.version), createdBy: actor.userId, authors: [actor.userId, ...authors] });
      if (!('created' in res)) throw new Error(`restore version not recorded: ${res.skipped}`);
      return res.created;
    } finally {
      void dc.disconnect().catch(() => undefined);
    }
  }
}
