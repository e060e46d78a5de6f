/**
 * Invitations and password reset.
 *
 * Signed in (owners and admins): `/api/v1/invitations` (create, list pending, revoke, resend)
 * and `POST /api/v1/users/:id/password-reset` (a reset link for a user).
 *
 * No sign-in: `GET /api/v1/auth/invitations/:token` (what the invitee joins; the path holds a
 * secret, so it is logged by its pattern and never cached), `POST /api/v1/auth/invitations/accept`,
 * `POST /api/v1/auth/password-reset` (always 202) and `.../confirm`. Each is limited per
 * address (the `auth` rule); the reset request also per email (a digest, the login-attempt
 * rule), so nobody floods one person's mailbox.
 */
import crypto from 'node:crypto';
import { z } from 'zod';
import type { AcceptInvitationRequest, ConfirmPasswordResetRequest, CreateInvitationRequest, InvitationList, PasswordResetRequest } from '../../contract/api.js';
import { AppError, isAppError, notFound } from '../../lib/errors.js';
import type { Req } from '../../lib/http/edge.js';
import { acceptInvitation, createInvitation, listInvitations, previewInvitation, resendInvitation, revokeInvitation, type LinkSettings } from '../commands/invitations.js';
import { adminPasswordResetLink, confirmPasswordReset, requestPasswordReset } from '../commands/password-resets.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { Email, Password } from './auth.js';
import { authenticate, limit, pathId, type RouteContext } from './context.js';

/** Longer than any link token this server issues (`qin_` + tenant id + `.` + 43 characters). */
const MAX_TOKEN_CHARS = 128;
const Token = z.string().min(1).max(MAX_TOKEN_CHARS);
const DISPLAY_NAME_MAX_CHARS = 80;
const DisplayName = z
  .string()
  .trim()
  .min(1)
  .refine((s) => [...s].length <= DISPLAY_NAME_MAX_CHARS, { message: `must be at most ${DISPLAY_NAME_MAX_CHARS} characters` })
  .refine((s) => !/\p{Cc}/u.test(s), { message: 'must not contain control characters' });

const CreateInvitation = z.strictObject({ email: Email, role: z.enum(['admin', 'member', 'guest']) });
const AcceptInvitation = z.strictObject({ token: Token, password: Password, displayName: DisplayName.optional() });
const ResetRequest = z.strictObject({ email: Email });
const ResetConfirm = z.strictObject({ token: Token, password: Password });
// The bodies are the contract's request types (contract/api.ts): a change on one side alone fails tsc.
type _Bodies = [
  Expect<Accepts<typeof CreateInvitation, CreateInvitationRequest>>,
  Expect<Accepts<typeof AcceptInvitation, AcceptInvitationRequest>>,
  Expect<Accepts<typeof ResetRequest, PasswordResetRequest>>,
  Expect<Accepts<typeof ResetConfirm, ConfirmPasswordResetRequest>>,
];

/** Answers about a link's secret are never cached or indexed, and send no referrer onwards. */
const PRIVATE_HEADERS = { 'cache-control': 'no-store', 'x-robots-tag': 'noindex', 'referrer-policy': 'no-referrer' };

export function linkSettings(ctx: RouteContext): LinkSettings {
  const n = ctx.config.notifications;
  return { publicUrl: n.publicUrl, mail: { smtpUrl: n.smtpUrl, from: n.mailFrom }, ...ctx.config.accounts };
}

