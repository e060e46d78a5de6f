/**
 * The access-token signing keys an instance uses: the configured key (core/keys.ts) and the
 * keys in `signing_keys` (migration 0028), which every instance reads so a rotation
 * (`quire keys rotate`) reaches them all without a restart.
 *
 * - Signing: the `active` row's key, or the configured key while no row is active.
 * - Verifying: the signing key, every `verifying` row, and the configured key unless a row
 *   retired it. A `retired` key verifies nothing.
 * - Freshness: the table is read every {@link KEY_RING_REFRESH_MS}, and at once (at most once
 *   a second) when a token names a key this instance does not know yet, so a token signed
 *   by an instance that saw the rotation first verifies everywhere.
 *
 * Private keys in the table are sealed with the secrets box (additional data
 * `signing-key:<kid>`): every instance needs the same `SECRETS_KEY`, as for two-factor secrets.
 */
import crypto from 'node:crypto';
import { sql, type QueryExecutorProvider } from 'kysely';
import { calculateJwkThumbprint, exportJWK, importSPKI, type JWK } from 'jose';
import type { Logger } from '../lib/log.js';
import { keysFromPem, type SigningKeys } from './keys.js';
import type { SecretBox } from './secret-box.js';

/** How often every instance reads the key table. */
export const KEY_RING_REFRESH_MS = 5_000;
/** Unknown key ids trigger a read of the table at most this often. */
const UNKNOWN_KID_REFRESH_MS = 1_000;

export type SigningKeyStatus = 'active' | 'verifying' | 'retired';

export interface SigningKeyRow {
  kid: string;
  public_pem: string;
  private_sealed: string | null;
  status: SigningKeyStatus;
  created_at: Date;
  deactivated_at: Date | null;
  retired_at: Date | null;
}

/** A key that may only verify (no private half here). */
type RingKey = Omit<SigningKeys, 'privateKey'> & { privateKey?: CryptoKey };

export const signingKeyAad = (kid: string) => `signing-key:${kid}`;

/** The PEM (SPKI) of a signing key's public half. */
export function publicPemOf(keys: SigningKeys): string {
  return crypto.KeyObject.from(keys.publicKey).export({ type: 'spki', format: 'pem' }).toString();
}

/** Every row of `signing_keys`, oldest first. */
export async function readSigningKeys(db: QueryExecutorProvider): Promise<SigningKeyRow[]> {
  return (await sql<SigningKeyRow>`select kid, public_pem, private_sealed, status, created_at, deactivated_at, retired_at from signing_keys order by created_at, kid`.execute(db)).rows;
}

export interface KeyRingOptions {
  /** The key table's reader (the application role may only read it). */
  db?: QueryExecutorProvider;
  secrets?: SecretBox;
  log?: Logger;
  refreshMs?: number;
}

export class KeyRing {
  private signer: SigningKeys;
  private verifiers = new Map<string, RingKey>();
  /** Imported keys by kid (importing RSA keys costs; the table rarely changes). */
  private readonly imported = new Map<string, RingKey>();
  private state = '';
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private lastUnknownRefresh = 0;
  /** Changes whenever the set of keys changes (the token service drops its verified cache then). */
  version = 0;

  constructor(
    private readonly configured: SigningKeys,
    private readonly opts: KeyRingOptions = {},
  ) {
    this.signer = configured;
    this.verifiers.set(configured.kid, configured);
  }

  /** A ring of one fixed key (no table). */
  static fixed(keys: SigningKeys): KeyRing {
    return new KeyRing(keys);
  }

  /** The key new tokens are signed with. */
  current(): SigningKeys {
    return this.signer;
  }

  /** The public key for `kid`, reading the table first when the kid is new to this instance. */
  async publicKeyFor(kid: string | undefined): Promise<CryptoKey | null> {
    if (!kid) return null;
    const known = this.verifiers.get(kid);
    if (known) return known.publicKey;
    if (this.opts.db && Date.now() - this.lastUnknownRefresh >= UNKNOWN_KID_REFRESH_MS) {
      this.lastUnknownRefresh = Date.now();
      await this.refresh().catch(() => undefined);
      return this.verifiers.get(kid)?.publicKey ?? null;
    }
    return null;
  }

