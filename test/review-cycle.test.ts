/**
 * A full review cycle on the embedded default (PGlite, one process running every role), the
 * way a team runs it: an admin defines a two-step workflow, a writer asks for a review of a
 * named version, each assignee hears of their task in the app (live) and by email, approves
 * from their task list, and the writer hears of every decision and of the approval — in the
 * app and in their mailbox, once each — and the document's reviews show every decision.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Session } from './helpers/api.js';
import { startServer } from './helpers/server.js';
import { startMailbox } from './helpers/smtp.js';
import { eventually } from './helpers/wait.js';

/** Email goes through the worker's notifier and sender on the single-session embedded database: slower than an in-app signal on a loaded machine. */
const MAIL_WAIT = { timeoutMs: 60_000 };
import { openNotificationStream } from './helpers/notification-stream.js';

/** The kinds (with a decision, if any) of the notifications a person's open app receives. */
async function liveKinds(base: string, token: string) {
  const stream = await openNotificationStream(base, token);
  return {
    get kinds(): string[] {
      return stream.events.filter((e) => e.event === 'notification').map((e) => `${e.data.notification.kind}${e.data.notification.data['decision'] ? `:${e.data.notification.data['decision']}` : ''}`);
    },
    close: () => void stream.close(),
  };
}

test('a two-step review on the embedded default: tasks, decisions and the outcome reach people in the app and by email', async (t) => {
  const mailbox = await startMailbox(t);
  const { api, url } = await startServer(t, {
    dialect: 'pglite',
    env: { SMTP_URL: mailbox.url, EMAIL_BATCH_MS: '0', NOTIFY_POLL_MS: '50', PUBLIC_URL: 'http://quire.test', MAIL_FROM: 'Quire <notify@quire.test>' },
  });
  const admin = await api.signup('Team');
  const writer = await api.addUser(admin, 'member');
  const legal = await api.addUser(admin, 'member');
  const boss = await api.addUser(admin, 'member');
  const emailOf = async (s: Session) => (await api.get('/api/v1/me', s.accessToken)).body.email as string;

  const wf = await api.post(
    '/api/v1/workflows',
    {
      name: 'Contract review',
      steps: [
        { name: 'Legal', assignees: { users: [legal.user.id] } },
        { name: 'Sign-off', assignees: { users: [boss.user.id] } },
      ],
    },
    admin.accessToken,
  );
  assert.equal(wf.status, 201, wf.text);

  const doc = await api.createDocument(writer, 'Supplier contract');
  for (const s of [legal, boss]) {
    const shared = await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: s.user.id, level: 'comment' }, writer.accessToken);
    assert.equal(shared.status, 200, shared.text);
  }
  // Sharing emails each of them. Those go out before the review starts: a notification due
  // while an earlier one still waits joins it in one email (a digest), and this test reads
  // the review's own email.
  for (const s of [legal, boss]) {
    const to = await emailOf(s);
    await eventually(() => assert.ok(mailbox.to(to).length >= 1, 'the share email went out'), MAIL_WAIT);
  }
  const version = await api.post(`/api/v1/documents/${doc.id}/versions`, { name: 'Sent to legal' }, writer.accessToken);
  assert.equal(version.status, 201, version.text);

  const writerLive = await liveKinds(url, writer.accessToken);
  const legalLive = await liveKinds(url, legal.accessToken);
  const bossLive = await liveKinds(url, boss.accessToken);
  t.after(() => [writerLive, legalLive, bossLive].forEach((l) => l.close()));

  const review = await api.post(`/api/v1/documents/${doc.id}/reviews`, { workflowId: wf.body.id, versionId: version.body.id }, writer.accessToken);
  assert.equal(review.status, 201, review.text);
  assert.equal(review.body.versionId, version.body.id);

  // Step 1: legal hears of the task in the app and by email, and approves from their task list.
  await eventually(() => assert.ok(legalLive.kinds.includes('review_assigned'), `legal's app shows the task (${legalLive.kinds})`));
  const legalMail = await emailOf(legal);
  // Email goes through the worker's notifier and sender on the single-session embedded
  // database: on a loaded machine it can take longer than an in-app signal.
  await eventually(() => assert.equal(mailbox.to(legalMail).filter((m) => /asked you to review/.test(m.parsed.subject ?? '')).length, 1, 'legal has the task by email'), MAIL_WAIT);
  const tasks = await api.get('/api/v1/tasks', legal.accessToken);
  assert.equal(tasks.body.tasks.length, 1, 'one open task for legal');
  assert.equal(tasks.body.tasks[0].stepName, 'Legal');
  const approved = await api.post(`/api/v1/tasks/${tasks.body.tasks[0].id}/decision`, { decision: 'approve', comment: 'Clauses fine.' }, legal.accessToken);
  assert.equal(approved.status, 200, approved.text);

  // Step 2: the sign-off goes to the boss; the writer hears of legal's approval.
  await eventually(() => assert.ok(bossLive.kinds.includes('review_assigned'), `the boss's app shows the task (${bossLive.kinds})`));
  await eventually(() => assert.ok(writerLive.kinds.includes('review_decided:approved'), `the writer hears of legal's approval (${writerLive.kinds})`));
  const bossTask = (await api.get('/api/v1/tasks', boss.accessToken)).body.tasks[0];
  assert.equal(bossTask.stepName, 'Sign-off');
  assert.equal((await api.post(`/api/v1/tasks/${bossTask.id}/decision`, { decision: 'approve' }, boss.accessToken)).status, 200, 'the boss approves');

  // The outcome: approved, every decision on the document, and the writer told once per event.
  await eventually(() => assert.ok(writerLive.kinds.includes('review_decided:completed'), `the writer hears the review is approved (${writerLive.kinds})`));
  const reviews = (await api.get(`/api/v1/documents/${doc.id}/reviews`, writer.accessToken)).body.reviews;
  assert.equal(reviews[0].status, 'approved');
  assert.deepEqual(
    reviews[0].events.map((e: { type: string }) => e.type).filter((ty: string) => ty !== 'assigned' && ty !== 'step_completed'),
    ['requested', 'approved', 'approved', 'completed'],
  );
  const writerMail = await emailOf(writer);
  await eventually(
    () =>
      assert.ok(
        mailbox.to(writerMail).some((m) => /review of “Supplier contract” is approved/.test(`${m.parsed.subject}\n${m.parsed.text}`)),
        `the writer is emailed the outcome (${mailbox.to(writerMail).map((m) => m.parsed.subject)})`,
      ),
    MAIL_WAIT,
  );
  const subjects = mailbox.to(writerMail).map((m) => m.parsed.subject);
  assert.equal(new Set(subjects).size, subjects.length, `no email twice (${subjects.join(' | ')})`);
  const writerList = (await api.get('/api/v1/notifications', writer.accessToken)).body.notifications.map((n: { kind: string; data: Record<string, string> }) => `${n.kind}:${n.data['decision']}`);
  assert.deepEqual(writerList.sort(), ['review_decided:approved', 'review_decided:approved', 'review_decided:completed']);
});
