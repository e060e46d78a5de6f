/**
 * The training worker: claims queued classifier jobs (any tenant, one at a time per job
 * across instances), embeds the examples, trains and evaluates on a held-out split, and
 * promotes the new version only if its held-out macro-F1 beats the active version's.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { withTenant } from '../db/store.js';
import type { Logger } from '../server/log.js';
import type { Embedder } from './embeddings/embedder.js';
import { trainInThread } from './classifier/train-thread.js';

export class Trainer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: { db: Kysely<Database>; embedder: () => Promise<Embedder>; log: Logger; intervalMs?: number }) {}

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

  /** Claims and runs one job; false when the queue is empty. */
  async runOnce(): Promise<boolean> {
    const claim = (await sql<{ id: string; tenant_id: string }>`select * from quire_claim_training()`.execute(this.opts.db)).rows[0];
    if (!claim) return false;
    const { db, log } = this.opts;
    try {
      const job = await withTenant(db, claim.tenant_id, (tx) =>
        tx.selectFrom('classifiers').select(['name', 'examples']).where('id', '=', claim.id).executeTakeFirstOrThrow(),
      );
      const embedder = await this.opts.embedder();
      const vectors = await embedder.embed(job.examples.map((e) => e.text));
      const model = await trainInThread(
        job.examples.map((e, i) => ({ vector: vectors[i]!, label: e.label })),
        { embedderModel: embedder.model, seed: 42 },
      );
      await withTenant(db, claim.tenant_id, async (tx) => {
        const active = await tx.selectFrom('classifiers').select(['id', 'metrics']).where('name', '=', job.name).where('active', '=', true).forUpdate().executeTakeFirst();
        const better = !active || (active.metrics?.macroF1 ?? -1) < model.metrics.macroF1;
        if (better && active) await tx.updateTable('classifiers').set({ active: false }).where('id', '=', active.id).execute();
        await tx
          .updateTable('classifiers')
          .set({
            status: better ? 'ready' : 'rejected',
            active: better,
            model: JSON.stringify(model),
            metrics: JSON.stringify(model.metrics),
            labels: model.labels,
            updated_at: sql`now()`,
          })
          .where('id', '=', claim.id)
          .execute();
        log.info({ cat: 'worker', classifier: claim.id, promoted: better, macroF1: model.metrics.macroF1 }, 'classifier trained');
      });
    } catch (err) {
      log.error({ cat: 'worker', classifier: claim.id, err }, 'classifier training failed');
      await withTenant(db, claim.tenant_id, (tx) =>
        tx
          .updateTable('classifiers')
          .set({ status: 'failed', error: err instanceof Error ? err.message.slice(0, 500) : 'training failed', updated_at: sql`now()` })
          .where('id', '=', claim.id)
          .execute(),
      );
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
