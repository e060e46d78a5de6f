/** The stored classification of a document's latest indexed version. */
import { sql } from 'kysely';
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

/**
 * The document's label: from the tenant's own classifier when one is active (the most
 * recently trained), else from the default genre model. `all` lists every model's label.
 */
export async function getClassification(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string },
): Promise<ClassificationView & { all: ClassificationView[] }> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    const rows = await tx
      .selectFrom('document_classifications')
      .select(['label', 'confidence', 'model', sql<string>`version::text`.as('version'), 'created_at'])
      .where('document_id', '=', props.id)
      .orderBy('created_at', 'desc')
      .execute();
    const active = new Set(
      (await tx.selectFrom('classifiers').select('name').where('active', '=', true).execute()).map((r) => `tenant:${r.name}`),
    );
    const views = rows
      .filter((r) => r.model === 'default' || active.has(r.model))
      .map((r) => ({ label: r.label, confidence: r.confidence, model: r.model, version: r.version, classifiedAt: r.created_at.toISOString() }));
    const best = views.find((v) => v.model !== 'default') ?? views.find((v) => v.model === 'default');
    if (!best) throw notFound('classification');
    return { ...best, all: views };
  });
}
