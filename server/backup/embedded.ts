/**
 * Backup and restore of the embedded profile: everything Quire keeps is under `DATA_DIR`
 * (the PGlite database in `pg/`, file bytes in `blobs/`, signing, secrets and push keys in
 * `keys/`), so a backup is that folder as one tar.gz with a manifest.
 *
 * A backup is taken offline: the embedded database is one process's, and the folder is
 * locked while a server (or another operator command) has it open (`db/store.ts`,
 * `quire.lock`), so `createBackup` refuses while a server runs. It opens the database
 * itself first — which replays the log when the last server did not shut down cleanly —
 * reads the schema's migration level, shuts it down cleanly, then archives the files,
 * holding the lock throughout, so no server starts in the middle.
 *
 * Archive layout (format `quire-backup`, version 1):
 *
 *   data/<path>      every folder and file under DATA_DIR (but the lock and unfinished
 *                    blob writes)
 *   manifest.json    last: format, version, created at, the schema's migration level,
 *                    the folders, and every data file's path, size and SHA-256
 *
 * A restore reads the archive into a folder beside `DATA_DIR`, checks every file against
 * the manifest (nothing missing, nothing extra, every checksum) and refuses a backup whose
 * schema is newer than this build's migrations; only then does it put the files in place.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { z } from 'zod';
import { DATA_DIR_LOCK, dataDirHolder, lockDataDir, openPGlite, openStore } from '../../db/store.js';
import { migrations } from '../../db/migrations/index.js';
import { ident } from '../../db/migrations/context.js';
import { ArchiveWriter, checkEntryPath, extractArchive, type ArchivedFile } from './archive.js';

export const BACKUP_FORMAT = 'quire-backup';
export const BACKUP_VERSION = 1;

const FileEntry = z.strictObject({ path: z.string().min(1).max(1024), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export const BackupManifest = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.number().int().min(1),
  /** `embedded`: DATA_DIR's files; `postgres`: a pg_dump of the schema and the blob store's objects (postgres.ts). */
  profile: z.enum(['embedded', 'postgres']),
  createdAt: z.string(),
  schema: z.object({ name: z.string(), migration: z.string(), migrations: z.number().int().min(0) }),
  /** Folders to make even when empty. */
  directories: z.array(z.string().min(1).max(1024)).default([]),
  files: z.array(FileEntry),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

export class BackupError extends Error {}

/** Files under DATA_DIR that are not part of a backup: the lock, and blob writes that never finished. */
function skipped(rel: string): boolean {
  return rel === DATA_DIR_LOCK || rel === 'blobs/.tmp' || rel.startsWith('blobs/.tmp/');
}

/** Every folder and file under `root` (but the skipped ones), folders before what they hold. */
async function walk(root: string, rel = '', out: { dirs: string[]; files: string[] } = { dirs: [], files: [] }): Promise<{ dirs: string[]; files: string[] }> {
  const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (skipped(r)) continue;
    if (e.isDirectory()) {
      // The database needs its empty folders (pg_tblspc, pg_notify, …) to start.
      out.dirs.push(r);
      await walk(root, r, out);
    } else if (e.isFile()) out.files.push(r);
  }
  return out;
}

/** This build's migrations, in order. */
function knownMigrations(schema: string, appRole: string): string[] {
  return Object.keys(migrations({ schema, appRole })).sort();
}

/** The latest migration the embedded database in `dataDir` ran (the caller holds the lock). */
async function migrationLevel(dataDir: string, schema: string, appRole: string): Promise<{ migration: string; migrations: number }> {
  const handle = await openPGlite(dataDir, { locked: true });
  try {
    const store = await openStore({ schema, appRole, pglite: handle, migrate: false });
    try {
      const rows = await sql<{ name: string }>`select name from ${sql.raw(`${ident(schema)}.kysely_migration`)} order by name`.execute(store.owner);
      const names = rows.rows.map((r) => r.name);
      if (names.length === 0) throw new BackupError(`${dataDir} holds no Quire database (no migration has run in schema ${schema})`);
      return { migration: names[names.length - 1]!, migrations: names.length };
    } finally {
      await store.destroy();
    }
  } finally {
    await handle.pg.close();
  }
}

export interface BackupOptions {
  dataDir: string;
  /** The database schema Quire uses (`DATABASE_SCHEMA`). */
  schema: string;
  appRole: string;
  /** The archive to write (must not exist). */
  out: string;
}

/**
 * Writes a backup archive to `out`: `fill` adds the contents and returns the folders it
 * added; the manifest (with every file's checksum) goes last. On a failure the partial
 * archive is removed.
 */
export async function writeBackupArchive(out: string, head: Pick<BackupManifest, 'profile' | 'schema'>, fill: (writer: ArchiveWriter) => Promise<string[]>): Promise<BackupManifest> {
  const writer = new ArchiveWriter(out);
  try {
    const directories = await fill(writer);
    const manifest: BackupManifest = { format: BACKUP_FORMAT, version: BACKUP_VERSION, ...head, createdAt: new Date().toISOString(), directories, files: [...writer.files] };
    await writer.addJson('manifest.json', manifest, { record: false });
    await writer.finish();
    return manifest;
  } catch (e) {
    await writer.abort();
    await fs.rm(out, { force: true });
    throw e;
  }
}

