/**
 * Workspace classifiers: request training (from examples or from labelled documents), read a
 * version, list the registry, predict (cached by content hash), pin, roll back, delete.
 * Reads are open to every member of the workspace; changes to owners and admins.
 */
import { sql } from 'kysely';
import type {
  ClassifierCandidate,
  ClassifierList,
  ClassifierPrediction,
  ClassifierStatus,
  ClassifierSummary,
  DeleteClassifierResponse,
  TrainClassifierResponse,
  TrainingExample,
} from '../../contract/api.js';
import type { ClassifiersTable } from '../../db/schema.js';
import { withTenant, type Tx } from '../../db/store.js';
import { ModelCache } from '../../ml-workers/classifier/model-cache.js';
import { PredictionCache } from '../../ml-workers/classifier/prediction-cache.js';
import { embeddingTextFor } from '../../ml-workers/classifier/tenant-model.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, badRequest, conflict, forbidden, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor, type Actor } from '../../core/actor.js';
import { audit } from './audit.js';
import { requestRelabel } from '../../ml-workers/classifier/document-labels.js';

/**
 * Bounds on a training request. 50,000 examples of up to 5,000 characters; the JSON body of
 * the training route may be up to {@link TRAIN_MAX_BODY_BYTES} (other routes: 1 MiB).
 */
export const MAX_EXAMPLES = 50_000;
export const MAX_EXAMPLE_CHARS = 5_000;
export const MAX_LABELS = 50;
/** Body limit of `POST /api/v1/ml/classifiers` alone: 20,000 examples of ~1,500 characters fit. @default 64 MiB */
export const TRAIN_MAX_BODY_BYTES = 64 * 1024 * 1024;
/** Texts longer than this are refused by predict. */
export const MAX_PREDICT_CHARS = 20_000;
/** Rows the registry lists at most (versions of every classifier together). @default 1_000 */
export const MAX_LISTED_VERSIONS = 1_000;

const VIEW_COLUMNS = [
  'id',
  'name',
  'version',
  'status',
  'stage',
  'active',
  'pinned',
  'source',
  'example_count',
  'labels',
  'metrics',
  'selected',
  'candidates',
  'error',
  'created_at',
  'updated_at',
  'activated_at',
] as const;

type ViewRow = Pick<ClassifiersTable, 'name' | 'version' | 'status' | 'selected' | 'error' | 'activated_at'> & {
  id: string;
  stage: 'quick' | 'final';
  active: boolean;
  pinned: boolean;
  source: 'examples' | 'documents';
  example_count: number;
  labels: string[];
  metrics: ClassifierStatus['metrics'];
  candidates: unknown;
  created_at: Date;
  updated_at: Date;
};

function toView(r: ViewRow): ClassifierStatus {
  const report = (r.candidates ?? null) as { split?: ClassifierStatus['split']; candidates?: ClassifierCandidate[] } | null;
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    status: r.status,
    stage: r.stage,
    active: r.active,
    pinned: r.pinned,
    source: r.source,
    examples: r.example_count,
    labels: r.labels,
    metrics: r.metrics,
    selected: r.selected,
    candidates: report?.candidates ?? [],
    split: report?.split ?? null,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    activatedAt: r.activated_at ? r.activated_at.toISOString() : null,
  };
}

function requireAdmin(actor: Actor, what: string): void {
  if (!isTenantAdmin(actor.role)) throw forbidden(`Only owners and admins ${what}`);
}

