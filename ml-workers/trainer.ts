/**
 * The training worker. It claims a classifier version to train (any tenant) with a lease,
 * renews the lease while it works, and trains in two stages:
 *
 * 1. **quick**: the hashed n-gram candidate alone (seconds for thousands of examples), so the
 *    version is usable at once;
 * 2. **final**: with the sentence encoder available (and at most {@link EMBED_MAX_EXAMPLES}
 *    examples), the examples are embedded and every candidate is trained on the same split;
 *    the best on validation replaces the quick model.
 *
 * After each stage the version is promoted if its held-out macro-F1 beats the active version
 * of its name, unless that one is pinned. Every write is fenced by the lease: a worker that
 * lost its lease (it stalled past it and another worker took the job) writes nothing more.
 * A job whose worker died is claimed again once the lease runs out, at most
 * `maxAttempts` times.
 */
import crypto from 'node:crypto';
import { sql, type UpdateObject } from 'kysely';
import type { Database } from '../db/schema.js';
import { withTenant, type AppDb } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import type { Embedder } from './embeddings/embedder.js';
import type { CandidateInput, CandidateResult } from './classifier/candidates.js';
import { embeddingText } from './classifier/tenant-model.js';
import { trainCandidatesInThread } from './classifier/train-thread.js';
import { requestRelabel } from './classifier/document-labels.js';

/**
 * Above this many examples only the n-gram candidate is trained: embedding costs ~70 ms of
 * CPU per example on one thread (5,000 examples ≈ 6 minutes).
 * @default 5_000
 */
export const EMBED_MAX_EXAMPLES = 5_000;

/** Texts per embedding call, so search queries and predictions interleave with a long job. */
const EMBED_BATCH = 8;

export interface TrainerOptions {
  db: AppDb;
  /** The sentence encoder; without it only the n-gram candidate is trained. */
  embedder?: () => Promise<Embedder>;
  log: Logger;
  /** Poll interval while the queue is empty. @default 500 */
  intervalMs?: number;
  /** Lease on a claimed job, renewed every third of it. @default 60 */
  leaseSeconds?: number;
  /** Claims of one job before it is given up (a job that crashes its worker must not take every worker down). @default 3 */
  maxAttempts?: number;
  /** This worker's id in `lease_owner`. @default random */
  workerId?: string;
  /** Reads a document's text for training from labelled documents (null: gone). */
  documentText?: (tenantId: string, documentId: string) => Promise<string | null>;
  /** Runs the candidates (default: in a worker thread). */
  train?: (input: Omit<CandidateInput, 'now'>) => Promise<CandidateResult>;
}

/** Raised when the lease was lost: the job belongs to another worker now. */
class LeaseLost extends Error {}

interface Claim {
  id: string;
  tenant_id: string;
  attempts: number;
}

