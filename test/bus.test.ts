/** The event bus conformance suite, over the in-process bus and NATS JetStream. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PoisonMessageError, type EventBus } from '../ml-workers/bus/bus.js';
import { MemoryBus } from '../ml-workers/bus/memory.js';
import { NatsBus } from '../ml-workers/bus/nats.js';
import { TEST_NATS_URL } from './helpers/env.js';
import { dropStream, uniqueName } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const implementations: Record<string, () => Promise<{ bus: EventBus; subject: (s: string) => string; close: () => Promise<void> }>> = {
  memory: async () => {
    const bus = new MemoryBus();
    return { bus, subject: (s) => `quire.t.document.${s}`, close: () => bus.close() };
  },
  nats: async () => {
    const name = uniqueName('bus');
    const prefix = name.replace(/_/g, '-');
    const stream = `QT_${name}`;
    const bus = await NatsBus.connect({ url: TEST_NATS_URL, stream, prefix });
    return {
      bus,
      subject: (s) => `${prefix}.t.document.${s}`,
      close: async () => {
        await bus.close();
        await dropStream(stream);
      },
    };
  },
};

for (const [name, make] of Object.entries(implementations)) {
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
  });
}
