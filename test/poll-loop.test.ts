/** The workers' poll loop: runs at start, again at once while work is left, sooner when woken, later after failures, never two at once. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PollLoop } from '../ml-workers/poll-loop.js';
import { eventually, quietFor } from './helpers/wait.js';

const HOUR = 3_600_000;

test('a wake brings the next run forward from a poll an hour away; a run that left more goes again at once', async (t) => {
  let runs = 0;
  let more = 2;
  const loop = new PollLoop({
    pollMs: HOUR,
    run: async () => {
      runs++;
      return more-- > 0;
    },
    onError: () => assert.fail('no run fails here'),
  });
  t.after(() => loop.stop());
  loop.start();
  // The first run, and two more at once because each said more was due.
  await eventually(() => assert.equal(runs, 3, 'the start run and the two it asked for'));
  loop.wake(0);
  await eventually(() => assert.equal(runs, 4, 'the wake ran it again without waiting the hour'));
});

test('a wake during a run is kept for after it; stop waits for the run in progress and nothing runs after', async () => {
  let runs = 0;
  let release: () => void = () => undefined;
  const loop = new PollLoop({
    pollMs: HOUR,
    run: () => {
      runs++;
      return runs === 1 ? new Promise<boolean>((resolve) => (release = () => resolve(false))) : Promise.resolve(false);
    },
    onError: () => assert.fail('no run fails here'),
  });
  loop.start();
  await eventually(() => assert.equal(runs, 1, 'the first run started'));
  loop.wake(0); // while the first run is still going
  release();
  await eventually(() => assert.equal(runs, 2, 'the wake made during the run is honoured after it'));
  await loop.stop();
  loop.wake(0);
  await quietFor(50, 'a woken loop runs within milliseconds; a stopped one never', { check: () => assert.equal(runs, 2, 'a stopped loop is not woken') });
});

test('a failed run is retried after a backoff and reported', async (t) => {
  let runs = 0;
  const errors: number[] = [];
  const loop = new PollLoop({
    pollMs: HOUR,
    backoffMs: 1,
    maxBackoffMs: 5,
    run: async () => {
      runs++;
      if (runs < 3) throw new Error('database away');
      return false;
    },
    onError: (_err, retryInMs) => errors.push(retryInMs),
  });
  t.after(() => loop.stop());
  loop.start();
  await eventually(() => assert.equal(runs, 3, 'two failures, then a run that works'));
  assert.equal(errors.length, 2, 'each failure reported');
  assert.ok(
    errors.every((ms) => ms <= 5),
    `the backoff stays under its cap (${errors})`,
  );
});
