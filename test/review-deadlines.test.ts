/**
 * Review deadlines are durable and fire exactly once: two instances on one database poll
 * the due timers (every 100 ms), one of them is restarted between the warning and the
 * deadline, and the step's warning and escalation are each recorded once, the assignees
 * are warned once and told once that they are overdue, and the escalation contact is told
 * once. Timers of a step that is over are marked fired without an event. A deadline that
 * passed while no worker ran fires when one starts.
 *
 * The two instances run on server Postgres (PGlite is one process) with the change feed on
 * NATS JetStream, so they share one durable notifier: an event published just before the
 * restart is still handled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { Review, Task, Workflow } from '../contract/api.js';
import type { ApiClient, Session } from './helpers/api.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually, quietFor } from './helpers/wait.js';

const ENV = { REVIEW_TIMER_POLL_MS: '100', FEED_POLL_MS: '50' };

async function reviewOf(api: ApiClient, s: Session, documentId: string): Promise<Review> {
  const r = await api.get(`/api/v1/documents/${documentId}/reviews`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return (r.body.reviews as Review[])[0]!;
}

interface Row {
  user_id: string;
  kind: string;
  stage: string | null;
}

test('a step deadline warns and escalates exactly once with two instances polling and one restarted at the deadline', async (t) => {
  const first: TestServer = await startServer(t, { nats: true, env: ENV });
  const second = await startServer(t, { nats: true, env: ENV, schema: first.schema });
  const { api } = first;
  const db = first.quire.store.owner;
  const owner = await api.signup();
  const [a, b, c, boss] = await Promise.all([1, 2, 3, 4].map(() => api.addUser(owner, 'member')));
  const doc = await api.createDocument(owner, 'Launch plan');
  for (const u of [a!, b!, c!, boss!]) {
    const r = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: u.user.id, level: 'comment' }, owner.accessToken);
    assert.equal(r.status, 200, r.text);
  }
  const wf = await api.post<Workflow>(
    '/api/v1/workflows',
    {
      name: 'Fast track',
      steps: [
        { name: 'Check', assignees: { users: [a!.user.id, b!.user.id] }, slaSeconds: 2, warnBeforeSeconds: 1, escalateTo: { users: [boss!.user.id] } },
        { name: 'Sign-off', assignees: { users: [c!.user.id] }, slaSeconds: 3600, escalateTo: { users: [boss!.user.id] } },
      ],
    },
    owner.accessToken,
  );
  assert.equal(wf.status, 201, wf.text);

  const requested = await api.post<Review>(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.body.id }, owner.accessToken);
  assert.equal(requested.status, 201, requested.text);
  const review = requested.body;
  assert.ok(review.stepDueAt, 'the step has a deadline');
  const timers = await sql<{ step: number; kind: string; due_at: Date }>`select step, kind, due_at from review_timers where review_id = ${review.id} order by due_at`.execute(db);
  assert.deepEqual(
    timers.rows.map((r) => [r.step, r.kind, r.due_at.getTime() - new Date(review.stepDueAt!).getTime()]),
    [
      [0, 'warning', -1000],
      [0, 'escalation', 0],
    ],
  );

  // The warning comes a second before the deadline; restart the second instance then, so
  // its stop and start span the deadline while the first keeps polling.
  const typesOf = async () => (await reviewOf(api, owner, doc.id)).events.map((e) => `${e.type}@${e.step}`);
  await eventually(async () => assert.ok((await typesOf()).includes('warning@0'), 'no warning yet'), { timeoutMs: 20_000, message: 'the warning' });
  await second.quire.close();
  await startServer(t, { nats: true, env: ENV, schema: first.schema });
  await eventually(async () => assert.ok((await typesOf()).includes('escalated@0'), 'no escalation yet'), { timeoutMs: 20_000, message: 'the escalation' });

  const deadlines = async () =>
    (await sql<Row>`select user_id, kind, data->>'stage' as stage from notifications where kind = 'deadline' order by created_at`.execute(db)).rows.map(
      (r) => `${r.user_id === boss!.user.id ? 'boss' : r.user_id === a!.user.id ? 'a' : r.user_id === b!.user.id ? 'b' : r.user_id}:${r.stage}`,
    );
  const expected = ['a:overdue', 'a:warning', 'b:overdue', 'b:warning', 'boss:escalated'];
  await eventually(async () => assert.deepEqual((await deadlines()).sort(), expected), { timeoutMs: 20_000, message: 'the deadline notifications' });

  // Nothing fires twice: every due timer is marked fired, and ten more polls of each
  // instance (100 ms apart) add no event and no notification.
  await eventually(async () => {
    const open = await sql<{ n: string }>`select count(*)::text as n from review_timers where review_id = ${review.id} and fired_at is null`.execute(db);
    assert.equal(open.rows[0]!.n, '0');
  });
  await quietFor(1_000, 'a timer fired twice', {
    intervalMs: 200,
    check: async () => {
      const types = (await typesOf()).filter((x) => x.startsWith('warning') || x.startsWith('escalated'));
      assert.deepEqual(types, ['warning@0', 'escalated@0']);
      assert.deepEqual((await deadlines()).sort(), expected);
    },
  });

  // Late is still allowed: the step completes and the next one starts with its own timers.
  const [task] = (await api.get<{ tasks: Task[] }>('/api/v1/tasks', a!.accessToken)).body.tasks;
  assert.ok(task, 'a has the task');
  assert.equal(task.dueAt, review.stepDueAt);
  const moved = await api.post<Review>(`/api/v1/tasks/${task.id}/decision`, { decision: 'approve' }, a!.accessToken);
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.currentStep, 1);
  const [signOff] = (await api.get<{ tasks: Task[] }>('/api/v1/tasks', c!.accessToken)).body.tasks;
  assert.ok(signOff, 'c has the sign-off task');
  const done = await api.post<Review>(`/api/v1/tasks/${signOff.id}/decision`, { decision: 'approve' }, c!.accessToken);
  assert.equal(done.body.status, 'approved');

  // The finished step's timers come due: they are marked fired, and nobody is told.
  const later = await sql<{ n: string }>`select count(*)::text as n from review_timers where review_id = ${review.id} and step = 1 and fired_at is null`.execute(db);
  assert.equal(later.rows[0]!.n, '2', "step 2's warning and escalation");
  await sql`update review_timers set due_at = now() where review_id = ${review.id} and step = 1`.execute(db);
  await eventually(
    async () => {
      const left = await sql<{ n: string }>`select count(*)::text as n from review_timers where review_id = ${review.id} and fired_at is null`.execute(db);
      assert.equal(left.rows[0]!.n, '0');
    },
    { timeoutMs: 10_000, message: "the finished step's timers" },
  );
  const types = (await typesOf()).filter((x) => x.startsWith('warning') || x.startsWith('escalated'));
  assert.deepEqual(types, ['warning@0', 'escalated@0']);
});

for (const dialect of DIALECTS) {
  test(`a deadline that passed while no worker ran fires once a worker starts (${dialect})`, async (t) => {
    const api1 = await startServer(t, { dialect, roles: ['api'], env: ENV });
    const { api } = api1;
    const db = api1.quire.store.owner;
    const owner = await api.signup();
    const a = await api.addUser(owner, 'member');
    const doc = await api.createDocument(owner, 'Quiet week');
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: a.user.id, level: 'read' }, owner.accessToken)).status, 200);
    const wf = await api.post<Workflow>(
      '/api/v1/workflows',
      { name: 'Quick', steps: [{ name: 'Look', assignees: { users: [a.user.id] }, slaSeconds: 1, warnBeforeSeconds: null }] },
      owner.accessToken,
    );
    assert.equal(wf.status, 201, wf.text);
    const requested = await api.post<Review>(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.body.id }, owner.accessToken);
    assert.equal(requested.status, 201, requested.text);

    // The deadline passes (by the database's clock) with no worker anywhere: nothing fires.
    await eventually(
      async () => {
        const r = await sql<{ passed: boolean }>`select bool_and(due_at < now()) as passed from review_timers where review_id = ${requested.body.id}`.execute(db);
        assert.equal(r.rows[0]!.passed, true, 'the deadline has not passed yet');
      },
      { timeoutMs: 10_000 },
    );
    const escalations = async () => (await reviewOf(api, owner, doc.id)).events.filter((e) => e.type === 'escalated' || e.type === 'warning').map((e) => e.type);
    assert.deepEqual(await escalations(), []);

    await startServer(t, { dialect, roles: ['worker'], env: ENV, schema: api1.schema });
    await eventually(async () => assert.deepEqual(await escalations(), ['escalated']), { timeoutMs: 20_000, message: 'the late escalation' });
    await eventually(
      async () => {
        const rows = await sql<Row>`select user_id, kind, data->>'stage' as stage from notifications where kind = 'deadline'`.execute(db);
        assert.deepEqual(
          rows.rows.map((r) => [r.user_id, r.stage]),
          [[a.user.id, 'overdue']],
        );
      },
      { timeoutMs: 20_000, message: 'the overdue notification' },
    );
  });
}
