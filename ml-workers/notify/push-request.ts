/**
 * One Web Push message to one browser: encrypted to the subscription's keys (RFC 8291,
 * `aes128gcm`) and signed with the VAPID key (RFC 8292) by `web-push`
 * (`generateRequestDetails`), then POSTed here rather than by `web-push`'s own sender, so
 * that the endpoint policy holds on the connection itself: the address connected to is
 * the address checked (`guardedLookup`), a redirect is never followed (it is an answer
 * like any other), the whole exchange has a deadline, and `http:` is spoken only where
 * private endpoints are allowed.
 *
 * An endpoint is a capability URL (whoever has it can push to the browser): nothing here
 * logs or returns more of it than its origin.
 */
import webpush from 'web-push';
import { guardedLookup, parsePushEndpoint, PushEndpointRefused } from '../../core/push-endpoint.js';
import type { VapidKeys } from '../../core/vapid-keys.js';
import { postOnce } from '../outbound-post.js';

export interface PushTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushRequestOptions {
  keys: VapidKeys;
  /** The contact the push service sees in the VAPID token (`mailto:` or `https:`). */
  subject: string;
  /** How long the push service keeps the message for a browser that is offline. */
  ttlSeconds: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  /** A newer message with the same topic replaces one the push service still holds. */
  topic?: string;
  allowPrivateEndpoints: boolean;
  /** The whole exchange (connect, send, answer) ends after this long. */
  timeoutMs: number;
}

/**
 * What came of it: accepted; `gone` (404/410: the browser unsubscribed, forget the
 * subscription); `refused` (this message will never be accepted there: a redirect, a
 * 4xx, an endpoint the policy refuses); `retry` (429, 5xx, a network failure or timeout).
 */
export type PushOutcome = { result: 'accepted'; status: number } | { result: 'gone' | 'refused' | 'retry'; error: string };

/** The origin of an endpoint, for logs (never its path: that is the capability). */
export function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return '(not a URL)';
  }
}

export async function sendPush(target: PushTarget, payload: string, opts: PushRequestOptions): Promise<PushOutcome> {
  let url: URL;
  let details: webpush.RequestDetails;
  try {
    url = parsePushEndpoint(target.endpoint, opts.allowPrivateEndpoints);
    details = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, payload, {
      vapidDetails: { subject: opts.subject, publicKey: opts.keys.publicKey, privateKey: opts.keys.privateKey },
      TTL: opts.ttlSeconds,
      urgency: opts.urgency,
      contentEncoding: 'aes128gcm',
      ...(opts.topic ? { topic: opts.topic } : {}),
    });
  } catch (e) {
    return { result: 'refused', error: e instanceof PushEndpointRefused ? e.message : 'the subscription’s keys are not usable' };
  }
  // The answer's body is never needed: read and dropped.
  const r = await postOnce({ url, headers: details.headers, body: details.body ?? undefined, lookup: guardedLookup(opts.allowPrivateEndpoints), timeoutMs: opts.timeoutMs, maxAnswerBytes: 0 });
  if ('status' in r) return classify(r.status);
  if ('timedOut' in r) return { result: 'retry', error: 'timed out' };
  if ('error' in r) return r.error instanceof PushEndpointRefused ? { result: 'refused', error: r.error.message } : { result: 'retry', error: r.error.code ?? 'network error' };
  return { result: 'retry', error: 'aborted' };
}

function classify(status: number): PushOutcome {
  if (status >= 200 && status < 300) return { result: 'accepted', status };
  if (status === 404 || status === 410) return { result: 'gone', error: `HTTP ${status}` };
  if (status === 408 || status === 429 || status >= 500) return { result: 'retry', error: `HTTP ${status}` };
  return { result: 'refused', error: `HTTP ${status}` };
}
