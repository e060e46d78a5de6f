/**
 * Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps — what every
 * authenticator app reads from an `otpauth://` QR code), through the `otpauth` library.
 *
 * A code is accepted for its own step and one step either side (clock drift), and only if
 * that step is later than the last one accepted for the user: a code works once, and an
 * older code than one already used is stale.
 *
 * Recovery codes: ten random codes of 12 base-32 characters (60 bits each), shown once
 * and stored as SHA-256 digests (their entropy makes a slow hash unnecessary; guessing is
 * bounded by the challenge's attempt limit and the rate limits).
 */
import crypto from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
const DIGITS = 6;
/** Steps either side of now that are still accepted. */
const WINDOW = 1;
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base 32, lower case: no i, l, o or u to misread; 32 symbols, so a byte modulo 32 is unbiased. */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A new secret (160 bits, as RFC 4226 recommends), base 32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = 'Quire', issuer = 'Quire'): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: DIGITS, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

/** The `otpauth://totp/…` URI an authenticator app reads (from a QR code). */
export function otpauthUri(secretBase32: string, account: string, issuer: string): string {
  return totp(secretBase32, account, issuer).toString();
}

/** The code for a moment (tests and the browser test compute codes with it). */
export function totpCode(secretBase32: string, atMs: number = Date.now()): string {
  return totp(secretBase32).generate({ timestamp: atMs });
}

/**
 * The time step a code belongs to, if it is right for `atMs` (±1 step) and later than
 * `lastStep`; null otherwise. Non-digit input is never right.
 */
export function acceptTotp(secretBase32: string, code: string, lastStep: number | null, atMs: number = Date.now()): number | null {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secretBase32).validate({ token, timestamp: atMs, window: WINDOW });
  if (delta === null) return null;
  const step = Math.floor(atMs / 1000 / TOTP_PERIOD_SECONDS) + delta;
  if (lastStep !== null && step <= lastStep) return null;
  return step;
}

/** Ten new recovery codes, as shown to the user (`xxxx-xxxx-xxxx`). */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from(crypto.randomBytes(12), (b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join('');
    return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
  });
}

/** A recovery code's stored digest; spaces, dashes and case do not matter. */
export function recoveryCodeHash(code: string): string {
  return crypto.createHash('sha256').update(normalRecoveryCode(code)).digest('hex');
}

export function normalRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, '');
}

/** Whether input looks like a recovery code rather than a TOTP code. */
export function isRecoveryCode(code: string): boolean {
  return /^[a-z0-9]{12}$/.test(normalRecoveryCode(code));
}
