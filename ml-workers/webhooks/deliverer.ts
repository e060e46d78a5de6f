/**
 * The webhook deliverer: sends due `webhook_deliveries` (written by the enqueuer, a test
 * ping or a replay) to their endpoints, signed (Standard Webhooks, `core/webhooks.ts`).
 *
 * - **Claims with a lease.** `quire_webhook_claim` (migration 0029) takes due rows across
 *   tenants with `for update skip locked`, stamps each with a lease and a claim token, and
 *   counts the attempt. Only the holder of the token records the outcome. A worker that
 *   dies mid-request leaves its lease to run out (`leaseMs`), then another worker sends the
 *   row again (at-least-once; receivers de-duplicate on `webhook-id`). `stop` aborts the
 *   requests in flight and hands their rows back at once, without counting the attempt.
 * - **One tenant cannot hold up another.** Each request has a deadline (`timeoutMs`); a
 *   workspace has at most `perTenantConcurrency` requests in flight across all workers;
 *   requests run detached from the claiming loop, so a worker keeps claiming other
 *   tenants' rows while some endpoint hangs (up to `concurrency` in flight). Nothing here
 *   touches the sync tier: it runs in the worker role and reads only the database.
 * - **Retries.** 2xx is delivered. Anything else — another status, a redirect (never
 *   followed), a timeout, a network error, an address the SSRF guard refuses at connect
 *   time — is retried after the next delay of `retryScheduleMs` (±20 % jitter; the default
 *   schedule spans about a day), then the delivery is `failed`. The endpoint's
 *   `consecutive_failures`/`failing_since` show it failing; an endpoint failing without a
 *   success for `FAILING_DISABLE_DAYS` is disabled (`disabled_reason = 'failing'`): its
 *   deliveries wait until an admin enables it again.
 * - Finished rows older than `WEBHOOK_LIMITS.logRetentionDays` are pruned.
 */
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { WEBHOOK_LIMITS } from '../../contract/webhooks.js';
import type { SecretBox } from '../../core/secret-box.js';
import { guardedLookup, parseWebhookUrl, signingSecrets, webhookHeaders, WebhookUrlRefused } from '../../core/webhooks.js';
import { withTenant, type AppDb } from '../../db/store.js';
import type { Logger } from '../../lib/log.js';
import { postOnce } from '../outbound-post.js';
import { PollLoop } from '../poll-loop.js';

/** Retry delays of the default schedule: 9 attempts over about 24 h. */
export const DEFAULT_RETRY_SCHEDULE_MS = [5_000, 60_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 28_800_000, 28_800_000];
/** An endpoint failing this long without a success is disabled. */
export const FAILING_DISABLE_DAYS = 5;
/** At most this much of an answer is read (and dropped); its status is what counts. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** Stored error text is cut to this length. */
const MAX_ERROR_CHARS = 300;
const PRUNE_EVERY_MS = 3_600_000;
const BACKLOG_CACHE_MS = 5_000;

export interface DelivererOptions {
  db: AppDb;
  secrets: SecretBox;
  log: Logger;
  allowPrivateNetworks: boolean;
  /** @default 10 s */
  timeoutMs?: number;
  /** Empty or unset: `DEFAULT_RETRY_SCHEDULE_MS`. */
  retryScheduleMs?: number[];
  /** @default 1 s */
  pollMs?: number;
  /** At least the request deadline plus 5 s (a claim must outlive its request, or two workers could send at once). @default 60 s */
  leaseMs?: number;
  /** Requests in flight in this worker. @default 32 */
  concurrency?: number;
  /** Requests in flight per workspace, across workers (and half of it, at least 1, per endpoint). @default 8 */
  perTenantConcurrency?: number;
  registry?: Registry;
}

interface Claimed {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempts: number;
  created_at: Date;
  claim_token: string;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
}

/** What one attempt came to. */
export type AttemptOutcome = { ok: true; status: number; ms: number } | { ok: false; status: number | null; error: string; ms: number; refused?: boolean } | { aborted: true };

