/**
 * Password hashing with scrypt, a memory-hard KDF built into Node (no native add-on).
 * Stored form: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`, so the cost can be raised
 * later and old hashes still verify.
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (password: string, salt: Buffer, keylen: number, options: crypto.ScryptOptions) => Promise<Buffer>;

const KEY_LEN = 32;
const R = 8;
const P = 1;

/** Limits on what a password may be; checked by the API schemas too. */
export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;

export class PasswordHasher {
  /** @param cost log2 of scrypt's N; 15 ⇒ 32 MiB and ~60 ms per hash on one core. */
  constructor(private readonly cost = 15) {}

  private static opts(logN: number, r: number, p: number): crypto.ScryptOptions {
    const N = 2 ** logN;
    return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  }

  async hash(password: string): Promise<string> {
    const salt = crypto.randomBytes(16);
    const key = await scrypt(password, salt, KEY_LEN, PasswordHasher.opts(this.cost, R, P));
    return `scrypt$${this.cost}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$');
    if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
    const [logN, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0 && n < 64)) return false;
    const salt = Buffer.from(parts[4] ?? '', 'base64');
    const expected = Buffer.from(parts[5] ?? '', 'base64');
    const key = await scrypt(password, salt, expected.length, PasswordHasher.opts(logN, r, p));
    return key.length === expected.length && crypto.timingSafeEqual(key, expected);
  }

  /** Burns the same time as a real verify, so unknown emails cannot be told apart by timing. */
  async dummyVerify(password: string): Promise<void> {
    this.dummy ??= await this.hash('not-a-real-password');
    await this.verify(password, this.dummy);
  }
  private dummy?: string;
}
