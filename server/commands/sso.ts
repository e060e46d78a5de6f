/**
 * Single sign-on with OpenID Connect, per workspace (migration 0025).
 *
 * Settings (owners and admins): the provider's issuer, client id and secret (sealed at rest,
 * never answered), on/off, mandatory, the role of users provisioned on first sign-in, and
 * the email domains the workspace claims. Saving runs discovery against the issuer first.
 *
 * Sign-in, in three requests:
 * 1. `start`: finds the workspace (by the email's domain, or its id), records a pending login
 *    (hashed state naming the tenant, nonce, sealed PKCE verifier, hash of a browser-binding
 *    cookie; 10 minutes, used once) and sends the browser to the provider (code flow, PKCE
 *    S256, `openid email profile`).
 * 2. `callback`: claims the pending login by its state (once), checks the browser's cookie,
 *    trades the code at the provider and validates the ID token with openid-client (state,
 *    nonce, issuer, audience, expiry, signature), finds the user by (issuer, subject), else by
 *    verified email in the workspace (and links the identity), else provisions one with the
 *    role of the person's pending invitation, or else the workspace's default role. It
 *    answers a one-time exchange code (60 s, stored hashed) — the browser gets it in a URL
 *    fragment, never a token.
 * 3. `exchange`: the web app trades the code for a session (`startSession`, method `sso`).
 *
 * Refusals that name a workspace (a real pending login) are audited `auth.login_failed`
 * with the reason; a state no pending login has is not (anyone could name any workspace).
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import * as oidc from 'openid-client';
import type { Session, SsoDefaultRole, SsoDiscovery, SsoSettings, UpdateSsoRequest } from '../../contract/api.js';
import type { ServerErrorCode } from '../../contract/errors.js';
import type { TenantRole } from '../../db/schema.js';
import { withTenant, type Tx } from '../../db/store.js';
import { AppError, badRequest, conflict, forbidden, unauthorized } from '../../lib/errors.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { describeProviderError, discoverProvider, failedClaim, type ProviderClient } from '../auth/sso-client.js';
import type { SecretBox } from '../../core/secret-box.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { endSessions, sessionAnswer, startSession } from './sessions.js';
import { claimPendingInvitation } from './invitations.js';

/** How long a started sign-in may take at the provider. */
export const SSO_LOGIN_TTL_SECONDS = 600;
/** How long the web app has to trade the exchange code for a session. */
export const SSO_EXCHANGE_TTL_SECONDS = 60;
/** How long a discovered provider configuration is reused. */
const PROVIDER_CACHE_MS = 5 * 60_000;
const PROVIDER_CACHE_MAX = 500;
export const SSO_SCOPE = 'openid email profile';
/** The cookie that binds a sign-in to the browser that started it. */
export const SSO_BROWSER_COOKIE = 'quire_sso';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;
const EXCHANGE_PREFIX = 'qsx_';

/** What the SSO commands need beyond `Services`. */
export interface SsoDeps {
  box: SecretBox;
  /** The web app's origin (`PUBLIC_URL`); the callback and the `/sso/done` page live there. */
  publicUrl: () => string;
  allowPrivateIssuers: boolean;
}

export const callbackUrlOf = (deps: SsoDeps) => `${deps.publicUrl()}/api/v1/auth/sso/callback`;
const doneUrlOf = (deps: SsoDeps) => `${deps.publicUrl()}/sso/done`;

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const random = () => crypto.randomBytes(32).toString('base64url');
const secretAad = (tenantId: string) => `sso-secret:${tenantId}`;
const verifierAad = (tenantId: string) => `sso-login:${tenantId}`;

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && crypto.timingSafeEqual(x, y);
}

/** `<prefix><tenantId>.<43 base64url chars>` → the tenant, or null. */
function tenantOf(token: string, prefix = ''): string | null {
  if (!token.startsWith(prefix)) return null;
  const [tenantId, secret] = token.slice(prefix.length).split('.');
  if (!tenantId || !secret || !UUID_RE.test(tenantId) || !SECRET_RE.test(secret)) return null;
  return tenantId;
}

