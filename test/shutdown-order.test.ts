/**
 * The ordered shutdown of a process running every role: the edge stops accepting first,
 * the sync tier flushes its writes, the worker side stops its consumers before the
 * resources they use (retention, last-edited times, relay, trainer, consumer, the text
 * extraction process the indexer uses, then the bus), and the shared resources (the blob
 * store among them) close after every role, the store last; the tracing step (queued spans
 * exported, a no-op with tracing off) runs after everything, so the other steps' spans go out.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../lib/log.js';
import { startQuire } from '../server/app.js';
import { dropSchema, testConfig, testKeys, uniqueName } from './helpers/server.js';

test('shutdown stops the roles before what they use: edge, sync, retention, last-edited times, relay, trainer, consumer, bus, then the shared resources, the store last, the span export after everything', async (t) => {
  const schema = uniqueName('t');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-test-'));
  t.after(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
    await dropSchema('postgres', schema);
  });
  const lines: { step?: string; msg?: string; cat?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const config = testConfig(schema, { redis: true, env: { LOG_LEVEL: 'info' } }, dataDir);
  assert.deepEqual([...config.roles].sort(), ['api', 'sync', 'worker']);
  const quire = await startQuire({ config, keys: (await testKeys()).keys, log: createLogger('info', sink) });
  await quire.close();
  const closed = lines.filter((l) => l.cat === 'shutdown' && l.msg === 'closed').map((l) => l.step);
  assert.deepEqual(closed, [
    'http',
    'sync',
    'review-timers',
    'retention',
    'last-edited',
    'relay',
    'trainer',
    'push',
    'webhook-deliverer',
    'webhook-enqueuer',
    'notifier',
    'consumer',
    'extractor',
    'bus',
    'blobs',
    'signing-keys',
    'notification-hub',
    'dependencies',
    'rate-limiter',
    'redis',
    'vacuum',
    'store',
    'tracing',
  ]);
});
