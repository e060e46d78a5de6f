/**
 * `quire backup create|restore|verify`: backups of the embedded profile (everything under
 * DATA_DIR, taken with the server stopped; see `server/backup/embedded.ts`). The scaled
 * profile is backed up with Postgres' and the object store's own tools: docs/OPERATIONS.md.
 */
import path from 'node:path';
import { BackupError, createBackup, restoreBackup, verifyBackup, type BackupManifest } from '../backup/embedded.js';
import { flag, UsageError, type CliContext, type CliGroup } from './command.js';

function embeddedOnly(ctx: CliContext, what: string): number | null {
  if (!ctx.config.database.url) return null;
  ctx.err(`${what} is for the embedded profile (DATABASE_URL is set): back up Postgres and the object store with their own tools, as docs/OPERATIONS.md describes`);
  return 1;
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
  summary: 'back up and restore an embedded installation (DATA_DIR: database, files, keys)',
  commands: {
    create: {
      usage: '[--out=<file.tar.gz>]  write a backup of DATA_DIR (stop the server first)',
      run: async (ctx) => {
        const refused = embeddedOnly(ctx, 'quire backup create');
        if (refused !== null) return refused;
        const out = path.resolve(flag(ctx, 'out') ?? `quire-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
        return guarded(ctx, async () => {
          const m = await createBackup({ dataDir: ctx.config.dataDir, schema: ctx.config.database.schema, appRole: ctx.config.database.appRole, out });
          ctx.out(`backup written to ${out}: ${summary(m)}`);
          return 0;
        });
      },
    },
    restore: {
      usage: '<file.tar.gz> [--force]  restore a backup into DATA_DIR (empty, or replaced with --force; server stopped)',
      run: async (ctx) => {
        const refused = embeddedOnly(ctx, 'quire backup restore');
        if (refused !== null) return refused;
        const archive = path.resolve(archiveArg(ctx));
        return guarded(ctx, async () => {
          const m = await restoreBackup({ archive, dataDir: ctx.config.dataDir, schema: ctx.config.database.schema, appRole: ctx.config.database.appRole, force: ctx.flags.force === true });
          ctx.out(`restored into ${path.resolve(ctx.config.dataDir)}: ${summary(m)}`);
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
