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