const ssoError = (status: number, code: ServerErrorCode, message: string) => new AppError(status, code, message);

// ---- provider configurations ------------------------------------------------------------

const providers = new Map<string, { at: number; config: Promise<oidc.Configuration> }>();

/** The provider's client configuration, discovered once per settings version and reused a few minutes. */
function providerFor(key: string, p: ProviderClient, deps: SsoDeps): Promise<oidc.Configuration> {
  const hit = providers.get(key);
  if (hit && Date.now() - hit.at < PROVIDER_CACHE_MS) return hit.config;
  const config = discoverProvider(p, deps.allowPrivateIssuers);
  config.catch(() => providers.delete(key));
  if (providers.size >= PROVIDER_CACHE_MAX) providers.delete(providers.keys().next().value!);
  providers.set(key, { at: Date.now(), config });
  return config;
}

interface ConfigRow {
  tenant_id: string;
  issuer: string;
  client_id: string;
  client_secret_enc: string | null;
  enabled: boolean;
  mandatory: boolean;
  default_role: SsoDefaultRole;
  allowed_domains: string[];
  updated_at: Date;
}

async function readConfig(tx: Tx): Promise<ConfigRow | undefined> {
  return tx.selectFrom('sso_configs').select(['tenant_id', 'issuer', 'client_id', 'client_secret_enc', 'enabled', 'mandatory', 'default_role', 'allowed_domains', 'updated_at']).executeTakeFirst();
}

function clientOf(row: ConfigRow, deps: SsoDeps): ProviderClient {
  return { issuer: row.issuer, clientId: row.client_id, clientSecret: row.client_secret_enc ? deps.box.open(row.client_secret_enc, secretAad(row.tenant_id)) : null };
}

const providerKey = (row: ConfigRow) => `${row.tenant_id}|${new Date(row.updated_at).toISOString()}`;

// ---- settings (owners and admins) ---------------------------------------------------------

function settingsOf(row: ConfigRow | undefined, tenantId: string, deps: SsoDeps): SsoSettings {
  return {
    configured: Boolean(row),
    enabled: row?.enabled ?? false,
    issuer: row?.issuer ?? null,
    clientId: row?.client_id ?? null,
    hasClientSecret: Boolean(row?.client_secret_enc),
    mandatory: row?.mandatory ?? false,
    defaultRole: row?.default_role ?? 'member',
    allowedDomains: row?.allowed_domains ?? [],
    callbackUrl: callbackUrlOf(deps),
    startUrl: `${deps.publicUrl()}/api/v1/auth/sso/start?workspace=${tenantId}`,
    updatedAt: row ? new Date(row.updated_at).toISOString() : null,
  };
}

async function adminOnly(tx: Tx, principal: Principal, ip: string | null) {
  const actor = await loadActor(tx, principal, ip);
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage single sign-on');
  return actor;
}

export async function getSsoSettings(svc: Services, deps: SsoDeps, principal: Principal, ip: string | null): Promise<SsoSettings> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await adminOnly(tx, principal, ip);
    return settingsOf(await readConfig(tx), principal.tenantId, deps);
  });
}

/** Lower-cased, de-duplicated domains. */
export function normaliseDomains(domains: string[]): string[] {
  return [...new Set(domains.map((d) => d.trim().toLowerCase()).filter(Boolean))].sort();
}

/**
 * Saves the settings after discovery against the issuer succeeded with them (the secret
 * given, or the stored one). One `sso.config_changed` audit row names what changed.
 */
