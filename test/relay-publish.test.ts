/**
 * The relay's publishing (`publishAll` in `ml-workers/relay.ts`): events go out several at
 * a time, so the transaction that advances the cursor stays short; each document's events
 * keep their order; the first failure stops the rest and fails the poll (its transaction
 * rolls back, and the next poll publishes again, de-duplicated by message id).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { EventBus } from '../ml-workers/bus/bus.js';
import { MemoryBus } from '../ml-workers/bus/memory.js';
import { messageIdFor, type FeedEvent, type FeedEventType } from '../contract/feed.js';
import { PUBLISH_PARALLELISM, publishAll } from '../ml-workers/relay.js';
import { eventually, quietFor } from './helpers/wait.js';

const tenantId = randomUUID();
const docs = Array.from({ length: 40 }, () => randomUUID());
const types: FeedEventType[] = ['document.created', 'document.permissions', 'document.changed', 'document.deleted'];
let seq = 0;
/** Four events per document, interleaved across documents as the outbox would order them. */
const events: FeedEvent[] = types.flatMap((type) => docs.map((documentId) => ({ type, tenantId, documentId, txid: String(1000 + seq), seq: String(++seq), at: new Date().toISOString() })));

/** A memory bus whose publishes take a few turns each, as a network round trip does. */
function slowBus(opts: { failOn?: string } = {}) {
  const bus = new MemoryBus();
  const order: { doc: string; type: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let started = 0;
  const wrapped: Pick<EventBus, 'publish'> = {
    async publish(subject, data, msgId) {
      started++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        for (let i = 0; i < 1 + (started % 3); i++) await new Promise((r) => setImmediate(r));
        if (opts.failOn === msgId) throw new Error('NATS is down');
        await bus.publish(subject, data, msgId);
        const e = JSON.parse(new TextDecoder().decode(data)) as FeedEvent;
        order.push({ doc: e.documentId, type: e.type });
      } finally {
        inFlight--;
      }
    },
  };
  return { bus: wrapped as EventBus, order, stats: () => ({ maxInFlight, started, inFlight }) };
}

test('several publishes in flight, each document in order', async () => {
  const b = slowBus();
  await publishAll(b.bus, 'quire', events);
  assert.equal(b.order.length, events.length);
  assert.equal(b.stats().maxInFlight, PUBLISH_PARALLELISM, 'publishes overlap, up to the bound');
  for (const doc of docs) {
    assert.deepEqual(
      b.order.filter((o) => o.doc === doc).map((o) => o.type),
      types,
      'a document’s events in their order',
    );
  }
});

test('the first failure stops the rest and rejects', async () => {
  const failing = events.find((e) => e.type === 'document.created')!;
  const b = slowBus({ failOn: `${failing.type}:${failing.seq}` });
  await assert.rejects(publishAll(b.bus, 'quire', events), /NATS is down/);
  // The publishes in flight when it failed settle; one that kept going would start more as they do.
  await eventually(() => assert.equal(b.stats().inFlight, 0), { message: 'the publishes in flight settle' });
  const stoppedAt = b.stats().started;
  await quietFor(50, 'a publish started after the failure', { check: () => assert.equal(b.stats().started, stoppedAt), intervalMs: 1 });
  assert.ok(stoppedAt < events.length, `stopped after ${stoppedAt} of ${events.length}`);
  // Nothing of the failed document after its failed event went out.
  assert.deepEqual(
    b.order.filter((o) => o.doc === failing.documentId),
    [],
  );
});

test('no events, nothing published', async () => {
  const b = slowBus();
  await publishAll(b.bus, 'quire', []);
  assert.equal(b.stats().started, 0);
});

test('two changes of one document from the log and the outbox never share a de-duplication id', () => {
  const documentId = randomUUID();
  const base = { type: 'document.changed' as const, documentId, seq: '42' };
  // The update log's row 42 and the event outbox's row 42 are different changes (different transactions).
  assert.notEqual(messageIdFor({ ...base, txid: '1001' }), messageIdFor({ ...base, txid: '1002' }), 'rows of different transactions are both published');
  assert.equal(messageIdFor({ ...base, txid: '1001' }), messageIdFor({ ...base, txid: '1001' }), 'a re-published row keeps its id');
});
