/**
 * Review workflows: a workspace's named, ordered review steps. Owners and admins create and
 * change them; every member lists them (to pick one when asking for a review). A change
 * applies to reviews requested after it: a running review keeps the steps it started with.
 */
import type { CreateWorkflowRequest, UpdateWorkflowRequest, Workflow, WorkflowAssignees, WorkflowList, WorkflowStep } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, forbidden, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** Most workflows a workspace lists. */
export const MAX_WORKFLOWS = 500;

interface Row {
  id: string;
  name: string;
  steps: WorkflowStep[];
  created_at: Date;
  updated_at: Date;
  archived_at: Date | null;
}

const present = (r: Row): Workflow => ({
  id: r.id,
  name: r.name,
  steps: r.steps,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  archived: r.archived_at !== null,
});

const COLUMNS = ['id', 'name', 'steps', 'created_at', 'updated_at', 'archived_at'] as const;

function assertAdmin(actor: Actor): void {
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage review workflows');
}

const dedupe = (ids: string[] | undefined) => (ids && ids.length > 0 ? [...new Set(ids)] : undefined);

function assignees(who: WorkflowAssignees | undefined): WorkflowAssignees {
  const out: WorkflowAssignees = {};
  const users = dedupe(who?.users);
  if (users) out.users = users;
  if (who?.role) out.role = who.role;
  return out;
}

/**
 * A request's steps with their defaults, checked against the workspace: named users are
 * active members, and each step names at least as many people as approvals it needs
 * (who can read a given document is checked when a review is requested).
 */
async function normalizeSteps(tx: Tx, steps: CreateWorkflowRequest['steps']): Promise<WorkflowStep[]> {
  const out: WorkflowStep[] = steps.map((s, i) => {
    const slaSeconds = s.slaSeconds ?? null;
    let warnBeforeSeconds: number | null;
    if (s.warnBeforeSeconds === undefined) warnBeforeSeconds = slaSeconds === null ? null : Math.floor(slaSeconds / 5) || null;
    else warnBeforeSeconds = s.warnBeforeSeconds;
    if (warnBeforeSeconds !== null && (slaSeconds === null || warnBeforeSeconds >= slaSeconds)) {
      throw badRequest('validation_failed', `Step ${i + 1}: a warning comes before a deadline, so "warnBeforeSeconds" needs "slaSeconds" larger than it`, [
        { path: `steps.${i}.warnBeforeSeconds`, message: 'needs a larger slaSeconds' },
      ]);
    }
    return { name: s.name, assignees: assignees(s.assignees), approvals: s.approvals ?? 1, slaSeconds, warnBeforeSeconds, escalateTo: assignees(s.escalateTo) };
  });
  const named = [...new Set(out.flatMap((s) => [...(s.assignees.users ?? []), ...(s.escalateTo.users ?? [])]))];
  const active = new Set(named.length === 0 ? [] : (await tx.selectFrom('users').select('id').where('id', 'in', named).where('disabled_at', 'is', null).execute()).map((u) => u.id));
  const missing = named.filter((id) => !active.has(id));
  if (missing.length > 0) throw badRequest('validation_failed', 'A step names someone who is not an active user of this workspace', { users: missing });
  const roleCounts = new Map<string, Set<string>>();
  for (const [i, s] of out.entries()) {
    const people = new Set(s.assignees.users ?? []);
    if (s.assignees.role) {
      let members = roleCounts.get(s.assignees.role);
      if (!members) {
        members = new Set((await tx.selectFrom('users').select('id').where('role', '=', s.assignees.role).where('disabled_at', 'is', null).execute()).map((u) => u.id));
        roleCounts.set(s.assignees.role, members);
      }
      for (const m of members) people.add(m);
    }
    if (people.size < s.approvals) {
      throw badRequest('validation_failed', `Step ${i + 1} needs ${s.approvals} approvals but names ${people.size} ${people.size === 1 ? 'person' : 'people'}`, [
        { path: `steps.${i}.approvals`, message: 'more than the people the step names' },
      ]);
    }
  }
  return out;
}

export async function listWorkflows(svc: Services, principal: Principal, ip: string | null): Promise<WorkflowList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const rows = await tx.selectFrom('workflows').select(COLUMNS).orderBy('created_at').orderBy('id').limit(MAX_WORKFLOWS).execute();
    return { workflows: rows.map(present) };
  });
}

export async function getWorkflow(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<Workflow> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const row = await tx.selectFrom('workflows').select(COLUMNS).where('id', '=', props.id).executeTakeFirst();
    if (!row) throw notFound('workflow');
    return present(row);
  });
}

export async function createWorkflow(svc: Services, principal: Principal, ip: string | null, props: CreateWorkflowRequest): Promise<Workflow> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    assertAdmin(actor);
    const count = await tx
      .selectFrom('workflows')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_WORKFLOWS) throw badRequest('validation_failed', `A workspace has at most ${MAX_WORKFLOWS} workflows`);
    const steps = await normalizeSteps(tx, props.steps);
    const row = await tx
      .insertInto('workflows')
      .values({ tenant_id: actor.tenantId, name: props.name, steps: JSON.stringify(steps), created_by: actor.userId })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'workflow.create', targetType: 'workflow', targetId: row.id, ip, detail: { steps: steps.length } });
    return present(row);
  });
}

export async function updateWorkflow(svc: Services, principal: Principal, ip: string | null, props: { id: string } & UpdateWorkflowRequest): Promise<Workflow> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    assertAdmin(actor);
    const current = await tx.selectFrom('workflows').select(['id', 'archived_at']).where('id', '=', props.id).forUpdate().executeTakeFirst();
    if (!current) throw notFound('workflow');
    const steps = props.steps ? await normalizeSteps(tx, props.steps) : undefined;
    let archivedAt: Date | null | undefined;
    if (props.archived !== undefined) archivedAt = props.archived ? (current.archived_at ?? new Date()) : null;
    const row = await tx
      .updateTable('workflows')
      .set({
        updated_at: new Date(),
        ...(props.name !== undefined ? { name: props.name } : {}),
        ...(steps ? { steps: JSON.stringify(steps) } : {}),
        ...(archivedAt !== undefined ? { archived_at: archivedAt } : {}),
      })
      .where('id', '=', props.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'workflow.update',
      targetType: 'workflow',
      targetId: row.id,
      ip,
      detail: { name: props.name !== undefined, steps: steps?.length ?? null, archived: props.archived ?? null },
    });
    return present(row);
  });
}
