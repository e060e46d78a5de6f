/**
 * How many bytes a socket, and all sockets of one workspace together, may send to this
 * instance: token buckets that refill continuously. uWebSockets.js reads every frame as
 * it arrives (its WebSocket has no pause), and Hocuspocus queues what it cannot process
 * yet, so a client that pipelines frames faster than the server integrates them would grow
 * the process without bound. Past its budget a socket is closed with 4429 (the client
 * reconnects after its backoff and resyncs; nothing acknowledged is lost).
 *
 * The defaults leave ordinary use far below the limits: typing sends a few hundred bytes
 * a second, and a paste or an offline session's merge is one frame of at most the frame
 * limit (4 MiB), well inside a burst.
 */
export interface InboundBudgetConfiguration {
  /** Bytes a socket may send in one go. @default 8 MiB */
  socketBurstBytes: number;
  /** Bytes per second a socket's budget refills. @default 1 MiB/s */
  socketBytesPerSecond: number;
  /** Bytes all of one workspace's sockets on this instance may send in one go. @default 32 MiB */
  tenantBurstBytes: number;
  /** Bytes per second a workspace's budget refills. @default 4 MiB/s */
  tenantBytesPerSecond: number;
}

export const DEFAULT_INBOUND_BUDGET: InboundBudgetConfiguration = {
  socketBurstBytes: 8 * 1_048_576,
  socketBytesPerSecond: 1_048_576,
  tenantBurstBytes: 32 * 1_048_576,
  tenantBytesPerSecond: 4 * 1_048_576,
};

/** A token bucket of bytes. */
export class ByteBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes `bytes`; false when the bucket had fewer (then nothing is taken). */
  take(bytes: number, now = Date.now()): boolean {
    this.refill(now);
    if (bytes > this.tokens) return false;
    this.tokens -= bytes;
    return true;
  }

  /** Takes `amount` even past empty (work already done); false when the bucket is now in debt. */
  spend(amount: number, now = Date.now()): boolean {
    this.refill(now);
    this.tokens -= amount;
    return this.tokens >= 0;
  }

  /** True when the bucket holds anything (not in debt). */
  positive(now = Date.now()): boolean {
    this.refill(now);
    return this.tokens > 0;
  }

  /** Milliseconds until the bucket holds anything again (0 when it does). */
  msUntilPositive(now = Date.now()): number {
    this.refill(now);
    return this.tokens > 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000) + 1;
  }

  /** True when the bucket is full again (an idle entry that can be dropped). */
  full(now = Date.now()): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
  }
}

export type BudgetVerdict = 'ok' | 'socket' | 'workspace';

/**
 * Milliseconds of update processing (checking and applying) a workspace may use on this
 * instance: a burst, then a refill per second. Updates can be crafted to cost far more to
 * integrate than their size suggests (0.8 s for 4 MB); the byte budget alone would let one
 * workspace keep a core busy. @default 2 s burst, 0.25 s per second
 */
export interface WorkBudgetConfiguration {
  tenantBurstMs: number;
  tenantMsPerSecond: number;
}

/**
 * Starts timing a piece of work for the work budget; the returned function gives the
 * milliseconds to charge so far: the process's CPU time over the span, capped by the wall
 * time. Wall time alone would charge a workspace for a busy machine (its work waiting for a
 * core while other processes run), so a loaded host would close its sockets as "sending too
 * fast"; CPU time alone could charge it for other threads' work over a long span.
 */
export function startWork(): () => number {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return Math.min(performance.now() - wall, (used.user + used.system) / 1000);
  };
}

export const DEFAULT_WORK_BUDGET: WorkBudgetConfiguration = { tenantBurstMs: 2_000, tenantMsPerSecond: 250 };

export class WorkBudget {
  private readonly tenants = new Map<string, ByteBucket>();
  private sweptAt = Date.now();

  constructor(readonly config: WorkBudgetConfiguration = DEFAULT_WORK_BUDGET) {}

  /** Whether the workspace has budget left (a workspace never charged has). */
  available(tenantId: string): boolean {
    const t = this.tenants.get(tenantId);
    return !t || t.positive();
  }

  /** Charges `ms` to the workspace; false when its budget was already spent. */
  charge(tenantId: string, ms: number): boolean {
    const now = Date.now();
    let t = this.tenants.get(tenantId);
    if (!t) this.tenants.set(tenantId, (t = new ByteBucket(this.config.tenantBurstMs, this.config.tenantMsPerSecond, now)));
    if (now - this.sweptAt > 60_000) {
      this.sweptAt = now;
      for (const [id, b] of this.tenants) if (id !== tenantId && b.full(now)) this.tenants.delete(id);
    }
    // Work already done is always charged: a bucket may go into debt, and refuses until it refills.
    return t.spend(ms, now);
  }
}

export class InboundBudget {
  private readonly tenants = new Map<string, ByteBucket>();
  private sweptAt = Date.now();

  constructor(readonly config: InboundBudgetConfiguration = DEFAULT_INBOUND_BUDGET) {}

  /** A bucket for one socket (kept by the socket). */
  socketBucket(): ByteBucket {
    return new ByteBucket(this.config.socketBurstBytes, this.config.socketBytesPerSecond);
  }

  /** Charges a frame to its socket and, once the socket is signed in, to its workspace. */
  charge(socket: ByteBucket, tenantId: string | undefined, bytes: number): BudgetVerdict {
    const now = Date.now();
    if (!socket.take(bytes, now)) return 'socket';
    if (tenantId !== undefined) {
      let t = this.tenants.get(tenantId);
      if (!t) this.tenants.set(tenantId, (t = new ByteBucket(this.config.tenantBurstBytes, this.config.tenantBytesPerSecond, now)));
      if (!t.take(bytes, now)) return 'workspace';
    }
    if (now - this.sweptAt > 60_000) this.sweep(now);
    return 'ok';
  }

  /** Forgets workspaces whose budget refilled (they sent nothing for a while). */
  private sweep(now: number): void {
    this.sweptAt = now;
    for (const [id, b] of this.tenants) if (b.full(now)) this.tenants.delete(id);
  }
}
