/**
 * The RS256 key pair that signs access tokens: from configuration (PEM) or generated once
 * into `DATA_DIR/keys/` (private key mode 0600). Several processes sharing a data dir
 * agree on one key: the first writer wins and the others read its file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, importPKCS8, importSPKI, type JWK } from 'jose';

export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK as served on `/.well-known/jwks.json`. */
  publicJwk: JWK;
}

export async function keysFromPem(privatePem: string, publicPem: string): Promise<SigningKeys> {
  const privateKey = await importPKCS8(privatePem, 'RS256');
  const publicKey = await importSPKI(publicPem, 'RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}

export function generatePemPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * The contents of `file`, written first with `create()` (mode `mode`) when it does not exist.
 * The write is exclusive (`wx`): when several processes race, the first writer wins and
 * every process reads the winner's file.
 */
export async function readOrCreate(file: string, create: () => string, mode: number): Promise<string> {
  try {
    await fs.writeFile(file, create(), { flag: 'wx', mode });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return fs.readFile(file, 'utf8');
}

export async function loadSigningKeys(opts: { privatePem?: string; publicPem?: string; dataDir: string }): Promise<SigningKeys> {
  if (opts.privatePem && opts.publicPem) return keysFromPem(opts.privatePem, opts.publicPem);
  const dir = path.join(opts.dataDir, 'keys');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const privFile = path.join(dir, 'jwt-private.pem');
  const pair = generatePemPair();
  const privatePem = await readOrCreate(privFile, () => pair.privatePem, 0o600);
  // Derive the public key from whichever private key won, never from a fresh pair.
  const publicPem = crypto.createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString();
  return keysFromPem(privatePem, publicPem);
}