/** One writer per classifier name at a time (versions, activation). */
async function lockName(tx: Tx, tenantId: string, name: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`quire:classifier:${tenantId}:${name}`}, 0))`.execute(tx);
}

/** Checks label counts: ≥ 2 labels, ≤ MAX_LABELS, ≥ 2 examples each. */
function checkLabels(labels: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  if (counts.size < 2) throw badRequest('too_few_labels', 'A classifier needs examples of at least 2 labels');
  if (counts.size > MAX_LABELS) throw badRequest('too_many_labels', `At most ${MAX_LABELS} labels`);
  const thin = [...counts].filter(([, n]) => n < 2).map(([l]) => l);
  if (thin.length) throw badRequest('too_few_examples', `Every label needs at least 2 examples; too few for: ${thin.join(', ')}`);
  return [...counts.keys()].sort();
}

/**
 * Queues a new version of classifier `name`. `examples` trains on the given examples;
 * without them (`source: 'documents'`) the version trains on the documents labelled for
 * `name` when the worker takes it (their text at that moment).
 */
export async function requestTraining(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { name: string; examples?: TrainingExample[]; source: 'examples' | 'documents' },
): Promise<TrainClassifierResponse> {
  if (props.source === 'examples' && !props.examples) throw badRequest('validation_failed', 'Send examples, or source "documents" to train on labelled documents');
  if (props.source === 'documents' && props.examples) throw badRequest('validation_failed', 'Examples and source "documents" exclude each other');
  const fromExamples = props.examples ? checkLabels(props.examples.map((e) => e.label)) : null;
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireAdmin(actor, 'train classifiers');
    let labels = fromExamples;
    let count = props.examples?.length ?? 0;
    if (!labels) {
      const rows = await tx
        .selectFrom('document_labels as l')
        .innerJoin('documents as d', 'd.id', 'l.document_id')
        .select(['l.label'])
        .where('l.classifier', '=', props.name)
        .where('d.deleted_at', 'is', null)
        .execute();
      if (rows.length > MAX_EXAMPLES) throw badRequest('too_many_examples', `At most ${MAX_EXAMPLES} labelled documents`);
      if (rows.length < 4) throw badRequest('too_few_examples', `Label at least 4 documents for "${props.name}" first (found ${rows.length})`);
      labels = checkLabels(rows.map((r) => r.label));
      count = rows.length;
    }
    await lockName(tx, actor.tenantId, props.name);
    const prev = await tx
      .selectFrom('classifiers')
      .select(sql<number>`coalesce(max(version), 0)`.as('v'))
      .where('name', '=', props.name)
      .executeTakeFirstOrThrow();
    const version = Number(prev.v) + 1;
    const row = await tx
      .insertInto('classifiers')
      .values({
        tenant_id: actor.tenantId,
        name: props.name,
        version,
        status: 'queued',
        labels,
        examples: JSON.stringify(props.examples ?? []),
        example_count: count,
        source: props.source,
        stage: 'quick',
        metrics: null,
        model: null,
        error: null,
        created_by: actor.userId,
      })
      .returning(['id'])
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'classifier.train',
      targetType: 'classifier',
      targetId: row.id,
      ip,
      detail: { name: props.name, version, examples: count, source: props.source },
    });
    return { id: row.id, version };
  });
}

export async function getClassifier(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassifierStatus> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const r = await tx.selectFrom('classifiers').select(VIEW_COLUMNS).where('id', '=', props.id).executeTakeFirst();
    if (!r) throw notFound('classifier');
    return toView(r as ViewRow);
  });
}

/** The workspace's classifiers, by name, with every version and its metrics. */
export async function listClassifiers(svc: Services, principal: Principal, ip: string | null): Promise<ClassifierList> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    const rows = await tx
      .selectFrom('classifiers')
      .select(VIEW_COLUMNS)
      .orderBy('name')
      .orderBy('version', 'desc')
      .limit(MAX_LISTED_VERSIONS + 1)
      .execute();
    const settings = await tx.selectFrom('ml_settings').select('default_classifier').executeTakeFirst();
    const byName = new Map<string, ClassifierSummary>();
    for (const r of rows.slice(0, MAX_LISTED_VERSIONS)) {
      const v = toView(r as ViewRow);
      let s = byName.get(v.name);
      if (!s) {
        s = { name: v.name, activeVersion: null, pinned: false, workspaceDefault: settings?.default_classifier === v.name, versions: [] };
        byName.set(v.name, s);
      }
      if (v.active) {
        s.activeVersion = v.version;
        s.pinned = v.pinned;
      }
      s.versions.push(v);
    }
    return { classifiers: [...byName.values()], truncated: rows.length > MAX_LISTED_VERSIONS };
  });
}

/** Per-process caches of parsed models and predictions (one set per `Services`). */
const caches = new WeakMap<Services, { models: ModelCache; predictions: PredictionCache }>();
function cachesOf(svc: Services): { models: ModelCache; predictions: PredictionCache } {
  let c = caches.get(svc);
  if (!c) {
    c = { models: new ModelCache(), predictions: new PredictionCache() };
    caches.set(svc, c);
  }
  return c;
}

/**
 * Predicts with one version. A prediction is cached by the SHA-256 of the model version and
 * the text; models that read embeddings need the sentence encoder (503 `ml_unavailable` without).
 */
export async function predictWith(svc: Services, principal: Principal, ip: string | null, props: { id: string; text: string }): Promise<ClassifierPrediction> {
  const row = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await loadActor(tx, principal, ip);
    return tx
      .selectFrom('classifiers')
      .select(['status', 'updated_at', sql<boolean>`model is not null`.as('has_model')])
      .where('id', '=', props.id)
      .executeTakeFirst();
  });
  if (!row) throw notFound('classifier');
  if (!row.has_model) throw new AppError(409, 'classifier_not_ready', `The classifier is ${row.status}`);
  const { models, predictions } = cachesOf(svc);
  const modelKey = ModelCache.key(props.id, row.updated_at);
  const key = PredictionCache.key(modelKey, props.text);
  const hit = predictions.get(key);
  if (hit) return { label: hit.label, confidence: hit.confidence, scores: hit.scores, cached: true };
  const model = await models.get(modelKey, async () =>
    withTenant(svc.store.db, principal.tenantId, async (tx) => (await tx.selectFrom('classifiers').select('model').where('id', '=', props.id).executeTakeFirstOrThrow()).model),
  );
  let vector: Float32Array | undefined;
  if (model.embedderModel !== null) {
    if (!svc.semantic) throw new AppError(503, 'ml_unavailable', 'This classifier reads sentence embeddings, and the sentence encoder is off on this server');
    const embedder = await svc.semantic.embedder();
    if (embedder.model !== model.embedderModel) throw conflict('classifier_incompatible', `The classifier was trained on ${model.embedderModel} embeddings; this server has ${embedder.model}`);
    [vector] = await embedder.embed([embeddingTextFor(model, props.text)]);
  }
  const p = model.predict({ text: props.text, vector });
  predictions.set(key, p);
  return { label: p.label, confidence: p.confidence, scores: p.scores, cached: false };
}

async function versionRow(tx: Tx, id: string) {
  const r = await tx
    .selectFrom('classifiers')
    .select(['id', 'name', 'version', 'active', 'pinned', sql<boolean>`model is not null`.as('has_model')])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!r) throw notFound('classifier');
  return r;
}

async function activate(tx: Tx, name: string, id: string): Promise<void> {
  await tx.updateTable('classifiers').set({ active: false, pinned: false }).where('name', '=', name).where('active', '=', true).where('id', '!=', id).execute();
  await tx
    .updateTable('classifiers')
    .set({ active: true, pinned: true, activated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
  await requestRelabel(tx, (await tx.selectFrom('classifiers').select('tenant_id').where('id', '=', id).executeTakeFirstOrThrow()).tenant_id);
}

/** Makes version `id` the active one of its classifier and keeps it there (automatic promotion stops until unpinned). */
export async function pinVersion(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassifierStatus> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireAdmin(actor, 'pin classifier versions');
    const v = await versionRow(tx, props.id);
    if (!v.has_model) throw conflict('classifier_not_ready', `Version ${v.version} has no trained model to pin`);
    await lockName(tx, actor.tenantId, v.name);
    await activate(tx, v.name, v.id);
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'classifier.pin', targetType: 'classifier', targetId: v.id, ip, detail: { name: v.name, version: v.version } });
  });
  return getClassifier(svc, principal, ip, props);
}

/** Lets automatic promotion resume for the classifier of version `id`. */
export async function unpinClassifier(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassifierStatus> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireAdmin(actor, 'unpin classifiers');
    const v = await versionRow(tx, props.id);
    await lockName(tx, actor.tenantId, v.name);
    await tx.updateTable('classifiers').set({ pinned: false }).where('name', '=', v.name).execute();
    await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'classifier.unpin', targetType: 'classifier', targetId: v.id, ip, detail: { name: v.name } });
  });
  return getClassifier(svc, principal, ip, props);
}

/**
 * Goes back to the version that was active before the current one (of the classifier of
 * version `id`), pinned. 409 `nothing_to_roll_back` when no earlier version was ever active.
 */
export async function rollbackClassifier(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<ClassifierStatus> {
  const target = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireAdmin(actor, 'roll back classifiers');
    const v = await versionRow(tx, props.id);
    await lockName(tx, actor.tenantId, v.name);
    const previous = await tx
      .selectFrom('classifiers')
      .select(['id', 'version'])
      .where('name', '=', v.name)
      .where('active', '=', false)
      .where('activated_at', 'is not', null)
      .where('model', 'is not', null)
      .orderBy('activated_at', 'desc')
      .executeTakeFirst();
    if (!previous) throw conflict('nothing_to_roll_back', `No earlier version of "${v.name}" was ever active`);
    await activate(tx, v.name, previous.id);
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'classifier.rollback',
      targetType: 'classifier',
      targetId: previous.id,
      ip,
      detail: { name: v.name, version: previous.version },
    });
    return previous.id;
  });
  return getClassifier(svc, principal, ip, { id: target });
}

/**
 * Deletes version `id` (`scope: 'version'`; the active version cannot be deleted alone: 409
 * `classifier_active`) or every version of its classifier (`scope: 'classifier'`), which also
 * removes that classifier's document labels shown and clears it as the workspace default.
 * Documents labelled for training keep their labels.
 */
export async function deleteClassifier(svc: Services, principal: Principal, ip: string | null, props: { id: string; scope: 'version' | 'classifier' }): Promise<DeleteClassifierResponse> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    requireAdmin(actor, 'delete classifiers');
    const v = await versionRow(tx, props.id);
    await lockName(tx, actor.tenantId, v.name);
    let deleted: number;
    if (props.scope === 'version') {
      if (v.active) throw conflict('classifier_active', `Version ${v.version} labels documents: pin another version first, or delete the whole classifier`);
      deleted = Number((await tx.deleteFrom('classifiers').where('id', '=', v.id).executeTakeFirst()).numDeletedRows);
    } else {
      deleted = Number((await tx.deleteFrom('classifiers').where('name', '=', v.name).executeTakeFirst()).numDeletedRows);
      await tx.deleteFrom('document_classifications').where('model', '=', `tenant:${v.name}`).execute();
      await tx
        .updateTable('ml_settings')
        .set({ default_classifier: null, updated_at: sql`now()` })
        .where('default_classifier', '=', v.name)
        .execute();
      // Its labels leave the search index too.
      await requestRelabel(tx, actor.tenantId);
    }
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'classifier.delete',
      targetType: 'classifier',
      targetId: v.id,
      ip,
      detail: { name: v.name, version: v.version, scope: props.scope, deleted },
    });
    return { deleted };
  });
}
