/**
 * What `/ready` knows about the services an instance depends on.
 *
 * Postgres is required: without it no request and no edit can be served (acks wait for
 * commits), so when it does not answer the instance reports itself not ready and a load
 * balancer stops sending it traffic. It is probed with `select 1` on a connection of its
 * own (a saturated pool is load, not an outage, and marking every instance unready under
 * load would turn a slowdown into an outage), every `intervalMs`, bounded by `timeoutMs`;
 * `/ready` answers from the last result, so it costs nothing per request.
 *
 * Redis is optional: without it rate limits are kept per instance and edits fan out only
 * to this instance's clients, which is worse but working. It is reported as `degraded`
 * and the instance stays ready; taking every instance out of rotation because their shared
 * Redis stalled would stop the whole service over a partial loss.
 *
 * The embedded database runs in this process and is not probed.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Store } from '../db/store.js';
import type { Logger } from '../lib/log.js';

/** `up`: answers. `down`: a required dependency does not answer. `degraded`: an optional one does not. */
export type DependencyStatus = 'up' | 'down' | 'degraded';

/** One dependency as `/ready` reports it. */
export interface DependencyReport {
  status: DependencyStatus;
  /** Whether the instance cannot serve without it. */
  required: boolean;
  /** When the status last changed (ISO 8601). */
  since: string;
  /** Why the last probe failed. */
  error?: string;
}

export interface DependencyMonitorOptions {
  store: Store;
  redis: Redis | null;
  log: Logger;
  intervalMs: number;
  timeoutMs: number;
}

interface Probe {
  name: string;
  required: boolean;
  run: () => Promise<void>;
  report: DependencyReport;
}

function withTimeout(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/** Probes the instance's dependencies on a timer; see the module comment. */
export class DependencyMonitor {
  private readonly probes: Probe[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: DependencyMonitorOptions) {
    const now = new Date().toISOString();
    const { store, redis, timeoutMs } = opts;
    if (store.kind === 'postgres') {
      this.probes.push({ name: 'postgres', required: true, run: () => withTimeout(store.ping(timeoutMs), timeoutMs * 2, 'Postgres'), report: { status: 'up', required: true, since: now } });
    }
    if (redis) {
      this.probes.push({ name: 'redis', required: false, run: () => withTimeout(redis.ping(), timeoutMs, 'Redis'), report: { status: 'up', required: false, since: now } });
    }
  }

  /** Probes now and then every `intervalMs` until `stop()`. */
  start(): void {
    if (this.timer || this.probes.length === 0) return;
    // A probe records its own failure; probeAll never rejects.
    void this.probeAll();
    this.timer = setInterval(() => void this.probeAll(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** Runs every probe once (a probe still running from the last period is not started again). */
  probeAll(): Promise<void> {
    this.running ??= Promise.all(this.probes.map((p) => this.probe(p))).then(() => {
      this.running = null;
    });
    return this.running;
  }

  private async probe(p: Probe): Promise<void> {
    let error: string | undefined;
    try {
      await p.run();
    } catch (e) {
      error = (e as Error)?.message ?? String(e);
    }
    const status: DependencyStatus = error === undefined ? 'up' : p.required ? 'down' : 'degraded';
    const changed = status !== p.report.status;
    p.report = { status, required: p.required, since: changed ? new Date().toISOString() : p.report.since, ...(error ? { error } : {}) };
    if (!changed) return;
    const { log } = this.opts;
    if (status === 'up') log.info({ cat: 'app', dependency: p.name }, `${p.name} answers again`);
    else if (status === 'down') log.error({ cat: 'app', dependency: p.name, err: error }, `${p.name} does not answer: not ready until it does`);
    else log.warn({ cat: 'app', dependency: p.name, err: error }, `${p.name} does not answer: serving in degraded mode`);
  }

  /** False while a required dependency is down. */
  get ready(): boolean {
    return this.probes.every((p) => !p.required || p.report.status === 'up');
  }

  /** Required dependencies that are down. */
  get failing(): string[] {
    return this.probes.filter((p) => p.required && p.report.status === 'down').map((p) => p.name);
  }

  /** Dependencies watched by their own state rather than a probe (the worker's NATS connection). */
  private readonly watched = new Map<string, () => boolean>();

  /** Reports `name` in `quire_dependency_up` from `up()` (not part of readiness). */
  watch(name: string, up: () => boolean): void {
    this.watched.set(name, up);
  }

  /** `quire_dependency_up{dependency}`: 1 while the dependency answers, 0 while it does not. */
  registerMetrics(registry: Registry): void {
    const probes = () => this.probes.map((p) => [p.name, p.report.status === 'up'] as const);
    const watched = () => [...this.watched].map(([name, up]) => [name, up()] as const);
    new Gauge({
      name: 'quire_dependency_up',
      help: 'Whether a dependency answers (1) or not (0): postgres, redis (probed), nats (connection of a worker)',
      labelNames: ['dependency'],
      registers: [registry],
      collect() {
        for (const [name, up] of [...probes(), ...watched()]) this.set({ dependency: name }, up ? 1 : 0);
      },
    });
  }

  /** Every dependency's last known state, by name. */
  report(): Record<string, DependencyReport> {
    return Object.fromEntries(this.probes.map((p) => [p.name, p.report]));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
