/**
 * The review state machine, shared by the REST commands (requests and decisions) and the
 * worker (deadlines).
 *
 * A review runs a snapshot of its workflow's steps, one at a time. Activating a step gives
 * each eligible assignee an open task (due at the step's deadline, when it has one), writes
 * the step's timers (a warning `warnBeforeSeconds` before the deadline, an escalation at
 * it) and an `assigned` event. A step completes when `approvals` of its tasks are approved:
 * its other open tasks are closed and the next step activates, or after the last step the
 * review is `approved`. One rejection ends the review `rejected`, one request for changes
 * ends it `changes_requested`.
 *
 * Every event people hear about goes into the change feed in the transaction that records
 * it (a `document.review` outbox row naming the event), so the notifier tells them exactly
 * what was committed. A timer fires at most once: the transaction that records its event
 * also marks it fired, and takes it with `skip locked`, so several workers share the due
 * timers without firing one twice.
 */
import { sql } from 'kysely';
import type { PermissionLevel, ReviewDecision, ReviewEventType, ReviewStatus, WorkflowAssignees, WorkflowStep } from '../contract/api.js';
import type { Tx } from '../db/store.js';
import { AppError, conflict } from '../lib/errors.js';
import { atLeast, levelFor } from './access.js';

/** Review events the notifier turns into notifications (see ml-workers/notify/notifier.ts); the others stay in the history only. */
export const NOTIFIED_REVIEW_EVENTS: readonly ReviewEventType[] = ['assigned', 'approved', 'rejected', 'changes_requested', 'completed', 'warning', 'escalated'];

export interface ReviewEventInput {
  tenantId: string;
  reviewId: string;
  documentId: string;
  step: number | null;
  type: ReviewEventType;
  actorId?: string | null;
  comment?: string | null;
}