export async function putSsoSettings(svc: Services, deps: SsoDeps, principal: Principal, ip: string | null, body: UpdateSsoRequest): Promise<SsoSettings> {
  const db = svc.store.db;
  const tenantId = principal.tenantId;
  const domains = normaliseDomains(body.allowedDomains ?? []);
  const before = await withTenant(db, tenantId, async (tx) => {
    await adminOnly(tx, principal, ip);
    return readConfig(tx);
  });
  if (domains.length) {
    const taken = await sql<{ domain: string }>`select domain from quire_sso_domain_claims(${sql`array[${sql.join(domains)}]::text[]`}, ${tenantId})`.execute(db);
    if (taken.rows.length) throw conflict('sso_domain_taken', `Another workspace already signs in people at ${taken.rows.map((r) => r.domain).join(', ')}`);
  }
  const storedSecret = before?.client_secret_enc ? clientOf(before, deps).clientSecret : null;
  const secret = body.clientSecret === undefined ? storedSecret : body.clientSecret;
  try {
    await discoverProvider({ issuer: body.issuer, clientId: body.clientId, clientSecret: secret }, deps.allowPrivateIssuers);
  } catch (e) {
    throw badRequest('sso_discovery_failed', `OpenID discovery at ${body.issuer} failed: ${describeProviderError(e)}`);
  }
  const saved = await withTenant(db, tenantId, async (tx) => {
    const actor = await adminOnly(tx, principal, ip);
    const values = {
      issuer: body.issuer,
      client_id: body.clientId,
      client_secret_enc: secret ? deps.box.seal(secret, secretAad(tenantId)) : null,
      enabled: body.enabled ?? true,
      mandatory: body.mandatory ?? false,
      default_role: body.defaultRole ?? 'member',
      allowed_domains: domains,
      updated_by: actor.userId,
    };
    await tx
      .insertInto('sso_configs')
      .values({ tenant_id: tenantId, ...values })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...values, updated_at: sql`clock_timestamp()` }))
      .execute();
    const secretChange = body.clientSecret === undefined ? 'kept' : body.clientSecret === null ? 'removed' : 'set';
    // SSO made mandatory: the password (and other non-SSO) sessions of everyone but owners
    // end now, not when their refresh tokens expire; they sign in again through the provider.
    const nowMandatory = values.enabled && values.mandatory;
    const ended = nowMandatory && !(before?.enabled && before.mandatory) ? await endNonSsoSessions(tx) : { sessions: 0, users: [] };
    await audit(tx, {
      tenantId,
      actorId: actor.userId,
      action: 'sso.config_changed',
      targetType: 'tenant',
      targetId: tenantId,
      ip,
      detail: {
        created: !before,
        issuer: values.issuer,
        clientId: values.client_id,
        enabled: values.enabled,
        mandatory: values.mandatory,
        defaultRole: values.default_role,
        allowedDomains: domains,
        secret: secretChange,
        ...(ended.sessions ? { endedSessions: ended.sessions } : {}),
      },
    });
    return { settings: settingsOf(await readConfig(tx), tenantId, deps), endedUsers: ended.users };
  });
  for (const userId of saved.endedUsers) svc.accessEvents.emit({ type: 'user', tenantId, userId });
  return saved.settings;
}

/** Ends the live sessions not started by SSO of every user but owners (users locked first, as everywhere). */
async function endNonSsoSessions(tx: Tx): Promise<{ sessions: number; users: string[] }> {
  const live = await tx
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.user_id'])
    .where('s.ended_at', 'is', null)
    .where('s.method', '<>', 'sso')
    .where('u.role', '<>', 'owner')
    .execute();
  const users = [...new Set(live.map((r) => r.user_id))];
  if (users.length === 0) return { sessions: 0, users };
  await tx.selectFrom('users').select('id').where('id', 'in', users).orderBy('id').forNoKeyUpdate().execute();
  const ended = await endSessions(tx, { sessionIds: live.map((r) => r.id) }, 'ended_by_admin');
  return { sessions: ended.length, users };
}

