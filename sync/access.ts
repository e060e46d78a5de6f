/**
 * The sync tier's view of document access: the caller's current level on a document,
 * `null` when they cannot read it, `'inactive'` when the account is gone or disabled.
 */
import type { PermissionLevel } from '../db/schema.js';
import { withTenant, type AppDb } from '../db/store.js';
import { effectiveLevel } from '../core/access.js';
import type { SyncUser } from './context.js';

export async function resolveAccess(db: AppDb, tenantId: string, userId: string, documentId: string): Promise<{ user: SyncUser; level: PermissionLevel } | null | 'inactive'> {
  return withTenant(db, tenantId, async (tx) => {
    const user = await tx.selectFrom('users').select(['id', 'role', 'email', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
    if (!user || user.disabled_at) return 'inactive';
    const level = await effectiveLevel(tx, { userId: user.id, tenantId, role: user.role, email: user.email, ip: null }, documentId);
    if (!level) return null;
    return { user: { id: user.id, tenantId, role: user.role, email: user.email }, level };
  });
}
