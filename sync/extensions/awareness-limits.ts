/**
 * Awareness (presence: names, carets, selections) is relayed to every connection of a
 * document and handed whole to every newcomer, so its size is everybody's cost. Limits:
 * - one state is at most `maxStateBytes` of JSON (a name, a colour and a selection are a
 *   few hundred bytes);
 * - one connection speaks for at most `maxClientsPerConnection` awareness client ids (a
 *   provider has one; a reconnect after a reload can add another);
 * - one document holds at most `maxClientsPerDocument` states in all.
 * What passes a limit is dropped from the update before it is applied or relayed, and the
 * sender is told with a `quire.refused` stateless message; the rest of the update stands.
 * Empty states (`{}`) are dropped silently: they say nothing about anyone.
 */
import type { beforeHandleAwarenessPayload, Extension } from '@hocuspocus/server';
import { refusal, type SyncContext } from '../context.js';

export interface AwarenessLimitsConfiguration {
  /** Largest awareness state of one client, as JSON. @default 16_384 */
  maxStateBytes: number;
  /** Awareness client ids one connection may set. @default 4 */
  maxClientsPerConnection: number;
  /** Awareness states one document may hold. @default 1_000 */
  maxClientsPerDocument: number;
}

export class AwarenessLimits implements Extension {
  extensionName = 'AwarenessLimits';
  private readonly config: AwarenessLimitsConfiguration;
  /** Client ids each connection has set (per connection object, gone with it). */
  private readonly idsByConnection = new WeakMap<object, Set<number>>();

  constructor(config: Partial<AwarenessLimitsConfiguration> = {}) {
    this.config = { maxStateBytes: 16_384, maxClientsPerConnection: 4, maxClientsPerDocument: 1_000, ...config };
  }

  async beforeHandleAwareness(data: beforeHandleAwarenessPayload<SyncContext>): Promise<void> {
    const { states, connection, awareness } = data;
    if (!connection || states.size === 0) return;
    let ids = this.idsByConnection.get(connection);
    if (!ids) this.idsByConnection.set(connection, (ids = new Set()));
    const reasons = new Set<string>();
    const present = awareness.getStates();
    for (const [clientId, state] of [...states]) {
      // An empty state carries no presence. Hocuspocus decodes each update into a scratch
      // Awareness whose own client (state `{}`) is part of the map it hands us; left in, it
      // would be applied and relayed as a ghost client on every awareness message.
      if (Object.keys(state).length === 0) {
        states.delete(clientId);
        continue;
      }
      if (!ids.has(clientId) && ids.size >= this.config.maxClientsPerConnection) {
        states.delete(clientId);
        reasons.add('too many awareness clients on one connection');
        continue;
      }
      if (!present.has(clientId) && present.size >= this.config.maxClientsPerDocument) {
        states.delete(clientId);
        reasons.add('too many people present in this document');
        continue;
      }
      if (JSON.stringify(state).length > this.config.maxStateBytes) {
        states.delete(clientId);
        reasons.add(`awareness state larger than ${this.config.maxStateBytes} bytes`);
        continue;
      }
      ids.add(clientId);
    }
    for (const r of reasons) connection.sendStateless(refusal('awareness', r));
  }
}
