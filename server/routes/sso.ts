/**
 * Single sign-on (OpenID Connect): the workspace's settings (`/api/v1/workspace/sso`, owners
 * and admins) and the sign-in flow (`/api/v1/auth/sso/*`, no sign-in, the `auth` per-IP rate
 * limit). The flow's browser steps answer redirects, errors included: a refusal in the
 * callback sends the browser to the web app's `/sso/done#error=<code>`.
 */
import { z } from 'zod';
import type { SsoExchangeRequest, UpdateSsoRequest } from '../../contract/api.js';
import { AppError, badRequest } from '../../lib/errors.js';
import type { Req, Res } from '../../lib/http/edge.js';
import {
  SSO_BROWSER_COOKIE,
  SSO_LOGIN_TTL_SECONDS,
  deleteSsoSettings,
  doneLocation,
  getSsoSettings,
  putSsoSettings,
  ssoCallback,
  ssoDiscover,
  ssoExchange,
  ssoStart,
  type SsoDeps,
} from '../commands/sso.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { Email } from './auth.js';
import { authenticate, limit, type RouteContext } from './context.js';

const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { message: 'must be a domain name such as example.com' });
const IssuerUrl = z
  .string()
  .trim()
  .min(8)
  .max(2048)
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash;
      } catch {
        return false;
      }
    },
    { message: 'must be the issuer URL, e.g. https://login.example.com/realms/acme' },
  );
const PutSso = z.strictObject({
  issuer: IssuerUrl,
  clientId: z.string().trim().min(1).max(512),
  clientSecret: z.string().min(1).max(1024).nullable().optional(),
  enabled: z.boolean().optional(),
  mandatory: z.boolean().optional(),
  defaultRole: z.enum(['admin', 'member', 'guest']).optional(),
  allowedDomains: z.array(Domain).max(50).optional(),
});
const Exchange = z.strictObject({ code: z.string().min(1).max(200) });
type _Requests = [Expect<Accepts<typeof PutSso, UpdateSsoRequest>>, Expect<Accepts<typeof Exchange, SsoExchangeRequest>>];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The browser-binding cookie's value, if the request carries one. */
function browserCookie(req: Req): string | null {
  for (const part of (req.headers['cookie'] ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SSO_BROWSER_COOKIE) return v.join('=') || null;
  }
  return null;
}

const redirect = (location: string, headers: Record<string, string> = {}): Res => ({
  status: 302,
  headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers },
});

