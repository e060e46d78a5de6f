/** The audit log's writer lives below the roles (`core/audit.ts`), so the sync tier can record too. */
export { audit, type AuditEntry } from '../../core/audit.js';
