/**
 * API keys on the request path: recognising one, checking it against the database on every
 * use (a revoked or expired key is refused at once — there is no cache to outlive it), and
 * the scope a REST route needs. Keys are made and listed by `server/commands/api-keys.ts`.
 *
 * A key (`qak_<tenant>.<secret>`) acts as the user who made it, with that user's role and
 * document access as stored now, limited to the key's scopes. Its use is recorded at most
 * once a minute (`last_used_at`, `last_used_ip`) and audited (`api_key.used`) at most once an
 * hour, so the audit log shows when a key was in use without a row per request.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { ApiKeyScope } from '../contract/api.js';
import { withTenant, type AppDb } from '../db/store.js';
import { forbidden, unauthorized } from '../lib/errors.js';
import { audit } from './audit.js';
import type { Principal } from './tokens.js';

export const API_KEY_PREFIX = 'qak_';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOUCH_EVERY_SECONDS = 60;
const AUDIT_USE_EVERY_SECONDS = 3600;

export function isApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

export function apiKeyHash(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

/** A new key and what is stored of it. */
export function newApiKey(tenantId: string): { secret: string; hash: string; hint: string } {
  const secret = `${API_KEY_PREFIX}${tenantId}.${crypto.randomBytes(32).toString('base64url')}`;
  return { secret, hash: apiKeyHash(secret), hint: secret.slice(-4) };
}

function parseApiKey(token: string): { tenantId: string } | null {
  if (!isApiKey(token)) return null;
  const [tenantId, secret] = token.slice(API_KEY_PREFIX.length).split('.');
  if (!tenantId || !secret || !UUID_RE.test(tenantId) || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
  return { tenantId };
}

const invalid = () => unauthorized('This API key is not valid (revoked, expired or unknown)', 'invalid_api_key');

/**
 * The principal an API key stands for: its user as stored now (the session version is the
 * user's current one — keys are not sessions, and signing out everywhere does not revoke
 * them) and the key's scopes. A revoked, expired or unknown key, or one whose user is gone,
 * is a 401. Records the use.
 */
export async function verifyApiKey(db: AppDb, token: string, ip: string | null): Promise<Principal & { apiKey: { id: string; scopes: ApiKeyScope[]; expiresAt: Date } }> {
  const parsed = parseApiKey(token);
  if (!parsed) throw invalid();
  const { tenantId } = parsed;
  return withTenant(db, tenantId, async (tx) => {
    const row = await tx
      .selectFrom('api_keys as k')
      .innerJoin('users as u', 'u.id', 'k.user_id')
      .select([
        'k.id',
        'k.user_id',
        'k.scopes',
        'k.expires_at',
        'u.role',
        'u.disabled_at',
        'u.session_version',
        sql<boolean>`k.last_used_at is null or k.last_used_at < now() - make_interval(secs => ${TOUCH_EVERY_SECONDS})`.as('touch'),
        sql<boolean>`k.last_used_at is null or k.last_used_at < now() - make_interval(secs => ${AUDIT_USE_EVERY_SECONDS})`.as('audit_use'),
      ])
      .where('k.key_hash', '=', apiKeyHash(token))
      .where('k.revoked_at', 'is', null)
      .where('k.expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    if (!row) throw invalid();
    if (row.disabled_at) throw unauthorized('This account is no longer active', 'account_inactive');
    if (row.touch) {
      await tx
        .updateTable('api_keys')
        .set({ last_used_at: sql`now()`, last_used_ip: ip })
        .where('id', '=', row.id)
        .execute();
      if (row.audit_use) await audit(tx, { tenantId, actorId: row.user_id, action: 'api_key.used', targetType: 'api_key', targetId: row.id, ip });
    }
    return {
      userId: row.user_id,
      tenantId,
      role: row.role,
      sessionVersion: row.session_version,
      apiKey: { id: row.id, scopes: row.scopes, expiresAt: new Date(row.expires_at) },
    };
  });
}

/** Account routes a key never reaches, whatever its scopes: a key cannot take over the person. */
const ACCOUNT_ONLY = [/^\/api\/v1\/me\/(password|mfa|sessions)(\/|$)/, /^\/api\/v1\/api-keys(\/|$)/, /^\/api\/v1\/auth\//, /^\/api\/v1\/notifications\/stream$/];
/** Administration: users, the workspace, invitations, the audit log, search analytics, webhooks. */
const ADMIN_ROUTES = [/^\/api\/v1\/webhooks(\/|$)/, /^\/api\/v1\/audit$/, /^\/api\/v1\/invitations(\/|$)/, /^\/api\/v1\/workspace\//, /^\/api\/v1\/users\/:id(\/|$)/, /^\/api\/v1\/search\/analytics/];
const ADMIN_WRITES = [/^\/api\/v1\/users$/, /^\/api\/v1\/workspace$/, /^\/api\/v1\/workflows(\/|$)/, /^\/api\/v1\/ml\/(classifiers|settings)(\/|$)/];

/**
 * The scope a route needs from a key (`route` is the pattern that matched), or `null` when
 * keys cannot use it. Every route registered is one of these; `test/api-keys.test.ts` checks
 * the mapping for each one.
 */
export function scopeFor(method: string, route: string): ApiKeyScope | null {
  const m = method.toLowerCase();
  const reads = m === 'get' || m === 'head';
  if (ACCOUNT_ONLY.some((r) => r.test(route))) return null;
  // Asking a classifier for labels changes nothing.
  if (/^\/api\/v1\/ml\/classifiers\/:id\/predict$/.test(route)) return 'read';
  if (ADMIN_ROUTES.some((r) => r.test(route))) return 'admin';
  if (!reads && ADMIN_WRITES.some((r) => r.test(route))) return 'admin';
  if (/^\/api\/v1\/search(\/|$)/.test(route) || /\/similar$/.test(route)) return 'search';
  return reads ? 'read' : 'write';
}

/** Refuses a key that lacks the scope its route needs (403 `insufficient_scope`). */
export function requireScope(scopes: readonly ApiKeyScope[], method: string, route: string): void {
  const needed = scopeFor(method, route);
  if (needed === null) throw forbidden('API keys cannot be used here: sign in as the person instead', 'insufficient_scope');
  if (!scopes.includes(needed)) throw forbidden(`This API key lacks the "${needed}" scope`, 'insufficient_scope');
}
