/** HTTP settings shared by the clients of the search engines (Meilisearch, Qdrant). */
/**
 * Ask the engine for uncompressed responses. fetch() offers gzip/br by default, and
 * Meilisearch and Qdrant then stream a chunked, compressed body in several writes; on
 * a kept-alive connection the later writes wait for the client's delayed ACK (Nagle ×
 * delayed ACK), which put a constant ~40 ms on every search whose results were over a
 * few kB. The engines sit next to the API (loopback or cluster network), where
 * compression saves nothing. Measured in bench/RESULTS.md, scenario 5b.
 */
export const IDENTITY_ENCODING = { 'accept-encoding': 'identity' } as const;

const STALE_CONNECTION_CODES = new Set(['EPIPE', 'ECONNRESET', 'UND_ERR_SOCKET']);

/** Whether an error (or one of its causes) is a kept-alive connection the engine had closed. */
export function isStaleConnection(e: unknown): boolean {
  for (let c: unknown = e, depth = 0; c && typeof c === 'object' && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && STALE_CONNECTION_CODES.has(code)) return true;
  }
  return false;
}

/**
 * Runs an idempotent engine request (a search, an upsert with fixed ids), once more if it
 * failed on a stale kept-alive connection (the engine closed an idle connection just as
 * the client reused it: EPIPE/ECONNRESET). Seen with Qdrant after ~5 s idle; a search
 * then failed although the engine was healthy.
 */
export async function retryStaleConnection<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    if (!isStaleConnection(e)) throw e;
    return request();
  }
}
