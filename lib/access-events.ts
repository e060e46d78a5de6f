/**
 * What live connections must follow: access changes (a document permission changed, a
 * user's role changed or the user was removed, a document's access changed for everyone —
 * a template became a document again: the workspace's implicit read is gone; its link
 * access changed) and a change to a document's comments, which open clients read again.
 * Commands emit them after commit; the sync tier's revocation extension listens (and
 * relays them between instances).
 */
import { EventEmitter } from 'node:events';

export type AccessEvent =
  | { type: 'permission'; tenantId: string; documentId: string; userId: string }
  | { type: 'user'; tenantId: string; userId: string }
  | { type: 'document-deleted'; tenantId: string; documentId: string }
  | { type: 'document-access'; tenantId: string; documentId: string }
  | { type: 'comments'; tenantId: string; documentId: string; commentId: string };

export class AccessEvents {
  private readonly emitter = new EventEmitter();

  emit(event: AccessEvent): void {
    this.emitter.emit('access', event);
  }

  on(listener: (event: AccessEvent) => void): () => void {
    this.emitter.on('access', listener);
    return () => this.emitter.off('access', listener);
  }
}