export function invitationRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  const settings = linkSettings(ctx);
  const authLimit = (req: Req) => limit(ctx, `auth:${req.ip}`, ctx.config.rateLimits.auth);

  // ---- owners and admins ------------------------------------------------------------------
  edge.route(
    'post',
    '/api/v1/invitations',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, CreateInvitation);
      return { status: 201, json: await createInvitation(svc, p, req.ip, settings, body), headers: PRIVATE_HEADERS };
    },
    {
      doc: {
        tag: 'Invitations',
        summary: 'Invite someone to the workspace',
        description: 'Owners and admins. Emails the link when mail is set up; the answer says how it was delivered (and holds the link when it was not emailed).',
        auth: 'bearer',
        body: CreateInvitation,
        status: 201,
        response: 'InvitationSent',
        example: { request: { email: 'grace@example.com', role: 'member' } },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/invitations',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: { invitations: await listInvitations(svc, p, req.ip) } satisfies InvitationList };
    },
    { doc: { tag: 'Invitations', summary: 'List pending invitations', auth: 'bearer', status: 200, response: 'InvitationList' } },
  );
  edge.route(
    'del',
    '/api/v1/invitations/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      await revokeInvitation(svc, p, req.ip, pathId(req, 'id', 'invitation'));
      return { status: 204 };
    },
    { doc: { tag: 'Invitations', summary: 'Revoke an invitation', auth: 'bearer', params: { id: 'The invitation' }, status: 204 } },
  );
  edge.route(
    'post',
    '/api/v1/invitations/:id/resend',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'invitation');
      return { status: 200, json: await resendInvitation(svc, p, req.ip, settings, id), headers: PRIVATE_HEADERS };
    },
    { doc: { tag: 'Invitations', summary: 'Send an invitation again (a new link)', auth: 'bearer', params: { id: 'The invitation' }, status: 200, response: 'InvitationSent' } },
  );
  edge.route(
    'post',
    '/api/v1/users/:id/password-reset',
    async (req) => {
      const p = await authenticate(ctx, req);
      const userId = pathId(req, 'id', 'user');
      return { status: 200, json: await adminPasswordResetLink(svc, p, req.ip, settings, userId), headers: PRIVATE_HEADERS };
    },
    {
      doc: {
        tag: 'Users',
        summary: 'Make a password reset link for a user',
        description: 'Owners and admins; the link is emailed when mail is set up.',
        auth: 'bearer',
        params: { id: 'The user' },
        status: 200,
        response: 'PasswordResetLink',
      },
    },
  );

  // ---- no sign-in -----------------------------------------------------------------------------
  edge.route(
    'get',
    '/api/v1/auth/invitations/:token',
    async (req) => {
      try {
        await authLimit(req);
        const token = req.params['token'] ?? '';
        if (token.length > MAX_TOKEN_CHARS) throw notFound('invitation');
        return { status: 200, json: await previewInvitation(svc, token), headers: PRIVATE_HEADERS };
      } catch (e) {
        if (!isAppError(e)) throw e;
        throw new AppError(e.status, e.code, e.message, e.details, { ...e.headers, ...PRIVATE_HEADERS });
      }
    },
    {
      secretPath: true,
      doc: {
        tag: 'Invitations',
        summary: 'Preview an invitation',
        description: 'What the invitee joins (workspace, role, email), for the sign-up page. Never cached.',
        auth: 'none',
        params: { token: { text: "The invitation link's token" } },
        status: 200,
        response: 'InvitationPreview',
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/invitations/accept',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, AcceptInvitation);
      return { status: 201, json: await acceptInvitation(svc, req.ip, body) };
    },
    {
      doc: {
        tag: 'Invitations',
        summary: 'Accept an invitation: create the account',
        auth: 'none',
        body: AcceptInvitation,
        status: 201,
        response: 'User',
        example: { request: { token: 'qin_7d0c1a2b.kP1x9yZ3', password: 'correct horse battery staple', displayName: 'Grace' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/password-reset',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, ResetRequest);
      // Keyed by a digest, like login's: the limiter never holds an address book.
      const account = crypto.createHash('sha256').update(body.email.trim().toLowerCase()).digest('base64url').slice(0, 22);
      await limit(ctx, `reset:${account}`, ctx.config.rateLimits.loginAccount);
      requestPasswordReset(svc, settings, { email: body.email, ip: req.ip });
      return { status: 202 };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Ask for a password reset email',
        description: 'Always 202, whether or not the address has an account.',
        auth: 'none',
        body: ResetRequest,
        status: 202,
        example: { request: { email: 'ada@example.com' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/password-reset/confirm',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, ResetConfirm);
      await confirmPasswordReset(svc, req.ip, body);
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Set a new password with a reset link',
        description: 'Ends every session of the account.',
        auth: 'none',
        body: ResetConfirm,
        status: 204,
        example: { request: { token: 'qpr_7d0c1a2b.kP1x9yZ3', password: 'a new long passphrase' } },
      },
    },
  );
}
