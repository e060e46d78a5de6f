/**
 * The pieces of single sign-on that are not about the database: the key that seals client
 * secrets at rest, the guard on the addresses the server fetches from an issuer, and the
 * OpenID client (openid-client) for a workspace's provider.
 *
 * Sealing: client secrets and PKCE verifiers are sealed with the process' `SecretBox`
 * (`core/secret-box.ts`), with additional data naming what the value is and whose it is
 * (`sso-secret:<tenantId>`), so a sealed value copied into another workspace's row does not open.
 *
 * Issuer guard: an issuer is someone's input pointed at our network (the server fetches its
 * discovery document, keys and token endpoint). Unless `SSO_ALLOW_PRIVATE_ISSUERS` is on,
 * every URL the client fetches — the issuer's and every one its metadata names — must be
 * `https:` and its host must resolve only to public addresses; the check runs on each fetch.
 */
import dns from 'node:dns';
import net from 'node:net';
import * as oidc from 'openid-client';
import { isPublicAddress } from '../../core/push-endpoint.js';

export class IssuerRefused extends Error {
  override readonly name = 'IssuerRefused';
}

/** How long one request to a provider may take (discovery, keys, token). */
const PROVIDER_TIMEOUT_SECONDS = 10;

/** Every address a host resolves to (an address literal is itself). */
async function addressesOf(host: string): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(bare)) return [bare];
  const found = await dns.promises.lookup(bare, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/** Refuses a URL the server may not fetch (see the top of this file). */
export async function checkProviderUrl(raw: string | URL, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new IssuerRefused('the issuer is not a URL');
  }
  if (url.username || url.password) throw new IssuerRefused('the issuer URL may not carry credentials');
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) throw new IssuerRefused('the issuer must be an https URL');
  if (allowPrivate) return url;
  let addresses: string[];
  try {
    addresses = await addressesOf(url.hostname);
  } catch {
    throw new IssuerRefused(`the issuer's host ${url.hostname} does not resolve`);
  }
  if (addresses.length === 0 || !addresses.every(isPublicAddress)) throw new IssuerRefused(`${url.hostname} is on a private, loopback or reserved address`);
  return url;
}

/** What identifies a provider's client. */
export interface ProviderClient {
  issuer: string;
  clientId: string;
  /** null: a public client (PKCE, no client authentication). */
  clientSecret: string | null;
}

/**
 * Runs OpenID discovery against the issuer and returns the client's configuration. The
 * discovered `issuer` must equal the configured one exactly (openid-client checks it), and
 * every later fetch goes through the same guard.
 */
export async function discoverProvider(p: ProviderClient, allowPrivate: boolean): Promise<oidc.Configuration> {
  const issuerUrl = await checkProviderUrl(p.issuer, allowPrivate);
  const guardedFetch: oidc.CustomFetch = async (url, options) => {
    await checkProviderUrl(url, allowPrivate);
    return fetch(url, { ...options, redirect: 'manual' } as RequestInit);
  };
  const auth = p.clientSecret ? oidc.ClientSecretBasic(p.clientSecret) : oidc.None();
  const config = await oidc.discovery(issuerUrl, p.clientId, undefined, auth, {
    [oidc.customFetch]: guardedFetch,
    timeout: PROVIDER_TIMEOUT_SECONDS,
    execute: allowPrivate ? [oidc.allowInsecureRequests] : [],
  });
  // Verify the ID token's signature against the provider's published keys (jwks_uri) too,
  // not only the TLS channel it came over (which OIDC allows a client to rely on alone).
  oidc.enableNonRepudiationChecks(config);
  return config;
}

/** A short, safe description of why talking to a provider failed (no secrets: messages of openid-client and the guard). */
export function describeProviderError(e: unknown): string {
  if (e instanceof IssuerRefused) return e.message;
  const err = e as { message?: string; code?: string; cause?: unknown };
  const cause = err.cause as { message?: string; code?: string } | undefined;
  const parts = [err.message, cause?.message && cause.message !== err.message ? cause.message : undefined].filter(Boolean);
  return parts.join(': ').slice(0, 300) || 'the provider could not be reached';
}

/** The claim an ID-token check failed on (`nonce`, `iss`, `aud`, `exp`, …), if the error names one. */
export function failedClaim(e: unknown): { kind: 'comparison' | 'timestamp' | 'other'; claim?: string } {
  let cur: unknown = e;
  let kind: 'comparison' | 'timestamp' | 'other' = 'other';
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: string; claim?: string; cause?: unknown };
    if (c.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') kind = 'comparison';
    if (c.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') kind = 'timestamp';
    if (typeof c.claim === 'string') return { kind, claim: c.claim };
    cur = c.cause;
  }
  return { kind };
}
