/**
 * A portable backup of the scaled profile: Quire's schema from Postgres (`pg_dump`, custom
 * format: one consistent snapshot, taken while the servers run) and every object of the blob
 * store (filesystem or S3), in one tar.gz with a manifest. It complements, not replaces,
 * Postgres' continuous archiving and the bucket's versioning (docs/OPERATIONS.md): it is the
 * copy that moves to another cluster or bucket. Files are copied after the snapshot, so one
 * uploaded meanwhile may be in the archive without its row (the file collector's concern),
 * and one deleted meanwhile may be missing.
 *
 *   database.dump    pg_dump --format=custom --schema=<DATABASE_SCHEMA> --no-owner
 *   blobs/<key>      every object of the blob store
 *   manifest.json    last: format `quire-backup`, version, profile `postgres`, created at,
 *                    the schema and its migration level, every entry's size and SHA-256
 *
 * The Postgres client tools (`pg_dump`, `pg_restore`) must be installed, of the server's
 * major version or newer. Connection settings go to them in the environment (PGHOST, …),
 * so no password shows in the process list.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { ident } from '../../db/migrations/context.js';
import { ensureRoleAndSchema } from '../../db/migrate.js';
import type { BlobStore } from '../../lib/storage/blob-store.js';
import { BackupError, unpackAndCheck, writeBackupArchive, type BackupManifest } from './embedded.js';

/** libpq's environment for a connection URL (host, port, user, password, database, sslmode). */
export function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {};
  if (u.hostname) env.PGHOST = decodeURIComponent(u.hostname.replace(/^\[|\]$/g, ''));
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) env.PGDATABASE = db;
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  const host = u.searchParams.get('host');
  if (host) env.PGHOST = host;
  return env;
}

/** Where the client tools are looked for (their environment is only what they need: no secret of this process leaks to them). */
const TOOL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function run(tool: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(tool, args, { env: { PATH: TOOL_PATH, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new BackupError(missing ? `${tool} is not installed: install the Postgres client tools` : `${tool} failed: ${stderr.trim().split('\n').slice(-5).join('; ') || err.message}`));
    });
  });
}

async function migrationLevel(owner: Kysely<unknown>, schema: string): Promise<{ migration: string; migrations: number }> {
  const rows = await sql<{ name: string }>`select name from ${sql.raw(`${ident(schema)}.kysely_migration`)} order by name`.execute(owner);
  const names = rows.rows.map((r) => r.name);
  if (names.length === 0) throw new BackupError(`schema ${schema} holds no Quire database`);
  return { migration: names[names.length - 1]!, migrations: names.length };
}

export interface PostgresBackupOptions {
  url: string;
  owner: Kysely<unknown>;
  schema: string;
  blobs: BlobStore;
  out: string;
}

export async function createPostgresBackup(opts: PostgresBackupOptions): Promise<BackupManifest> {
  const level = await migrationLevel(opts.owner, opts.schema);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-pgdump-'));
  try {
    return await writeBackupArchive(opts.out, { profile: 'postgres', schema: { name: opts.schema, ...level } }, async (writer) => {
      const dump = path.join(tmp, 'database.dump');
      await run('pg_dump', ['--format=custom', '--no-owner', `--schema=${opts.schema}`, `--file=${dump}`], libpqEnv(opts.url));
      await writer.addFile('database.dump', dump);
      await fs.rm(dump, { force: true });
      for await (const b of opts.blobs.list('')) {
        const got = await opts.blobs.get(b.key);
        if (got) await writer.addStream(`blobs/${b.key}`, got.body, got.size);
      }
      return [];
    });
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

export interface PostgresRestoreOptions {
  archive: string;
  url: string;
  owner: Kysely<unknown>;
  schema: string;
  appRole: string;
  blobs: BlobStore;
  /** Replace the schema's tables when it has any. */
  force?: boolean;
}

export async function restorePostgresBackup(opts: PostgresRestoreOptions): Promise<BackupManifest> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-pgrestore-'));
  try {
    const manifest = await unpackAndCheck(opts.archive, tmp, opts.schema, opts.appRole);
    if (manifest.profile !== 'postgres') throw new BackupError(`${opts.archive} is a backup of the ${manifest.profile} profile: restore it with DATABASE_URL unset`);
    const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${opts.schema}`.execute(opts.owner);
    if ((tables.rows[0]?.n ?? 0) > 0 && !opts.force) throw new BackupError(`schema ${opts.schema} is not empty: restore into an empty schema, or pass --force to replace it`);
    // The application role first (the dump grants it its rights), then the schema as the dump makes it.
    await ensureRoleAndSchema(opts.owner, { schema: opts.schema, appRole: opts.appRole });
    await sql.raw(`drop schema ${ident(opts.schema)} cascade`).execute(opts.owner);
    await run('pg_restore', ['--no-owner', '--exit-on-error', '--single-transaction', `--dbname=${libpqEnv(opts.url).PGDATABASE ?? 'postgres'}`, path.join(tmp, 'database.dump')], libpqEnv(opts.url));
    for (const f of manifest.files) {
      if (!f.path.startsWith('blobs/')) continue;
      await opts.blobs.put(f.path.slice('blobs/'.length), createReadStream(path.join(tmp, ...f.path.split('/'))));
    }
    return manifest;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
