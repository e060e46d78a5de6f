/**
 * `startServer(t, opts)`: a real Quire on port 0, in its own namespace (a Postgres schema,
 * a Redis key prefix), torn down with the test. The same helper serves both dialects.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { startQuire, type Quire } from '../../server/app.js';
import { keysFromPem, generatePemPair, type SigningKeys } from '../../core/keys.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { openPGlite } from '../../db/store.js';
import type { PGliteHandle } from '../../db/pglite-dialect.js';
import { TEST_DATABASE_URL, TEST_MEILI_URL, TEST_NATS_URL, TEST_REDIS_URL, TEST_SECRETS_KEY } from './env.js';
import { ApiClient } from './api.js';
import { eventually } from './wait.js';

export type Dialect = 'postgres' | 'pglite';
export const DIALECTS: Dialect[] = ['postgres', 'pglite'];

let keysPromise: Promise<{ keys: SigningKeys; privatePem: string; publicPem: string }> | undefined;
/** One key pair per test process (RSA generation is the slow part). */
export function testKeys(): Promise<{ keys: SigningKeys; privatePem: string; publicPem: string }> {
  keysPromise ??= (async () => {
    const pair = generatePemPair();
    return { keys: await keysFromPem(pair.privatePem, pair.publicPem), ...pair };
  })();
  return keysPromise;
}

let pglitePromise: Promise<PGliteHandle> | undefined;
/** One in-memory PGlite per test process; each test gets its own schema in it. */
export function sharedPGlite(): Promise<PGliteHandle> {
  pglitePromise ??= openPGlite();
  return pglitePromise;
}

export function uniqueName(prefix = 't'): string {
  return `${prefix}_${crypto.randomBytes(6).toString('hex')}`;
}

/** Drops a test schema through a fresh owner connection (the server may be closed already). */
export async function dropSchema(kind: Dialect, schema: string): Promise<void> {
  const { Kysely: KyselyCtor, PostgresDialect } = await import('kysely');
  let db: Kysely<unknown>;
  if (kind === 'postgres') {
    const pg = (await import('pg')).default;
    db = new KyselyCtor<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 1 }) }) });
  } else {
    const { PGliteDialect } = await import('../../db/pglite-dialect.js');
    db = new KyselyCtor<unknown>({ dialect: new PGliteDialect(await sharedPGlite(), 'reset role; set search_path to public') });
  }
  try {
    // A process that is still winding down (a child worker) can deadlock the drop: try
    // again until it has let go. Any other error ends the drop at once.
    let failed: { error: unknown } | undefined;
    await eventually(
      async () => {
        try {
          await sql.raw(`drop schema if exists "${schema}" cascade`).execute(db);
        } catch (e) {
          if ((e as { code?: string }).code === '40P01') throw e;
          failed = { error: e };
        }
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `drop schema ${schema}: still deadlocked with a process winding down` },
    );
    if (failed) throw failed.error;
  } finally {
    await db.destroy();
  }
}

export async function dropStream(stream: string): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}

export interface TestServer {
  quire: Quire;
  url: string;
  api: ApiClient;
  config: Config;
  schema: string;
}

export interface StartServerOptions {
  dialect?: Dialect;
  env?: Record<string, string>;
  redis?: boolean;
  /** Join an existing namespace (another instance on the same database); it is not dropped by this one. */
  schema?: string;
  /** Change feed on NATS JetStream (a stream and subject prefix of its own). */
  nats?: boolean;
  /** Full-text search on Meilisearch (an index of its own). */
  meili?: boolean;
  /** Roles to run (default: all). */
  roles?: ('api' | 'sync' | 'worker')[];
  /** Name the new schema (default: random). */
  schemaName?: string;
}

/** Rate limits no polling test reaches (servers started as child processes take these too). */
export const UNLIMITED_RATE_LIMITS: Record<string, string> = {
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_IP_BURST: '100000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_BURST: '100000',
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  RATE_LIMIT_AUTH_BURST: '100000',
  RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE: '1000000',
  RATE_LIMIT_LOGIN_ACCOUNT_BURST: '100000',
  RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
  RATE_LIMIT_PUBLIC_BURST: '100000',
};

export { TEST_SECRETS_KEY };

export function testConfig(schema: string, opts: StartServerOptions, dataDir: string): Config {
  const dialect = opts.dialect ?? 'postgres';
  return loadConfig(
    {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_SCHEMA: schema,
      PASSWORD_SCRYPT_COST: '10',
      // Instances of one test share a database and so its sealed secrets, as deployments must.
      SECRETS_KEY: TEST_SECRETS_KEY,
      // The sentence encoder costs CPU; tests of semantic search turn it on.
      SEMANTIC_SEARCH: 'false',
      // The browser tests serve the web app; the rest do not need it.
      WEB_APP: 'false',
      // Tests poll; rate-limit tests set their own limits.
      ...UNLIMITED_RATE_LIMITS,
      REDIS_PREFIX: `quire-test:${schema}:`,
      ...(dialect === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : {}),
      ...(opts.redis ? { REDIS_URL: TEST_REDIS_URL } : {}),
      ...(opts.nats ? { NATS_URL: TEST_NATS_URL, NATS_STREAM: `QT_${schema}`, NATS_SUBJECT_PREFIX: schema.replace(/_/g, '-') } : {}),
      ...(opts.meili ? { MEILI_URL: TEST_MEILI_URL, MEILI_INDEX: `qt-${schema}` } : {}),
      ...opts.env,
    },
    ['node', 'main', ...(opts.roles ? [`--roles=${opts.roles.join(',')}`] : [])],
  );
}

/** Servers open per namespace; the namespace is dropped when the last of them closes. */
const openPerSchema = new Map<string, { open: number; cleanup: () => Promise<void> }>();

export async function startServer(t: TestContext, opts: StartServerOptions = {}): Promise<TestServer> {
  const joining = Boolean(opts.schema);
  const schema = opts.schema ?? opts.schemaName ?? uniqueName('t');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-test-'));
  const config = testConfig(schema, opts, dataDir);
  const { keys } = await testKeys();
  const quire = await startQuire({
    config,
    keys,
    pglite: (opts.dialect ?? 'postgres') === 'pglite' ? await sharedPGlite() : undefined,
  });
  const url = `http://127.0.0.1:${quire.port}`;
  const entry = openPerSchema.get(schema) ?? { open: 0, cleanup: async () => undefined };
  entry.open++;
  if (!joining) {
    entry.cleanup = async () => {
      await dropSchema(quire.store.kind, schema);
      if (opts.nats) await dropStream(config.feed.stream);
      if (opts.meili) await fetch(`${TEST_MEILI_URL}/indexes/${config.search.meiliIndex}`, { method: 'DELETE' }).catch(() => undefined);
    };
  }
  openPerSchema.set(schema, entry);
  t.after(async () => {
    await quire.close();
    await fs.rm(dataDir, { recursive: true, force: true });
    // Another instance on the same schema may still be running (and writing): drop last.
    if (--entry.open === 0) {
      openPerSchema.delete(schema);
      await entry.cleanup();
    }
  });
  return { quire, url, api: new ApiClient(url), config, schema };
}
