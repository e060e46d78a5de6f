/**
 * The change feed's event schema: the only contract between the server side (relay) and
 * the workers. Events carry ids and feed positions, never content; workers read the
 * current state themselves, so a burst of edits costs one re-index.
 */
import { z } from 'zod';

export const FEED_EVENT_TYPES = [
  'document.created',
  'document.changed',
  'document.deleted',
  'document.permissions',
  // What people are told about (the notifier); `subjectId` names what it is about.
  'document.commented',
  'document.shared',
  'document.review',
  // A file was added to the document (`subjectId`): its text is extracted and the document re-indexed.
  'document.attachment',
  // The labels shown on the document changed (the classifier stored a new decision): for webhooks.
  'document.classified',
] as const;
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];

/** Events about a document's content or access: what the indexer handles (the rest are for the notifier). */
export const INDEXED_EVENT_TYPES: readonly FeedEventType[] = ['document.created', 'document.changed', 'document.deleted', 'document.permissions', 'document.attachment'];

/** Events the notifier turns into notifications. */
export const NOTIFYING_EVENT_TYPES: readonly FeedEventType[] = ['document.commented', 'document.shared', 'document.review'];

export const FeedEventSchema = z.strictObject({
  type: z.enum(FEED_EVENT_TYPES),
  tenantId: z.uuid(),
  documentId: z.uuid(),
  /** The writing transaction's id (xid8) of the newest row this event covers. */
  txid: z.string().regex(/^\d{1,20}$/),
  /** Its row sequence number (log seq for changes, outbox seq otherwise). */
  seq: z.string().regex(/^\d{1,20}$/),
  at: z.iso.datetime(),
  /** `document.commented`: the comment; `document.shared`: the user it was shared with; `document.review`: the review event; `document.attachment`: the attachment. */
  subjectId: z.uuid().optional(),
});
export type FeedEvent = z.infer<typeof FeedEventSchema>;

/** `<prefix>.<tenantId>.document.changed` */
export function subjectFor(prefix: string, e: Pick<FeedEvent, 'tenantId' | 'type'>): string {
  return `${prefix}.${e.tenantId}.${e.type}`;
}

/**
 * JetStream de-duplication id: one per document and feed row. `document.changed` comes from
 * two tables whose row numbers are counted separately (the update log, and the event outbox
 * for compaction and REST writes), so its id carries the writing transaction too: two
 * changes of one document never share an id, and the only rows that can are of one
 * transaction, which stand for the same change.
 */
export function messageIdFor(e: Pick<FeedEvent, 'documentId' | 'seq' | 'type' | 'txid'>): string {
  return e.type === 'document.changed' ? `${e.documentId}:${e.txid}:${e.seq}` : `${e.type}:${e.seq}`;
}

/**
 * The indexer's coalescing key: every indexed event type about one document is handled by
 * reading that document's current state, so waiting events for it are interchangeable.
 * Notifying events stand alone (null): folding an indexing event into one would lose it.
 * Throws for an undecodable event (which then stands alone and is dead-lettered by its handler).
 */
export function indexKeyOf(data: Uint8Array): string | null {
  const ev = decodeEvent(data);
  return INDEXED_EVENT_TYPES.includes(ev.type) ? ev.documentId : null;
}

export function decodeEvent(data: Uint8Array): FeedEvent {
  return FeedEventSchema.parse(JSON.parse(new TextDecoder().decode(data)));
}

export function encodeEvent(e: FeedEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(e));
}
