/**
 * Per-document connection limit and the end of the pre-authentication window. Frame
 * size, per-IP and total socket limits are enforced at the uWS edge (sync/server.ts);
 * pre-authentication queue limits by Hocuspocus' own options.
 */
import type { connectedPayload, Extension, onConnectPayload } from '@hocuspocus/server';
import { CLOSE, type SyncContext } from '../context.js';

export interface LimitsConfiguration {
  maxConnectionsPerDocument: number;
}

export class Limits implements Extension {
  extensionName = 'Limits';
  constructor(private readonly config: LimitsConfiguration) {}

  async onConnect({ instance, documentName, context }: onConnectPayload<SyncContext>): Promise<void> {
    const doc = instance.documents.get(documentName);
    if (doc && doc.getConnectionsCount() >= this.config.maxConnectionsPerDocument) {
      context.socket?.close(CLOSE.tooManyConnections.code, `${CLOSE.tooManyConnections.reason} to this document`);
      throw Object.assign(new Error('too many connections'), { reason: 'too-many-connections' });
    }
  }

  async connected({ context }: connectedPayload<SyncContext>): Promise<void> {
    if (context.socket) context.socket.authenticatedDocuments++;
  }
}