export function ssoRoutes(ctx: RouteContext): void {
  const { edge, svc, config } = ctx;
  // Read per request: the public URL is configuration, and tests point it at their port.
  const deps = async (): Promise<SsoDeps> => Promise.resolve({ box: svc.secrets, publicUrl: () => config.notifications.publicUrl, allowPrivateIssuers: config.sso.allowPrivateIssuers });
  const authLimit = (req: Req) => limit(ctx, `auth:${req.ip}`, config.rateLimits.auth);

  // ---- settings ----
  edge.route(
    'get',
    '/api/v1/workspace/sso',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await getSsoSettings(svc, await deps(), p, req.ip) };
    },
    { doc: { tag: 'Single sign-on', summary: "The workspace's single sign-on (OpenID Connect) settings", description: 'Owners and admins.', auth: 'bearer', status: 200, response: 'SsoSettings' } },
  );
  edge.route(
    'put',
    '/api/v1/workspace/sso',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, PutSso);
      return { status: 200, json: await putSsoSettings(svc, await deps(), p, req.ip, body) };
    },
    {
      doc: {
        tag: 'Single sign-on',
        summary: 'Set up single sign-on',
        description:
          "The identity provider's issuer, the client id and secret (stored encrypted; never shown again), whether it is on and mandatory, the role of new people and the email domains allowed.",
        auth: 'bearer',
        body: PutSso,
        status: 200,
        response: 'SsoSettings',
        example: { request: { issuer: 'https://login.example.com/realms/acme', clientId: 'quire', clientSecret: 's3cr3t', enabled: true, defaultRole: 'member', allowedDomains: ['example.com'] } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/workspace/sso',
    async (req) => {
      const p = await authenticate(ctx, req);
      await deleteSsoSettings(svc, p, req.ip);
      return { status: 204 };
    },
    { doc: { tag: 'Single sign-on', summary: 'Remove single sign-on', auth: 'bearer', status: 204 } },
  );

  // ---- sign-in ----
  edge.route(
    'get',
    '/api/v1/auth/sso/discover',
    async (req) => {
      await authLimit(req);
      const email = Email.safeParse(req.query.get('email') ?? '');
      if (!email.success) throw badRequest('validation_failed', 'Send ?email=<address>');
      return { status: 200, json: await ssoDiscover(svc, await deps(), email.data), headers: { 'cache-control': 'no-store' } };
    },
    {
      doc: {
        tag: 'Single sign-on',
        summary: 'Whether an email signs in with single sign-on',
        auth: 'none',
        queryParams: { email: 'The address typed on the sign-in page (required)' },
        status: 200,
        response: 'SsoDiscovery',
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/auth/sso/start',
    async (req) => {
      await authLimit(req);
      const d = await deps();
      const workspace = req.query.get('workspace')?.toLowerCase();
      const email = req.query.get('email');
      const emailOk = email ? Email.safeParse(email) : undefined;
      try {
        if (workspace !== undefined && !UUID.test(workspace)) throw badRequest('validation_failed', '?workspace= must be a workspace id');
        if (emailOk && !emailOk.success) throw badRequest('validation_failed', '?email= must be an email address');
        if (!workspace && !emailOk) throw badRequest('validation_failed', 'Send ?email=<address> or ?workspace=<id>');
        const started = await ssoStart(svc, d, { email: emailOk?.data, workspace, browserSecret: browserCookie(req), ip: req.ip });
        const secure = d.publicUrl().startsWith('https:') ? '; Secure' : '';
        const cookie = `${SSO_BROWSER_COOKIE}=${started.browserSecret}; Path=/api/v1/auth/sso; Max-Age=${SSO_LOGIN_TTL_SECONDS}; HttpOnly; SameSite=Lax${secure}`;
        return redirect(started.location, { 'set-cookie': cookie });
      } catch (e) {
        // A browser came here: show the app's page with the reason rather than a JSON body.
        if (e instanceof AppError) return redirect(doneLocation(d, { ok: false, error: e }));
        throw e;
      }
    },
    {
      doc: {
        tag: 'Single sign-on',
        summary: 'Start a single sign-on (browser redirect)',
        description: "Redirects (302) to the identity provider, by the email's domain or the workspace id. A browser navigates here; errors redirect to the app's page with the reason.",
        auth: 'none',
        queryParams: { email: 'The address signing in', workspace: 'Or the workspace id' },
        status: 302,
        responseHeaders: { location: "The identity provider's sign-in page", 'set-cookie': 'Binds the sign-in to this browser' },
      },
    },
  );
  edge.route(
    'get',
    '/api/v1/auth/sso/callback',
    async (req) => {
      await authLimit(req);
      const d = await deps();
      const outcome = await ssoCallback(svc, d, { query: req.query, browserSecret: browserCookie(req), ip: req.ip });
      return redirect(doneLocation(d, outcome));
    },
    {
      doc: {
        tag: 'Single sign-on',
        summary: 'Where the identity provider sends the browser back',
        description: 'Redirects (302) to the app with a one-time code for `POST /api/v1/auth/sso/exchange` (or the reason it failed).',
        auth: 'none',
        queryParams: { code: "The provider's authorization code", state: 'The sign-in it belongs to' },
        status: 302,
        responseHeaders: { location: "The app's sign-in page" },
      },
    },
  );
  edge.route(
    'post',
    '/api/v1/auth/sso/exchange',
    async (req) => {
      await authLimit(req);
      const body = readJson(req, Exchange);
      return { status: 200, json: await ssoExchange(svc, { code: body.code, ip: req.ip, userAgent: req.headers['user-agent'] ?? null }) };
    },
    {
      doc: {
        tag: 'Single sign-on',
        summary: 'Trade the one-time code for a session',
        auth: 'none',
        body: Exchange,
        status: 200,
        response: 'Session',
        example: { request: { code: 'qsx_9f8e7d6c5b4a' } },
      },
    },
  );
}
