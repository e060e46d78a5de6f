/**
 * Unsubscribe tokens: the signed part of the one-click unsubscribe link in every
 * notification email (RFC 8058). Whoever holds the link may turn that email off without
 * signing in, so the link carries its authority: a JWT signed RS256 with the server's
 * signing key, its own audience and `typ` (an access token is never accepted as one, nor
 * one as an access token), naming the user (`sub`), the workspace (`tid`) and the kind of
 * notification (`kind`; absent in a digest's link, which turns every kind off).
 *
 * The worker signs them when it sends an email; the API verifies them, with the algorithm
 * pinned. They live a year: an unsubscribe link in a month-old email must still work, and
 * a link only ever turns email off.
 */
import { SignJWT, jwtVerify, type JWTHeaderParameters } from 'jose';
import { z } from 'zod';
import { NOTIFICATION_KINDS, type NotificationKind } from '../contract/api.js';
import { AppError, badRequest } from '../lib/errors.js';
import type { SigningKeys } from './keys.js';

/** The audience of unsubscribe tokens (never the API's). */
export const UNSUBSCRIBE_AUDIENCE = 'quire-unsubscribe';
/** The JWT `typ` header of unsubscribe tokens. */
export const UNSUBSCRIBE_TOKEN_TYPE = 'unsubscribe+jwt';
/** How long an unsubscribe link works. @default one year (links in old email keep working) */
export const UNSUBSCRIBE_TTL_SECONDS = 365 * 24 * 3600;

/** What an unsubscribe link turns off: one kind of a user's email, or all of it. */
export interface UnsubscribeClaims {
  userId: string;
  tenantId: string;
  /** Absent: every kind (the link of a digest). */
  kind?: NotificationKind;
}

const Claims = z.object({
  sub: z.uuid(),
  tid: z.uuid(),
  kind: z.enum(NOTIFICATION_KINDS).optional(),
});

/** Signs an unsubscribe token with the server's private key. */
export async function signUnsubscribeToken(key: Pick<SigningKeys, 'kid' | 'privateKey'>, issuer: string, claims: UnsubscribeClaims, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ tid: claims.tenantId, ...(claims.kind ? { kind: claims.kind } : {}) })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: UNSUBSCRIBE_TOKEN_TYPE })
    .setSubject(claims.userId)
    .setIssuer(issuer)
    .setAudience(UNSUBSCRIBE_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + UNSUBSCRIBE_TTL_SECONDS)
    .sign(key.privateKey);
}

/** The error every unusable token gets: a 400 in the API's error shape, never a 500. */
export const invalidUnsubscribeToken = (): AppError => badRequest('invalid_token', 'This unsubscribe link is not valid or has expired');

/** Verifies an unsubscribe token (RS256 only, this server's key, audience and type checked). */
export async function verifyUnsubscribeToken(key: Pick<SigningKeys, 'kid' | 'publicKey'>, issuer: string, token: string, now = Date.now()): Promise<UnsubscribeClaims> {
  const keyFor = (header: JWTHeaderParameters) => {
    if (header.kid !== key.kid) throw invalidUnsubscribeToken();
    return key.publicKey;
  };
  try {
    const { payload } = await jwtVerify(token, keyFor, {
      algorithms: ['RS256'],
      issuer,
      audience: UNSUBSCRIBE_AUDIENCE,
      typ: UNSUBSCRIBE_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'iss', 'aud'],
      clockTolerance: 5,
      currentDate: new Date(now),
    });
    const claims = Claims.safeParse(payload);
    if (!claims.success) throw invalidUnsubscribeToken();
    return { userId: claims.data.sub, tenantId: claims.data.tid, ...(claims.data.kind ? { kind: claims.data.kind } : {}) };
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw invalidUnsubscribeToken();
  }
}
