/**
 * The loop of a worker that polls the database for due work (the email and push senders,
 * the review timers): a run, then the next after `pollMs` — at once when the run left more
 * behind, later and later after failures — and sooner when this process just wrote work
 * that comes due before the next poll (`wake`). Runs never overlap; `stop` waits for the
 * one in progress.
 */
export interface PollLoopOptions {
  pollMs: number;
  /** One run; true when it stopped at its batch limit (more is due now). */
  run: () => Promise<boolean>;
  /** A run failed; the next is in `retryInMs`. */
  onError: (err: unknown, retryInMs: number) => void;
  /** First retry delay after a failure, doubled per failure up to `maxBackoffMs`. @default 200 */
  backoffMs?: number;
  /** @default 30_000 */
  maxBackoffMs?: number;
}

/** How long after a wake's due time the run starts: due times are the database's clock. */
const WAKE_MARGIN_MS = 20;

export class PollLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private failures = 0;
  /** When the pending timer fires; a wake during a run is kept in `wakeAt`. */
  private nextAt = 0;
  private wakeAt = 0;

  constructor(private readonly opts: PollLoopOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Runs in `inMs` (unless it will sooner anyway): work written here comes due then. */
  wake(inMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + inMs + WAKE_MARGIN_MS;
    if (this.timer) {
      if (at < this.nextAt) {
        clearTimeout(this.timer);
        this.schedule(at - Date.now());
      }
    } else {
      this.wakeAt = this.wakeAt ? Math.min(this.wakeAt, at) : at;
    }
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.nextAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.opts.run().then(
        (more) => {
          this.failures = 0;
          const woken = this.wakeAt ? Math.max(0, this.wakeAt - Date.now()) : Infinity;
          this.wakeAt = 0;
          this.schedule(Math.min(more ? 0 : this.opts.pollMs, woken));
        },
        (err: unknown) => {
          this.failures++;
          const wait = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.backoffMs ?? 200) * 2 ** Math.min(this.failures, 8));
          this.opts.onError(err, wait);
          this.schedule(wait);
        },
      );
    }, delay);
    this.timer.unref();
  }
}
