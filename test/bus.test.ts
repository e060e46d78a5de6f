/** The event bus conformance suite, over the in-process bus and NATS JetStream. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import { PoisonMessageError, type ConsumeOptions, type EventBus } from '../ml-workers/bus/bus.js';
import { MemoryBus } from '../ml-workers/bus/memory.js';
import { NatsBus } from '../ml-workers/bus/nats.js';
import { TEST_NATS_URL } from './helpers/env.js';
import { dropStream, uniqueName } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

interface ConsumerState {
  ackPending: number;
  redelivered: number;
  /** Stored and not yet delivered. */
  undelivered: number;
}

interface Harness {
  bus: EventBus;
  /** `<prefix>.<tenant>.document.<type>` */
  subject: (s: string, tenant?: string) => string;
  close: () => Promise<void>;
  /** The server's view of a durable, summed over its tenant lanes (NATS only). */
  consumerState?: (durable: string) => Promise<ConsumerState>;
  /**
   * Creates the durable as one consumer shared by every tenant, as earlier versions did,
   * before any worker consumes (NATS only).
   */
  provision?: (durable: string, opts: { maxAckPending: number; ackWaitMs: number }) => Promise<void>;
  /** Takes `n` messages through the shared consumer and acks them, as an earlier worker would (NATS only). */
  ackShared?: (durable: string, n: number) => Promise<string[]>;
  /** Whether the shared consumer still exists (NATS only). */
  sharedExists?: (durable: string) => Promise<boolean>;
}

const implementations: Record<string, () => Promise<Harness>> = {
  memory: async () => {
    const bus = new MemoryBus();
    return { bus, subject: (s, tenant = 't') => `quire.${tenant}.document.${s}`, close: () => bus.close() };
  },
  nats: async () => {
    const name = uniqueName('bus');
    const prefix = name.replace(/_/g, '-');
    const stream = `QT_${name}`;
    const bus = await NatsBus.connect({ url: TEST_NATS_URL, stream, prefix });
    const nc = await connect({ servers: TEST_NATS_URL });
    const jsm = await jetstreamManager(nc);
    return {
      bus,
      subject: (s, tenant = 't') => `${prefix}.${tenant}.document.${s}`,
      consumerState: async (durable) => {
        const lanes = await bus.backlog(durable);
        return {
          ackPending: lanes.reduce((n, l) => n + l.ackPending, 0),
          redelivered: lanes.reduce((n, l) => n + l.redelivered, 0),
          undelivered: lanes.reduce((n, l) => n + l.undelivered, 0),
        };
      },
      ackShared: async (durable, n) => {
        const js = jetstream(nc);
        const consumer = await js.consumers.get(stream, durable);
        const got: string[] = [];
        const batch = await consumer.fetch({ max_messages: n, expires: 2_000 });
        for await (const m of batch) {
          got.push(dec(m.data));
          await m.ackAck();
        }
        return got;
      },
      sharedExists: async (durable) => {
        try {
          await jsm.consumers.info(stream, durable);
          return true;
        } catch {
          return false;
        }
      },
      provision: async (durable, o) => {
        await jsm.consumers.add(stream, {
          durable_name: durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: `${prefix}.*.document.*`,
          ack_wait: nanos(o.ackWaitMs),
          max_ack_pending: o.maxAckPending,
        });
      },
      close: async () => {
        await bus.close();
        await nc.close();
        await dropStream(stream);
      },
    };
  },
};