/** Switches SSO off: the settings (and the sealed secret) are removed; identities stay, so switching it on again finds the same people. */
export async function deleteSsoSettings(svc: Services, principal: Principal, ip: string | null): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await adminOnly(tx, principal, ip);
    const gone = await tx.deleteFrom('sso_configs').returning(['issuer']).executeTakeFirst();
    if (!gone) return;
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'sso.disabled', targetType: 'tenant', targetId: actor.tenantId, ip, detail: { issuer: gone.issuer } });
  });
}

// ---- password login under mandatory SSO ---------------------------------------------------

/**
 * Whether a password sign-in may go ahead in this workspace: under mandatory SSO only owners
 * may (the break-glass way in when the provider is down or misconfigured).
 */
export async function passwordLoginPolicy(tx: Tx, role: TenantRole): Promise<'allowed' | 'break_glass' | 'sso_required'> {
  const row = await tx.selectFrom('sso_configs').select(['enabled', 'mandatory']).executeTakeFirst();
  if (!row?.enabled || !row.mandatory) return 'allowed';
  return role === 'owner' ? 'break_glass' : 'sso_required';
}

export const ssoRequired = () => forbidden('This workspace signs in with single sign-on; use "Sign in with SSO"', 'sso_required');

// ---- discovery by email -------------------------------------------------------------------

/** The enabled workspace that claims an email's domain (exactly one), or null. */
async function workspaceForEmail(svc: Services, email: string): Promise<{ tenantId: string; mandatory: boolean } | null> {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
  if (!domain) return null;
  const found = await sql<{ tenant_id: string; mandatory: boolean }>`select * from quire_sso_discover(${domain})`.execute(svc.store.db);
  if (found.rows.length !== 1) return null;
  return { tenantId: found.rows[0]!.tenant_id, mandatory: found.rows[0]!.mandatory };
}

/** `GET /api/v1/auth/sso/discover?email=`: by the domain alone, so it says nothing about whether the address has an account. */
export async function ssoDiscover(svc: Services, deps: SsoDeps, email: string): Promise<SsoDiscovery> {
  const ws = await workspaceForEmail(svc, email);
  if (!ws) return { sso: false, mandatory: false };
  return { sso: true, mandatory: ws.mandatory, startUrl: `${deps.publicUrl()}/api/v1/auth/sso/start?email=${encodeURIComponent(email)}` };
}

// ---- 1. start -------------------------------------------------------------------------------

export interface SsoStart {
  /** Where to send the browser: the provider's authorization endpoint. */
  location: string;
  /** The browser binding to set as a cookie (the one the browser had, when it had one). */
  browserSecret: string;
}

export async function ssoStart(svc: Services, deps: SsoDeps, p: { email?: string; workspace?: string; browserSecret: string | null; ip: string | null }): Promise<SsoStart> {
  const notConfigured = () => ssoError(404, 'sso_not_configured', 'Single sign-on is not set up for this workspace');
  let tenantId: string | undefined;
  if (p.workspace) tenantId = p.workspace;
  else if (p.email) tenantId = (await workspaceForEmail(svc, p.email))?.tenantId;
  if (!tenantId) throw notConfigured();
  const browserSecret = p.browserSecret && SECRET_RE.test(p.browserSecret) ? p.browserSecret : random();
  const row = await withTenant(svc.store.db, tenantId, (tx) => readConfig(tx));
  if (!row?.enabled) throw notConfigured();
  let provider: oidc.Configuration;
  try {
    provider = await providerFor(providerKey(row), clientOf(row, deps), deps);
  } catch (e) {
    svc.log.warn({ cat: 'sso', tenantId, reason: describeProviderError(e) }, 'SSO provider discovery failed');
    throw ssoError(502, 'sso_discovery_failed', 'The sign-in provider could not be reached');
  }
  const state = `${tenantId}.${random()}`;
  const nonce = oidc.randomNonce();
  const verifier = oidc.randomPKCECodeVerifier();
  await withTenant(svc.store.db, tenantId, async (tx) => {
    // Old attempts go as new ones come: nothing reads a login an hour past its expiry.
    await tx
      .deleteFrom('sso_logins')
      .where('expires_at', '<', sql<Date>`now() - interval '1 hour'`)
      .execute();
    await tx
      .insertInto('sso_logins')
      .values({
        tenant_id: tenantId,
        state_hash: sha256(state),
        browser_hash: sha256(browserSecret),
        nonce,
        verifier_enc: deps.box.seal(verifier, verifierAad(tenantId)),
        ip: p.ip,
        expires_at: new Date(Date.now() + SSO_LOGIN_TTL_SECONDS * 1000),
      })
      .execute();
  });
  const url = oidc.buildAuthorizationUrl(provider, {
    redirect_uri: callbackUrlOf(deps),
    scope: SSO_SCOPE,
    response_type: 'code',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(p.email ? { login_hint: p.email } : {}),
  });
  return { location: url.href, browserSecret };
}

