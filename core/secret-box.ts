/**
 * Secrets kept at rest — people's TOTP secrets, workspaces' single sign-on client secrets,
 * PKCE verifiers of sign-ins in progress — are sealed with AES-256-GCM under one key:
 * `SECRETS_KEY` (32 bytes, base64), or a key generated once into `DATA_DIR/keys/secrets.key`
 * (mode 0600). Every value gets a random 96-bit IV and additional data naming what it is
 * and whose (e.g. `totp:<tenant>:<user>`), so a sealed value copied into another row does
 * not open. Stored form: `v1.<iv>.<ciphertext+tag>` (base64url). Instances that share a
 * database must share the key: set `SECRETS_KEY` in the scaled profile.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { readOrCreate } from './keys.js';

/** Seals and opens short secrets (TOTP secrets, SSO client secrets, PKCE verifiers) with one 256-bit key. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secrets key must be 32 bytes');
  }

  seal(plain: string, aad: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final(), c.getAuthTag()]);
    return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string, aad: string): string {
    const [v, ivText, bodyText] = sealed.split('.');
    if (v !== 'v1' || !ivText || !bodyText) throw new Error('not a sealed value');
    const iv = Buffer.from(ivText, 'base64url');
    const body = Buffer.from(bodyText, 'base64url');
    if (iv.length !== 12 || body.length < 16) throw new Error('not a sealed value');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, iv);
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8');
  }
}

/** The sealing key: from configuration, or generated once into `DATA_DIR/keys/` (mode 0600; the first writer wins). */
export async function loadSecretBox(opts: { secretKey?: string; dataDir: string }): Promise<SecretBox> {
  if (opts.secretKey) return new SecretBox(Buffer.from(opts.secretKey, 'base64'));
  const dir = path.join(opts.dataDir, 'keys');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const text = await readOrCreate(path.join(dir, 'secrets.key'), () => crypto.randomBytes(32).toString('base64') + '\n', 0o600);
  return new SecretBox(Buffer.from(text.trim(), 'base64'));
}

/** An issuer (or a URL its metadata names) the server will not fetch from; the message is safe to show an admin. */

const CHECK_AAD = 'secrets-key-check';
const CHECK_VALUE = 'quire';

/**
 * Whether this process' key is the one the database's secrets were sealed with: the first
 * process to ask seals a known value, every later one opens it. `false` means two-factor
 * codes and single sign-on will fail on this instance until it is given the same `SECRETS_KEY`.
 */
export async function sameSecretsKey(db: Kysely<Database>, box: SecretBox): Promise<boolean> {
  await db
    .insertInto('secrets_key_check')
    .values({ id: 1, sealed: box.seal(CHECK_VALUE, CHECK_AAD) })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  const row = await db.selectFrom('secrets_key_check').select('sealed').where('id', '=', 1).executeTakeFirstOrThrow();
  try {
    return box.open(row.sealed, CHECK_AAD) === CHECK_VALUE;
  } catch {
    return false;
  }
}
