/**
 * Two-factor sign-in: the sign-in steps after a password (`/api/v1/auth/mfa*`, public, with
 * the login's rate limits), the account page (`/api/v1/me/mfa*`) and the admins' controls
 * (`/api/v1/users/:id/mfa`, `/api/v1/workspace/mfa`).
 */
import { z } from 'zod';
import type { MfaChallengeRequest, MfaCodeRequest, MfaVerifyRequest, WorkspaceMfaRequest } from '../../contract/api.js';
import {
  challengeEnrolment,
  confirmChallengeEnrolment,
  confirmEnrolment,
  disableMfa,
  mfaStatus,
  regenerateRecoveryCodes,
  resetUserMfa,
  setWorkspaceMfa,
  startEnrolment,
  verifyMfa,
} from '../commands/mfa.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import type { Req } from '../../lib/http/edge.js';
import { authenticate, device, limit, pathId, type RouteContext } from './context.js';

const Challenge = z.string().min(1).max(200);
/** A 6-digit code (spaces allowed) or a recovery code (`xxxx-xxxx-xxxx`). */
const Code = z.string().trim().min(6).max(32);
const Verify = z.strictObject({ challenge: Challenge, code: Code });
const ChallengeOnly = z.strictObject({ challenge: Challenge });
const CodeOnly = z.strictObject({ code: Code });
const WorkspaceMfa = z.strictObject({ required: z.boolean() });
type _Bodies = [
  Expect<Accepts<typeof Verify, MfaVerifyRequest>>,
  Expect<Accepts<typeof ChallengeOnly, MfaChallengeRequest>>,
  Expect<Accepts<typeof CodeOnly, MfaCodeRequest>>,
  Expect<Accepts<typeof WorkspaceMfa, WorkspaceMfaRequest>>,
];

export function mfaRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  // Codes are guessable: per address, and per challenge's workspace and user through the
  // challenge's own attempt limit; the account page's code checks per user.
  const authLimit = (req: Req) => limit(ctx, `auth:${req.ip}`, ctx.config.rateLimits.auth);
  const codeLimit = (userId: string) => limit(ctx, `mfa:${userId}`, ctx.config.rateLimits.loginAccount);

  edge.route(
    'post',
    '/api/v1/auth/mfa',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, Verify);
      return { status: 200, json: await verifyMfa(svc, { ...body, ...device(req) }) };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: 'Finish signing in with a second factor',
        description: 'The challenge from the login answer and a 6-digit code (or a recovery code).',
        auth: 'none',
        body: Verify,
        status: 200,
        response: 'Session',
        example: { request: { challenge: 'qmc_3b9f2a', code: '492 817' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/mfa/enrol',
    async (req) => {
      await authLimit(req);
      return { status: 200, json: await challengeEnrolment(svc, readJson(req, ChallengeOnly)) };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: 'Set up two-factor sign-in during login',
        description: 'When the workspace requires it (`mfa_enrollment_required`): answers the secret to add to an authenticator app.',
        auth: 'none',
        body: ChallengeOnly,
        status: 200,
        response: 'MfaEnrolment',
        example: { request: { challenge: 'qmc_3b9f2a' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/mfa/enrol/confirm',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, Verify);
      return { status: 200, json: await confirmChallengeEnrolment(svc, { ...body, ...device(req) }) };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: 'Confirm the set-up during login',
        description: 'Answers the session and recovery codes.',
        auth: 'none',
        body: Verify,
        status: 200,
        response: 'MfaEnrolled',
        example: { request: { challenge: 'qmc_3b9f2a', code: '492817' } },
      },
    },
  );

  edge.route(
    'get',
    '/api/v1/me/mfa',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await mfaStatus(svc, p, req.ip) };
    },
    { doc: { tag: 'Two-factor', summary: "The caller's two-factor status", auth: 'bearer', status: 200, response: 'MfaStatus' } },
  );
  edge.route(
    'post',
    '/api/v1/me/mfa/enrol',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await startEnrolment(svc, p, req.ip) };
    },
    { doc: { tag: 'Two-factor', summary: 'Start setting up two-factor sign-in', auth: 'bearer', status: 200, response: 'MfaEnrolment' } },
  );
  edge.route(
    'post',
    '/api/v1/me/mfa/confirm',
    async (req) => {
      const p = await authenticate(ctx, req);
      await codeLimit(p.userId);
      return { status: 200, json: await confirmEnrolment(svc, p, req.ip, readJson(req, CodeOnly)) };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: 'Turn two-factor sign-in on',
        description: 'With a code from the app; answers recovery codes (shown once).',
        auth: 'bearer',
        body: CodeOnly,
        status: 200,
        response: 'RecoveryCodes',
        example: { request: { code: '492817' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/me/mfa/recovery-codes',
    async (req) => {
      const p = await authenticate(ctx, req);
      await codeLimit(p.userId);
      return { status: 200, json: await regenerateRecoveryCodes(svc, p, req.ip, readJson(req, CodeOnly)) };
    },
    { doc: { tag: 'Two-factor', summary: 'Replace the recovery codes', auth: 'bearer', body: CodeOnly, status: 200, response: 'RecoveryCodes', example: { request: { code: '492817' } } } },
  );
  edge.route(
    'del',
    '/api/v1/me/mfa',
    async (req) => {
      const p = await authenticate(ctx, req);
      await codeLimit(p.userId);
      await disableMfa(svc, p, req.ip, readJson(req, CodeOnly));
      return { status: 204 };
    },
    { doc: { tag: 'Two-factor', summary: 'Turn two-factor sign-in off', auth: 'bearer', body: CodeOnly, status: 204, example: { request: { code: '492817' } } } },
  );

  edge.route(
    'del',
    '/api/v1/users/:id/mfa',
    async (req) => {
      const p = await authenticate(ctx, req);
      await resetUserMfa(svc, p, req.ip, pathId(req, 'id', 'user'));
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: "Reset a user's two-factor sign-in",
        description: 'Owners and admins, for someone who lost their device.',
        auth: 'bearer',
        params: { id: 'The user' },
        status: 204,
      },
    },
  );
  edge.route(
    'put',
    '/api/v1/workspace/mfa',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await setWorkspaceMfa(svc, p, req.ip, readJson(req, WorkspaceMfa)) };
    },
    {
      doc: {
        tag: 'Two-factor',
        summary: 'Require two-factor sign-in in the workspace',
        auth: 'bearer',
        body: WorkspaceMfa,
        status: 200,
        response: 'WorkspaceMfa',
        example: { request: { required: true } },
      },
    },
  );
}
