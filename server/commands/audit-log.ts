/**
 * Reading the workspace's audit log (owners and admins): newest first, filtered by actor,
 * action (exact, or a prefix ending in `.`), target and time, paged by a cursor (the last
 * entry's id: ids only grow), or exported whole as NDJSON — an export is audited too.
 */
import { sql } from 'kysely';
import { AUDIT_EXPORT_MAX, AUDIT_MAX_LIMIT, type AuditEntry, type AuditPage, type AuditQuery } from '../../contract/api.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, forbidden } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify(['a', id])).toString('base64url');
}

function decodeCursor(raw: string): string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  if (!Array.isArray(v) || v.length !== 2 || v[0] !== 'a' || typeof v[1] !== 'string' || !/^\d{1,19}$/.test(v[1])) {
    throw badRequest('invalid_cursor', 'The cursor is not one this server issued');
  }
  return v[1];
}

function matching(tx: Tx, q: Omit<AuditQuery, 'cursor' | 'limit' | 'format'>, beforeId: string | null) {
  let query = tx
    .selectFrom('audit_log as a')
    .leftJoin('users as u', 'u.id', 'a.actor_id')
    .select(['a.id', 'a.actor_id', 'u.display_name', 'u.email', 'a.action', 'a.target_type', 'a.target_id', 'a.ip', 'a.detail', 'a.created_at']);
  if (q.actor) query = query.where('a.actor_id', '=', q.actor);
  if (q.action) query = q.action.endsWith('.') ? query.where(sql<boolean>`starts_with(a.action, ${q.action})`) : query.where('a.action', '=', q.action);
  if (q.target) query = query.where('a.target_id', '=', q.target);
  if (q.from) query = query.where('a.created_at', '>=', new Date(q.from));
  if (q.to) query = query.where('a.created_at', '<', new Date(q.to));
  if (beforeId) query = query.where(sql<boolean>`a.id < ${beforeId}::bigint`);
  return query.orderBy('a.id', 'desc');
}

type Row = Awaited<ReturnType<ReturnType<typeof matching>['execute']>>[number];

const present = (r: Row): AuditEntry => ({
  id: String(r.id),
  actor: r.actor_id === null ? null : { id: r.actor_id, name: r.email === null ? 'Removed user' : (r.display_name ?? r.email.split('@')[0] ?? r.email) },
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  ip: r.ip,
  detail: r.detail ?? null,
  createdAt: r.created_at.toISOString(),
});

async function requireAdmin(tx: Tx, principal: Principal, ip: string | null) {
  const actor = await loadActor(tx, principal, ip);
  if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins read the audit log');
  return actor;
}

export async function listAudit(svc: Services, principal: Principal, ip: string | null, q: AuditQuery): Promise<AuditPage> {
  const limit = Math.min(q.limit ?? 50, AUDIT_MAX_LIMIT);
  const before = q.cursor === undefined ? null : decodeCursor(q.cursor);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireAdmin(tx, principal, ip);
    const rows = await matching(tx, q, before)
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return { entries: page.map(present), nextCursor: rows.length > limit ? encodeCursor(String(page[page.length - 1]!.id)) : null };
  });
}

/** Every matching entry as NDJSON (newest first, at most `AUDIT_EXPORT_MAX`); the export is recorded. */
export async function exportAudit(svc: Services, principal: Principal, ip: string | null, q: AuditQuery): Promise<string> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await requireAdmin(tx, principal, ip);
    const rows = await matching(tx, q, null).limit(AUDIT_EXPORT_MAX).execute();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'audit.export',
      targetType: 'tenant',
      targetId: actor.tenantId,
      ip,
      detail: { entries: rows.length, filters: { actor: q.actor, action: q.action, target: q.target, from: q.from, to: q.to } },
    });
    return rows.map((r) => JSON.stringify(present(r))).join('\n') + (rows.length ? '\n' : '');
  });
}
