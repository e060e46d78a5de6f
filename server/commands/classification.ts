/** The label a document shows, from the classification of its latest indexed version. */
import { sql } from 'kysely';
import type { Classification, ClassificationAnswer, UnclassifiedDocument } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { labelName } from '../../ml-workers/classifier/label-policy.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';

function unclassified(): UnclassifiedDocument {
  return { label: null, name: null, reason: 'not_classified', predicted: null, confidence: null, model: null, version: null, classifiedAt: null, all: [] };
}

/**
 * The document's label: from the workspace's default classifier when one is chosen (see
 * `PUT /api/v1/ml/settings`), else from the built-in model. `all` lists every active model's
 * view (the built-in one until the chosen model has classified the document). Until a model
 * has classified the document, {@link UnclassifiedDocument}; a document the caller may not
 * read (or that does not exist) is 404 `document_not_found`.
 */
export async function getClassification(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassificationAnswer> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    const rows = await tx
      .selectFrom('document_classifications')
      .select(['label', 'confidence', 'model', 'shown_label', 'reason', sql<string>`version::text`.as('version'), 'created_at'])
      .where('document_id', '=', props.id)
      .orderBy('model')
      .execute();
    const active = new Set((await tx.selectFrom('classifiers').select('name').where('active', '=', true).execute()).map((r) => `tenant:${r.name}`));
    const chosen = (await tx.selectFrom('ml_settings').select('default_classifier').executeTakeFirst())?.default_classifier ?? null;
    const views: Classification[] = rows
      .filter((r) => r.model === 'default' || active.has(r.model))
      .map((r) => ({
        label: r.shown_label,
        name: r.shown_label === null ? null : labelName(r.model, r.shown_label),
        reason: r.reason,
        predicted: r.label,
        confidence: r.confidence,
        model: r.model,
        version: r.version,
        classifiedAt: r.created_at.toISOString(),
      }));
    // A document indexed before the chosen classifier had a version shows the built-in label until its next change.
    const want = chosen !== null && active.has(`tenant:${chosen}`) ? `tenant:${chosen}` : 'default';
    // Without the sentence encoder the built-in model does not run: a workspace model's view stands in.
    const best = views.find((v) => v.model === want) ?? views.find((v) => v.model === 'default') ?? views[0];
    if (!best) return unclassified();
    return { ...best, all: views };
  });
}