class Metrics {
  readonly outcomes: Counter<'outcome'>;
  readonly duration: Histogram;
  readonly lag: Histogram;
  constructor(registry: Registry, backlog: () => Promise<number>) {
    const registers = [registry];
    this.outcomes = new Counter({
      name: 'quire_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retry, failed, released)',
      labelNames: ['outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'quire_webhook_request_duration_seconds',
      help: 'Duration of one webhook request, from connecting to the answer',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.lag = new Histogram({
      name: 'quire_webhook_delivery_lag_seconds',
      help: 'Seconds from an event to its successful delivery (retries included)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3600, 86400],
      registers,
    });
    let cached: { at: number; n: number } | null = null;
    new Gauge({
      name: 'quire_webhook_backlog',
      help: 'Webhook deliveries pending (due or waiting for a retry), all workspaces',
      registers,
      async collect() {
        if (!cached || Date.now() - cached.at > BACKLOG_CACHE_MS) cached = { at: Date.now(), n: await backlog().catch(() => cached?.n ?? 0) };
        this.set(cached.n);
      },
    });
  }
}

export class WebhookDeliverer {
  private readonly poller: PollLoop;
  private readonly inFlight = new Map<string, { abort: () => void; done: Promise<void> }>();
  private readonly metrics: Metrics | null;
  private stopping = false;
  private nextPruneAt = 0;

  constructor(private readonly opts: DelivererOptions) {
    this.poller = new PollLoop({
      pollMs: opts.pollMs ?? 1_000,
      run: () => this.claimAndSend(),
      backoffMs: 250,
      onError: (err, retryInMs) => opts.log.warn({ cat: 'webhooks', err: err instanceof Error ? err.message : String(err), retryInMs }, 'webhook claim failed'),
    });
    this.metrics = opts.registry ? new Metrics(opts.registry, () => this.backlog()) : null;
  }

  private get leaseMs(): number {
    return Math.max(this.opts.leaseMs ?? 60_000, (this.opts.timeoutMs ?? 10_000) + 5_000);
  }

  private get schedule(): number[] {
    return this.opts.retryScheduleMs?.length ? this.opts.retryScheduleMs : DEFAULT_RETRY_SCHEDULE_MS;
  }

  start(): void {
    this.stopping = false;
    this.poller.start();
  }

  /** Looks for due deliveries now (this process just wrote some). */
  wake(): void {
    this.poller.wake(0);
  }

  /** Requests in flight in this worker. */
  get busy(): number {
    return this.inFlight.size;
  }

  /** Stops claiming, aborts the requests in flight and hands their deliveries back (another worker sends them at once). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.poller.stop();
    for (const f of this.inFlight.values()) f.abort();
    await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }

  async backlog(): Promise<number> {
    const r = await sql<{ n: string }>`select quire_webhook_backlog()::text as n`.execute(this.opts.db);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** One round: claims what this worker has room for and starts sending it; true when it filled its room (more may be due). */
  async claimAndSend(): Promise<boolean> {
    if (this.stopping) return false;
    await this.pruneIfDue();
    const room = (this.opts.concurrency ?? 32) - this.inFlight.size;
    if (room <= 0) return false;
    const claimed = (await sql<Claimed>`select * from quire_webhook_claim(${this.leaseMs}::int, ${room}::int, ${this.opts.perTenantConcurrency ?? 8}::int)`.execute(this.opts.db)).rows;
    for (const c of claimed) this.launch(c);
    return claimed.length === room;
  }

  private launch(c: Claimed): void {
    let abort: () => void = () => undefined;
    const attempt = new Promise<AttemptOutcome>((resolve) => {
      abort = () => resolve({ aborted: true });
      void this.send(c, (a) => (abort = a)).then(resolve);
    });
    const done = attempt
      .then((o) => this.record(c, o))
      .catch((e: unknown) => this.opts.log.warn({ cat: 'webhooks', delivery: c.id, err: e instanceof Error ? e.message : String(e) }, 'webhook outcome not recorded; retried after the lease'))
      .finally(() => {
        this.inFlight.delete(c.id);
        // A slot is free: claim more at once.
        if (!this.stopping) this.poller.wake(0);
      });
    this.inFlight.set(c.id, { abort: () => abort(), done });
  }

  /** One signed POST with a deadline, to the address checked at connect time, never following a redirect. */
  private async send(c: Claimed, onAbort: (abort: () => void) => void): Promise<AttemptOutcome> {
    const started = Date.now();
    let url: URL;
    let secrets: string[];
    try {
      url = parseWebhookUrl(c.url, this.opts.allowPrivateNetworks);
      secrets = signingSecrets(this.opts.secrets, c);
    } catch (e) {
      return { ok: false, status: null, error: e instanceof WebhookUrlRefused ? e.message : 'the signing secret could not be opened', ms: 0, refused: true };
    }
    const body = c.payload;
    const headers = {
      ...webhookHeaders(secrets, c.event_id, Math.floor(Date.now() / 1000), body),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'Quire-Webhooks/1',
    };
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const r = await postOnce({ url, headers, body, lookup: guardedLookup(this.opts.allowPrivateNetworks), timeoutMs, maxAnswerBytes: MAX_ANSWER_BYTES, onAbort });
    const ms = Date.now() - started;
    if ('aborted' in r) return r;
    if ('timedOut' in r) return { ok: false, status: null, error: `timed out after ${timeoutMs} ms`, ms };
    if ('error' in r) {
      const refused = r.error.code === 'EPUSHREFUSED';
      return { ok: false, status: null, error: refused ? 'the host resolves to a private, loopback, link-local or reserved address' : (r.error.code ?? 'network error'), ms, refused };
    }
    const { status } = r;
    if (status >= 200 && status < 300) return { ok: true, status, ms };
    return { ok: false, status, error: status >= 300 && status < 400 ? `redirect (HTTP ${status}), not followed` : `HTTP ${status}`, ms };
  }

  /** Records an attempt, if this claim still holds the row. */
  private async record(c: Claimed, o: AttemptOutcome): Promise<void> {
    const { db } = this.opts;
    if ('aborted' in o) {
      // Stopped mid-request: the row goes back at once, the attempt uncounted.
      await withTenant(db, c.tenant_id, (tx) =>
        tx
          .updateTable('webhook_deliveries')
          .set({ lease_until: null, claim_token: null, attempts: sql<number>`greatest(0, attempts - 1)` })
          .where('id', '=', c.id)
          .where('claim_token', '=', c.claim_token)
          .execute(),
      );
      this.metrics?.outcomes.inc({ outcome: 'released' });
      return;
    }
    this.metrics?.duration.observe(o.ms / 1000);
    const attemptAt = sql<Date>`clock_timestamp()`;
    await withTenant(db, c.tenant_id, async (tx) => {
      if (o.ok) {
        const r = await tx
          .updateTable('webhook_deliveries')
          .set({ status: 'delivered', lease_until: null, claim_token: null, last_status: o.status, last_error: null, last_duration_ms: o.ms, last_attempt_at: attemptAt, delivered_at: attemptAt })
          .where('id', '=', c.id)
          .where('claim_token', '=', c.claim_token)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return;
        // A healthy endpoint's row is written at most once a second (concurrent successes would queue on its lock).
        await tx
          .updateTable('webhook_endpoints')
          .set({ consecutive_failures: 0, failing_since: null, last_success_at: attemptAt })
          .where('id', '=', c.endpoint_id)
          .where(sql<boolean>`(consecutive_failures <> 0 or last_success_at is null or last_success_at < clock_timestamp() - interval '1 second')`)
          .execute();
        return;
      }
      const schedule = this.schedule;
      const last = c.attempts > schedule.length;
      const delay = last ? 0 : Math.round(schedule[c.attempts - 1]! * (0.8 + Math.random() * 0.4));
      const r = await tx
        .updateTable('webhook_deliveries')
        .set({
          status: last ? 'failed' : 'pending',
          next_attempt_at: sql<Date>`clock_timestamp() + make_interval(secs => ${delay / 1000})`,
          lease_until: null,
          claim_token: null,
          last_status: o.status,
          last_error: o.error.slice(0, MAX_ERROR_CHARS),
          last_duration_ms: o.ms,
          last_attempt_at: attemptAt,
        })
        .where('id', '=', c.id)
        .where('claim_token', '=', c.claim_token)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return;
      await tx
        .updateTable('webhook_endpoints')
        .set({
          consecutive_failures: sql<number>`consecutive_failures + 1`,
          failing_since: sql<Date>`coalesce(failing_since, clock_timestamp())`,
          last_failure_at: attemptAt,
          enabled: sql<boolean>`enabled and not (coalesce(failing_since, clock_timestamp()) < clock_timestamp() - make_interval(days => ${FAILING_DISABLE_DAYS}))`,
          disabled_reason: sql<
            'failing' | null
          >`case when enabled and coalesce(failing_since, clock_timestamp()) < clock_timestamp() - make_interval(days => ${FAILING_DISABLE_DAYS}) then 'failing' else disabled_reason end`,
        })
        .where('id', '=', c.endpoint_id)
        .execute();
    });
    if (o.ok) {
      this.metrics?.outcomes.inc({ outcome: 'delivered' });
      this.metrics?.lag.observe(Math.max(0, (Date.now() - new Date(c.created_at).getTime()) / 1000));
    } else {
      const failed = c.attempts > this.schedule.length;
      this.metrics?.outcomes.inc({ outcome: failed ? 'failed' : 'retry' });
      this.opts.log.info(
        { cat: 'webhooks', tenant: c.tenant_id, endpoint: c.endpoint_id, delivery: c.id, attempt: c.attempts, status: o.status, err: o.error, failed },
        failed ? 'webhook delivery failed for good' : 'webhook delivery failed; retried later',
      );
    }
  }

  private async pruneIfDue(): Promise<void> {
    if (Date.now() < this.nextPruneAt) return;
    this.nextPruneAt = Date.now() + PRUNE_EVERY_MS;
    const before = new Date(Date.now() - WEBHOOK_LIMITS.logRetentionDays * 86_400_000);
    await sql`select quire_webhook_prune(${before}::timestamptz, 10000)`.execute(this.opts.db);
  }
}
