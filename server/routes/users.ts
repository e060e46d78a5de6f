/** `/api/v1/me` and `/api/v1/users`: the caller (their profile and password), and tenant user management. */
import { z } from 'zod';
import type { ChangePasswordRequest, CreateUserRequest, UpdateMeRequest, UpdateUserRequest, UserList } from '../../contract/api.js';
import { changePassword } from '../commands/auth.js';
import { createUser, getMe, listUsers, removeUser, updateMe, updateUserRole } from '../commands/users.js';
import { PASSWORD_MAX_LENGTH } from '../auth/passwords.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { Email, Password } from './auth.js';
import { authenticate, device, limit, pathId, type RouteContext } from './context.js';

const Role = z.enum(['owner', 'admin', 'member', 'guest']);
const CreateUser = z.strictObject({ email: Email, password: Password, role: Role, displayName: z.string().trim().min(1).max(200).optional() });
const PatchUser = z.strictObject({ role: Role });
/** Display names people give themselves: trimmed, 1–80 characters (code points), no control characters. */
const DISPLAY_NAME_MAX_CHARS = 80;
const DisplayName = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty (send null to clear the name)' })
  .refine((s) => [...s].length <= DISPLAY_NAME_MAX_CHARS, { message: `must be at most ${DISPLAY_NAME_MAX_CHARS} characters` })
  .refine((s) => !/\p{Cc}/u.test(s), { message: 'must not contain control characters' });
const PatchMe = z.strictObject({ displayName: DisplayName.nullable() });
// The current password is any non-empty one (older accounts may predate today's rules); the new one meets them.
const ChangePassword = z.strictObject({ currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH), newPassword: Password });
// The bodies are the contract's request types (contract/api.ts): a change on one side alone fails tsc.
type _Bodies = [
  Expect<Accepts<typeof CreateUser, CreateUserRequest>>,
  Expect<Accepts<typeof PatchUser, UpdateUserRequest>>,
  Expect<Accepts<typeof PatchMe, UpdateMeRequest>>,
  Expect<Accepts<typeof ChangePassword, ChangePasswordRequest>>,
];

export function userRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/me',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getMe(svc, p, req.ip) };
    },
    {
      doc: {
        tag: 'Users',
        summary: 'The caller: profile and workspace',
        auth: 'bearer',
        status: 200,
        response: 'Me',
        example: {
          response: {
            id: '0b6f3c5e-2d7a-4f4e-9a51-6f1f2b0d9c11',
            email: 'ada@example.com',
            displayName: 'Ada',
            role: 'owner',
            createdAt: '2026-01-05T09:30:00.000Z',
            tenantId: '7d0c1a2b-3e4f-4a5b-8c6d-9e0f1a2b3c4d',
            tenantName: 'Acme',
          },
        },
      },
    },
  );
  edge.route(
    'patch',
    '/api/v1/me',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, PatchMe);
      return { status: 200, json: await updateMe(svc, p, req.ip, body) };
    },
    { doc: { tag: 'Users', summary: "Change the caller's display name", auth: 'bearer', body: PatchMe, status: 200, response: 'Me', example: { request: { displayName: 'Ada L.' } } } },
  );
  // Limited like login: per address (the auth limit) and per account (the login-attempt rule),
  // since each request is a guess at the current password.
  edge.route(
    'post',
    '/api/v1/me/password',
    async (req) => {
      await limit(ctx, `auth:${req.ip}`, ctx.config.rateLimits.auth);
      const p = await authenticate(ctx, req);
      const body = readJson(req, ChangePassword);
      await limit(ctx, `password:${p.userId}`, ctx.config.rateLimits.loginAccount);
      return { status: 200, json: await changePassword(svc, p, device(req), body) };
    },
    {
      doc: {
        tag: 'Users',
        summary: "Change the caller's password",
        description: 'Ends the other sessions and answers a new session for this one. Rate limited like login.',
        auth: 'bearer',
        body: ChangePassword,
        status: 200,
        response: 'Session',
        example: { request: { currentPassword: 'correct horse battery staple', newPassword: 'a new long passphrase' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/users',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: { users: await listUsers(svc, p, req.ip) } satisfies UserList };
    },
    { doc: { tag: 'Users', summary: "List the workspace's people", auth: 'bearer', status: 200, response: 'UserList' } },
  );
  edge.route(
    'post',
    '/api/v1/users',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, CreateUser);
      return { status: 201, json: await createUser(svc, p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Users',
        summary: 'Add a person with a password',
        description: 'Owners and admins (invitations are the usual way).',
        auth: 'bearer',
        body: CreateUser,
        status: 201,
        response: 'User',
        example: { request: { email: 'grace@example.com', password: 'correct horse battery staple', role: 'member', displayName: 'Grace' } },
      },
    },
  );
  edge.route(
    'patch',
    '/api/v1/users/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const userId = pathId(req, 'id', 'user');
      const body = readJson(req, PatchUser);
      return { status: 200, json: await updateUserRole(svc, p, req.ip, { userId, role: body.role }) };
    },
    {
      doc: {
        tag: 'Users',
        summary: "Change a person's role",
        description: 'Owners and admins; the last owner stays an owner.',
        auth: 'bearer',
        params: { id: 'The user' },
        body: PatchUser,
        status: 200,
        response: 'User',
        example: { request: { role: 'admin' } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/users/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const userId = pathId(req, 'id', 'user');
      await removeUser(svc, p, req.ip, { userId });
      return { status: 204 };
    },
    { doc: { tag: 'Users', summary: 'Remove a person from the workspace', description: 'Owners and admins; their sessions end at once.', auth: 'bearer', params: { id: 'The user' }, status: 204 } },
  );
}
