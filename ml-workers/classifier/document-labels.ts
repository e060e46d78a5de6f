/**
 * Labels a document with the built-in model and every active classifier of its workspace,
 * and records per model both the raw prediction and the label people see (`shown_label`,
 * decided by `label-policy.ts` from the label shown before); when a shown label changes, a
 * `document.classified` feed event goes into the outbox with it. Called by the indexer with the
 * document's text and the mean of its chunk embeddings (without them when the sentence
 * encoder is off: workspace models on n-grams alone still label).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { withTenant, type AppDb } from '../../db/store.js';
import { predict as predictDense, type ClassifierModel, type Prediction } from './model.js';
import { countWords, decideShownLabel } from './label-policy.js';
import { ModelCache } from './model-cache.js';

/** Input of {@link labelDocument}. */
export interface DocumentLabelInput {
  db: AppDb;
  tenantId: string;
  documentId: string;
  title: string;
  /** Body text (blocks joined by newlines). */
  text: string;
  /**
   * Mean of the document's chunk embeddings; null for a document without chunks, or when
   * the sentence encoder is off (then only models on text features run).
   */
  vector: Float32Array | null;
  /** `Embedder.model` of `vector`; null when the sentence encoder is off. */
  embedderModel: string | null;
  /** Feed position the labels are computed for. */
  version: string;
  /** The built-in model (`default`). */
  builtIn?: { name: string; model: ClassifierModel };
  /** Parsed workspace models (shared across calls). */
  cache: ModelCache;
}

/**
 * Predicts, decides and stores every model's label for the document. Returns the labels now
 * shown (for the full-text index). A workspace model that cannot run on this input (trained
 * on another embedder) is skipped.
 */
export async function labelDocument(input: DocumentLabelInput): Promise<string[]> {
  const { db, tenantId, documentId } = input;
  const words = countWords(input.text);
  const fullText = `${input.title}\n${input.text}`;
  const predictions: { model: string; p: Prediction }[] = [];
  if (input.builtIn && input.vector && input.builtIn.model.embedderModel === input.embedderModel) {
    predictions.push({ model: input.builtIn.name, p: predictDense(input.builtIn.model, input.vector) });
  }
  const versions = await withTenant(db, tenantId, (tx) => tx.selectFrom('classifiers').select(['id', 'name', 'updated_at']).where('active', '=', true).where('model', 'is not', null).execute());
  for (const v of versions) {
    const loaded = await input.cache.get(ModelCache.key(v.id, v.updated_at), async () =>
      withTenant(db, tenantId, async (tx) => (await tx.selectFrom('classifiers').select('model').where('id', '=', v.id).executeTakeFirstOrThrow()).model),
    );
    if (loaded.embedderModel !== null && (loaded.embedderModel !== input.embedderModel || !input.vector)) continue;
    predictions.push({ model: `tenant:${v.name}`, p: loaded.predict({ text: fullText, vector: input.vector ?? undefined }) });
  }
  const shown: string[] = [];
  await withTenant(db, tenantId, async (tx) => {
    const previous = new Map((await tx.selectFrom('document_classifications').select(['model', 'shown_label']).where('document_id', '=', documentId).execute()).map((r) => [r.model, r.shown_label]));
    let changed = false;
    for (const { model, p } of predictions) {
      const decision = decideShownLabel(words, p, previous.get(model) ?? null);
      if (decision.label !== null) shown.push(decision.label);
      if (decision.label !== (previous.get(model) ?? null)) changed = true;
      const row = { label: p.label, confidence: p.confidence, version: input.version, shown_label: decision.label, reason: decision.reason };
      await tx
        .insertInto('document_classifications')
        .values({ document_id: documentId, tenant_id: tenantId, model, ...row })
        .onConflict((oc) => oc.columns(['document_id', 'model']).doUpdateSet({ ...row, created_at: sql`now()` }))
        .execute();
    }
    // A label people see changed: the feed says so (webhooks' `document.classified`).
    if (changed) await tx.insertInto('document_events').values({ tenant_id: tenantId, document_id: documentId, type: 'document.classified' }).execute();
  });
  return [...new Set(shown)];
}

/**
 * Asks the indexer to label every document of the workspace again (a `document.changed` per
 * live document, inside the caller's transaction): after a classifier version becomes
 * active, is rolled back or deleted, or the workspace default changes. The indexer's content
 * hash includes the active models, so each event relabels once.
 */
export async function requestRelabel(tx: Kysely<Database>, tenantId: string): Promise<void> {
  await sql`insert into document_events (tenant_id, document_id, type)
            select ${tenantId}, id, 'document.changed' from documents where tenant_id = ${tenantId} and deleted_at is null`.execute(tx);
}
