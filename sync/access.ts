/**
 * The sync tier's view of document access: the caller's current level on a document,
 * `null` when they cannot read it, `'inactive'` when the account is gone or disabled,
 * `'revoked'` when the connection's session was ended (its token's session version is below
 * the user's: they signed out everywhere or changed their password; or its session was
 * signed out) or its API key was revoked or expired.
 */
import { CLOSE } from '../contract/sync.js';
import type { PermissionLevel } from '../db/schema.js';
import { withTenant, type AppDb } from '../db/store.js';
import { effectiveLevel } from '../core/access.js';
import type { SyncUser } from './context.js';
import { sessionLive, sessionParam } from '../core/actor.js';
import type { Credential } from '../core/tokens.js';
import { sql } from 'kysely';

const NO_KEY = '00000000-0000-0000-0000-000000000000';
/** Whether the connection's API key is still on (not revoked, not expired); null without a key. */
const apiKeyLive = (id: string) => sql<boolean | null>`(select k.revoked_at is null and k.expires_at > now() from api_keys k where k.id = ${id})`.as('key_live');

export type SyncAccess = { user: SyncUser; level: PermissionLevel } | null | 'inactive' | 'revoked';

/** `credential`: what the connection was admitted with (`credentialOf` its token's principal). */
export async function resolveAccess(db: AppDb, tenantId: string, userId: string, documentId: string, credential: Credential): Promise<SyncAccess> {
  return withTenant(db, tenantId, async (tx) => {
    const user = await tx
      .selectFrom('users')
      .select(['id', 'role', 'email', 'disabled_at', 'session_version', sessionLive(sessionParam(credential)), apiKeyLive(credential.apiKeyId ?? NO_KEY)])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!user || user.disabled_at) return 'inactive';
    // A key is not a session: signing out everywhere leaves it on; revoking or expiry ends it.
    if (credential.apiKeyId !== undefined) {
      if (user.key_live !== true) return 'revoked';
    } else if (credential.sessionVersion < user.session_version) return 'revoked';
    if (credential.sessionId !== undefined && user.session_live !== true) return 'revoked';
    const found = await effectiveLevel(tx, { userId: user.id, tenantId, role: user.role, email: user.email, ip: null }, documentId);
    if (!found) return null;
    const level = credential.readOnly ? 'read' : found;
    return { user: { id: user.id, tenantId, role: user.role, email: user.email }, level };
  });
}

/** How a socket whose access is gone is closed: 4410 account gone, 4401 session ended, 4403 no access. */
export function lostAccessClose(access: null | 'inactive' | 'revoked'): (typeof CLOSE)['accountInactive' | 'sessionRevoked' | 'accessRevoked'] {
  if (access === 'inactive') return CLOSE.accountInactive;
  if (access === 'revoked') return CLOSE.sessionRevoked;
  return CLOSE.accessRevoked;
}
