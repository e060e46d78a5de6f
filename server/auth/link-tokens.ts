/**
 * One-time link tokens (invitations, password resets): `<prefix><tenantId>.<32 random bytes,
 * base64url>`, like refresh tokens (server/commands/auth.ts). The tenant in the clear lets a
 * request without a session open the right tenant's transaction (`withTenant`, RLS); the
 * secret part is what proves possession. Tokens are stored only as their SHA-256 hash and
 * found by that hash (an index lookup: no comparison of secrets in the application).
 */
import crypto from 'node:crypto';

export const INVITATION_PREFIX = 'qin_';
export const PASSWORD_RESET_PREFIX = 'qpr_';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

export function newLinkToken(prefix: string, tenantId: string): string {
  return `${prefix}${tenantId}.${crypto.randomBytes(32).toString('base64url')}`;
}

/** The tenant a well-formed token names; null for anything else. */
export function parseLinkToken(prefix: string, token: string): { tenantId: string } | null {
  if (!token.startsWith(prefix)) return null;
  const [tenantId, secret, extra] = token.slice(prefix.length).split('.');
  if (extra !== undefined || !tenantId || !secret || !UUID_RE.test(tenantId) || !SECRET_RE.test(secret)) return null;
  return { tenantId };
}

export function hashLinkToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** The link a person opens: the secret rides in the fragment, which browsers never send to a server. */
export function linkFor(publicUrl: string, path: '/invite' | '/reset-password', token: string): string {
  return `${publicUrl}${path}#token=${encodeURIComponent(token)}`;
}
