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