// ---- 2. callback ----------------------------------------------------------------------------

/** The ID-token check that failed, as an error code. */
function tokenError(e: unknown): AppError {
  if (e instanceof oidc.AuthorizationResponseError) return ssoError(401, 'sso_provider_error', `The provider refused the sign-in: ${e.error}`);
  const { kind, claim } = failedClaim(e);
  if (kind === 'comparison' && claim === 'nonce') return ssoError(401, 'sso_nonce_mismatch', 'The ID token was not issued for this sign-in (nonce)');
  if (kind === 'comparison' && claim === 'iss') return ssoError(401, 'sso_issuer_mismatch', 'The ID token comes from another issuer');
  if (kind === 'comparison' && (claim === 'aud' || claim === 'azp')) return ssoError(401, 'sso_audience_mismatch', 'The ID token was issued for another client');
  if (kind === 'timestamp' && (claim === 'exp' || claim === 'iat' || claim === 'nbf')) return ssoError(401, 'sso_token_expired', 'The ID token has expired');
  return ssoError(401, 'sso_token_invalid', 'The provider’s answer could not be verified');
}

interface Claimed {
  tenantId: string;
  loginId: string;
  nonce: string;
  verifier: string;
  state: string;
}

/** The outcome of a callback: an exchange code, or a refusal (already audited when it names a workspace). */
export type CallbackOutcome = { ok: true; code: string } | { ok: false; error: AppError };