// BUS_IMPL=memory|nats runs the suite over one implementation only.
for (const [name, make] of Object.entries(implementations).filter(([n]) => !process.env.BUS_IMPL || n === process.env.BUS_IMPL)) {
  describe(`event bus conformance: ${name}`, () => {
    test('delivers every message once to a durable consumer; duplicates by id are dropped', async () => {
      const { bus, subject, close } = await make();
      try {
        const got: string[] = [];
        await bus.publish(subject('changed'), enc('a'), 'id-a');
        const sub = await bus.consume({ durable: 'c1' }, async (m) => void got.push(dec(m.data)));
        await bus.publish(subject('changed'), enc('b'), 'id-b');
        await bus.publish(subject('changed'), enc('b-again'), 'id-b');
        await bus.publish(subject('created'), enc('c'), 'id-c');
        await eventually(() => assert.deepEqual([...got].sort(), ['a', 'b', 'c']));
        await sub.stop();
      } finally {
        await close();
      }
    });

    test('a failing handler gets the message again with a growing delivery count', async () => {
      const { bus, subject, close } = await make();
      try {
        const counts: number[] = [];
        const sub = await bus.consume({ durable: 'retry', backoffMs: [20, 40], maxDeliver: 5 }, async (m) => {
          counts.push(m.deliveryCount);
          if (m.deliveryCount < 3) throw new Error('transient');
        });
        await bus.publish(subject('changed'), enc('x'), 'id-x');
        await eventually(() => assert.deepEqual(counts, [1, 2, 3]));
        assert.deepEqual(await bus.deadLetters('retry'), []);
        await sub.stop();
      } finally {
        await close();
      }
    });

    test('dead-letters after maxDeliver attempts, and at once for a poison message; others still flow', async () => {
      const { bus, subject, close } = await make();
      try {
        const ok: string[] = [];
        const sub = await bus.consume({ durable: 'dlq', backoffMs: [10], maxDeliver: 2 }, async (m) => {
          const body = dec(m.data);
          if (body === 'always-fails') throw new Error('boom');
          if (body === 'poison') throw new PoisonMessageError('cannot decode');
          ok.push(body);
        });
        await bus.publish(subject('changed'), enc('always-fails'), 'f');
        await bus.publish(subject('changed'), enc('poison'), 'p');
        await bus.publish(subject('changed'), enc('fine'), 'ok');
        await eventually(async () => {
          const dead = await bus.deadLetters('dlq');
          assert.deepEqual(dead.map((d) => [dec(d.data), d.deliveries, d.reason]).sort(), [
            ['always-fails', 2, 'boom'],
            ['poison', 1, 'cannot decode'],
          ]);
          assert.equal(dead[0]!.subject, subject('changed'));
        });
        assert.deepEqual(ok, ['fine']);
        await sub.stop();
      } finally {
        await close();
      }
    });

    test('a dead-lettered message is recorded once and never comes back, even past the ack deadline', async () => {
      const { bus, subject, close, consumerState } = await make();
      try {
        const calls = new Map<string, number>();
        const ackWaitMs = 1_000;
        const sub = await bus.consume({ durable: 'dead-once', backoffMs: [10], maxDeliver: 2, ackWaitMs }, async (m) => {
          const body = dec(m.data);
          calls.set(body, (calls.get(body) ?? 0) + 1);
          if (body.startsWith('poison')) throw new PoisonMessageError('cannot decode');
          if (body.startsWith('bad')) throw new Error('always fails');
        });
        await bus.publish(subject('changed'), enc('poison-1'), 'p1');
        await bus.publish(subject('changed'), enc('bad-1'), 'b1');
        await bus.publish(subject('changed'), enc('fine'), 'f');
        await eventually(async () => assert.equal((await bus.deadLetters('dead-once')).length, 2));
        if (consumerState) {
          // Ended on the server: nothing ack-pending, so nothing can come back.
          await eventually(async () => assert.deepEqual(await consumerState('dead-once'), { ackPending: 0, redelivered: 0, undelivered: 0 }));
        }
        await eventually(() => assert.equal(calls.get('fine'), 1), { message: 'the good message is handled' });
        // Let the ack deadline pass more than once: a message left pending would be redelivered.
        await quietFor(ackWaitMs * 2.5, 'a message left ack-pending would be redelivered after its ack deadline', {
          check: () => assert.deepEqual(Object.fromEntries(calls), { 'poison-1': 1, 'bad-1': 2, fine: 1 }),
        });
        const dead = await bus.deadLetters('dead-once');
        assert.deepEqual(dead.map((d) => dec(d.data)).sort(), ['bad-1', 'poison-1']);
        await sub.stop();
      } finally {
        await close();
      }
    });

    test('a handler running past the ack deadline is not redelivered meanwhile', async () => {
      const { bus, subject, close, consumerState } = await make();
      try {
        let calls = 0;
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const sub = await bus.consume({ durable: 'slow', ackWaitMs: 1_000 }, async () => {
          calls++;
          await released;
        });
        await bus.publish(subject('changed'), enc('slow'), 's');
        await eventually(() => assert.equal(calls, 1));
        // Three ack deadlines pass while the handler runs: it must keep the message its own.
        await quietFor(3_000, 'a message whose handler runs past the ack deadline would be redelivered', { check: () => assert.equal(calls, 1) });
        release();
        if (consumerState) await eventually(async () => assert.deepEqual(await consumerState('slow'), { ackPending: 0, redelivered: 0, undelivered: 0 }));
        assert.equal(calls, 1);
        await sub.stop();
      } finally {
        await close();
      }
    });

    test('events for one document that wait behind a running one are handled in one run', async () => {
      const { bus, subject, close, consumerState } = await make();
      try {
        const runs: string[] = [];
        let release!: () => void;
        const released = new Promise<void>((r) => (release = r));
        const opts: ConsumeOptions = { durable: 'coalesce', coalesceKey: (m) => dec(m.data).split(':')[0]! };
        const sub = await bus.consume(opts, async (m) => {
          runs.push(dec(m.data));
          if (dec(m.data) === 'd1:1') await released;
        });
        await bus.publish(subject('changed'), enc('d1:1'), 'd1-1');
        await eventually(() => assert.deepEqual(runs, ['d1:1']));
        for (let i = 2; i <= 6; i++) await bus.publish(subject('changed'), enc(`d1:${i}`), `d1-${i}`);
        await bus.publish(subject('changed'), enc('d2:1'), 'd2-1');
        // Another document is not held up by d1.
        await eventually(() => assert.ok(runs.includes('d2:1'), 'd2 handled'));
        // Let every d1 event arrive before the running one ends.
        if (consumerState) await eventually(async () => assert.equal((await consumerState('coalesce')).undelivered, 0));
        release();
        await eventually(() =>
          assert.deepEqual(
            runs.filter((r) => r.startsWith('d1')),
            ['d1:1', 'd1:6'],
          ),
        );
        if (consumerState) await eventually(async () => assert.equal((await consumerState('coalesce')).ackPending, 0));
        await sub.stop();
      } finally {
        await close();
      }
    });

    test("one tenant's poisoned documents and burst of edits do not stop another tenant's events", async () => {
      const { bus, subject, close, consumerState, provision } = await make();
      try {
        // A small ack-pending bound (as configured for this durable) reproduces in seconds
        // what the production bound of 1,000 does under a longer burst.
        const cfg = { maxAckPending: 20, ackWaitMs: 60_000 };
        await provision?.('fair', cfg);
        const handled: string[] = [];
        const poisoned = new Set(Array.from({ length: 10 }, (_, i) => `a-doc-${i}`));
        const opts: ConsumeOptions = {
          durable: 'fair',
          concurrency: 2,
          maxDeliver: 3,
          backoffMs: [20, 50],
          coalesceKey: (m) => (JSON.parse(dec(m.data)) as { doc: string }).doc,
          ...cfg,
        };
        const sub = await bus.consume(opts, async (m) => {
          const { doc } = JSON.parse(dec(m.data)) as { doc: string };
          if (poisoned.has(doc)) throw new Error(`cannot index ${doc}`);
          handled.push(doc);
        });
        const publish = (tenant: string, doc: string, n: number) => bus.publish(subject('changed', tenant), enc(JSON.stringify({ doc, n })), `${doc}:${n}`);
        // Tenant A: ten documents that always fail, edited again and again.
        for (let round = 0; round < 4; round++) for (const doc of poisoned) await publish('tenant-a', doc, round);
        await eventually(
          async () => {
            const n = (await bus.deadLetters('fair')).length;
            assert.ok(n >= 10, `${n} dead letters`);
          },
          { timeoutMs: 20_000 },
        );
        // More edits of A's documents keep coming while tenant B writes.
        for (let round = 4; round < 8; round++) for (const doc of poisoned) await publish('tenant-a', doc, round);
        await publish('tenant-b', 'b-doc', 0);
        for (let round = 8; round < 12; round++) for (const doc of poisoned) await publish('tenant-a', doc, round);
        await eventually(() => assert.ok(handled.includes('b-doc'), "tenant B's document was handled"), { timeoutMs: 20_000 });
        // Every poisoned document was dead-lettered, and no message twice.
        await eventually(
          async () => {
            const dead = (await bus.deadLetters('fair', 1_000)).map((d) => dec(d.data));
            assert.equal(new Set(dead).size, dead.length, 'no duplicate dead letters');
            assert.deepEqual(new Set(dead.map((d) => (JSON.parse(d) as { doc: string }).doc)), poisoned);
            if (consumerState) assert.equal((await consumerState('fair')).ackPending, 0);
          },
          { timeoutMs: 30_000 },
        );
        await sub.stop();
      } finally {
        await close();
      }
    });

    test("a tenant's long backlog of distinct documents does not delay another tenant's next message", async () => {
      const { bus, subject, close } = await make();
      try {
        const handled: string[] = [];
        const opts: ConsumeOptions = { durable: 'backlog', concurrency: 2, coalesceKey: (m) => dec(m.data) };
        const sub = await bus.consume(opts, async (m) => {
          const doc = dec(m.data);
          if (doc.startsWith('a-')) await new Promise((r) => setTimeout(r, 20));
          handled.push(doc);
        });
        // Tenant A imports 300 documents: a backlog far longer than any worker takes in hand.
        const backlog = 300;
        for (let i = 0; i < backlog; i++) await bus.publish(subject('created', 'tenant-a'), enc(`a-${i}`), `a-${i}`);
        await eventually(() => assert.ok(handled.length >= 4, 'tenant A is being worked through'));
        await bus.publish(subject('created', 'tenant-b'), enc('b-doc'), 'b-doc');
        await eventually(() => assert.ok(handled.includes('b-doc'), "tenant B's document was handled"), { timeoutMs: 30_000 });
        const before = handled.indexOf('b-doc');
        assert.ok(before < backlog / 3, `tenant B waited behind ${before} of tenant A's ${backlog} documents`);
        await eventually(() => assert.equal(handled.length, backlog + 1), { timeoutMs: 60_000 });
        await sub.stop();
      } finally {
        await close();
      }
    });

    if (name === 'nats') {
      test('a durable shared by every tenant moves to lanes: nothing acknowledged comes back, nothing is lost', async () => {
        const { bus, subject, close, provision, ackShared, sharedExists, consumerState } = await make();
        try {
          await provision!('moved', { maxAckPending: 1_000, ackWaitMs: 30_000 });
          for (let i = 0; i < 6; i++) await bus.publish(subject('changed', i % 2 ? 'tenant-a' : 'tenant-b'), enc(`m-${i}`), `m-${i}`);
          // An earlier worker handled the first three.
          assert.deepEqual(await ackShared!('moved', 3), ['m-0', 'm-1', 'm-2']);
          const got: string[] = [];
          const sub = await bus.consume({ durable: 'moved' }, async (m) => void got.push(dec(m.data)));
          await bus.publish(subject('changed', 'tenant-c'), enc('m-6'), 'm-6');
          await eventually(() => assert.deepEqual([...got].sort(), ['m-3', 'm-4', 'm-5', 'm-6']));
          assert.equal(await sharedExists!('moved'), false, 'the shared consumer is retired');
          await eventually(async () => assert.deepEqual(await consumerState!('moved'), { ackPending: 0, redelivered: 0, undelivered: 0 }));
          assert.deepEqual((await bus.backlog('moved')).map((l) => l.tenant).sort(), ['tenant-a', 'tenant-b', 'tenant-c']);
          await sub.stop();
        } finally {
          await close();
        }
      });
    }
  });
}
