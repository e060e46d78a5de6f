/** The stored classification of a document's latest indexed version. */
import { withTenant } from '../../db/store.js';
import type { Principal } from '../auth/tokens.js';
import { notFound } from '../errors.js';
import type { Services } from '../services.js';
import { loadActor } from './actor.js';
import { requireLevel } from './access.js';

export interface ClassificationView {
  label: string;
  confidence: number;
  model: string;
  /** The document version (feed position) the label was computed for. */
  version: string;
  classifiedAt: string;
}

export async function getClassification(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassificationView> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    const row = await tx
      .selectFrom('document_classifications')
      .select(['label', 'confidence', 'model', 'version', 'created_at'])
      .where('document_id', '=', props.id)
      .where('model', '=', 'default')
      .executeTakeFirst();
    if (!row) throw notFound('classification');
    return { label: row.label, confidence: row.confidence, model: row.model, version: String(row.version), classifiedAt: row.created_at.toISOString() };
  });
}