export async function ssoCallback(svc: Services, deps: SsoDeps, p: { query: URLSearchParams; browserSecret: string | null; ip: string | null }): Promise<CallbackOutcome> {
  const state = p.query.get('state') ?? '';
  const tenantId = tenantOf(state);
  const badState = () => ssoError(401, 'sso_invalid_state', 'This sign-in link is not valid any more; start again');
  if (!tenantId) return { ok: false, error: badState() };
  const db = svc.store.db;
  const failed = async (error: AppError, targetId?: string) => {
    await withTenant(db, tenantId, (tx) =>
      audit(tx, { tenantId, actorId: null, action: 'auth.login_failed', targetType: targetId ? 'user' : undefined, targetId, ip: p.ip, detail: { method: 'sso', reason: error.code } }),
    );
    return { ok: false as const, error };
  };

  // Claim the pending login: of two callbacks with one state, one wins.
  const claimed = await withTenant(db, tenantId, async (tx): Promise<Claimed | 'unknown' | 'stale' | 'browser'> => {
    const row = await tx
      .updateTable('sso_logins')
      .set({ used_at: sql`now()` })
      .where('state_hash', '=', sha256(state))
      .where('used_at', 'is', null)
      .returning(['id', 'nonce', 'verifier_enc', 'browser_hash', sql<boolean>`expires_at > now()`.as('fresh')])
      .executeTakeFirst();
    if (!row) {
      const known = await tx.selectFrom('sso_logins').select('id').where('state_hash', '=', sha256(state)).executeTakeFirst();
      return known ? 'stale' : 'unknown';
    }
    if (!row.fresh) return 'stale';
    if (!p.browserSecret || !sameHash(sha256(p.browserSecret), row.browser_hash)) return 'browser';
    return { tenantId, loginId: row.id, nonce: row.nonce, verifier: deps.box.open(row.verifier_enc, verifierAad(tenantId)), state };
  });
  if (claimed === 'unknown') return { ok: false, error: badState() };
  if (claimed === 'stale' || claimed === 'browser') return failed(badState());

  const row = await withTenant(db, tenantId, (tx) => readConfig(tx));
  if (!row?.enabled) return failed(ssoError(404, 'sso_not_configured', 'Single sign-on is not set up for this workspace'));
  if (p.query.get('error')) {
    const code = (p.query.get('error') ?? '').replace(/[^\w.-]/g, '').slice(0, 64);
    return failed(ssoError(401, 'sso_provider_error', `The provider refused the sign-in: ${code}`));
  }
  let claims: oidc.IDToken;
  let issuer: string;
  try {
    const provider = await providerFor(providerKey(row), clientOf(row, deps), deps);
    issuer = provider.serverMetadata().issuer;
    const current = new URL(callbackUrlOf(deps));
    current.search = p.query.toString();
    const tokens = await oidc.authorizationCodeGrant(
      provider,
      current,
      { pkceCodeVerifier: claimed.verifier, expectedState: claimed.state, expectedNonce: claimed.nonce, idTokenExpected: true },
      { redirect_uri: callbackUrlOf(deps) },
    );
    const c = tokens.claims();
    if (!c) throw new Error('no ID token');
    claims = c;
  } catch (e) {
    const error = tokenError(e);
    svc.log.info({ cat: 'sso', tenantId, code: error.code, reason: describeProviderError(e) }, 'SSO sign-in refused');
    return failed(error);
  }

  const subject = claims.sub;
  const email = typeof claims['email'] === 'string' ? claims['email'].trim().toLowerCase() : null;
  const verified = claims['email_verified'] === true;
  const name = typeof claims['name'] === 'string' ? claims['name'].trim().slice(0, 200) || null : null;

  try {
    const outcome = await withTenant(db, tenantId, async (tx): Promise<{ ok: true; code: string } | { ok: false; error: AppError; userId?: string }> => {
      let userId: string | undefined;
      const known = await tx.selectFrom('user_identities').select('user_id').where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
      if (known) userId = known.user_id;
      else {
        if (!email || !verified) return { ok: false, error: ssoError(403, 'sso_email_unverified', 'The provider did not vouch for an email address (email_verified)') };
        const domain = email.slice(email.lastIndexOf('@') + 1);
        if (row.allowed_domains.length && !row.allowed_domains.includes(domain)) {
          return { ok: false, error: ssoError(403, 'sso_domain_not_allowed', `This workspace does not take sign-ins from ${domain}`) };
        }
        const existing = await tx
          .selectFrom('users')
          .select('id')
          .where(sql`lower(email)`, '=', email)
          .executeTakeFirst();
        if (existing) {
          userId = existing.id;
          await audit(tx, { tenantId, actorId: userId, action: 'user.sso_linked', targetType: 'user', targetId: userId, ip: p.ip, detail: { issuer, subject } });
        } else {
          // A password no one knows: an account made by SSO signs in through SSO (or a reset link).
          const unusableHash = await svc.passwords.hash(random());
          const created = await tx
            .insertInto('users')
            .values({ tenant_id: tenantId, email, password_hash: unusableHash, role: row.default_role, display_name: name })
            .returning('id')
            .executeTakeFirstOrThrow();
          userId = created.id;
          // Someone invited to the workspace gets the invitation's role, and the invitation is used.
          const invited = await claimPendingInvitation(tx, { tenantId, email, userId, ip: p.ip, via: 'sso' });
          const role = invited ?? row.default_role;
          if (role !== row.default_role) await tx.updateTable('users').set({ role }).where('id', '=', userId).execute();
          await audit(tx, {
            tenantId,
            actorId: userId,
            action: 'user.provisioned_sso',
            targetType: 'user',
            targetId: userId,
            ip: p.ip,
            detail: { issuer, subject, role, ...(invited ? { invitation: true } : {}) },
          });
        }
        await tx.insertInto('user_identities').values({ tenant_id: tenantId, issuer, subject, user_id: userId, email }).execute();
      }
      const user = await tx.selectFrom('users').select(['id', 'disabled_at']).where('id', '=', userId).forShare().executeTakeFirst();
      if (!user || user.disabled_at) return { ok: false, error: unauthorized('This account is no longer active', 'account_inactive'), userId };
      await tx
        .updateTable('user_identities')
        .set({ last_login_at: sql`now()`, ...(email ? { email } : {}) })
        .where('issuer', '=', issuer)
        .where('subject', '=', subject)
        .execute();
      const code = `${EXCHANGE_PREFIX}${tenantId}.${random()}`;
      await tx
        .updateTable('sso_logins')
        .set({ user_id: user.id, exchange_hash: sha256(code), exchange_expires_at: new Date(Date.now() + SSO_EXCHANGE_TTL_SECONDS * 1000) })
        .where('id', '=', claimed.loginId)
        .execute();
      return { ok: true, code };
    });
    if (!outcome.ok) return failed(outcome.error, outcome.userId);
    return outcome;
  } catch (e) {
    const err = e as { code?: string; constraint?: string; message?: string };
    if (err?.code === '23505' && (err.constraint === 'users_email_key' || err.message?.includes('users_email_key'))) {
      return failed(conflict('sso_email_taken', 'This email address belongs to an account in another workspace'));
    }
    throw e;
  }
}

