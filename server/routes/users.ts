/** `/api/v1/me` and `/api/v1/users`: the caller, and tenant user management. */
import { z } from 'zod';
import type { CreateUserRequest, UpdateUserRequest, UserList } from '../../contract/api.js';
import { createUser, getMe, listUsers, removeUser, updateUserRole } from '../commands/users.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { Email, Password } from './auth.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Role = z.enum(['owner', 'admin', 'member', 'guest']);
const CreateUser = z.strictObject({ email: Email, password: Password, role: Role, displayName: z.string().trim().min(1).max(200).optional() });
const PatchUser = z.strictObject({ role: Role });
// The bodies are the contract's request types (contract/api.ts): a change on one side alone fails tsc.
type _Bodies = [Expect<Accepts<typeof CreateUser, CreateUserRequest>>, Expect<Accepts<typeof PatchUser, UpdateUserRequest>>];

export function userRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route('get', '/api/v1/me', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: await getMe(svc, p, req.ip) };
  });
  edge.route('get', '/api/v1/users', async (req) => {
    const p = await authenticate(ctx, req);
    return { status: 200, json: { users: await listUsers(svc, p, req.ip) } satisfies UserList };
  });
  edge.route('post', '/api/v1/users', async (req) => {
    const p = await authenticate(ctx, req);
    const body = readJson(req, CreateUser);
    return { status: 201, json: await createUser(svc, p, req.ip, body) };
  });
  edge.route('patch', '/api/v1/users/:id', async (req) => {
    const p = await authenticate(ctx, req);
    const userId = pathId(req, 'id', 'user');
    const body = readJson(req, PatchUser);
    return { status: 200, json: await updateUserRole(svc, p, req.ip, { userId, role: body.role }) };
  });
  edge.route('del', '/api/v1/users/:id', async (req) => {
    const p = await authenticate(ctx, req);
    const userId = pathId(req, 'id', 'user');
    await removeUser(svc, p, req.ip, { userId });
    return { status: 204 };
  });
}
