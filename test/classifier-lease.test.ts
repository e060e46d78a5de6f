/**
 * Training jobs are claimed with a lease: while a worker holds it nobody else takes the job;
 * when the worker dies the lease runs out and another worker claims and completes the job;
 * the dead worker, if it comes back, writes nothing; a job that keeps losing its workers is
 * given up after `maxAttempts` claims.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { withTenant } from '../db/store.js';
import { loadBrownPassages } from '../bench/datasets.js';
import { Trainer } from '../ml-workers/trainer.js';
import { createLogger } from '../lib/log.js';
import { startServer } from './helpers/server.js';

function examples(perLabel: number): { text: string; label: string }[] {
  const passages = loadBrownPassages({ maxWords: 60, minWords: 30, maxPassagesPerDocument: 1 });
  return ['fiction', 'learned'].flatMap((label) =>
    passages
      .filter((p) => p.label === label)
      .slice(0, perLabel)
      .map((p) => ({ text: p.text, label })),
  );
}

test('a dead worker’s training job is claimed again when its lease runs out, and completed by another', async (t) => {
  // API only: the jobs are run by the trainers of this test, not by a worker of the server.
  const { api, quire } = await startServer(t, { dialect: 'pglite', roles: ['api'] });
  const owner = await api.signup();
  const tenantId = owner.user.tenantId;
  const db = quire.store.db;
  const log = createLogger('silent');
  const row = (id: string) =>
    withTenant(db, tenantId, (tx) =>
      tx
        .selectFrom('classifiers')
        .select(['status', 'stage', 'lease_owner', 'attempts', 'error', 'updated_at', sql<boolean>`model is not null`.as('has_model')])
        .where('id', '=', id)
        .executeTakeFirstOrThrow(),
    );
  const expireLease = (id: string) =>
    withTenant(db, tenantId, (tx) =>
      tx
        .updateTable('classifiers')
        .set({ lease_expires_at: sql<Date>`now() - interval '1 second'` })
        .where('id', '=', id)
        .execute(),
    );

  const job = await api.post('/api/v1/ml/classifiers', { name: 'lease', examples: examples(12) }, owner.accessToken);
  assert.equal(job.status, 202, job.text);

  const a = new Trainer({ db, log, workerId: 'worker-a', leaseSeconds: 60 });
  const b = new Trainer({ db, log, workerId: 'worker-b', leaseSeconds: 60 });
  const claimA = await a.claim();
  assert.equal(claimA?.id, job.body.id);
  assert.equal((await row(job.body.id)).status, 'training');
  // Worker A "dies" here: it never runs the job. While its lease holds, B finds nothing.
  assert.equal(await b.claim(), null);
  assert.equal(await b.runOnce(), false);

  // The lease runs out: B claims the job and completes it.
  await expireLease(job.body.id);
  assert.equal(await b.runOnce(), true);
  const done = await row(job.body.id);
  assert.equal(done.status, 'ready');
  assert.equal(done.stage, 'final');
  assert.equal(done.has_model, true);
  assert.equal(done.lease_owner, null);
  assert.equal(done.attempts, 2);
  const v = await api.get(`/api/v1/ml/classifiers/${job.body.id}`, owner.accessToken);
  assert.equal(v.body.active, true);

  // A comes back and runs its stale claim: every write is fenced by the lease, nothing changes.
  await a.run(claimA!);
  const untouched = await row(job.body.id);
  assert.deepEqual(untouched, done);

  // A job whose workers keep dying is given up after maxAttempts claims.
  const doomed = await api.post('/api/v1/ml/classifiers', { name: 'doomed', examples: examples(6) }, owner.accessToken);
  const c = new Trainer({ db, log, workerId: 'worker-c', maxAttempts: 1 });
  assert.equal((await c.claim())?.id, doomed.body.id);
  await expireLease(doomed.body.id);
  assert.equal(await c.runOnce(), true);
  const failed = await row(doomed.body.id);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.lease_owner, null);
  assert.match(failed.error ?? '', /after 1 attempts/);
});
