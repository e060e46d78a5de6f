/** Tenant classifiers: request training, read status and metrics, predict. */
import { sql } from 'kysely';
import { withTenant } from '../../db/store.js';
import { parseClassifierModel, predict } from '../../ml-workers/classifier/model.js';
import type { Principal } from '../auth/tokens.js';
import { AppError, badRequest, forbidden, notFound } from '../errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor } from './actor.js';
import { audit } from './audit.js';

export interface ClassifierView {
  id: string;
  name: string;
  version: number;
  status: string;
  active: boolean;
  labels: string[];
  metrics: { accuracy: number; macroF1: number; heldOut: number; trainedOn: number } | null;
  error: string | null;
  createdAt: string;
}

/** Bounds on a training request. */
export const MAX_EXAMPLES = 5_000;
export const MAX_EXAMPLE_CHARS = 5_000;
export const MAX_LABELS = 50;

export async function requestTraining(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { name: string; examples: { text: string; label: string }[] },
): Promise<{ id: string; version: number }> {
  const counts = new Map<string, number>();
  for (const e of props.examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  if (counts.size < 2) throw badRequest('too_few_labels', 'A classifier needs examples of at least 2 labels');
  if (counts.size > MAX_LABELS) throw badRequest('too_many_labels', `At most ${MAX_LABELS} labels`);
  const thin = [...counts].filter(([, n]) => n < 2).map(([l]) => l);
  if (thin.length) throw badRequest('too_few_examples', `Every label needs at least 2 examples; too few for: ${thin.join(', ')}`);
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins train classifiers');
    // One writer per name at a time: the next version number is taken under a lock.
    await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:classifier:${actor.tenantId}:${props.name}`}, 0))`.execute(tx);
    const prev = await tx.selectFrom('classifiers').select(sql<number>`coalesce(max(version), 0)`.as('v')).where('name', '=', props.name).executeTakeFirstOrThrow();
    const version = Number(prev.v) + 1;
    const row = await tx
      .insertInto('classifiers')
      .values({
        tenant_id: actor.tenantId,
        name: props.name,
        version,
        status: 'queued',
        labels: [...counts.keys()].sort(),
        examples: JSON.stringify(props.examples),
        metrics: null,
        model: null,
        error: null,
        created_by: actor.userId,
      })
      .returning(['id'])
      .executeTakeFirstOrThrow();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'classifier.train', targetType: 'classifier', targetId: row.id, ip, detail: { name: props.name, version, examples: props.examples.length } });
    return { id: row.id, version };
  });
}

export async function getClassifier(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassifierView> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const r = await tx
      .selectFrom('classifiers')
      .select(['id', 'name', 'version', 'status', 'active', 'labels', 'metrics', 'error', 'created_at'])
      .where('id', '=', props.id)
      .executeTakeFirst();
    if (!r) throw notFound('classifier');
    return { id: r.id, name: r.name, version: r.version, status: r.status, active: r.active, labels: r.labels, metrics: r.metrics, error: r.error, createdAt: r.created_at.toISOString() };
  });
}

export async function predictWith(svc: Services, principal: Principal, ip: string | null, props: { id: string; text: string }): Promise<{ label: string; confidence: number }> {
  if (!svc.semantic) throw new AppError(503, 'ml_unavailable', 'Classification needs the sentence encoder, which is off on this server');
  const row = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    return tx.selectFrom('classifiers').select(['status', 'model']).where('id', '=', props.id).executeTakeFirst();
  });
  if (!row) throw notFound('classifier');
  if (row.status !== 'ready' && row.status !== 'rejected') throw new AppError(409, 'classifier_not_ready', `The classifier is ${row.status}`);
  const model = parseClassifierModel(row.model);
  const [vector] = await (await svc.semantic.embedder()).embed([props.text]);
  const p = predict(model, vector!);
  return { label: p.label, confidence: p.confidence };
}
