/**
 * `quire keys list|rotate|retire`: the keys that sign access tokens (RS256), kept in the
 * database table every instance reads (`signing_keys`, migration 0028; core/key-ring.ts).
 *
 * - `rotate` makes a new key pair the signing key; the previous one keeps verifying, so
 *   tokens already issued work until they expire. Instances follow within seconds, without
 *   a restart. The first rotation records the configured key (JWT_PRIVATE_KEY, or
 *   DATA_DIR/keys/jwt-private.pem) as the previous one, by its public half; its private
 *   half stays in the configuration.
 * - `retire <kid>` refuses a key that no longer signs: its tokens stop verifying. It waits
 *   until the last token the key signed has expired (ACCESS_TOKEN_TTL_SECONDS after it
 *   stopped signing), unless `--force` (after a leak: its holders sign in again).
 *
 * New private keys are sealed with the secrets box (SECRETS_KEY), which every instance and
 * this command must share. Run it with the servers' configuration.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';

import { publicPemOf, readSigningKeys, signingKeyAad, type SigningKeyRow } from '../../core/key-ring.js';
import { generatePemPair, keysFromPem, type SigningKeys } from '../../core/keys.js';
import { loadSecretBox } from '../../core/secret-box.js';
import type { Config } from '../../lib/config.js';
import { withOperatorStore } from '../operator-store.js';
import { UsageError, type CliContext, type CliGroup } from './command.js';

/** The verifier's clock tolerance (core/tokens.ts): a token is accepted this long past its `exp`. */
const CLOCK_TOLERANCE_SECONDS = 5;

/** The configured key, when this machine has it (PEMs in the configuration, or the generated key in DATA_DIR). */
async function configuredKey(config: Config): Promise<SigningKeys | null> {
  if (config.jwt.privateKeyPem && config.jwt.publicKeyPem) return keysFromPem(config.jwt.privateKeyPem, config.jwt.publicKeyPem);
  const file = path.join(config.dataDir, 'keys', 'jwt-private.pem');
  const privatePem = await fs.readFile(file, 'utf8').catch(() => null);
  if (!privatePem) return null;
  const crypto = await import('node:crypto');
  return keysFromPem(privatePem, crypto.createPublicKey(privatePem).export({ type: 'spki', format: 'pem' }).toString());
}

const iso = (d: Date | null) => (d ? d.toISOString() : '-');

