/** `/api/v1/auth/*`: signup, login, refresh, logout, logout everywhere. Stricter per-IP rate limit. */
import crypto from 'node:crypto';
import { z } from 'zod';
import type { LoginRequest, LogoutRequest, RefreshRequest, SignupRequest } from '../../contract/api.js';
import { login, logout, logoutAll, refresh, signup } from '../commands/auth.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import type { Req } from '../../lib/http/edge.js';
import { authenticate, device, limit, type RouteContext } from './context.js';

export const Email = z.email({ message: 'must be an email address' }).max(254);
export const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, { message: `must be at least ${PASSWORD_MIN_LENGTH} characters` })
  .max(PASSWORD_MAX_LENGTH);

const Signup = z.strictObject({ tenant: z.string().trim().min(1).max(200), email: Email, password: Password });
// Login accepts any non-empty password so that the length rule of today does not lock out older accounts.
const Login = z.strictObject({ email: Email, password: z.string().min(1).max(PASSWORD_MAX_LENGTH) });
const RefreshBody = z.strictObject({ refreshToken: z.string().min(1).max(512) });
// The bodies are the contract's request types (contract/api.ts): a change on one side alone fails tsc.
type _Bodies = [
  Expect<Accepts<typeof Signup, SignupRequest>>,
  Expect<Accepts<typeof Login, LoginRequest>>,
  Expect<Accepts<typeof RefreshBody, RefreshRequest>>,
  Expect<Accepts<typeof RefreshBody, LogoutRequest>>,
];

export function authRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  const authLimit = (req: Req) => limit(ctx, `auth:${req.ip}`, ctx.config.rateLimits.auth);

  edge.route(
    'post',
    '/api/v1/auth/signup',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, Signup);
      return { status: 201, json: await signup(svc, { ...body, ...device(req) }) };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Sign up: create a workspace and its owner',
        description: 'Answers a session (an access token and a refresh token). Rate limited per address.',
        auth: 'none',
        body: Signup,
        status: 201,
        response: 'Session',
        example: { request: { tenant: 'Acme', email: 'ada@example.com', password: 'correct horse battery staple' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/login',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, Login);
      // Keyed by a digest: the limiter (Redis) never holds an address book of emails.
      const account = crypto.createHash('sha256').update(body.email.trim().toLowerCase()).digest('base64url').slice(0, 22);
      await limit(ctx, `login:${account}`, ctx.config.rateLimits.loginAccount);
      return { status: 200, json: await login(svc, { ...body, ...device(req) }) };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Sign in with email and password',
        description: 'Answers a session, or 401 `mfa_required` / `mfa_enrollment_required` with a challenge for `POST /api/v1/auth/mfa`. Rate limited per address and per account.',
        auth: 'none',
        body: Login,
        status: 200,
        response: 'Session',
        example: {
          request: { email: 'ada@example.com', password: 'correct horse battery staple' },
          response: {
            accessToken: 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln',
            refreshToken: 'qrt_6f1c0d0e8b2a4c1d9e7f',
            user: { id: '0b6f3c5e-2d7a-4f4e-9a51-6f1f2b0d9c11', email: 'ada@example.com', tenantId: '7d0c1a2b-3e4f-4a5b-8c6d-9e0f1a2b3c4d', role: 'owner' },
          },
        },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/refresh',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, RefreshBody);
      return { status: 200, json: await refresh(svc, { refreshToken: body.refreshToken, ...device(req) }) };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Trade a refresh token for a new session',
        description: 'Refresh tokens rotate: the one sent is spent. Sending a spent one again ends the session (`refresh_token_reused`).',
        auth: 'none',
        body: RefreshBody,
        status: 200,
        response: 'Session',
        example: { request: { refreshToken: 'qrt_6f1c0d0e8b2a4c1d9e7f' } },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/logout',
    async (req) => {
      const body = readJson(req, RefreshBody);
      await logout(svc, { refreshToken: body.refreshToken, ip: req.ip });
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Sign out: revoke a refresh token',
        auth: 'none',
        body: RefreshBody,
        status: 204,
        example: { request: { refreshToken: 'qrt_6f1c0d0e8b2a4c1d9e7f' } },
      },
    },
  );
  // Signed in, no body: ends every session of the caller, this one included.
  edge.route(
    'post',
    '/api/v1/auth/logout-all',
    async (req) => {
      const p = await authenticate(ctx, req);
      await logoutAll(svc, p, req.ip);
      return { status: 204 };
    },
    {
      doc: {
        tag: 'Auth',
        summary: 'Sign out everywhere',
        description: 'Ends every session of the caller, this one included: refresh tokens are revoked, access tokens refused and sync sockets closed.',
        auth: 'bearer',
        status: 204,
      },
    },
  );
}
