/**
 * Reviews of a document and the tasks they give people: asking for a review (write access
 * on the document), a document's reviews with their tasks and events (read access), the
 * caller's tasks, and an assignee's decision. The state machine is core/review-flow.ts;
 * this module checks who may do what, audits, and presents.
 */
import { sql } from 'kysely';
import type { CommentAuthor, RequestReviewRequest, Review, ReviewEvent, ReviewList, Task, TaskList, WorkflowStep } from '../../contract/api.js';
import type { DecisionRequest, ReviewDecision, ReviewEventType, ReviewStatus, TaskStatus } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { AppError, conflict, forbidden, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import { effectiveLevel, levelSql, requireLevel } from '../../core/access.js';
import { activateStep, decide, eligibleAssignees, noEligibleAssignees, recordReviewEvent } from '../../core/review-flow.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** Most reviews `GET /documents/:id/reviews` lists (the newest). */
export const MAX_REVIEWS_LISTED = 100;
/** Most tasks `GET /tasks` lists (the newest). */
export const MAX_TASKS_LISTED = 500;

const authorOf = (id: string | null, displayName: string | null, email: string | null): CommentAuthor | null =>
  id === null ? null : { id, name: email === null ? 'Removed user' : (displayName ?? email.split('@')[0] ?? email) };

interface TaskRow {
  id: string;
  review_id: string;
  document_id: string;
  document_title: string;
  assignee_id: string;
  assignee_name: string | null;
  assignee_email: string;
  workflow_name: string;
  steps: WorkflowStep[];
  step: number;
  status: TaskStatus;
  comment: string | null;
  due_at: Date | null;
  created_at: Date;
  decided_at: Date | null;
}

const presentTask = (t: TaskRow): Task => ({
  id: t.id,
  reviewId: t.review_id,
  documentId: t.document_id,
  documentTitle: t.document_title,
  assignee: authorOf(t.assignee_id, t.assignee_name, t.assignee_email) ?? { id: null, name: 'Removed user' },
  workflowName: t.workflow_name,
  step: t.step,
  stepName: t.steps[t.step]?.name ?? '',
  status: t.status,
  comment: t.comment,
  dueAt: t.due_at?.toISOString() ?? null,
  createdAt: t.created_at.toISOString(),
  decidedAt: t.decided_at?.toISOString() ?? null,
});

function taskQuery(tx: Tx) {
  return tx
    .selectFrom('review_tasks as t')
    .innerJoin('reviews as r', 'r.id', 't.review_id')
    .innerJoin('documents as d', 'd.id', 't.document_id')
    .innerJoin('users as a', 'a.id', 't.assignee_id')
    .select([
      't.id',
      't.review_id',
      't.document_id',
      'd.title as document_title',
      't.assignee_id',
      'a.display_name as assignee_name',
      'a.email as assignee_email',
      'r.workflow_name',
      'r.steps',
      't.step',
      't.status',
      't.comment',
      't.due_at',
      't.created_at',
      't.decided_at',
    ]);
}

/** A document's reviews (or one of them), newest first, with their tasks and events. */
async function loadReviews(tx: Tx, documentId: string, reviewId?: string): Promise<Review[]> {
  let q = tx
    .selectFrom('reviews as r')
    .leftJoin('users as u', 'u.id', 'r.requested_by')
    .select([
      'r.id',
      'r.document_id',
      'r.workflow_id',
      'r.workflow_name',
      'r.steps',
      'r.version_id',
      'r.requested_by',
      'u.display_name as requester_name',
      'u.email as requester_email',
      'r.status',
      'r.current_step',
      'r.step_due_at',
      'r.created_at',
      'r.decided_at',
    ])
    .where('r.document_id', '=', documentId);
  if (reviewId) q = q.where('r.id', '=', reviewId);
  const reviews = await q.orderBy('r.created_at', 'desc').orderBy('r.id', 'desc').limit(MAX_REVIEWS_LISTED).execute();
  if (reviews.length === 0) return [];
  const ids = reviews.map((r) => r.id);
  const tasks = await taskQuery(tx).where('t.review_id', 'in', ids).orderBy('t.step').orderBy('t.created_at').orderBy('t.id').execute();
  const events = await tx
    .selectFrom('review_events as e')
    .leftJoin('users as u', 'u.id', 'e.actor_id')
    .select(['e.id', 'e.review_id', 'e.type', 'e.step', 'e.actor_id', 'u.display_name', 'u.email', 'e.comment', 'e.created_at'])
    .where('e.review_id', 'in', ids)
    .orderBy('e.created_at')
    .orderBy('e.id')
    .execute();
  return reviews.map((r) => ({
    id: r.id,
    documentId: r.document_id,
    workflowId: r.workflow_id,
    workflowName: r.workflow_name,
    steps: r.steps,
    versionId: r.version_id,
    requestedBy: authorOf(r.requested_by, r.requester_name, r.requester_email),
    status: r.status,
    currentStep: r.current_step,
    stepDueAt: r.step_due_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    decidedAt: r.decided_at?.toISOString() ?? null,
    tasks: tasks.filter((t) => t.review_id === r.id).map(presentTask),
    events: events
      .filter((e) => e.review_id === r.id)
      .map((e): ReviewEvent => ({
        id: e.id,
        type: e.type as ReviewEventType,
        step: e.step,
        actor: authorOf(e.actor_id, e.display_name, e.email),
        comment: e.comment,
        createdAt: e.created_at.toISOString(),
      })),
  }));
}

export async function requestReview(svc: Services, principal: Principal, ip: string | null, props: { id: string } & RequestReviewRequest): Promise<Review> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'write');
    const workflow = await tx.selectFrom('workflows').select(['id', 'name', 'steps', 'archived_at']).where('id', '=', props.workflowId).executeTakeFirst();
    if (!workflow) throw notFound('workflow');
    if (workflow.archived_at) throw new AppError(422, 'workflow_archived', 'This workflow is archived; pick another one');
    if (props.versionId) {
      const version = await tx.selectFrom('document_versions').select('id').where('id', '=', props.versionId).where('document_id', '=', props.id).executeTakeFirst();
      if (!version) throw notFound('version');
    }
    // One review in progress per document: requests for the same document take turns here.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:review:${props.id}`}, 0))`.execute(tx);
    const running = await tx.selectFrom('reviews').select('id').where('document_id', '=', props.id).where('status', '=', 'in_review').executeTakeFirst();
    if (running) throw conflict('review_in_progress', 'This document already has a review in progress');
    const steps = workflow.steps;
    for (const [i, step] of steps.entries()) {
      if ((await eligibleAssignees(tx, props.id, step.assignees)).length < step.approvals) throw noEligibleAssignees(i, step.name);
    }
    const row = await tx
      .insertInto('reviews')
      .values({
        tenant_id: actor.tenantId,
        document_id: props.id,
        workflow_id: workflow.id,
        workflow_name: workflow.name,
        steps: JSON.stringify(steps),
        version_id: props.versionId ?? null,
        requested_by: actor.userId,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const review = { id: row.id, tenantId: actor.tenantId, documentId: props.id, steps, requestedBy: actor.userId };
    await recordReviewEvent(tx, { tenantId: actor.tenantId, reviewId: row.id, documentId: props.id, step: null, type: 'requested', actorId: actor.userId });
    await activateStep(tx, review, 0);
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'review.request',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { reviewId: row.id, workflowId: workflow.id, versionId: props.versionId ?? null },
    });
    return (await loadReviews(tx, props.id, row.id))[0]!;
  });
}

