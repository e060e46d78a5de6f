/**
 * `quire workspace list|create|admin|export|delete`: workspaces from the operator's side.
 * A workspace is named by its id or, when no other workspace has the same name, its name.
 * Passwords are never taken on the command line (other users of the machine see it): they
 * are read from `--password-file` (`-` for standard input), or made up and printed once.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { z } from 'zod';
import { createLogger } from '../../lib/log.js';
import { ident } from '../../db/migrations/context.js';
import { createAdmin, createWorkspace, OperatorError } from '../commands/operator-workspaces.js';
import { exportWorkspace } from '../commands/workspace-export.js';
import { deleteWorkspace, findWorkspace } from '../commands/workspace-delete.js';
import { openOperatorServices, type OperatorServices } from '../operator-services.js';
import { flag, UsageError, type CliContext, type CliGroup } from './command.js';

const Email = z.email().max(320);

function emailFlag(ctx: CliContext): string {
  const raw = flag(ctx, 'email', true);
  const parsed = Email.safeParse(raw.trim());
  if (!parsed.success) throw new UsageError(`--email=${raw} is not an email address`);
  return parsed.data;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(chunks).toString('utf8');
}

/** The password from `--password-file` (first line), or a new random one (`generated`). */
async function passwordOf(ctx: CliContext): Promise<{ password: string; generated: boolean }> {
  const file = flag(ctx, 'password-file');
  if (file === undefined) return { password: crypto.randomBytes(18).toString('base64url'), generated: true };
  const text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8').catch(() => null);
  if (text === null) throw new UsageError(`--password-file=${file} cannot be read`);
  const password = text.split(/\r?\n/)[0] ?? '';
  if (!password) throw new UsageError(`--password-file=${file} holds no password on its first line`);
  return { password, generated: false };
}

async function withServices(ctx: CliContext, fn: (svc: OperatorServices) => Promise<number>): Promise<number> {
  const svc = await openOperatorServices(ctx.config);
  try {
    return await fn(svc);
  } catch (e) {
    if (e instanceof OperatorError) {
      ctx.err(e.message);
      return 1;
    }
    throw e;
  } finally {
    await svc.close();
  }
}

async function workspaceArg(ctx: CliContext, svc: OperatorServices): Promise<{ id: string; name: string } | null> {
  const ref = ctx.args[0];
  if (!ref) throw new UsageError('name the workspace (its id, or its name)');
  const ws = await findWorkspace(svc.store, ref).catch((e: unknown) => {
    throw new OperatorError(e instanceof Error ? e.message : String(e));
  });
  if (!ws) ctx.err(`no workspace ${JSON.stringify(ref)} (quire workspace list shows them)`);
  return ws;
}

export const group: CliGroup = {
  summary: 'workspaces: list, create with a first owner, add an admin, export, delete',
  commands: {
    list: {
      usage: ' list workspaces (id, name, people, documents)',
      run: (ctx) =>
        withServices(ctx, async (svc) => {
          const s = (t: string) => sql.raw(`${ident(svc.store.schema)}.${ident(t)}`);
          const rows = await sql<{ id: string; name: string; users: number; documents: number }>`
            select t.id::text, t.name,
                   (select count(*)::int from ${s('users')} u where u.tenant_id = t.id) as users,
                   (select count(*)::int from ${s('documents')} d where d.tenant_id = t.id) as documents
              from ${s('tenants')} t order by t.created_at`.execute(svc.store.owner);
          for (const r of rows.rows) ctx.out(`${r.id}  ${r.name}  (${r.users} people, ${r.documents} documents)`);
          return 0;
        }),
    },
    create: {
      usage: '--name=<workspace name> --email=<owner email> [--password-file=<file>|-]  create a workspace and its first owner',
      run: async (ctx) => {
        const name = flag(ctx, 'name', true);
        const email = emailFlag(ctx);
        const { password, generated } = await passwordOf(ctx);
        return withServices(ctx, async (svc) => {
          const made = await createWorkspace(svc, { name, email, password });
          ctx.out(`workspace ${made.tenantId} created; owner ${email} (user ${made.userId})`);
          if (generated) ctx.out(`password: ${password}  (shown once: hand it over safely and have it changed)`);
          return 0;
        });
      },
    },
    admin: {
      usage: '<workspace> --email=<email> [--role=admin|owner] [--password-file=<file>|-]  add an admin (or owner) to a workspace',
      run: async (ctx) => {
        const email = emailFlag(ctx);
        const role = flag(ctx, 'role') ?? 'admin';
        if (role !== 'admin' && role !== 'owner') throw new UsageError('--role is admin or owner');
        const { password, generated } = await passwordOf(ctx);
        return withServices(ctx, async (svc) => {
          const ws = await workspaceArg(ctx, svc);
          if (!ws) return 1;
          const made = await createAdmin(svc, ws.id, { email, password, role });
          ctx.out(`${role} ${email} (user ${made.userId}) added to workspace ${ws.id} (${ws.name})`);
          if (generated) ctx.out(`password: ${password}  (shown once: hand it over safely and have it changed)`);
          return 0;
        });
      },
    },
    export: {
      usage: '<workspace> --out=<file.tar.gz>  write the workspace as a portable archive (docs/OPERATIONS.md)',
      run: async (ctx) => {
        const out = path.resolve(flag(ctx, 'out', true));
        return withServices(ctx, async (svc) => {
          const ws = await workspaceArg(ctx, svc);
          if (!ws) return 1;
          if (await fs.stat(out).catch(() => null)) {
            ctx.err(`${out} exists: name a new file`);
            return 1;
          }
          const s = await exportWorkspace(svc, ws.id, out);
          ctx.out(`workspace ${ws.id} (${ws.name}) exported to ${out}: ${s.documents} documents, ${s.versions} versions, ${s.comments} comments, ${s.attachments} files, ${s.users} people`);
          return 0;
        });
      },
    },
    delete: {
      usage: '<workspace> --confirm=<workspace id>  delete a workspace and everything in it, for good',
      run: async (ctx) => {
        const confirm = flag(ctx, 'confirm', true);
        return withServices(ctx, async (svc) => {
          const ws = await workspaceArg(ctx, svc);
          if (!ws) return 1;
          if (confirm.toLowerCase() !== ws.id) {
            ctx.err(`--confirm must be the workspace's id (${ws.id}): nothing was deleted`);
            return 1;
          }
          const log = createLogger(ctx.config.logLevel);
          const done = await deleteWorkspace({ store: svc.store, blobs: svc.blobs, fulltext: await svc.fulltext(), vectors: await svc.vectors(), log }, ws.id);
          const rows = Object.values(done.rows).reduce((n, c) => n + c, 0);
          ctx.out(`workspace ${ws.id} (${ws.name}) deleted: ${rows} rows in ${Object.keys(done.rows).length} tables, ${done.blobs} files, ${done.indexed} documents removed from the search indexes`);
          return 0;
        });
      },
    },
  },
};
