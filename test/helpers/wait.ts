/** Wait for a condition, never for a fixed time. */
export async function eventually<T>(fn: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number; message?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const msg = opts.message ?? 'condition not met in time';
      throw new Error(`${msg}: ${last instanceof Error ? last.message : String(last)}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/**
 * The one fixed wait tests may use: a window in which something must NOT happen (no
 * redelivery, no reconnect, no frame for a client without access). Absence cannot be
 * polled for, so this waits `ms`, and `why` says what the window gives a wrong outcome the
 * time to do. Open the window only after a positive signal that the system has processed
 * the step in question (wait with `eventually` for a control event first), so the window
 * only adds margin and the test stays meaningful on a slow machine; a short window can
 * then only make the test less strict, never fail it.
 *
 * `check`, when given, asserts the absence: it runs every `intervalMs` and once more at the
 * end, and its first failure ends the wait at once, its message prefixed with `why`.
 */
export async function quietFor(ms: number, why: string, opts: { check?: () => Promise<void> | void; intervalMs?: number } = {}): Promise<void> {
  const end = Date.now() + ms;
  const check = async () => {
    try {
      await opts.check?.();
    } catch (e) {
      throw new Error(`${why}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
  for (;;) {
    await check();
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, opts.check ? Math.min(left, opts.intervalMs ?? 50) : left));
  }
}
