/**
 * Ordered shutdown: resources register as they start and are closed in reverse order
 * (the edge stops accepting first, the database closes last), each step bounded in time.
 */
import type { Logger } from '../lib/log.js';

interface Step {
  name: string;
  close: () => Promise<void>;
}

export class Shutdown {
  private readonly steps: Step[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly log: Logger,
    private readonly stepTimeoutMs: number,
  ) {}

  add(name: string, close: () => Promise<void>): void {
    this.steps.push({ name, close });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        const t0 = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            step.close(),
            new Promise<void>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`timed out after ${this.stepTimeoutMs} ms`)), this.stepTimeoutMs);
            }),
          ]);
          this.log.info({ cat: 'shutdown', step: step.name, ms: Date.now() - t0 }, 'closed');
        } catch (e) {
          this.log.error({ cat: 'shutdown', step: step.name, err: e }, 'close failed');
        } finally {
          clearTimeout(timer);
        }
      }
    })();
    return this.running;
  }
}