  /** The JWKS document's keys: the signing key first, then the others that still verify. */
  jwks(): JWK[] {
    return [this.signer.publicJwk, ...[...this.verifiers.values()].filter((k) => k.kid !== this.signer.kid).map((k) => k.publicJwk)];
  }

  /** Reads the table now (calls made while a read runs share it). */
  refresh(): Promise<void> {
    if (!this.opts.db) return Promise.resolve();
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Reads the table, then every `refreshMs` until {@link stop}. */
  async start(): Promise<void> {
    if (!this.opts.db) return;
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((e: unknown) => this.opts.log?.warn({ cat: 'auth', err: e instanceof Error ? e.message : String(e) }, 'signing keys could not be read; keeping the last known'));
    }, this.opts.refreshMs ?? KEY_RING_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async load(): Promise<void> {
    const rows = await readSigningKeys(this.opts.db!);
    const state = rows.map((r) => `${r.kid}:${r.status}`).join(',');
    if (state === this.state) return;
    const retired = new Set(rows.filter((r) => r.status === 'retired').map((r) => r.kid));
    const verifiers = new Map<string, RingKey>();
    if (!retired.has(this.configured.kid)) verifiers.set(this.configured.kid, this.configured);
    let signer: SigningKeys | null = null;
    for (const r of rows) {
      if (r.status === 'retired') continue;
      if (r.kid === this.configured.kid) {
        if (r.status === 'active') signer = this.configured;
        continue;
      }
      const wantPrivate = r.status === 'active';
      let keys = this.imported.get(r.kid);
      if (!keys || (wantPrivate && !keys.privateKey)) {
        // An active key whose private half cannot be opened here still verifies.
        const read = (await this.importRow(r, wantPrivate)) ?? (wantPrivate ? await this.importRow(r, false) : null);
        if (!read) continue;
        keys = read;
        this.imported.set(r.kid, keys);
      }
      verifiers.set(r.kid, keys);
      if (r.status === 'active' && keys.privateKey) signer = { ...keys, privateKey: keys.privateKey };
    }
    const active = rows.find((r) => r.status === 'active');
    if (active && !signer) {
      this.opts.log?.error(
        { cat: 'auth', kid: active.kid },
        "the active signing key cannot be opened here (is SECRETS_KEY the same on every instance?): tokens are signed with this instance's previous key",
      );
    }
    signer ??= active ? this.signer : this.configured;
    if (retired.has(signer.kid)) this.opts.log?.error({ cat: 'auth', kid: signer.kid }, 'the key this instance signs with is retired and no active key is usable: rotate to a new key');
    verifiers.set(signer.kid, signer);
    const changed = signer.kid !== this.signer.kid;
    this.signer = signer;
    this.verifiers = verifiers;
    this.state = state;
    this.version++;
    if (changed) this.opts.log?.info({ cat: 'auth', kid: signer.kid }, 'signing access tokens with a new key');
  }

  private async importRow(r: SigningKeyRow, withPrivate: boolean): Promise<RingKey | null> {
    try {
      if (!withPrivate) return await publicOnly(r.public_pem);
      if (!this.opts.secrets || !r.private_sealed) return null;
      return await keysFromPem(this.opts.secrets.open(r.private_sealed, signingKeyAad(r.kid)), r.public_pem);
    } catch (e) {
      this.opts.log?.error({ cat: 'auth', kid: r.kid, err: e instanceof Error ? e.message : String(e) }, 'a signing key in the key table cannot be read');
      return null;
    }
  }
}

/** A verifying-only key. */
async function publicOnly(publicPem: string): Promise<RingKey> {
  const publicKey = await importSPKI(publicPem, 'RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, publicKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' } };
}