/** Writes a backup of `dataDir` to `out`; refuses while the folder is in use. */
export async function createBackup(opts: BackupOptions): Promise<BackupManifest> {
  const stat = await fs.stat(path.join(opts.dataDir, 'pg')).catch(() => null);
  if (!stat?.isDirectory()) throw new BackupError(`${path.resolve(opts.dataDir)} holds no embedded database (no pg/ folder): is DATA_DIR right?`);
  const unlock = await lockDataDir(opts.dataDir).catch((e: unknown) => {
    throw new BackupError(`${e instanceof Error ? e.message : String(e)}: an embedded backup is taken with the server stopped`);
  });
  try {
    const level = await migrationLevel(opts.dataDir, opts.schema, opts.appRole);
    return await writeBackupArchive(opts.out, { profile: 'embedded', schema: { name: opts.schema, ...level } }, async (writer) => {
      const { dirs, files } = await walk(opts.dataDir);
      for (const rel of dirs) await writer.addDirectory(`data/${rel}`);
      for (const rel of files) await writer.addFile(`data/${rel}`, path.join(opts.dataDir, ...rel.split('/')));
      return dirs.map((d) => `data/${d}`);
    });
  } finally {
    await unlock();
  }
}

/** Reads `archive` into `dir` and checks it against its manifest; resolves to the manifest. */
export async function unpackAndCheck(archive: string, dir: string, schema: string, appRole: string): Promise<BackupManifest> {
  let files: ArchivedFile[];
  try {
    files = await extractArchive(archive, dir);
  } catch (e) {
    throw new BackupError(`${archive} cannot be read as a Quire backup: ${e instanceof Error ? e.message : String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    throw new BackupError(`${archive} has no readable manifest.json: not a Quire backup`);
  }
  const parsed = BackupManifest.safeParse(raw);
  if (!parsed.success) throw new BackupError(`${archive}: the manifest is not a Quire backup's (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`);
  const manifest = parsed.data;
  if (manifest.version > BACKUP_VERSION) throw new BackupError(`${archive} is a version ${manifest.version} backup; this build reads version ${BACKUP_VERSION} and older`);
  const found = new Map(files.filter((f) => f.path !== 'manifest.json').map((f) => [f.path, f]));
  const problems: string[] = [];
  for (const want of manifest.files) {
    const got = found.get(want.path);
    found.delete(want.path);
    if (!got) problems.push(`${want.path} is missing`);
    else if (got.bytes !== want.bytes || got.sha256 !== want.sha256) problems.push(`${want.path} does not match its checksum`);
  }
  for (const extra of found.keys()) problems.push(`${extra} is not in the manifest`);
  for (const d of manifest.directories) await fs.mkdir(path.join(dir, ...checkEntryPath(d).split('/')), { recursive: true });
  if (problems.length > 0) throw new BackupError(`${archive} is damaged: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''}`);
  const known = knownMigrations(schema, appRole);
  if (!known.includes(manifest.schema.migration)) {
    throw new BackupError(
      `${archive} was taken at schema migration ${manifest.schema.migration}, which this build does not have (its latest is ${known[known.length - 1] ?? 'none'}): restore it with the version of Quire that made it, or a newer one`,
    );
  }
  if (manifest.schema.name !== schema) throw new BackupError(`${archive} holds database schema "${manifest.schema.name}", but DATABASE_SCHEMA is "${schema}"`);
  return manifest;
}

/** Checks a backup without restoring it: every file against its checksum, and the schema level. */
export async function verifyBackup(archive: string, opts: { schema: string; appRole: string; tmpDir?: string }): Promise<BackupManifest> {
  const dir = await fs.mkdtemp(path.join(opts.tmpDir ?? path.dirname(path.resolve(archive)), '.quire-verify-'));
  try {
    return await unpackAndCheck(archive, dir, opts.schema, opts.appRole);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export interface RestoreOptions {
  archive: string;
  dataDir: string;
  schema: string;
  appRole: string;
  /** Replace what `dataDir` holds (otherwise it must be empty or absent). */
  force?: boolean;
}

/** Restores a backup into `dataDir`, verified first; the folder is locked throughout. */
export async function restoreBackup(opts: RestoreOptions): Promise<BackupManifest> {
  const dataDir = path.resolve(opts.dataDir);
  const present = (await fs.readdir(dataDir).catch(() => [] as string[])).filter((n) => n !== DATA_DIR_LOCK);
  if (present.length > 0 && !opts.force) throw new BackupError(`${dataDir} is not empty: restore into an empty DATA_DIR, or pass --force to replace what it holds`);
  const holder = await dataDirHolder(dataDir).catch(() => null);
  if (holder !== null) throw new BackupError(`${dataDir} is in use by process ${holder}: stop the server before restoring`);
  const unlock = await lockDataDir(dataDir);
  // Read beside DATA_DIR (same filesystem: the files are moved into place, not copied).
  const staging = path.join(path.dirname(dataDir), `.${path.basename(dataDir)}.restore-${crypto.randomBytes(4).toString('hex')}`);
  await fs.mkdir(staging);
  try {
    const manifest = await unpackAndCheck(opts.archive, staging, opts.schema, opts.appRole);
    if (manifest.profile !== 'embedded') throw new BackupError(`${opts.archive} is a backup of the ${manifest.profile} profile: restore it with DATABASE_URL set`);
    for (const name of present) await fs.rm(path.join(dataDir, name), { recursive: true, force: true });
    const data = path.join(staging, 'data');
    for (const name of await fs.readdir(data).catch(() => [] as string[])) await fs.rename(path.join(data, name), path.join(dataDir, name));
    // Keys are secrets: readable by their owner only, as the server writes them.
    const keys = path.join(dataDir, 'keys');
    for (const name of await fs.readdir(keys).catch(() => [] as string[])) await fs.chmod(path.join(keys, name), 0o600);
    return manifest;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    await unlock();
  }
}
