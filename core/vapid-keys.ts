/**
 * The Web Push application server keys (VAPID, RFC 8292): a P-256 key pair whose public
 * half browsers subscribe with and whose private half signs every push request. From
 * configuration (`VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY`, base64url) or generated once
 * into `DATA_DIR/keys/vapid.json` (mode 0600), like the token signing key: several
 * processes sharing a data dir agree on one pair (the first writer wins, the others read
 * its file). Instances on different hosts must share the data dir or configure the keys:
 * a subscription made with one public key is refused by the push service when another
 * key signs for it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import webpush from 'web-push';
import { readOrCreate } from './keys.js';

export interface VapidKeys {
  /** The uncompressed P-256 point (65 bytes), base64url: the browser's `applicationServerKey`. */
  publicKey: string;
  /** The private scalar (32 bytes), base64url. */
  privateKey: string;
}

export interface VapidKeySource {
  publicKey?: string;
  privateKey?: string;
  dataDir: string;
}

/** The public key of a private one, or an error naming what is wrong with it. */
function publicOf(privateKey: string): string {
  const scalar = Buffer.from(privateKey, 'base64url');
  if (scalar.length !== 32) throw new Error('the VAPID private key must be 32 bytes (base64url)');
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.setPrivateKey(scalar);
  return ecdh.getPublicKey().toString('base64url');
}

/** A pair whose public key is the private key's own (a mismatched pair would sign for another key). */
export function checkVapidKeys(keys: VapidKeys): VapidKeys {
  const derived = publicOf(keys.privateKey);
  if (Buffer.from(keys.publicKey, 'base64url').toString('base64url') !== derived) throw new Error('the VAPID public key is not the private key’s');
  return { publicKey: derived, privateKey: Buffer.from(keys.privateKey, 'base64url').toString('base64url') };
}

/**
 * A half-written file from a process that won the race a moment ago reads as invalid JSON:
 * read again for up to this long before giving up.
 */
const PARTIAL_READ_RETRY_MS = 2_000;

export async function loadVapidKeys(source: VapidKeySource): Promise<VapidKeys> {
  if (source.publicKey && source.privateKey) return checkVapidKeys({ publicKey: source.publicKey, privateKey: source.privateKey });
  const dir = path.join(source.dataDir, 'keys');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'vapid.json');
  const fresh = webpush.generateVAPIDKeys();
  const deadline = Date.now() + PARTIAL_READ_RETRY_MS;
  for (;;) {
    const text = await readOrCreate(file, () => JSON.stringify({ publicKey: fresh.publicKey, privateKey: fresh.privateKey }), 0o600);
    let stored: Partial<VapidKeys> | undefined;
    try {
      stored = JSON.parse(text) as Partial<VapidKeys>;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${file} is not valid JSON`, { cause: e });
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    if (typeof stored?.privateKey !== 'string') throw new Error(`${file} holds no privateKey`);
    // The public key is always the stored private key's own.
    return { publicKey: publicOf(stored.privateKey), privateKey: stored.privateKey };
  }
}

const loaded = new WeakMap<object, Promise<VapidKeys>>();

/**
 * The keys for one configuration, loaded on first use and kept (a failed load is tried
 * again on the next call). `owner` is the object the keys belong to (the process's config).
 */
export function vapidKeysFor(owner: object, source: VapidKeySource): Promise<VapidKeys> {
  let p = loaded.get(owner);
  if (!p) {
    p = loadVapidKeys(source);
    loaded.set(owner, p);
    p.catch(() => loaded.delete(owner));
  }
  return p;
}