/** Records a review event, with its feed row when people are told about it; returns the event's id. */
export async function recordReviewEvent(tx: Tx, e: ReviewEventInput): Promise<string> {
  const row = await tx
    .insertInto('review_events')
    .values({
      tenant_id: e.tenantId,
      review_id: e.reviewId,
      document_id: e.documentId,
      step: e.step,
      type: e.type,
      actor_id: e.actorId ?? null,
      comment: e.comment ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (NOTIFIED_REVIEW_EVENTS.includes(e.type)) {
    await tx.insertInto('document_events').values({ tenant_id: e.tenantId, document_id: e.documentId, type: 'document.review', subject_id: row.id }).execute();
  }
  return row.id;
}

/**
 * The users a step's assignee spec names who can take a task on the document now: active,
 * and able to read it (the rule of every read, `levelFor`). Oldest accounts first.
 */
export async function eligibleAssignees(tx: Tx, documentId: string, who: WorkflowAssignees): Promise<string[]> {
  const users = who.users ?? [];
  if (users.length === 0 && !who.role) return [];
  const doc = await tx.selectFrom('documents').select(['kind', 'link_access']).where('id', '=', documentId).where('deleted_at', 'is', null).executeTakeFirst();
  if (!doc) return [];
  const rows = await tx
    .selectFrom('users as u')
    .leftJoin('document_permissions as p', (j) => j.onRef('p.user_id', '=', 'u.id').on('p.document_id', '=', documentId))
    .select(['u.id', 'u.role', 'p.level'])
    .where('u.disabled_at', 'is', null)
    .where((eb) => {
      const named = [];
      if (users.length > 0) named.push(eb('u.id', 'in', users));
      if (who.role) named.push(eb('u.role', '=', who.role));
      return eb.or(named);
    })
    .orderBy('u.created_at')
    .orderBy('u.id')
    .execute();
  return rows.filter((u) => atLeast(levelFor(u.role, { kind: doc.kind, linkAccess: doc.link_access }, u.level as PermissionLevel | null), 'read')).map((u) => u.id);
}

/** 422 `no_eligible_assignees`: step `step` cannot reach its approvals with the people who can read the document. */
export function noEligibleAssignees(step: number, name: string): AppError {
  return new AppError(422, 'no_eligible_assignees', `Step ${step + 1} (“${name}”) does not have enough assignees who can read the document`, { step });
}

/** The review row the state machine works on. */
export interface ReviewRef {
  id: string;
  tenantId: string;
  documentId: string;
  steps: WorkflowStep[];
  requestedBy: string | null;
}

/** When a step's warning comes, given its deadline (null: no warning). */
function warningAt(step: WorkflowStep, startedAt: Date, dueAt: Date): Date | null {
  if (step.warnBeforeSeconds === null || step.warnBeforeSeconds <= 0) return null;
  return new Date(Math.max(startedAt.getTime(), dueAt.getTime() - step.warnBeforeSeconds * 1000));
}

/**
 * Makes step `index` the review's current one: its tasks (one per eligible assignee), its
 * timers, and the `assigned` event (written after the tasks, which the notifier reads).
 * Throws `no_eligible_assignees` when the step cannot reach its approvals.
 */
export async function activateStep(tx: Tx, review: ReviewRef, index: number): Promise<void> {
  const step = review.steps[index];
  if (!step) throw new Error(`review ${review.id} has no step ${index}`);
  const assignees = await eligibleAssignees(tx, review.documentId, step.assignees);
  if (assignees.length < step.approvals) throw noEligibleAssignees(index, step.name);
  const startedAt = new Date((await sql<{ now: Date | string }>`select clock_timestamp() as now`.execute(tx)).rows[0]!.now);
  const dueAt = step.slaSeconds === null ? null : new Date(startedAt.getTime() + step.slaSeconds * 1000);
  await tx.updateTable('reviews').set({ current_step: index, step_started_at: startedAt, step_due_at: dueAt }).where('id', '=', review.id).execute();
  await tx
    .insertInto('review_tasks')
    .values(assignees.map((assignee_id) => ({ tenant_id: review.tenantId, review_id: review.id, document_id: review.documentId, step: index, assignee_id, due_at: dueAt })))
    .onConflict((oc) => oc.columns(['review_id', 'step', 'assignee_id']).doNothing())
    .execute();
  if (dueAt) {
    const timers: { kind: 'warning' | 'escalation'; due_at: Date }[] = [{ kind: 'escalation', due_at: dueAt }];
    const warn = warningAt(step, startedAt, dueAt);
    if (warn) timers.unshift({ kind: 'warning', due_at: warn });
    await tx
      .insertInto('review_timers')
      .values(timers.map((t) => ({ tenant_id: review.tenantId, review_id: review.id, step: index, kind: t.kind, due_at: t.due_at })))
      .onConflict((oc) => oc.columns(['review_id', 'step', 'kind']).doNothing())
      .execute();
  }
  await recordReviewEvent(tx, { tenantId: review.tenantId, reviewId: review.id, documentId: review.documentId, step: index, type: 'assigned', actorId: review.requestedBy });
}

export interface DecideInput {
  tenantId: string;
  taskId: string;
  /** The task's assignee (the caller checks who may decide). */
  actorId: string;
  decision: ReviewDecision;
  comment: string | null;
}

export interface DecideResult {
  reviewId: string;
  documentId: string;
  step: number;
  status: ReviewStatus;
}

const TASK_STATUS = { approve: 'approved', reject: 'rejected', request_changes: 'changes_requested' } as const;

async function closeOpenTasks(tx: Tx, reviewId: string, step: number): Promise<void> {
  await tx
    .updateTable('review_tasks')
    .set({ status: 'closed', decided_at: sql<Date>`clock_timestamp()` })
    .where('review_id', '=', reviewId)
    .where('step', '=', step)
    .where('status', '=', 'open')
    .execute();
}

async function finish(tx: Tx, reviewId: string, status: ReviewStatus): Promise<void> {
  await tx
    .updateTable('reviews')
    .set({ status, decided_at: sql<Date>`clock_timestamp()` })
    .where('id', '=', reviewId)
    .execute();
}

/**
 * Records an assignee's decision and moves the review on. The review row is locked first,
 * so decisions on one review (and its timers) take turns. 409 `task_closed` when the task
 * was already decided or closed, or the review is no longer in review at its step.
 */
export async function decide(tx: Tx, input: DecideInput): Promise<DecideResult> {
  const found = await tx.selectFrom('review_tasks').select(['review_id']).where('id', '=', input.taskId).executeTakeFirst();
  if (!found) throw conflict('task_closed', 'The task is no longer open');
  const r = await tx
    .selectFrom('reviews')
    .select(['id', 'tenant_id', 'document_id', 'steps', 'status', 'current_step', 'requested_by'])
    .where('id', '=', found.review_id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const task = await tx.selectFrom('review_tasks').select(['id', 'step', 'status']).where('id', '=', input.taskId).forUpdate().executeTakeFirstOrThrow();
  if (task.status !== 'open' || r.status !== 'in_review' || r.current_step !== task.step) throw conflict('task_closed', 'The task is no longer open');
  const review: ReviewRef = { id: r.id, tenantId: r.tenant_id, documentId: r.document_id, steps: r.steps, requestedBy: r.requested_by };
  const step = review.steps[task.step]!;
  const event = (type: ReviewEventType, extra: Partial<ReviewEventInput> = {}) =>
    recordReviewEvent(tx, { tenantId: review.tenantId, reviewId: review.id, documentId: review.documentId, step: task.step, type, actorId: input.actorId, ...extra });

  await tx
    .updateTable('review_tasks')
    .set({ status: TASK_STATUS[input.decision], comment: input.comment, decided_at: sql<Date>`clock_timestamp()` })
    .where('id', '=', task.id)
    .execute();
  await event(TASK_STATUS[input.decision], { comment: input.comment });
  const result = (status: ReviewStatus, at = task.step): DecideResult => ({ reviewId: review.id, documentId: review.documentId, step: at, status });

  if (input.decision !== 'approve') {
    await closeOpenTasks(tx, review.id, task.step);
    const status = TASK_STATUS[input.decision];
    await finish(tx, review.id, status);
    return result(status);
  }
  const approved = await tx
    .selectFrom('review_tasks')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('review_id', '=', review.id)
    .where('step', '=', task.step)
    .where('status', '=', 'approved')
    .executeTakeFirstOrThrow();
  if (Number(approved.n) < step.approvals) return result('in_review');
  await closeOpenTasks(tx, review.id, task.step);
  await event('step_completed');
  const next = task.step + 1;
  if (next < review.steps.length) {
    await activateStep(tx, review, next);
    return result('in_review', next);
  }
  await finish(tx, review.id, 'approved');
  await event('completed');
  return result('approved');
}

/** What became of a due timer: its event was recorded, it no longer applied, or another worker has it. */
export type TimerOutcome = 'fired' | 'stale' | 'taken';

/**
 * Fires one due review timer in the caller's tenant transaction: records the `warning` or
 * `escalated` event when the review is still in review at the timer's step with tasks
 * still open, and marks the timer fired either way. A timer another transaction holds, or
 * one already fired, is left alone (`taken`).
 */
export async function fireReviewTimer(tx: Tx, timerId: string): Promise<TimerOutcome> {
  const timer = await tx.selectFrom('review_timers').select(['id', 'review_id', 'step', 'kind']).where('id', '=', timerId).where('fired_at', 'is', null).forUpdate().skipLocked().executeTakeFirst();
  if (!timer) return 'taken';
  // Decisions lock the review first: a step completing now either commits before this reads it, or waits.
  const review = await tx.selectFrom('reviews').select(['id', 'tenant_id', 'document_id', 'status', 'current_step']).where('id', '=', timer.review_id).forUpdate().executeTakeFirst();
  let applies = review !== undefined && review.status === 'in_review' && review.current_step === timer.step;
  if (applies) {
    const open = await tx.selectFrom('review_tasks').select('id').where('review_id', '=', timer.review_id).where('step', '=', timer.step).where('status', '=', 'open').limit(1).executeTakeFirst();
    applies = open !== undefined;
  }
  if (applies && review) {
    await recordReviewEvent(tx, {
      tenantId: review.tenant_id,
      reviewId: review.id,
      documentId: review.document_id,
      step: timer.step,
      type: timer.kind === 'warning' ? 'warning' : 'escalated',
      actorId: null,
    });
  }
  await tx
    .updateTable('review_timers')
    .set({ fired_at: sql<Date>`clock_timestamp()` })
    .where('id', '=', timer.id)
    .execute();
  return applies ? 'fired' : 'stale';
}
