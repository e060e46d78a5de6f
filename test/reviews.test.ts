/**
 * Review workflows over REST: owners and admins define workflows (validated; members list
 * them); asking for a review needs write access, one at a time per document; a two-step
 * review where step 1 needs two approvals and step 2 one; rejecting or requesting changes
 * ends a review; every decision is in the review's events and the audit log; the assignees
 * are told (notifications, written by the in-process notifier), and someone a step names
 * who cannot read the document gets neither a task nor a notification.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { Review, Task, Workflow } from '../contract/api.js';
import type { ApiClient, ApiResponse, Session } from './helpers/api.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const errorOf = (r: ApiResponse) => [r.status, r.body?.error?.code];

async function share(api: ApiClient, owner: Session, documentId: string, user: Session, level: 'read' | 'comment' | 'write' | 'none'): Promise<void> {
  const r = await api.put(`/api/v1/documents/${documentId}/permissions`, { userId: user.user.id, level }, owner.accessToken);
  assert.equal(r.status, 200, r.text);
}

async function workflow(api: ApiClient, admin: Session, body: unknown): Promise<Workflow> {
  const r = await api.post('/api/v1/workflows', body, admin.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Workflow;
}

async function tasksOf(api: ApiClient, s: Session, status = 'open'): Promise<Task[]> {
  const r = await api.get(`/api/v1/tasks?status=${status}`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.tasks as Task[];
}

async function reviewsOf(api: ApiClient, s: Session, documentId: string): Promise<Review[]> {
  const r = await api.get(`/api/v1/documents/${documentId}/reviews`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.reviews as Review[];
}

async function decideAs(api: ApiClient, s: Session, taskId: string, decision: string, comment?: string): Promise<ApiResponse<Review>> {
  return api.post<Review>(`/api/v1/tasks/${taskId}/decision`, { decision, ...(comment ? { comment } : {}) }, s.accessToken);
}

interface NotificationRow {
  user_id: string;
  kind: string;
  data: Record<string, string>;
}

/** The review notifications (sharing the document tells people too). */
async function notifications(db: Kysely<unknown>): Promise<NotificationRow[]> {
  return (await sql<NotificationRow>`select user_id, kind, data from notifications where kind like 'review%' or kind = 'deadline' order by created_at, id`.execute(db)).rows;
}