export async function listReviews(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ReviewList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    return { reviews: await loadReviews(tx, props.id) };
  });
}

export type TaskFilter = 'open' | 'decided' | 'all';

/** The caller's tasks, newest first, on documents they can still read. */
export async function listTasks(svc: Services, principal: Principal, ip: string | null, props: { status: TaskFilter }): Promise<TaskList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    let q = taskQuery(tx)
      .leftJoin('document_permissions as p', (j) => j.onRef('p.document_id', '=', 'd.id').on('p.user_id', '=', actor.userId))
      .where('t.assignee_id', '=', actor.userId)
      .where('d.deleted_at', 'is', null)
      .where(levelSql({ document: 'd', grant: 'p', tenantAdmin: isTenantAdmin(actor.role), member: actor.role !== 'guest' }), 'is not', null);
    if (props.status === 'open') q = q.where('t.status', '=', 'open');
    else if (props.status === 'decided') q = q.where('t.status', '<>', 'open');
    const rows = await q.orderBy('t.created_at', 'desc').orderBy('t.id', 'desc').limit(MAX_TASKS_LISTED).execute();
    return { tasks: rows.map(presentTask) };
  });
}

/**
 * An assignee decides their task. Someone else's task is 403 when they can read the
 * document and 404 when they cannot; an assignee who can no longer read it no longer has
 * the task (404).
 */
export async function decideTask(svc: Services, principal: Principal, ip: string | null, props: { id: string } & DecisionRequest): Promise<Review> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const task = await tx.selectFrom('review_tasks').select(['id', 'review_id', 'document_id', 'step', 'assignee_id']).where('id', '=', props.id).executeTakeFirst();
    if (!task) throw notFound('task');
    const level = await effectiveLevel(tx, actor, task.document_id);
    if (!level) throw notFound('task');
    if (task.assignee_id !== actor.userId) throw forbidden('Only its assignee decides a task');
    const comment = props.comment ?? null;
    const result = await decide(tx, { tenantId: actor.tenantId, taskId: task.id, actorId: actor.userId, decision: props.decision, comment });
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: `review.${props.decision satisfies ReviewDecision}`,
      targetType: 'document',
      targetId: task.document_id,
      ip,
      detail: { reviewId: task.review_id, taskId: task.id, step: task.step, status: result.status satisfies ReviewStatus },
    });
    return (await loadReviews(tx, task.document_id, task.review_id))[0]!;
  });
}
