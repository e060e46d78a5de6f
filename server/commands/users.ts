/** Tenant user management (owners and admins add users, change roles and remove users), and the caller's own profile. */
import { sql } from 'kysely';
import type { CreateUserRequest, Me, TenantRole, UpdateMeRequest, User } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, conflict, forbidden, notFound } from '../../lib/errors.js';
import { assertStrongPassword } from '../../lib/password-strength.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import { audit } from './audit.js';
import { endSessions } from './sessions.js';
import { feedEvent } from './feed.js';

const present = (u: { id: string; email: string; display_name: string | null; role: TenantRole; created_at: Date }): User => ({
  id: u.id,
  email: u.email,
  displayName: u.display_name,
  role: u.role,
  createdAt: u.created_at.toISOString(),
});

/** Only an owner may create or promote owners; admins manage admins, members and guests. */
function assertMayAssign(actor: Actor, role: TenantRole): void {
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage users');
  if (role === 'owner' && actor.role !== 'owner') throw forbidden('Only an owner can grant the owner role');
}

export async function createUser(svc: Services, principal: Principal, ip: string | null, props: CreateUserRequest): Promise<User> {
  // Authorize before paying for the hash.
  await withTenant(svc.store.db, principal.tenantId, async (tx) => assertMayAssign(await loadActor(tx, principal, ip), props.role));
  await assertStrongPassword(props.password, [props.email, props.displayName]);
  const passwordHash = await svc.passwords.hash(props.password);
  try {
    return await withTenant(svc.store.db, principal.tenantId, async (tx) => {
      const actor = await loadActor(tx, principal, ip);
      assertMayAssign(actor, props.role);
      const row = await tx
        .insertInto('users')
        .values({
          tenant_id: actor.tenantId,
          email: props.email.toLowerCase(),
          password_hash: passwordHash,
          role: props.role,
          display_name: props.displayName ?? null,
        })
        .returning(['id', 'email', 'display_name', 'role', 'created_at'])
        .executeTakeFirstOrThrow();
      await audit(tx, {
        tenantId: actor.tenantId,
        actorId: actor.userId,
        action: 'user.create',
        targetType: 'user',
        targetId: row.id,
        ip,
        detail: { role: props.role },
      });
      return present(row);
    });
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw conflict('email_taken', 'An account with this email already exists');
    throw e;
  }
}

export async function listUsers(svc: Services, principal: Principal, ip: string | null): Promise<User[]> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (actor.role === 'guest') throw forbidden('Guests cannot list the users of the workspace');
    const rows = await tx.selectFrom('users').select(['id', 'email', 'display_name', 'role', 'created_at']).where('disabled_at', 'is', null).orderBy('created_at').orderBy('id').limit(1000).execute();
    return rows.map(present);
  });
}

async function readMe(tx: Tx, principal: Principal): Promise<Me> {
  const row = await tx
    .selectFrom('users')
    .innerJoin('tenants', 'tenants.id', 'users.tenant_id')
    .select(['users.id', 'users.email', 'users.display_name', 'users.role', 'users.created_at', 'tenants.name as tenant_name'])
    .where('users.id', '=', principal.userId)
    .executeTakeFirstOrThrow();
  return { ...present(row), tenantId: principal.tenantId, tenantName: row.tenant_name };
}

export async function getMe(svc: Services, principal: Principal, ip: string | null): Promise<Me> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    return readMe(tx, principal);
  });
}

/** `PATCH /api/v1/me`: any signed-in user sets or clears their own display name. */
export async function updateMe(svc: Services, principal: Principal, ip: string | null, props: UpdateMeRequest): Promise<Me> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const before = await tx.selectFrom('users').select('display_name').where('id', '=', actor.userId).forUpdate().executeTakeFirstOrThrow();
    if (before.display_name !== props.displayName) {
      await tx
        .updateTable('users')
        .set({ display_name: props.displayName, updated_at: sql`now()` })
        .where('id', '=', actor.userId)
        .execute();
      await audit(tx, {
        tenantId: actor.tenantId,
        actorId: actor.userId,
        action: 'user.display_name_change',
        targetType: 'user',
        targetId: actor.userId,
        ip,
        detail: { from: before.display_name, to: props.displayName },
      });
    }
    return readMe(tx, principal);
  });
}

/** Locks an active user of the tenant for a role change or removal; only owners touch owners. */
async function lockManagedUser(tx: Tx, actor: Actor, userId: string, verb: 'change' | 'remove'): Promise<{ id: string; role: TenantRole }> {
  const target = await tx.selectFrom('users').select(['id', 'role']).where('id', '=', userId).where('disabled_at', 'is', null).forUpdate().executeTakeFirst();
  if (!target) throw notFound('user');
  if (target.role === 'owner' && actor.role !== 'owner') throw forbidden(`Only an owner can ${verb} an owner`);
  return target;
}

async function ownerCount(tx: Tx): Promise<number> {
  const r = await tx
    .selectFrom('users')
    .select(sql<string>`count(*)`.as('n'))
    .where('role', '=', 'owner')
    .where('disabled_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function updateUserRole(svc: Services, principal: Principal, ip: string | null, props: { userId: string; role: TenantRole }): Promise<User> {
  const view = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    assertMayAssign(actor, props.role);
    const target = await lockManagedUser(tx, actor, props.userId, 'change');
    if (target.role === 'owner' && props.role !== 'owner' && (await ownerCount(tx)) <= 1) {
      throw badRequest('last_owner', 'A workspace needs at least one owner');
    }
    const row = await tx
      .updateTable('users')
      .set({ role: props.role, updated_at: sql`now()` })
      .where('id', '=', props.userId)
      .returning(['id', 'email', 'display_name', 'role', 'created_at'])
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'user.role_change',
      targetType: 'user',
      targetId: props.userId,
      ip,
      detail: { from: target.role, to: props.role },
    });
    return present(row);
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: props.userId });
  return view;
}

/** Disables the user, revokes their refresh tokens; live sockets follow via access events. */
export async function removeUser(svc: Services, principal: Principal, ip: string | null, props: { userId: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins manage users');
    if (props.userId === actor.userId) throw badRequest('cannot_remove_self', 'You cannot remove your own account');
    await lockManagedUser(tx, actor, props.userId, 'remove');
    await tx
      .updateTable('users')
      .set({ disabled_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', props.userId)
      .execute();
    await endSessions(tx, { userId: props.userId }, 'user_removed');
    const granted = await tx.deleteFrom('document_permissions').where('user_id', '=', props.userId).returning('document_id').execute();
    // Indexes that store readers drop this user from those documents.
    for (const g of granted) await feedEvent(tx, actor.tenantId, g.document_id, 'document.permissions');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'user.remove', targetType: 'user', targetId: props.userId, ip });
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: props.userId });
}
