/**
 * `quire backup create|restore|verify`: on the embedded profile, everything under DATA_DIR,
 * taken with the server stopped (`server/backup/embedded.ts`); on the scaled profile
 * (DATABASE_URL set), a pg_dump of Quire's schema and the blob store's objects, taken while
 * it runs (`server/backup/postgres.ts`) — a portable copy next to Postgres' continuous
 * archiving and the bucket's versioning (docs/OPERATIONS.md).
 */
import path from 'node:path';
import { BackupError, createBackup, restoreBackup, verifyBackup, type BackupManifest } from '../backup/embedded.js';
import { createPostgresBackup, restorePostgresBackup } from '../backup/postgres.js';
import { openOperatorServices, type OperatorServices } from '../operator-services.js';
import { flag, UsageError, type CliContext, type CliGroup } from './command.js';

/** Runs `fn` with the scaled profile's store and blob store. */
async function onPostgres(ctx: CliContext, fn: (svc: OperatorServices, url: string) => Promise<BackupManifest>): Promise<BackupManifest> {
  const svc = await openOperatorServices(ctx.config);
  try {
    return await fn(svc, ctx.config.database.url!);
  } finally {
    await svc.close();
  }
}

function summary(m: BackupManifest): string {
  const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
  return `${m.files.length} files, ${bytes} bytes, schema ${m.schema.name} at migration ${m.schema.migration}, taken ${m.createdAt}`;
}

async function guarded(ctx: CliContext, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BackupError) {
      ctx.err(e.message);
      return 1;
    }
    throw e;
  }
}

function archiveArg(ctx: CliContext): string {
  const file = ctx.args[0];
  if (!file) throw new UsageError('name the backup file');
  return file;
}

export const group: CliGroup = {
  summary: 'back up and restore an installation (database, files; on the embedded profile keys too)',
  commands: {
    create: {
      usage: '[--out=<file.tar.gz>]  write a backup (embedded: DATA_DIR, server stopped; scaled: pg_dump and the blob store)',
      run: async (ctx) => {
        const out = path.resolve(flag(ctx, 'out') ?? `quire-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
        return guarded(ctx, async () => {
          const { schema, appRole } = ctx.config.database;
          const m = ctx.config.database.url
            ? await onPostgres(ctx, (svc, url) => createPostgresBackup({ url, owner: svc.store.owner, schema, blobs: svc.blobs, out }))
            : await createBackup({ dataDir: ctx.config.dataDir, schema, appRole, out });
          ctx.out(`backup written to ${out}: ${summary(m)}`);
          return 0;
        });
      },
    },
    restore: {
      usage: '<file.tar.gz> [--force]  restore a backup into an empty DATA_DIR or schema (--force replaces it; servers stopped)',
      run: async (ctx) => {
        const archive = path.resolve(archiveArg(ctx));
        return guarded(ctx, async () => {
          const { schema, appRole } = ctx.config.database;
          const force = ctx.flags.force === true;
          const m = ctx.config.database.url
            ? await onPostgres(ctx, (svc, url) => restorePostgresBackup({ archive, url, owner: svc.store.owner, schema, appRole, blobs: svc.blobs, force }))
            : await restoreBackup({ archive, dataDir: ctx.config.dataDir, schema, appRole, force });
          ctx.out(`restored into ${ctx.config.database.url ? `schema ${schema} and the blob store` : path.resolve(ctx.config.dataDir)}: ${summary(m)}`);
          return 0;
        });
      },
    },
    verify: {
      usage: '<file.tar.gz>  check a backup (every checksum, and that this build can restore it)',
      run: async (ctx) => {
        const archive = path.resolve(archiveArg(ctx));
        return guarded(ctx, async () => {
          const m = await verifyBackup(archive, { schema: ctx.config.database.schema, appRole: ctx.config.database.appRole });
          ctx.out(`backup is intact: ${summary(m)}`);
          return 0;
        });
      },
    },
  },
};
