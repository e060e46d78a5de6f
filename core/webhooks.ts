/**
 * Webhook secrets, signatures and the endpoint policy.
 *
 * Signatures follow the Standard Webhooks specification: the secret is `whsec_` + base64
 * of 32 random bytes; the signed content is `<webhook-id>.<webhook-timestamp>.<body>`;
 * `webhook-signature` is a space-separated list of `v1,<base64 HMAC-SHA256>`, one per
 * secret that signs (two during a rotation).
 *
 * Endpoints are URLs an admin gives us that the server POSTs to, so they are someone's
 * input pointed at our network: only `https:` URLs without credentials whose host is a
 * public address (the same ranges Web Push refuses, `core/push-endpoint.ts`: loopback,
 * private, link-local and cloud metadata, shared, ULA, multicast, documentation,
 * reserved, IPv4 embedded in IPv6) are accepted — checked at registration and again at
 * every delivery on the connection itself (`guardedLookup`: the address checked is the
 * one connected to). `WEBHOOKS_ALLOW_PRIVATE_NETWORKS` turns the guard off (tests, closed
 * networks) and then allows `http:` too.
 */
import crypto from 'node:crypto';
import dns from 'node:dns';
import net from 'node:net';
import { WEBHOOK_LIMITS } from '../contract/webhooks.js';
import { guardedLookup as pushGuardedLookup, isPublicAddress } from './push-endpoint.js';
import type { SecretBox } from './secret-box.js';

/** A name lookup at registration gives up after this long. */
const LOOKUP_TIMEOUT_MS = 5_000;

export class WebhookUrlRefused extends Error {
  override readonly name = 'WebhookUrlRefused';
}

/** A new signing secret, `whsec_<base64 of 32 bytes>`. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a `whsec_` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/** `v1,<base64>` for one secret. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = crypto.createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers for a body, signed with every secret given. */
export function webhookHeaders(secrets: readonly string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => signWebhook(s, id, timestampSeconds, body)).join(' '),
  };
}

/**
 * What a receiver does (also in docs/WEBHOOKS.md): true when any `v1` signature in the
 * header matches the secret, compared in constant time, and the timestamp is within
 * `toleranceSeconds` of now.
 */
export function verifyWebhook(
  secret: string,
  headers: { id: string; timestamp: string; signature: string },
  body: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isInteger(ts) || Math.abs(nowSeconds - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, headers.id, ts, body).slice(3), 'base64');
  return headers.signature.split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const got = Buffer.from(sig, 'base64');
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
}

/** Additional data a sealed secret is bound to: it opens only in its own row. */
export const secretAad = (tenantId: string, endpointId: string) => `webhook-secret:${tenantId}:${endpointId}`;

/** The secrets that sign now: the current one, and the previous one until it expires. */
export function signingSecrets(
  box: SecretBox,
  row: { tenant_id: string; endpoint_id: string; secret_sealed: string; previous_secret_sealed: string | null; previous_secret_expires_at: Date | null },
  now = Date.now(),
): string[] {
  const aad = secretAad(row.tenant_id, row.endpoint_id);
  const out = [box.open(row.secret_sealed, aad)];
  if (row.previous_secret_sealed && row.previous_secret_expires_at && new Date(row.previous_secret_expires_at).getTime() > now) {
    out.push(box.open(row.previous_secret_sealed, aad));
  }
  return out;
}

function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return net.isIP(host) ? host : null;
}

/**
 * The URL's form: `https:` (or `http:` with private networks allowed), a host, no
 * credentials, at most `WEBHOOK_LIMITS.urlChars`; an address literal is checked here, a
 * name when it is resolved. Throws `WebhookUrlRefused`.
 */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  if (raw.length > WEBHOOK_LIMITS.urlChars) throw new WebhookUrlRefused(`the URL is longer than ${WEBHOOK_LIMITS.urlChars} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefused('not a URL');
  }
  if (url.username || url.password) throw new WebhookUrlRefused('the URL may not carry credentials');
  if (!url.hostname) throw new WebhookUrlRefused('the URL has no host');
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) throw new WebhookUrlRefused('the URL must be https');
  if (allowPrivate) return url;
  const literal = literalAddress(url);
  if (literal !== null && !isPublicAddress(literal)) throw new WebhookUrlRefused('the URL is on a private, loopback, link-local or reserved address');
  return url;
}

/** The registration check: the form, and every address the host resolves to. Throws `WebhookUrlRefused`. */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  const url = parseWebhookUrl(raw, allowPrivate);
  if (allowPrivate || literalAddress(url) !== null) return url;
  let timer: NodeJS.Timeout | undefined;
  let addresses: string[];
  try {
    const found = await Promise.race([
      dns.promises.lookup(url.hostname, { all: true, verbatim: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new WebhookUrlRefused('the host did not resolve in time')), LOOKUP_TIMEOUT_MS);
      }),
    ]);
    addresses = found.map((a) => a.address);
  } catch (e) {
    if (e instanceof WebhookUrlRefused) throw e;
    throw new WebhookUrlRefused('the host does not resolve');
  } finally {
    clearTimeout(timer);
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) throw new WebhookUrlRefused('the host resolves to a private, loopback, link-local or reserved address');
  return url;
}

/** The connect-time lookup of deliveries: a name resolving to any blocked address is refused (no second lookup to rebind). */
export function guardedLookup(allowPrivate: boolean): net.LookupFunction {
  return pushGuardedLookup(allowPrivate);
}