/** Where the browser goes after the callback: the web app's `/sso/done`, with the code or the error in the fragment. */
export function doneLocation(deps: SsoDeps, outcome: CallbackOutcome): string {
  return outcome.ok ? `${doneUrlOf(deps)}#code=${encodeURIComponent(outcome.code)}` : `${doneUrlOf(deps)}#error=${outcome.error.code}`;
}

// ---- 3. exchange ----------------------------------------------------------------------------

export async function ssoExchange(svc: Services, p: { code: string; ip: string | null; userAgent: string | null }): Promise<Session> {
  const invalid = () => unauthorized('This sign-in code is not valid any more; sign in again', 'sso_invalid_code');
  const tenantId = tenantOf(p.code, EXCHANGE_PREFIX);
  if (!tenantId) throw invalid();
  const started = await withTenant(svc.store.db, tenantId, async (tx) => {
    const login = await tx
      .updateTable('sso_logins')
      .set({ exchanged_at: sql`now()` })
      .where('exchange_hash', '=', sha256(p.code))
      .where('exchanged_at', 'is', null)
      .where('exchange_expires_at', '>', sql<Date>`now()`)
      .returning('user_id')
      .executeTakeFirst();
    if (!login?.user_id) return null;
    const user = await tx.selectFrom('users').select(['id', 'email', 'role', 'disabled_at', 'session_version']).where('id', '=', login.user_id).forShare().executeTakeFirst();
    if (!user || user.disabled_at) return 'inactive' as const;
    const session = await startSession(svc, tx, { tenantId, userId: user.id, ip: p.ip, userAgent: p.userAgent, method: 'sso' });
    await audit(tx, { tenantId, actorId: user.id, action: 'auth.login', targetType: 'user', targetId: user.id, ip: p.ip, detail: { method: 'sso', sessionId: session.sessionId } });
    return { user, ...session };
  });
  if (!started) throw invalid();
  if (started === 'inactive') throw unauthorized('This account is no longer active', 'account_inactive');
  return sessionAnswer(svc, { tenantId, sessionId: started.sessionId, refreshToken: started.refreshToken, sessionVersion: started.user.session_version, user: started.user });
}