/** When the last access token a key signed expires (it stopped signing at `deactivated`). */
function lastTokenExpiry(deactivated: Date, config: Config): Date {
  return new Date(deactivated.getTime() + (config.jwt.accessTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000);
}

async function list(ctx: CliContext): Promise<number> {
  const configured = await configuredKey(ctx.config);
  return withOperatorStore(ctx.config, 'keys', async (store) => {
    const rows = await readSigningKeys(store.owner);
    const anyActive = rows.some((r) => r.status === 'active');
    ctx.out(['kid', 'status', 'created', 'stopped signing', 'retired', 'source'].join('\t'));
    if (configured && !rows.some((r) => r.kid === configured.kid)) {
      ctx.out([configured.kid, anyActive ? 'verifying' : 'active', '-', '-', '-', 'configuration'].join('\t'));
    }
    for (const r of rows) {
      const source = r.kid === configured?.kid ? 'configuration' : 'database';
      ctx.out([r.kid, r.status, iso(r.created_at), iso(r.deactivated_at), iso(r.retired_at), source].join('\t'));
    }
    if (!configured && !anyActive) ctx.err('the configured key is not on this machine (JWT_PRIVATE_KEY, or DATA_DIR/keys/jwt-private.pem): run this with the servers’ configuration');
    return 0;
  });
}

async function rotate(ctx: CliContext): Promise<number> {
  const { config } = ctx;
  const configured = await configuredKey(config);
  const secrets = await loadSecretBox({ secretKey: config.secretsKey, dataDir: config.dataDir });
  if (!config.secretsKey) ctx.err(`SECRETS_KEY is not set: the new key is sealed with ${path.join(config.dataDir, 'keys', 'secrets.key')}, which every instance must share`);
  const pair = generatePemPair();
  const fresh = await keysFromPem(pair.privatePem, pair.publicPem);
  return withOperatorStore(config, 'keys', async (store) => {
    const previous = await store.owner.transaction().execute(async (tx) => {
      const db = tx;
      await sql`lock table signing_keys in share row exclusive mode`.execute(db);
      const rows = await readSigningKeys(db);
      const active = rows.find((r) => r.status === 'active');
      let previousKid: string | null = active?.kid ?? null;
      if (active) {
        await sql`update signing_keys set status = 'verifying', deactivated_at = now() where kid = ${active.kid}`.execute(db);
      } else if (configured && !rows.some((r) => r.kid === configured.kid)) {
        // The configured key signed until now: recorded (public half) so it can be retired.
        await sql`insert into signing_keys (kid, public_pem, status, deactivated_at) values (${configured.kid}, ${publicPemOf(configured)}, 'verifying', now())`.execute(db);
        previousKid = configured.kid;
      }
      const sealed = secrets.seal(pair.privatePem, signingKeyAad(fresh.kid));
      await sql`insert into signing_keys (kid, public_pem, private_sealed, status) values (${fresh.kid}, ${pair.publicPem}, ${sealed}, 'active')`.execute(db);
      return previousKid;
    });
    ctx.out(`new signing key ${fresh.kid}: instances sign with it within seconds; /.well-known/jwks.json lists it`);
    if (previous) {
      const until = lastTokenExpiry(new Date(), config);
      ctx.out(`previous key ${previous} verifies the tokens it signed until they expire (${until.toISOString()}); then: quire keys retire ${previous}`);
    } else {
      ctx.err('the configured key is not on this machine: it keeps verifying on the servers; run this with the servers’ configuration to record it');
    }
    return 0;
  });
}

async function retire(ctx: CliContext): Promise<number> {
  const kid = ctx.args[0];
  if (!kid) throw new UsageError('the key id (kid) to retire is required');
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(kid)) throw new UsageError(`not a key id: ${kid}`);
  const force = ctx.flags.force === true;
  return withOperatorStore(ctx.config, 'keys', async (store) => {
    return store.owner.transaction().execute(async (tx) => {
      const db = tx;
      await sql`lock table signing_keys in share row exclusive mode`.execute(db);
      const row = (await readSigningKeys(db)).find((r: SigningKeyRow) => r.kid === kid);
      if (!row) {
        ctx.err(`no key ${kid} in the key table (quire keys list); a configured key is recorded there by the first rotation`);
        return 1;
      }
      if (row.status === 'retired') {
        ctx.out(`key ${kid} was retired at ${iso(row.retired_at)}`);
        return 0;
      }
      if (row.status === 'active') {
        ctx.err(`key ${kid} signs new tokens: rotate to a new key first (quire keys rotate)`);
        return 1;
      }
      const until = lastTokenExpiry(row.deactivated_at ?? row.created_at, ctx.config);
      if (until.getTime() > Date.now() && !force) {
        ctx.err(`tokens signed with ${kid} are valid until ${until.toISOString()}: retire it after then, or with --force to refuse them now (their holders sign in again)`);
        return 1;
      }
      await sql`update signing_keys set status = 'retired', retired_at = now() where kid = ${kid}`.execute(db);
      ctx.out(`key ${kid} retired: instances refuse its tokens within seconds`);
      return 0;
    });
  });
}

export const group: CliGroup = {
  summary: 'the keys that sign access tokens (rotation without a restart)',
  commands: {
    list: { usage: ' the signing keys and their state', run: list },
    rotate: { usage: ' a new signing key; the previous one verifies until its tokens expire', run: rotate },
    retire: { usage: '<kid> [--force]  refuse a key that no longer signs (--force: before its tokens expire)', run: retire },
  },
};
