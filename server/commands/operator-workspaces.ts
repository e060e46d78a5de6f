/**
 * Operator actions on workspaces that no signed-in person performs (`quire workspace …`):
 * creating a workspace with its first owner, and adding an owner or admin to an existing
 * workspace (when its last one left, or lost their password and second factor). Each is
 * audited in the workspace with no actor and `detail.by = 'operator'`.
 */
import crypto from 'node:crypto';
import { withTenant } from '../../db/store.js';
import type { Store } from '../../db/store.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { audit } from './audit.js';

export interface OperatorDeps {
  store: Store;
  passwords: PasswordHasher;
}

export class OperatorError extends Error {}

function isUniqueViolation(e: unknown): boolean {
  return (e as { code?: string })?.code === '23505';
}

export async function createWorkspace(deps: OperatorDeps, props: { name: string; email: string; password: string; displayName?: string }): Promise<{ tenantId: string; userId: string }> {
  const name = props.name.trim();
  if (name.length < 1 || name.length > 120) throw new OperatorError('a workspace name is 1 to 120 characters');
  await assertStrongPassword(props.password, [props.email, name]).catch((e: unknown) => {
    throw new OperatorError(e instanceof Error ? e.message : String(e));
  });
  const passwordHash = await deps.passwords.hash(props.password);
  const tenantId = crypto.randomUUID();
  try {
    return await withTenant(deps.store.db, tenantId, async (tx) => {
      await tx.insertInto('tenants').values({ id: tenantId, name }).execute();
      const user = await tx
        .insertInto('users')
        .values({ tenant_id: tenantId, email: props.email.toLowerCase(), password_hash: passwordHash, role: 'owner', display_name: props.displayName ?? null })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(tx, { tenantId, actorId: null, action: 'workspace.create', targetType: 'tenant', targetId: tenantId, detail: { by: 'operator', owner: user.id } });
      return { tenantId, userId: user.id };
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new OperatorError(`an account with the email ${props.email} already exists`);
    throw e;
  }
}

export async function createAdmin(deps: OperatorDeps, tenantId: string, props: { email: string; password: string; role: 'owner' | 'admin'; displayName?: string }): Promise<{ userId: string }> {
  await assertStrongPassword(props.password, [props.email, props.displayName]).catch((e: unknown) => {
    throw new OperatorError(e instanceof Error ? e.message : String(e));
  });
  const passwordHash = await deps.passwords.hash(props.password);
  try {
    return await withTenant(deps.store.db, tenantId, async (tx) => {
      const tenant = await tx.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
      if (!tenant) throw new OperatorError(`no workspace ${tenantId}`);
      const user = await tx
        .insertInto('users')
        .values({ tenant_id: tenantId, email: props.email.toLowerCase(), password_hash: passwordHash, role: props.role, display_name: props.displayName ?? null })
        .returning('id')
        .executeTakeFirstOrThrow();
      await audit(tx, { tenantId, actorId: null, action: 'user.create', targetType: 'user', targetId: user.id, detail: { role: props.role, by: 'operator' } });
      return { userId: user.id };
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new OperatorError(`an account with the email ${props.email} already exists`);
    throw e;
  }
}
