/**
 * The change feed's event schema: the only contract between the server side (relay) and
 * the workers. Events carry ids and feed positions, never content; workers read the
 * current state themselves, so a burst of edits costs one re-index.
 */
import { z } from 'zod';

export const FEED_EVENT_TYPES = ['document.created', 'document.changed', 'document.deleted', 'document.permissions'] as const;
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];

export const FeedEventSchema = z.strictObject({
  type: z.enum(FEED_EVENT_TYPES),
  tenantId: z.uuid(),
  documentId: z.uuid(),
  /** The writing transaction's id (xid8) of the newest row this event covers. */
  txid: z.string().regex(/^\d{1,20}$/),
  /** Its row sequence number (log seq for changes, outbox seq otherwise). */
  seq: z.string().regex(/^\d{1,20}$/),
  at: z.iso.datetime(),
});
export type FeedEvent = z.infer<typeof FeedEventSchema>;

/** `<prefix>.<tenantId>.document.changed` */
export function subjectFor(prefix: string, e: Pick<FeedEvent, 'tenantId' | 'type'>): string {
  return `${prefix}.${e.tenantId}.${e.type}`;
}

/** JetStream de-duplication id: one per document and feed row. */
export function messageIdFor(e: Pick<FeedEvent, 'documentId' | 'seq' | 'type'>): string {
  return e.type === 'document.changed' ? `${e.documentId}:${e.seq}` : `${e.type}:${e.seq}`;
}

/**
 * The indexer's coalescing key: every event type about one document is handled by reading
 * that document's current state, so waiting events for it are interchangeable. Throws for
 * an undecodable event (which then stands alone and is dead-lettered by its handler).
 */
export function documentKeyOf(data: Uint8Array): string {
  return decodeEvent(data).documentId;
}

export function decodeEvent(data: Uint8Array): FeedEvent {
  return FeedEventSchema.parse(JSON.parse(new TextDecoder().decode(data)));
}

export function encodeEvent(e: FeedEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(e));
}
