/**
 * Review workflows (`/api/v1/workflows*`, admin to change), a document's reviews
 * (`/api/v1/documents/:id/reviews`), the caller's tasks (`/api/v1/tasks`) and decisions
 * (`/api/v1/tasks/:id/decision`).
 */
import { z } from 'zod';
import {
  MAX_WORKFLOW_STEPS,
  type CreateWorkflowRequest,
  type DecisionRequest,
  type RequestReviewRequest,
  type ReviewList,
  type TaskList,
  type UpdateWorkflowRequest,
  type WorkflowList,
} from '../../contract/api.js';
import { createWorkflow, getWorkflow, listWorkflows, updateWorkflow } from '../commands/workflows.js';
import { decideTask, listReviews, listTasks, requestReview } from '../commands/reviews.js';
import { readJson, readQuery, type Accepts, type Equals, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

/** Longest deadline a step may have: a year. */
const MAX_SLA_SECONDS = 365 * 86_400;
/** Most people a step names, and most approvals it may need. */
const MAX_STEP_USERS = 100;

const Id = z.uuid().transform((v) => v.toLowerCase());
const Role = z.enum(['owner', 'admin', 'member', 'guest']);
const Users = z.array(Id).min(1).max(MAX_STEP_USERS);
const Assignees = z.strictObject({ users: Users.optional(), role: Role.optional() });
const Seconds = z.number().int().min(1).max(MAX_SLA_SECONDS);
const StepShape = z.strictObject({
  name: z.string().trim().min(1).max(200),
  assignees: Assignees.refine((a) => a.users !== undefined || a.role !== undefined, { message: 'name "users", a "role" or both' }),
  approvals: z.number().int().min(1).max(MAX_STEP_USERS).optional(),
  slaSeconds: Seconds.nullable().optional(),
  warnBeforeSeconds: Seconds.nullable().optional(),
  escalateTo: Assignees.optional(),
});
/** A step as the contract types it (its required fields and its optional ones); `_Requests` checks the shape field by field. */
type StepRequest = CreateWorkflowRequest['steps'][number];
const Step = StepShape.transform((s): StepRequest => s);
const Steps = z.array(Step).min(1).max(MAX_WORKFLOW_STEPS);
const Name = z.string().trim().min(1).max(200);
const CreateWorkflow = z.strictObject({ name: Name, steps: Steps });
const UpdateWorkflow = z
  .strictObject({ name: Name.optional(), steps: Steps.optional(), archived: z.boolean().optional() })
  .refine((b) => b.name !== undefined || b.steps !== undefined || b.archived !== undefined, { message: 'send "name", "steps", "archived" or several' });
const RequestReview = z.strictObject({ workflowId: Id, versionId: Id.optional() });
const TasksQuery = z.strictObject({ status: z.enum(['open', 'decided', 'all']).default('open') });
const Decision = z
  .strictObject({ decision: z.enum(['approve', 'reject', 'request_changes']), comment: z.string().trim().min(1).max(5000).optional() })
  .refine((b) => b.decision === 'approve' || b.comment !== undefined, { message: 'a comment is required to reject or request changes', path: ['comment'] });
type _Requests = [
  Expect<Equals<z.output<typeof StepShape>, { [K in keyof StepRequest]: StepRequest[K] }>>,
  Expect<Accepts<typeof CreateWorkflow, CreateWorkflowRequest>>,
  Expect<Accepts<typeof UpdateWorkflow, UpdateWorkflowRequest>>,
  Expect<Accepts<typeof RequestReview, RequestReviewRequest>>,
  Expect<Accepts<typeof Decision, DecisionRequest>>,
];

export function reviewRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/workflows',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: (await listWorkflows(svc, p, req.ip)) satisfies WorkflowList };
    },
    { doc: { tag: 'Reviews', summary: "List the workspace's review workflows", auth: 'bearer', status: 200, response: 'WorkflowList' } },
  );
  edge.route(
    'post',
    '/api/v1/workflows',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, CreateWorkflow);
      return { status: 201, json: await createWorkflow(svc, p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Reviews',
        summary: 'Create a review workflow',
        description: 'Owners and admins. Steps in order, each with its reviewers (people or a role), the approvals it needs and an optional deadline.',
        auth: 'bearer',
        body: CreateWorkflow,
        status: 201,
        response: 'Workflow',
        example: { request: { name: 'Legal sign-off', steps: [{ name: 'Legal', assignees: { role: 'admin' }, approvals: 1, slaSeconds: 172800 }] } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/workflows/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getWorkflow(svc, p, req.ip, { id: pathId(req, 'id', 'workflow') }) };
    },
    { doc: { tag: 'Reviews', summary: 'Get a review workflow', auth: 'bearer', params: { id: 'The workflow' }, status: 200, response: 'Workflow' } },
  );
  edge.route(
    'patch',
    '/api/v1/workflows/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'workflow');
      const body = readJson(req, UpdateWorkflow);
      return { status: 200, json: await updateWorkflow(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Reviews',
        summary: 'Change or archive a review workflow',
        auth: 'bearer',
        params: { id: 'The workflow' },
        body: UpdateWorkflow,
        status: 200,
        response: 'Workflow',
        example: { request: { archived: true } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/documents/:id/reviews',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: (await listReviews(svc, p, req.ip, { id: pathId(req, 'id', 'document') })) satisfies ReviewList };
    },
    { doc: { tag: 'Reviews', summary: "List a document's reviews", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'ReviewList' } },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/reviews',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, RequestReview);
      return { status: 201, json: await requestReview(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Reviews',
        summary: 'Request a review of a document',
        description: 'Of a saved version (the current content is saved as one when `versionId` is left out), through a workflow.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: RequestReview,
        status: 201,
        response: 'Review',
        example: { request: { workflowId: '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/tasks',
    async (req) => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, TasksQuery);
      return { status: 200, json: (await listTasks(svc, p, req.ip, q)) satisfies TaskList };
    },
    { doc: { tag: 'Reviews', summary: "The caller's review tasks", auth: 'bearer', query: TasksQuery, status: 200, response: 'TaskList' } },
  );
  edge.route(
    'post',
    '/api/v1/tasks/:id/decision',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'task');
      const body = readJson(req, Decision);
      return { status: 200, json: await decideTask(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Reviews',
        summary: 'Approve, reject or request changes',
        description: 'A comment is required to reject or request changes.',
        auth: 'bearer',
        params: { id: 'The task' },
        body: Decision,
        status: 200,
        response: 'Review',
        example: { request: { decision: 'request_changes', comment: 'Section 3 needs the new figures.' } },
      },
    },
  );
}
