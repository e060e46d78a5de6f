/**
 * Resolves a verified token's principal to the user as stored now, so a removed user
 * or a changed role takes effect on the next request, not when the token expires.
 */
import type { TenantRole } from '../db/schema.js';
import type { Tx } from '../db/store.js';
import { queryTemplate } from '../db/template.js';
import type { Principal } from './tokens.js';
import { unauthorized } from '../lib/errors.js';

export interface Actor {
  userId: string;
  tenantId: string;
  role: TenantRole;
  email: string;
  ip: string | null;
}

export async function loadActor(tx: Tx, principal: Principal, ip: string | null): Promise<Actor> {
  return actorFrom(await actorQuery(principal).execute(tx), principal, ip);
}

const userRow = queryTemplate((db, p: { userId: string }) => db.selectFrom('users').select(['id', 'role', 'email', 'disabled_at']).where('id', '=', p.userId));

/** The caller's user row as a query of its own, to send with others (`readAsTenant`). */
export function actorQuery(principal: Principal) {
  return userRow({ userId: principal.userId });
}

/** The actor from `actorQuery`'s rows; refuses a user who is gone or disabled. */
export function actorFrom(rows: readonly { id: string; role: TenantRole; email: string; disabled_at: Date | null }[], principal: Principal, ip: string | null): Actor {
  const user = rows[0];
  if (!user || user.disabled_at) throw unauthorized('This account is no longer active', 'account_inactive');
  return { userId: user.id, tenantId: principal.tenantId, role: user.role, email: user.email, ip };
}

/** Tenant owners and admins manage users and hold admin on every document of the tenant. */
export function isTenantAdmin(role: TenantRole): boolean {
  return role === 'owner' || role === 'admin';
}
