/**
 * API keys for integrations (migration 0023; the request path is `core/api-keys.ts`).
 * People make keys for themselves while signed in (never with a key), see their own, and
 * revoke them; owners and admins see and revoke every key of the workspace. A key with the
 * `admin` scope can only be made by an owner or admin. The secret is answered once.
 */
import { sql } from 'kysely';
import type { ApiKey, ApiKeyList, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { badRequest, forbidden, notFound } from '../../lib/errors.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import { newApiKey } from '../../core/api-keys.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

/** Live keys a user may hold. */
export const MAX_KEYS_PER_USER = 50;
export const DEFAULT_KEY_DAYS = 90;

const COLUMNS = ['id', 'name', 'scopes', 'hint', 'user_id', 'created_at', 'expires_at', 'last_used_at', 'last_used_ip'] as const;

function present(r: {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  hint: string;
  user_id: string;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
  last_used_ip: string | null;
}): ApiKey {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    hint: r.hint,
    userId: r.user_id,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: new Date(r.expires_at).toISOString(),
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
    lastUsedIp: r.last_used_ip,
  };
}

export async function createApiKey(svc: Services, principal: Principal, ip: string | null, props: CreateApiKeyRequest): Promise<CreatedApiKey> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const scopes = [...new Set(props.scopes)].sort() as ApiKeyScope[];
    if (scopes.includes('admin') && !isTenantAdmin(actor.role)) throw forbidden('Only owners and admins make keys with the admin scope');
    // Under the user's row lock, so two requests cannot both take the last place.
    await tx.selectFrom('users').select('id').where('id', '=', actor.userId).forUpdate().execute();
    const live = await tx
      .selectFrom('api_keys')
      .select(sql<string>`count(*)`.as('n'))
      .where('user_id', '=', actor.userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirstOrThrow();
    if (Number(live.n) >= MAX_KEYS_PER_USER) throw badRequest('validation_failed', `You have ${MAX_KEYS_PER_USER} live API keys, the most allowed; revoke one first`);
    const days = props.expiresInDays ?? DEFAULT_KEY_DAYS;
    const { secret, hash, hint } = newApiKey(actor.tenantId);
    const row = await tx
      .insertInto('api_keys')
      .values({
        tenant_id: actor.tenantId,
        user_id: actor.userId,
        name: props.name,
        scopes,
        key_hash: hash,
        hint,
        expires_at: sql<Date>`now() + make_interval(days => ${days})`,
      })
      .returning([...COLUMNS])
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'api_key.created',
      targetType: 'api_key',
      targetId: row.id,
      ip,
      detail: { name: props.name, scopes, expiresInDays: days },
    });
    return { key: present(row), secret };
  });
}

/** The caller's live keys; with `all`, every live key of the workspace (owners and admins). */
export async function listApiKeys(svc: Services, principal: Principal, ip: string | null, props: { all: boolean }): Promise<ApiKeyList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (props.all && !isTenantAdmin(actor.role)) throw forbidden('Only owners and admins see every key');
    let q = tx
      .selectFrom('api_keys')
      .select([...COLUMNS])
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', sql<Date>`now()`)
      .orderBy('created_at', 'desc')
      .limit(1000);
    if (!props.all) q = q.where('user_id', '=', actor.userId);
    return { keys: (await q.execute()).map(present) };
  });
}

/** Revokes a key at once: its next request is refused and its live sockets close. */
export async function revokeApiKey(svc: Services, principal: Principal, ip: string | null, keyId: string): Promise<void> {
  const owner = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    let q = tx
      .updateTable('api_keys')
      .set({ revoked_at: sql`now()` })
      .where('id', '=', keyId)
      .where('revoked_at', 'is', null);
    if (!isTenantAdmin(actor.role)) q = q.where('user_id', '=', actor.userId);
    const row = await q.returning(['id', 'user_id', 'name']).executeTakeFirst();
    if (!row) throw notFound('api_key');
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'api_key.revoked', targetType: 'api_key', targetId: row.id, ip, detail: { name: row.name, owner: row.user_id } });
    return row.user_id;
  });
  svc.accessEvents.emit({ type: 'user', tenantId: principal.tenantId, userId: owner });
}
