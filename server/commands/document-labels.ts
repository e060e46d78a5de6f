/**
 * Labels people assign to documents to train a classifier from them (`source: "documents"`),
 * and the workspace's default classifier for the labels documents show.
 */
import { sql } from 'kysely';
import type { DocumentLabel, DocumentLabelList, MlSettings, SetMlSettingsRequest } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import type { Principal } from '../../core/tokens.js';
import { forbidden, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';

/** Sets the document's label for classifier `classifier` (needs write access to the document). */
export async function setDocumentLabel(svc: Services, principal: Principal, ip: string | null, props: { documentId: string; classifier: string; label: string }): Promise<DocumentLabel> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.documentId, 'write');
    const row = await tx
      .insertInto('document_labels')
      .values({ document_id: props.documentId, tenant_id: actor.tenantId, classifier: props.classifier, label: props.label, labelled_by: actor.userId })
      .onConflict((oc) => oc.columns(['document_id', 'classifier']).doUpdateSet({ label: props.label, labelled_by: actor.userId, updated_at: sql`now()` }))
      .returning(['classifier', 'label', 'labelled_by', 'updated_at'])
      .executeTakeFirstOrThrow();
    return { classifier: row.classifier, label: row.label, labelledBy: row.labelled_by, updatedAt: row.updated_at.toISOString() };
  });
}

/** Removes the document's label for classifier `classifier` (write access); 404 `label_not_found` when it had none. */
export async function clearDocumentLabel(svc: Services, principal: Principal, ip: string | null, props: { documentId: string; classifier: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.documentId, 'write');
    const r = await tx.deleteFrom('document_labels').where('document_id', '=', props.documentId).where('classifier', '=', props.classifier).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw notFound('label');
  });
}

/** The document's training labels, one per classifier name (read access). */
export async function listDocumentLabels(svc: Services, principal: Principal, ip: string | null, props: { documentId: string }): Promise<DocumentLabelList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.documentId, 'read');
    const rows = await tx.selectFrom('document_labels').select(['classifier', 'label', 'labelled_by', 'updated_at']).where('document_id', '=', props.documentId).orderBy('classifier').execute();
    return { labels: rows.map((r) => ({ classifier: r.classifier, label: r.label, labelledBy: r.labelled_by, updatedAt: r.updated_at.toISOString() })) };
  });
}

export async function getMlSettings(svc: Services, principal: Principal, ip: string | null): Promise<MlSettings> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const r = await tx.selectFrom('ml_settings').select('default_classifier').executeTakeFirst();
    return { defaultClassifier: r?.default_classifier ?? null };
  });
}

/**
 * Chooses the workspace's default classifier for document labels (owners and admins). It
 * must have a usable (active) version: 404 `classifier_not_found` otherwise. Null goes back
 * to the built-in model.
 */
export async function setMlSettings(svc: Services, principal: Principal, ip: string | null, props: SetMlSettingsRequest): Promise<MlSettings> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins change the workspace classifier');
    if (props.defaultClassifier !== null) {
      const active = await tx.selectFrom('classifiers').select('id').where('name', '=', props.defaultClassifier).where('active', '=', true).executeTakeFirst();
      if (!active) throw notFound('classifier');
    }
    await tx
      .insertInto('ml_settings')
      .values({ tenant_id: actor.tenantId, default_classifier: props.defaultClassifier })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ default_classifier: props.defaultClassifier, updated_at: sql`now()` }))
      .execute();
    return { defaultClassifier: props.defaultClassifier };
  });
}
