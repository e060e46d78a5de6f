/**
 * Review deadlines: every `REVIEW_TIMER_POLL_MS` (1 s) the worker asks the database for the
 * review timers that came due (`quire_review_timers_due`, across tenants, ids only) and
 * fires each in a transaction of its tenant (core/review-flow.ts `fireReviewTimer`): the
 * `warning` or `escalated` event and its feed row are written, and the timer marked fired,
 * in one commit.
 *
 * Durable and exactly once: timers live in the database, so a deadline that passed while
 * every worker was down fires when one is back; every worker polls, and a timer is taken
 * with `for update skip locked` and marked fired in the transaction that records it, so two
 * workers never fire one twice and a worker stopped mid-way leaves it for the next poll.
 */
import { PollLoop } from './poll-loop.js';
import { sql } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import { fireReviewTimer, type TimerOutcome } from '../core/review-flow.js';
import { withTenant, type AppDb } from '../db/store.js';
import type { Logger } from '../lib/log.js';

export interface ReviewTimersOptions {
  db: AppDb;
  log: Logger;
  /** Period between polls: the most a warning or escalation comes late. @default 1_000 ms */
  intervalMs: number;
  /** Due timers taken per poll. @default 100 */
  batch?: number;
  /** Registers `quire_review_timers_total{outcome}`. */
  registry?: Registry;
}

/** What one poll did, per outcome, and whether a full batch was due (more may be). */
export interface ReviewTimersRun {
  fired: number;
  stale: number;
  taken: number;
  failed: number;
  more: boolean;
}

export class ReviewTimers {
  private readonly loop: PollLoop;
  private stopped = false;
  private readonly outcomes?: Counter<'outcome'>;

  constructor(private readonly opts: ReviewTimersOptions) {
    this.loop = new PollLoop({
      pollMs: opts.intervalMs,
      run: async () => (await this.runOnce()).more,
      backoffMs: opts.intervalMs,
      onError: (err, retryInMs) => opts.log.warn({ cat: 'worker', err: err instanceof Error ? err.message : String(err), retryInMs }, 'looking for due review timers failed'),
    });
    if (opts.registry) {
      this.outcomes = new Counter({
        name: 'quire_review_timers_total',
        help: 'Due review timers handled: fired (warning or escalation recorded), stale (the step was over), taken (another worker had it), failed',
        labelNames: ['outcome'],
        registers: [opts.registry],
      });
    }
  }

  start(): void {
    this.stopped = false;
    this.loop.start();
  }

  /** One poll: fires the timers due now. */
  async runOnce(): Promise<ReviewTimersRun> {
    const batch = this.opts.batch ?? 100;
    const due = (await sql<{ tenant_id: string; id: string }>`select tenant_id, id from quire_review_timers_due(now(), ${batch})`.execute(this.opts.db)).rows;
    const run: ReviewTimersRun = { fired: 0, stale: 0, taken: 0, failed: 0, more: false };
    for (const t of due) {
      if (this.stopped) break;
      let outcome: TimerOutcome | 'failed';
      try {
        outcome = await withTenant(this.opts.db, t.tenant_id, (tx) => fireReviewTimer(tx, t.id));
      } catch (err) {
        // Left unfired: the next poll tries it again.
        outcome = 'failed';
        this.opts.log.warn({ cat: 'worker', timer: t.id, err: err instanceof Error ? err.message : String(err) }, 'firing a review timer failed');
      }
      run[outcome]++;
      this.outcomes?.inc({ outcome });
    }
    if (run.fired > 0) this.opts.log.debug({ cat: 'worker', fired: run.fired, stale: run.stale }, 'review timers fired');
    // A full batch that made progress: more may be due. Timers another worker holds are its to fire.
    run.more = due.length === batch && run.fired + run.stale > 0;
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
  }
}