test('workflows: owners and admins create and change them, every member lists them, bad steps are refused', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const admin = await api.addUser(owner, 'admin');
  const member = await api.addUser(owner, 'member');
  const step = { name: 'Legal', assignees: { users: [member.user.id] } };

  assert.deepEqual(errorOf(await api.post('/api/v1/workflows', { name: 'Mine', steps: [step] }, member.accessToken)), [403, 'forbidden']);
  const made = await workflow(api, admin, { name: 'Contract review', steps: [step, { name: 'Sign-off', assignees: { role: 'owner' }, slaSeconds: 100 }] });
  assert.equal(made.name, 'Contract review');
  assert.equal(made.archived, false);
  assert.deepEqual(made.steps, [
    { name: 'Legal', assignees: { users: [member.user.id] }, approvals: 1, slaSeconds: null, warnBeforeSeconds: null, escalateTo: {} },
    // The warning defaults to a fifth of the deadline.
    { name: 'Sign-off', assignees: { role: 'owner' }, approvals: 1, slaSeconds: 100, warnBeforeSeconds: 20, escalateTo: {} },
  ]);

  const bad: [string, unknown][] = [
    ['no steps', { name: 'W', steps: [] }],
    ['too many steps', { name: 'W', steps: Array.from({ length: 11 }, () => step) }],
    ['a step naming nobody', { name: 'W', steps: [{ name: 'S', assignees: {} }] }],
    ['an unknown user', { name: 'W', steps: [{ name: 'S', assignees: { users: ['00000000-0000-4000-8000-000000000000'] } }] }],
    ['more approvals than people', { name: 'W', steps: [{ ...step, approvals: 2 }] }],
    ['a deadline of 0 s', { name: 'W', steps: [{ ...step, slaSeconds: 0 }] }],
    ['a warning without a deadline', { name: 'W', steps: [{ ...step, warnBeforeSeconds: 10 }] }],
    ['a warning not before the deadline', { name: 'W', steps: [{ ...step, slaSeconds: 10, warnBeforeSeconds: 10 }] }],
    ['an unknown escalation contact', { name: 'W', steps: [{ ...step, escalateTo: { users: ['00000000-0000-4000-8000-000000000000'] } }] }],
    ['an unknown field', { name: 'W', steps: [{ ...step, colour: 'red' }] }],
    ['an empty name', { name: ' ', steps: [step] }],
  ];
  for (const [why, body] of bad) assert.deepEqual(errorOf(await api.post('/api/v1/workflows', body, admin.accessToken)), [400, 'validation_failed'], why);

  const list = await api.get('/api/v1/workflows', member.accessToken);
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(
    list.body.workflows.map((w: Workflow) => w.id),
    [made.id],
  );
  assert.deepEqual((await api.get(`/api/v1/workflows/${made.id}`, member.accessToken)).body, made);
  assert.deepEqual(errorOf(await api.get('/api/v1/workflows/00000000-0000-4000-8000-000000000000', member.accessToken)), [404, 'workflow_not_found']);
  assert.deepEqual(errorOf(await api.get('/api/v1/workflows/nope', member.accessToken)), [404, 'workflow_not_found']);

  assert.deepEqual(errorOf(await api.patch(`/api/v1/workflows/${made.id}`, { archived: true }, member.accessToken)), [403, 'forbidden']);
  assert.deepEqual(errorOf(await api.patch(`/api/v1/workflows/${made.id}`, {}, admin.accessToken)), [400, 'validation_failed']);
  const changed = await api.patch(`/api/v1/workflows/${made.id}`, { name: 'Contracts', steps: [step], archived: true }, owner.accessToken);
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.body.name, 'Contracts');
  assert.equal(changed.body.archived, true);
  assert.equal(changed.body.steps.length, 1);
  const restored = await api.patch(`/api/v1/workflows/${made.id}`, { archived: false }, admin.accessToken);
  assert.equal(restored.body.archived, false);
});

