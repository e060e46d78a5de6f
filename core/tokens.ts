/**
 * Access tokens: JWT signed RS256, header `typ: at+jwt` (RFC 9068), `iss`, `aud`, `exp`
 * and `typ` checked on every verify, the algorithm pinned and the key chosen by `kid`.
 * Refresh tokens are opaque random strings, stored hashed (see commands/auth.ts).
 */
import crypto from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from 'jose';
import { z } from 'zod';
import type { ApiKeyScope, TenantRole } from '../db/schema.js';
import { unauthorized } from '../lib/errors.js';
import type { SigningKeys } from './keys.js';
import { KeyRing } from './key-ring.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface Principal {
  userId: string;
  tenantId: string;
  role: TenantRole;
  /**
   * The user's session version when the token was issued (claim `sv`; absent in tokens
   * issued before it existed, which count as 0). A token below the user's current version
   * belongs to an ended session: see `core/actor.ts`.
   */
  sessionVersion?: number;
  /**
   * The session (a signed-in device, migration 0021) the token belongs to (claim `sid`;
   * absent in tokens issued before sessions were recorded). A token of an ended session
   * is refused: see `core/actor.ts`.
   */
  sessionId?: string;
  /** Set when the caller presented an API key (`core/api-keys.ts`) rather than an access token. */
  apiKey?: { id: string; scopes: ApiKeyScope[]; expiresAt: Date };
}

/**
 * What a live connection was admitted with, re-checked whenever access may have changed:
 * the session version and session of a user's token, or the API key it presented.
 */
export interface Credential {
  sessionVersion: number;
  sessionId?: string;
  apiKeyId?: string;
  /** An API key without the write scope: the connection reads, whatever the user may do. */
  readOnly?: boolean;
}

/** The credential a principal stands on. */
export function credentialOf(p: Principal): Credential {
  const c: Credential = { sessionVersion: sessionVersionOf(p) };
  if (p.sessionId !== undefined) c.sessionId = p.sessionId;
  if (p.apiKey !== undefined) {
    c.apiKeyId = p.apiKey.id;
    if (!p.apiKey.scopes.includes('write')) c.readOnly = true;
  }
  return c;
}

/** A principal's session version: a token without the claim counts as 0. */
export function sessionVersionOf(p: Pick<Principal, 'sessionVersion'>): number {
  return p.sessionVersion ?? 0;
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

const Claims = z.object({
  sub: z.uuid(),
  tid: z.uuid(),
  role: z.enum(['owner', 'admin', 'member', 'guest']),
  sv: z.number().int().min(0).optional(),
  sid: z.uuid().optional(),
});

/** Verified access tokens kept (by their exact text) until they expire; the oldest go first. */
const MAX_VERIFIED_TOKENS = 10_000;

export class TokenService {
  /**
   * Verifying an RS256 signature is the largest CPU cost of an API request (~50 µs, 14 %
   * of the API process under load — bench/RESULTS.md, scenario 6), and a client sends the
   * same token with every request for its lifetime. A verified token's principal is kept
   * until the token's `exp`, keyed by the token's exact text: the result of a verification
   * that depends only on the text, the keys that verify (the cache is emptied when they change) and the time. What can change
   * meanwhile (the user removed, their role or grants) is read from the database on every
   * request, as before.
   */
  private readonly verified = new Map<string, { principal: Principal; exp: number }>();
  /** The key ring's version the cache was filled under: a rotation or retirement empties it. */
  private verifiedUnder = -1;
  /** The signing keys: a ring that follows rotations (core/key-ring.ts), or one fixed key. */
  readonly keys: KeyRing;

  constructor(
    keys: SigningKeys | KeyRing,
    private readonly settings: TokenSettings,
    /** Milliseconds since the epoch (tests move it). */
    private readonly now: () => number = Date.now,
  ) {
    this.keys = keys instanceof KeyRing ? keys : KeyRing.fixed(keys);
  }

  async signAccess(p: Principal): Promise<string> {
    const now = Math.floor(this.now() / 1000);
    const key = this.keys.current();
    return new SignJWT({
      tid: p.tenantId,
      role: p.role,
      ...(p.sessionVersion === undefined ? {} : { sv: p.sessionVersion }),
      ...(p.sessionId === undefined ? {} : { sid: p.sessionId }),
    })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(p.userId)
      .setIssuer(this.settings.issuer)
      .setAudience(this.settings.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.settings.accessTtlSeconds)
      .setJti(crypto.randomUUID())
      .sign(key.privateKey);
  }

  /** Verifies an access token; any failure is a 401 with a reason code, never a 500. */
  async verifyAccess(token: string): Promise<Principal> {
    const nowSeconds = this.now() / 1000;
    if (this.verifiedUnder !== this.keys.version) {
      this.verified.clear();
      this.verifiedUnder = this.keys.version;
    }
    const known = this.verified.get(token);
    if (known && known.exp > nowSeconds) return known.principal;
    if (known) this.verified.delete(token);
    const keyFor = async (header: JWTHeaderParameters) => {
      const key = await this.keys.publicKeyFor(header.kid);
      if (!key) throw unauthorized('Unknown signing key', 'invalid_token');
      return key;
    };
    try {
      const { payload } = await jwtVerify(token, keyFor, {
        algorithms: ['RS256'],
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud'],
        clockTolerance: 5,
        currentDate: new Date(this.now()),
      });
      const claims = Claims.safeParse(payload);
      if (!claims.success) throw unauthorized('Token claims are malformed', 'invalid_token');
      const principal: Principal = { userId: claims.data.sub, tenantId: claims.data.tid, role: claims.data.role };
      if (claims.data.sv !== undefined) principal.sessionVersion = claims.data.sv;
      if (claims.data.sid !== undefined) principal.sessionId = claims.data.sid;
      // Kept until `exp` exactly; the 5 s of clock tolerance is granted by verifying again.
      if (payload.exp !== undefined && payload.exp > nowSeconds) {
        if (this.verified.size >= MAX_VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
        this.verified.set(token, { principal, exp: payload.exp });
      }
      return principal;
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthorized('Access token expired', 'token_expired');
      if (e instanceof Error && e.name === 'AppError') throw e;
      throw unauthorized('Invalid access token', 'invalid_token');
    }
  }

  /** The keys that verify access tokens now, the signing key first. */
  jwks(): { keys: object[] } {
    return { keys: this.keys.jwks() };
  }
}
