/** Appends one row to the tenant's audit log, inside the caller's transaction: every security event writes exactly one. */
import type { Tx } from '../db/store.js';

export interface AuditEntry {
  tenantId: string;
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  ip?: string | null;
  detail?: Record<string, unknown>;
}

export async function audit(tx: Tx, e: AuditEntry): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      tenant_id: e.tenantId,
      actor_id: e.actorId,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      ip: e.ip ?? null,
      detail: e.detail ? JSON.stringify(e.detail) : null,
    })
    .execute();
}