test('asking for a review: write access on the document, an active workflow, a version of the document, one review at a time, assignees who can read it', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const reviewer = await api.addUser(owner, 'member');
  const reader = await api.addUser(owner, 'member');
  const writer = await api.addUser(owner, 'member');
  const outsider = await api.addUser(owner, 'member');
  const doc = await api.createDocument(owner, 'Plan');
  await share(api, owner, doc.id, reviewer, 'comment');
  await share(api, owner, doc.id, reader, 'read');
  await share(api, owner, doc.id, writer, 'write');
  const wf = await workflow(api, owner, { name: 'Check', steps: [{ name: 'Review', assignees: { users: [reviewer.user.id] } }] });
  const path = `/api/v1/documents/${doc.id}/reviews`;

  assert.deepEqual(errorOf(await api.post(path, { workflowId: wf.id }, outsider.accessToken)), [404, 'document_not_found']);
  assert.deepEqual(errorOf(await api.get(path, outsider.accessToken)), [404, 'document_not_found']);
  assert.deepEqual(errorOf(await api.post(path, { workflowId: wf.id }, reader.accessToken)), [403, 'forbidden']);
  assert.deepEqual(errorOf(await api.post(path, { workflowId: '00000000-0000-4000-8000-000000000000' }, writer.accessToken)), [404, 'workflow_not_found']);
  assert.deepEqual(errorOf(await api.post(path, { workflowId: wf.id, versionId: '00000000-0000-4000-8000-000000000000' }, writer.accessToken)), [404, 'version_not_found']);
  assert.deepEqual(errorOf(await api.post(path, { workflowId: 'x' }, writer.accessToken)), [400, 'validation_failed']);

  // A step whose only assignee cannot read the document cannot be done.
  const blind = await workflow(api, owner, { name: 'Blind', steps: [{ name: 'Nobody here', assignees: { users: [outsider.user.id] } }] });
  const refused = await api.post(path, { workflowId: blind.id }, writer.accessToken);
  assert.deepEqual(errorOf(refused), [422, 'no_eligible_assignees']);
  assert.deepEqual(refused.body.error.details, { step: 0 });

  const version = await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'For review' }, writer.accessToken);
  assert.equal(version.status, 201, version.text);
  const made = await api.post<Review>(path, { workflowId: wf.id, versionId: version.body.id }, writer.accessToken);
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.status, 'in_review');
  assert.equal(made.body.versionId, version.body.id);
  assert.equal(made.body.requestedBy?.id, writer.user.id);
  assert.equal(made.body.currentStep, 0);
  assert.equal(made.body.stepDueAt, null);
  assert.deepEqual(
    made.body.events.map((e) => [e.type, e.step]),
    [
      ['requested', null],
      ['assigned', 0],
    ],
  );
  assert.deepEqual(
    made.body.tasks.map((x) => [x.status, x.stepName, x.documentTitle]),
    [['open', 'Review', 'Plan']],
  );

  assert.deepEqual(errorOf(await api.post(path, { workflowId: wf.id }, owner.accessToken)), [409, 'review_in_progress']);
  await api.patch(`/api/v1/workflows/${blind.id}`, { archived: true }, owner.accessToken);
  const other = await api.createDocument(owner, 'Other');
  assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${other.id}/reviews`, { workflowId: blind.id }, owner.accessToken)), [422, 'workflow_archived']);

  // Readers see the document's reviews; a running review keeps the steps it started with.
  const renamed = await api.patch(`/api/v1/workflows/${wf.id}`, { steps: [{ name: 'Renamed', assignees: { users: [reader.user.id] } }] }, owner.accessToken);
  assert.equal(renamed.status, 200, renamed.text);
  const listed = await reviewsOf(api, reader, doc.id);
  assert.deepEqual(
    listed.map((r) => [r.id, r.steps[0]?.name, r.tasks[0]?.stepName]),
    [[made.body.id, 'Review', 'Review']],
  );
});

for (const dialect of DIALECTS) {
  test(`a two-step review (${dialect}): two approvals complete step 1, one completes step 2; tasks, events, audit and notifications follow`, async (t) => {
    const server = await startServer(t, { dialect });
    const { api } = server;
    const owner = await api.signup();
    const [a, b, c, d, blind] = await Promise.all([1, 2, 3, 4, 5].map(() => api.addUser(owner, 'member')));
    const doc = await api.createDocument(owner, 'Budget');
    for (const u of [a!, b!, c!, d!]) await share(api, owner, doc.id, u, 'comment');
    const wf = await workflow(api, owner, {
      name: 'Budget approval',
      steps: [
        { name: 'Finance', assignees: { users: [a!.user.id, b!.user.id, c!.user.id, blind!.user.id] }, approvals: 2 },
        { name: 'Director', assignees: { users: [d!.user.id] } },
      ],
    });
    const requested = await api.post<Review>(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.id }, owner.accessToken);
    assert.equal(requested.status, 201, requested.text);
    assert.equal(requested.body.tasks.length, 3, 'no task for the assignee who cannot read the document');

    // The notifier tells the assignees still to decide when it handles the assignment: wait
    // for it before deciding, as people do.
    const db = server.quire.store.owner;
    const assigned = async (users: Session[]) =>
      eventually(
        async () => {
          const rows = await notifications(db);
          for (const u of users)
            assert.ok(
              rows.some((n) => n.user_id === u.user.id && n.kind === 'review_assigned'),
              `assignee ${u.user.email}`,
            );
        },
        { timeoutMs: 20_000, message: 'the assignment notifications' },
      );
    await assigned([a!, b!, c!]);
    const [taskA] = await tasksOf(api, a!);
    assert.ok(taskA, 'a has a task');
    assert.equal(taskA.documentTitle, 'Budget');
    assert.equal(taskA.stepName, 'Finance');
    assert.equal(taskA.workflowName, 'Budget approval');
    assert.equal(taskA.status, 'open');
    assert.deepEqual(await tasksOf(api, blind!), []);
    assert.deepEqual(await tasksOf(api, d!), [], 'step 2 has not started');

    const first = await decideAs(api, a!, taskA.id, 'approve');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.status, 'in_review');
    assert.equal(first.body.currentStep, 0);
    assert.deepEqual(errorOf(await decideAs(api, a!, taskA.id, 'approve')), [409, 'task_closed']);
    const [taskB] = await tasksOf(api, b!);
    assert.deepEqual(errorOf(await decideAs(api, a!, taskB!.id, 'approve')), [403, 'forbidden']);
    assert.deepEqual(errorOf(await decideAs(api, blind!, taskB!.id, 'approve')), [404, 'task_not_found']);
    assert.deepEqual(errorOf(await decideAs(api, a!, '00000000-0000-4000-8000-000000000000', 'approve')), [404, 'task_not_found']);
    const [taskC] = await tasksOf(api, c!);

    const second = await decideAs(api, b!, taskB!.id, 'approve', 'Numbers add up');
    assert.equal(second.status, 200, second.text);
    assert.equal(second.body.status, 'in_review');
    assert.equal(second.body.currentStep, 1);
    assert.deepEqual(await tasksOf(api, c!), [], "the step's other task is closed");
    assert.deepEqual(
      (await tasksOf(api, c!, 'decided')).map((x) => x.status),
      ['closed'],
    );
    assert.deepEqual(errorOf(await decideAs(api, c!, taskC!.id, 'approve')), [409, 'task_closed']);

    await assigned([d!]);
    const [taskD] = await tasksOf(api, d!);
    assert.equal(taskD?.stepName, 'Director');
    const last = await decideAs(api, d!, taskD!.id, 'approve');
    assert.equal(last.status, 200, last.text);
    assert.equal(last.body.status, 'approved');
    assert.ok(last.body.decidedAt, 'the review has a decision time');

    const [review] = await reviewsOf(api, owner, doc.id);
    assert.ok(review, 'the review is listed');
    assert.equal(review.status, 'approved');
    assert.deepEqual(
      review.events.map((e) => [e.type, e.step, e.actor?.id ?? null, e.comment]),
      [
        ['requested', null, owner.user.id, null],
        ['assigned', 0, owner.user.id, null],
        ['approved', 0, a!.user.id, null],
        ['approved', 0, b!.user.id, 'Numbers add up'],
        ['step_completed', 0, b!.user.id, null],
        ['assigned', 1, owner.user.id, null],
        ['approved', 1, d!.user.id, null],
        ['step_completed', 1, d!.user.id, null],
        ['completed', 1, d!.user.id, null],
      ],
    );
    assert.deepEqual(review.tasks.map((x) => [x.step, x.status]).sort(), [
      [0, 'approved'],
      [0, 'approved'],
      [0, 'closed'],
      [1, 'approved'],
    ]);
    assert.deepEqual(
      (await tasksOf(api, a!, 'all')).map((x) => x.status),
      ['approved'],
    );

    const audit = await sql<{ action: string; actor_id: string }>`select action, actor_id from audit_log where action like 'review.%' order by id`.execute(server.quire.store.owner);
    assert.deepEqual(
      audit.rows.map((r) => [r.action, r.actor_id]),
      [
        ['review.request', owner.user.id],
        ['review.approve', a!.user.id],
        ['review.approve', b!.user.id],
        ['review.approve', d!.user.id],
      ],
    );

    // The assignees who can read the document are told of their task; the requester of each decision.
    const seen = await eventually(
      async () => {
        const rows = await notifications(db);
        const kinds = (u: Session) =>
          rows
            .filter((n) => n.user_id === u.user.id)
            .map((n) => `${n.kind}${n.data.decision ? `:${n.data.decision}` : ''}`)
            .sort();
        for (const u of [a!, b!, c!, d!]) assert.deepEqual(kinds(u), ['review_assigned'], `assignee ${u.user.email}`);
        assert.deepEqual(kinds(owner), ['review_decided:approved', 'review_decided:approved', 'review_decided:approved', 'review_decided:completed']);
        return rows;
      },
      { timeoutMs: 20_000, message: 'the review notifications' },
    );
    assert.equal(seen.filter((n) => n.user_id === blind!.user.id).length, 0, 'no notification for someone who cannot read the document');
    const assignedA = seen.find((n) => n.user_id === a!.user.id)!;
    assert.equal(assignedA.data.taskId, taskA.id);
    assert.equal(assignedA.data.stepName, 'Finance');
  });
}

test('rejecting ends a review, requesting changes ends it too; a comment is required for both; a new review may follow', async (t) => {
  const server = await startServer(t);
  const { api } = server;
  const owner = await api.signup();
  const writer = await api.addUser(owner, 'member');
  const [a, b] = await Promise.all([api.addUser(owner, 'member'), api.addUser(owner, 'member')]);
  const doc = await api.createDocument(owner, 'Policy');
  await share(api, owner, doc.id, writer, 'write');
  await share(api, owner, doc.id, a, 'read');
  await share(api, owner, doc.id, b, 'read');
  const wf = await workflow(api, owner, {
    name: 'Two looks',
    steps: [
      { name: 'First', assignees: { users: [a.user.id, b.user.id] }, approvals: 2 },
      { name: 'Second', assignees: { users: [a.user.id] } },
    ],
  });
  const path = `/api/v1/documents/${doc.id}/reviews`;

  assert.equal((await api.post(path, { workflowId: wf.id }, writer.accessToken)).status, 201);
  const [taskA] = await tasksOf(api, a);
  assert.deepEqual(errorOf(await decideAs(api, a, taskA!.id, 'reject')), [400, 'validation_failed']);
  assert.deepEqual(errorOf(await decideAs(api, a, taskA!.id, 'request_changes', '   ')), [400, 'validation_failed']);
  assert.deepEqual(errorOf(await decideAs(api, a, taskA!.id, 'maybe')), [400, 'validation_failed']);
  const rejected = await decideAs(api, a, taskA!.id, 'reject', 'Not this quarter');
  assert.equal(rejected.status, 200, rejected.text);
  assert.equal(rejected.body.status, 'rejected');
  assert.deepEqual(rejected.body.tasks.map((x) => x.status).sort(), ['closed', 'rejected']);
  assert.deepEqual(await tasksOf(api, b), []);
  assert.deepEqual(rejected.body.events.at(-1) && [rejected.body.events.at(-1)!.type, rejected.body.events.at(-1)!.comment], ['rejected', 'Not this quarter']);

  // Over: a new review may be asked for.
  const again = await api.post<Review>(path, { workflowId: wf.id }, writer.accessToken);
  assert.equal(again.status, 201, again.text);
  const [taskB] = await tasksOf(api, b);
  const changes = await decideAs(api, b, taskB!.id, 'request_changes', 'Fix section 2');
  assert.equal(changes.status, 200, changes.text);
  assert.equal(changes.body.status, 'changes_requested');
  assert.deepEqual(await tasksOf(api, a), [], "the other assignee's task is closed");
  assert.deepEqual(errorOf(await decideAs(api, a, again.body.tasks.find((x) => x.id !== taskB!.id)!.id, 'approve')), [409, 'task_closed']);

  const reviews = await reviewsOf(api, writer, doc.id);
  assert.deepEqual(
    reviews.map((r) => r.status),
    ['changes_requested', 'rejected'],
    'newest first',
  );
  const audit = await sql<{ action: string; detail: { reviewId: string } }>`select action, detail from audit_log where action like 'review.%' order by id`.execute(server.quire.store.owner);
  assert.deepEqual(
    audit.rows.map((r) => [r.action, r.detail.reviewId]),
    [
      ['review.request', reviews[1]!.id],
      ['review.reject', reviews[1]!.id],
      ['review.request', reviews[0]!.id],
      ['review.request_changes', reviews[0]!.id],
    ],
  );

  // The requester hears of both decisions, with the comment.
  await eventually(
    async () => {
      const rows = (await notifications(server.quire.store.owner)).filter((n) => n.user_id === writer.user.id);
      assert.deepEqual(rows.map((n) => [n.kind, n.data.decision, n.data.comment]).sort(), [
        ['review_decided', 'changes_requested', 'Fix section 2'],
        ['review_decided', 'rejected', 'Not this quarter'],
      ]);
    },
    { timeoutMs: 20_000, message: 'the decision notifications' },
  );
});

test('a task goes with access: an assignee who can no longer read the document no longer lists or decides it', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const [a, b] = await Promise.all([api.addUser(owner, 'member'), api.addUser(owner, 'member')]);
  const doc = await api.createDocument(owner, 'Secret');
  await share(api, owner, doc.id, a, 'read');
  await share(api, owner, doc.id, b, 'read');
  const wf = await workflow(api, owner, { name: 'One of two', steps: [{ name: 'Look', assignees: { users: [a.user.id, b.user.id] } }] });
  assert.equal((await api.post(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.id }, owner.accessToken)).status, 201);
  const [task] = await tasksOf(api, a);
  assert.ok(task, 'a has a task');
  await share(api, owner, doc.id, a, 'none');
  assert.deepEqual(await tasksOf(api, a, 'all'), []);
  assert.deepEqual(errorOf(await decideAs(api, a, task.id, 'approve')), [404, 'task_not_found']);
  const [taskB] = await tasksOf(api, b);
  const done = await decideAs(api, b, taskB!.id, 'approve');
  assert.equal(done.body.status, 'approved');
});

test('at the same time: two requests for a review make one, two approvals complete their step once', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const [a, b, c] = await Promise.all([api.addUser(owner, 'member'), api.addUser(owner, 'member'), api.addUser(owner, 'member')]);
  const doc = await api.createDocument(owner, 'Race');
  for (const u of [a, b, c]) await share(api, owner, doc.id, u, 'write');
  const wf = await workflow(api, owner, {
    name: 'Both',
    steps: [
      { name: 'Pair', assignees: { users: [a.user.id, b.user.id] }, approvals: 2 },
      { name: 'Last', assignees: { users: [c.user.id] } },
    ],
  });
  const requests = await Promise.all([a, b, c].map((u) => api.post(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.id }, u.accessToken)));
  assert.deepEqual(requests.map((r) => r.status).sort(), [201, 409, 409]);

  const [taskA] = await tasksOf(api, a);
  const [taskB] = await tasksOf(api, b);
  const decisions = await Promise.all([decideAs(api, a, taskA!.id, 'approve'), decideAs(api, b, taskB!.id, 'approve')]);
  assert.deepEqual(
    decisions.map((r) => r.status),
    [200, 200],
  );
  const [review] = await reviewsOf(api, owner, doc.id);
  assert.equal(review?.currentStep, 1);
  assert.deepEqual(
    review.events.filter((e) => e.type === 'step_completed' || e.type === 'assigned').map((e) => `${e.type}@${e.step}`),
    ['assigned@0', 'step_completed@0', 'assigned@1'],
  );
  assert.equal((await tasksOf(api, c)).length, 1);
});