export class Trainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly workerId: string;

  constructor(private readonly opts: TrainerOptions) {
    this.workerId = opts.workerId ?? `trainer-${crypto.randomUUID()}`;
  }

  private get leaseSeconds(): number {
    return this.opts.leaseSeconds ?? 60;
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .then((did) => {
          if (!this.stopped) this.timer = setTimeout(tick, did ? 0 : (this.opts.intervalMs ?? 500));
        })
        .catch((err: unknown) => {
          this.opts.log.error({ cat: 'worker', err }, 'training loop failed');
          if (!this.stopped) this.timer = setTimeout(tick, 2_000);
        });
    };
    tick();
  }

  /** Claims a queued job or one whose lease expired, without running it (tests use it to play a worker that dies). */
  async claim(): Promise<Claim | null> {
    const r = await sql<Claim>`select * from quire_claim_training(${this.workerId}, ${this.leaseSeconds})`.execute(this.opts.db);
    return r.rows[0] ?? null;
  }

  /** Claims and runs one job; false when there was none. */
  async runOnce(): Promise<boolean> {
    const claim = await this.claim();
    if (!claim) return false;
    await this.run(claim);
    return true;
  }

  /** Runs a claimed job to its end (or until the lease is lost). */
  async run(claim: Claim): Promise<void> {
    const { db, log } = this.opts;
    const maxAttempts = this.opts.maxAttempts ?? 3;
    let lost = false;
    const renew = setInterval(
      () => {
        this.fenced(claim, { lease_expires_at: sql<Date>`now() + make_interval(secs => ${this.leaseSeconds})` }).catch((err: unknown) => {
          if (err instanceof LeaseLost) lost = true;
          else log.warn({ cat: 'worker', classifier: claim.id, err }, 'could not renew the training lease');
        });
      },
      (this.leaseSeconds * 1000) / 3,
    );
    renew.unref();
    try {
      if (claim.attempts > maxAttempts) {
        await this.giveUp(claim, `training stopped after ${maxAttempts} attempts (the worker stopped each time)`);
        return;
      }
      const job = await withTenant(db, claim.tenant_id, (tx) =>
        tx.selectFrom('classifiers').select(['name', 'status', 'stage', 'source', 'examples']).where('id', '=', claim.id).executeTakeFirstOrThrow(),
      );
      let examples = job.examples;
      const quickDone = job.status === 'ready' || job.status === 'rejected';
      if (!quickDone) {
        if (job.source === 'documents') {
          examples = await this.documentExamples(claim.tenant_id, job.name);
          const count = examples.length;
          const json = JSON.stringify(examples);
          await this.fenced(claim, { examples: json, example_count: count });
        }
        const quick = await this.train({ texts: examples.map((e) => e.text), labels: examples.map((e) => e.label), candidates: ['ngrams'] });
        if (lost) throw new LeaseLost();
        const refine = Boolean(this.opts.embedder) && examples.length <= EMBED_MAX_EXAMPLES;
        await this.store(claim, job.name, quick, refine ? 'quick' : 'final');
        if (!refine) return;
      }
      if (!this.opts.embedder || examples.length > EMBED_MAX_EXAMPLES) {
        // Taken over by a worker without the sentence encoder: the quick model is the final one.
        await this.fenced(claim, { stage: 'final', lease_owner: null, lease_expires_at: null });
        return;
      }
      const embedder = await this.opts.embedder();
      const vectors: Float32Array[] = [];
      for (let i = 0; i < examples.length; i += EMBED_BATCH) {
        if (lost || this.stopped) throw new LeaseLost();
        vectors.push(...(await embedder.embed(examples.slice(i, i + EMBED_BATCH).map((e) => embeddingText(e.text)))));
      }
      const full = await this.train({
        texts: examples.map((e) => e.text),
        labels: examples.map((e) => e.label),
        vectors,
        embedderModel: embedder.model,
      });
      if (lost) throw new LeaseLost();
      await this.store(claim, job.name, full, 'final');
    } catch (err) {
      if (err instanceof LeaseLost) {
        log.warn({ cat: 'worker', classifier: claim.id }, 'training lease lost or worker stopping; the job is left to the next claim');
        return;
      }
      log.error({ cat: 'worker', classifier: claim.id, err }, 'classifier training failed');
      await this.giveUp(claim, err instanceof Error ? err.message.slice(0, 500) : 'training failed').catch((e: unknown) =>
        log.error({ cat: 'worker', classifier: claim.id, err: e }, 'could not record the training failure'),
      );
    } finally {
      clearInterval(renew);
    }
  }

  private train(input: Omit<CandidateInput, 'now'>): Promise<CandidateResult> {
    return (this.opts.train ?? trainCandidatesInThread)({ ...input, seed: 42 });
  }

  /** Updates the claimed row only while this worker holds its lease; throws {@link LeaseLost} otherwise. */
  private async fenced(claim: Claim, values: UpdateObject<Database, 'classifiers'>): Promise<void> {
    await withTenant(this.opts.db, claim.tenant_id, async (tx) => {
      const r = await tx.updateTable('classifiers').set(values).where('id', '=', claim.id).where('lease_owner', '=', this.workerId).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new LeaseLost();
    });
  }

  /** Labelled documents of the classifier name that still exist, with their text (title and body). */
  private async documentExamples(tenantId: string, name: string): Promise<{ text: string; label: string }[]> {
    const rows = await withTenant(this.opts.db, tenantId, (tx) =>
      tx
        .selectFrom('document_labels as l')
        .innerJoin('documents as d', 'd.id', 'l.document_id')
        .select(['l.document_id', 'l.label', 'd.title'])
        .where('l.classifier', '=', name)
        .where('d.deleted_at', 'is', null)
        .orderBy('l.document_id')
        .execute(),
    );
    const read = this.opts.documentText ?? (await defaultDocumentText(this.opts.db));
    const out: { text: string; label: string }[] = [];
    for (const r of rows) {
      const body = await read(tenantId, r.document_id);
      if (body === null) continue;
      out.push({ text: `${r.title}\n${body}`.trim(), label: r.label });
    }
    return out;
  }

  /** Writes a stage's model and promotes it if it beats the active version (unless that one is pinned). */
  private async store(claim: Claim, name: string, result: CandidateResult, stage: 'quick' | 'final'): Promise<void> {
    const metrics = result.model.metrics;
    await withTenant(this.opts.db, claim.tenant_id, async (tx) => {
      const active = await tx.selectFrom('classifiers').select(['id', 'metrics', 'pinned']).where('name', '=', name).where('active', '=', true).forUpdate().executeTakeFirst();
      const self = active?.id === claim.id;
      const promote = !self && (!active || (!active.pinned && (active.metrics?.macroF1 ?? -1) < metrics.macroF1));
      const r = await tx
        .updateTable('classifiers')
        .set({
          status: self || promote || active?.pinned ? 'ready' : 'rejected',
          stage,
          model: JSON.stringify(result.model),
          metrics: JSON.stringify(metrics),
          candidates: JSON.stringify({ split: result.split, candidates: result.candidates }),
          selected: result.selected,
          labels: result.model.labels,
          error: null,
          updated_at: sql`now()`,
          ...(stage === 'final' ? { lease_owner: null, lease_expires_at: null } : {}),
        })
        .where('id', '=', claim.id)
        .where('lease_owner', '=', this.workerId)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new LeaseLost();
      if (promote) {
        if (active) await tx.updateTable('classifiers').set({ active: false, pinned: false }).where('id', '=', active.id).execute();
        await tx
          .updateTable('classifiers')
          .set({ active: true, activated_at: sql`now()` })
          .where('id', '=', claim.id)
          .execute();
      }
      // The model that labels the workspace's documents changed: label them again.
      if (promote || self) await requestRelabel(tx, claim.tenant_id);
      this.opts.log.info({ cat: 'worker', classifier: claim.id, stage, selected: result.selected, promoted: promote, macroF1: metrics.macroF1 }, 'classifier trained');
    });
  }

  /** Ends a job: failed if it has no model yet, else its quick model stays (the final stage is dropped). */
  private async giveUp(claim: Claim, error: string): Promise<void> {
    await withTenant(this.opts.db, claim.tenant_id, (tx) =>
      tx
        .updateTable('classifiers')
        .set({
          status: sql`case when model is null then 'failed' else status end`,
          stage: 'final',
          error,
          lease_owner: null,
          lease_expires_at: null,
          updated_at: sql`now()`,
        })
        .where('id', '=', claim.id)
        .where('lease_owner', '=', this.workerId)
        .execute(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}

/** Reads a document's text from its stored Yjs state. */
async function defaultDocumentText(db: AppDb): Promise<(tenantId: string, documentId: string) => Promise<string | null>> {
  const [{ DocumentStore }, { extractText }] = await Promise.all([import('../core/document-store.js'), import('../core/content.js')]);
  const store = new DocumentStore(db);
  return async (tenantId, documentId) => {
    const { doc } = await store.loadInto(tenantId, documentId);
    try {
      return extractText(doc);
    } finally {
      doc.destroy();
    }
  };
}
