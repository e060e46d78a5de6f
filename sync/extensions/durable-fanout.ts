/**
 * Durable fan-out: the Redis fan-out between instances (`RedisFanout`, which keeps
 * documents working when Redis fails) never lets an update cross an instance boundary
 * before it is durable.
 *
 * `@hocuspocus/extension-redis` moves document state between instances by a state-vector
 * exchange: a change publishes a SyncStep1, and peers answer one another with SyncStep2
 * diffs computed from memory. Quire applies an update in memory (and broadcasts it to the
 * instance's own clients) before its commit returns, so an unguarded answer can carry an
 * update that is not stored yet. If its instance then dies, a peer holds an update the
 * store lacks: the author's reconnect to that peer finds nothing missing and stores
 * nothing, and everything built on it waits forever on an update that is gone.
 *
 * This subclass holds every outgoing message that carries document state (SyncStep2 and
 * Update) until everything appended for that document up to the moment it was computed is
 * committed (`Persistence.whenDurable`), and drops it when an append failed (the document
 * is being reset and reloads from the store). State vectors, awareness and stateless
 * messages go at once. Peers therefore only ever hold stored updates from other
 * instances, and their memory equals the store plus their own appends in flight.
 *
 * It relies on two internals of extension-redis 4.x, checked by
 * `test/durable-fanout.test.ts`: every message leaves through `this.pub.publish`,
 * and a message is `[identifier length][identifier][Hocuspocus message]`.
 */
import type { Configuration } from '@hocuspocus/extension-redis';
import type { beforeUnloadDocumentPayload } from '@hocuspocus/server';
import * as decoding from 'lib0/decoding';
import type { Logger } from '../../lib/log.js';
import { RedisFanout } from '../redis-fanout.js';

/** What the fan-out waits on: the Persistence extension. */
export interface Durability {
  /** True once everything appended to the document so far is committed; false if an append failed. */
  whenDurable(documentName: string): Promise<boolean>;
}

type Publish = (channel: string | Buffer, message: string | Buffer) => Promise<number>;

/** Hocuspocus message types (`MessageType` in @hocuspocus/server) and y-protocols sync steps. */
const SYNC = 0;
const SYNC_REPLY = 4;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/**
 * The document a published message is about, when it carries document state (a sync
 * message with a SyncStep2 or an Update); null for everything else.
 */
export function stateMessageDocument(message: string | Buffer): string | null {
  if (typeof message === 'string' || message.length === 0) return null;
  const decoder = decoding.createDecoder(message.subarray(1 + message[0]!));
  const documentName = decoding.readVarString(decoder);
  const type = decoding.readVarUint(decoder);
  if (type !== SYNC && type !== SYNC_REPLY) return null;
  const step = decoding.readVarUint(decoder);
  return step === SYNC_STEP_2 || step === SYNC_UPDATE ? documentName : null;
}

export class DurableFanout extends RedisFanout {
  extensionName = 'DurableFanout';

  constructor(
    configuration: Partial<Configuration>,
    private readonly durability: Durability,
    private readonly logger: Logger,
  ) {
    super(configuration, logger);
    const publish: Publish = this.pub.publish.bind(this.pub);
    const gated: Publish = (channel, message) => this.publishWhenDurable(channel, message, publish);
    this.pub.publish = gated as typeof this.pub.publish;
  }

  /**
   * Sends a state-carrying message once everything appended before it was computed is
   * committed. The durability promise is taken synchronously, in the turn the message was
   * computed: an update is appended before it is applied (`beforeSync`, or `onChange` for
   * server-side writes, in the same turn), so everything the message holds is covered.
   */
  private publishWhenDurable(channel: string | Buffer, message: string | Buffer, publish: Publish): Promise<number> {
    let documentName: string | null;
    try {
      documentName = stateMessageDocument(message);
    } catch (err) {
      this.logger.warn({ cat: 'sync', err }, 'could not read an outgoing fan-out message; sent as is');
      documentName = null;
    }
    if (documentName === null) return publish(channel, message);
    const name = documentName;
    return this.durability
      .whenDurable(name)
      .then((durable) => {
        if (!durable) {
          this.logger.warn({ cat: 'sync', doc: name }, 'document state not fanned out: an append failed and the document reloads from the store');
          return 0;
        }
        return publish(channel, message);
      })
      .catch((err: unknown) => {
        // Answers to peers are not awaited by the extension; a failed publish is a missed
        // fan-out, repaired by the next state-vector exchange.
        this.logger.warn({ cat: 'sync', doc: name, err }, 'fan-out publish failed');
        return 0;
      });
  }

  /**
   * A document whose append failed must reload from the store at once: the extension's
   * unload delay would let a client that reconnects within it sync against a memory that
   * is ahead of the store, and find nothing to send.
   */
  override async beforeUnloadDocument(data: beforeUnloadDocumentPayload): Promise<void> {
    if (!(await this.durability.whenDurable(data.documentName))) return;
    return super.beforeUnloadDocument(data);
  }
}
