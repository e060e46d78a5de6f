/**
 * A workspace as a portable archive (tar.gz, format `quire-workspace-export`, version 1):
 * everything its people made, readable without Quire — JSON, Markdown, and the Yjs state
 * for tools that speak Yjs. Every read runs under the workspace's row-level security, so
 * nothing of another workspace can come along. Secrets stay out: no password hashes, second
 * factor secrets, token or key hashes, sealed SSO secrets, sessions or sign-in attempts.
 *
 *   workspace.json                       the workspace and its settings (SSO without its secret, ML settings)
 *   users.json                           people: id, email, name, role, dates, whether 2FA is on
 *   collections.json, workflows.json     folders of documents; review workflows
 *   invitations.json, api-keys.json      pending and past invitations; API keys (name, scopes, hint, dates)
 *   audit-log.json                       the workspace's audit log
 *   documents/<id>/document.json         metadata, permissions, labels, classifications, stars, public link (on/off)
 *   documents/<id>/content.yjs           the current content as one Yjs update (Y.applyUpdate)
 *   documents/<id>/content.json          … as ProseMirror JSON
 *   documents/<id>/content.md            … as Markdown
 *   documents/<id>/comments.json         comment threads (replies name their parent), mentions
 *   documents/<id>/versions.json         the version history, newest first
 *   documents/<id>/versions/<seq>.yjs    each version's content as one Yjs update …
 *   documents/<id>/versions/<seq>.json   … and as ProseMirror JSON
 *   documents/<id>/reviews.json          reviews with their tasks and events
 *   attachments.json                     every file's metadata (name, type, size, document, SHA-256)
 *   attachments/<id>                     every file's bytes
 *   manifest.json                        last: format, version, the workspace, counts, and every
 *                                        other entry's path, size and SHA-256
 *
 * Binary columns in the JSON files (comment anchors, version state vectors) are base64.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import * as Y from 'yjs';
import { withTenant, type Store, type Tx } from '../../db/store.js';
import { ident } from '../../db/migrations/context.js';
import { DocumentStore } from '../../core/document-store.js';
import { VersionStore } from '../../core/history.js';
import { toProseMirrorJSON } from '../../core/content.js';
import { docToMarkdown } from '../../core/convert/markdown.js';
import type { BlobStore } from '../../lib/storage/blob-store.js';
import { isTenantAdmin, loadActor } from '../../core/actor.js';
import type { Principal } from '../../core/tokens.js';
import { forbidden } from '../../lib/errors.js';
import { ArchiveWriter } from '../backup/archive.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';

export const EXPORT_FORMAT = 'quire-workspace-export';
export const EXPORT_VERSION = 1;

/** Columns never exported, by table: secrets and their hashes. */
const SECRET_COLUMNS: Record<string, string[]> = {
  users: ['password_hash', 'mfa_secret', 'mfa_pending_secret', 'mfa_last_step'],
  api_keys: ['key_hash'],
  invitations: ['token_hash'],
  document_public_links: ['token_hash'],
  sso_configs: ['client_secret_enc'],
  push_subscriptions: ['p256dh', 'auth'],
};

export interface ExportDeps {
  store: Store;
  blobs: BlobStore;
}

export interface ExportSummary {
  tenantId: string;
  name: string;
  documents: number;
  versions: number;
  comments: number;
  attachments: number;
  users: number;
  bytes: number;
}

type Row = Record<string, unknown>;

/** JSON for rows: binary as base64, everything else as JSON has it. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
        return Buffer.from((v as { data: number[] }).data).toString('base64');
      }
      return v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
    }),
  );
}

function strip(table: string, rows: Row[]): Row[] {
  const drop = SECRET_COLUMNS[table] ?? [];
  return rows.map((r) => {
    const out: Row = {};
    for (const [k, v] of Object.entries(r)) {
      if (drop.includes(k) || k === 'tenant_id') continue;
      out[k] = v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;
    }
    return out;
  });
}

async function rowsOf(tx: Tx, schema: string, table: string, where: { column: string; value: string } | null = null, order = 'created_at'): Promise<Row[]> {
  const t = sql.raw(`${ident(schema)}.${ident(table)}`);
  const filter = where ? sql`where ${sql.ref(where.column)} = ${where.value}` : sql``;
  const cols = await sql<{ column_name: string }>`select column_name from information_schema.columns where table_schema = ${schema} and table_name = ${table}`.execute(tx);
  const orderBy = cols.rows.some((c) => c.column_name === order) ? sql`order by ${sql.ref(order)}` : sql``;
  const rows = await sql<Row>`select * from ${t} ${filter} ${orderBy}`.execute(tx);
  return strip(table, rows.rows);
}

async function tableExists(tx: Tx, schema: string, table: string): Promise<boolean> {
  const r = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema} and table_name = ${table}`.execute(tx);
  return (r.rows[0]?.n ?? 0) > 0;
}

/** Writes the workspace's export archive to `out` (which must not exist). */
export async function exportWorkspace(deps: ExportDeps, tenantId: string, out: string): Promise<ExportSummary> {
  const { store, blobs } = deps;
  const schema = store.schema;
  const documents = new DocumentStore(store.db);
  const versions = new VersionStore(store.db, documents);
  const tenant = async <T>(fn: (tx: Tx) => Promise<T>) => withTenant(store.db, tenantId, fn);
  const w = new ArchiveWriter(out);
  try {
    const head = await tenant(async (tx) => {
      const ws = await rowsOf(tx, schema, 'tenants', { column: 'id', value: tenantId });
      if (ws.length === 0) throw new Error(`no workspace ${tenantId}`);
      return {
        workspace: ws[0]!,
        sso: (await rowsOf(tx, schema, 'sso_configs'))[0] ?? null,
        ml: (await rowsOf(tx, schema, 'ml_settings'))[0] ?? null,
        users: (await rowsOf(tx, schema, 'users')).map(({ mfa_enabled_at, ...u }) => ({ ...u, mfa_enabled: mfa_enabled_at !== null, mfa_enabled_at })),
        collections: await rowsOf(tx, schema, 'collections'),
        workflows: await rowsOf(tx, schema, 'workflows'),
        invitations: await rowsOf(tx, schema, 'invitations'),
        apiKeys: await rowsOf(tx, schema, 'api_keys'),
        audit: await rowsOf(tx, schema, 'audit_log'),
        documents: await rowsOf(tx, schema, 'documents'),
        attachments: await rowsOf(tx, schema, 'attachments'),
      };
    });
    const name = String(head.workspace.name);
    await w.addJson('workspace.json', plain({ ...head.workspace, sso: head.sso, mlSettings: head.ml }));
    await w.addJson('users.json', plain(head.users));
    await w.addJson('collections.json', plain(head.collections));
    await w.addJson('workflows.json', plain(head.workflows));
    await w.addJson('invitations.json', plain(head.invitations));
    await w.addJson('api-keys.json', plain(head.apiKeys));
    await w.addJson('audit-log.json', plain(head.audit));

    let versionCount = 0;
    let commentCount = 0;
    for (const d of head.documents) {
      const id = String(d.id);
      const dir = `documents/${id}`;
      const related = await tenant(async (tx) => {
        const by = { column: 'document_id', value: id };
        const reviews = await rowsOf(tx, schema, 'reviews', by);
        return {
          permissions: await rowsOf(tx, schema, 'document_permissions', by, 'updated_at'),
          labels: await rowsOf(tx, schema, 'document_labels', by, 'updated_at'),
          classifications: await rowsOf(tx, schema, 'document_classifications', by),
          stars: await rowsOf(tx, schema, 'document_stars', by, 'starred_at'),
          publicLink: (await tableExists(tx, schema, 'document_public_links')) ? (await rowsOf(tx, schema, 'document_public_links', by)).length > 0 : false,
          comments: await rowsOf(tx, schema, 'document_comments', by),
          mentions: await rowsOf(tx, schema, 'comment_mentions', by),
          reviews: {
            reviews,
            tasks: await rowsOf(tx, schema, 'review_tasks', by),
            events: await rowsOf(tx, schema, 'review_events', by),
          },
        };
      });
      await w.addJson(
        `${dir}/document.json`,
        plain({ ...d, permissions: related.permissions, labels: related.labels, classifications: related.classifications, stars: related.stars, publicLink: related.publicLink }),
      );
      const { doc } = await documents.loadInto(tenantId, id, new Y.Doc());
      try {
        const pm = toProseMirrorJSON(doc);
        await w.add(`${dir}/content.yjs`, Y.encodeStateAsUpdate(doc));
        await w.addJson(`${dir}/content.json`, pm);
        await w.add(`${dir}/content.md`, await docToMarkdown(pm));
      } finally {
        doc.destroy();
      }
      await w.addJson(`${dir}/comments.json`, plain({ comments: related.comments, mentions: related.mentions }));
      commentCount += related.comments.length;
      await w.addJson(`${dir}/reviews.json`, plain(related.reviews));

      const history: unknown[] = [];
      for (let before: number | undefined; ;) {
        const page = await versions.list(tenantId, id, { limit: 200, ...(before !== undefined ? { beforeSeq: before } : {}) });
        for (const v of page) {
          const state = await versions.readState(tenantId, id, v.id);
          if (!state) continue;
          const vdoc = new Y.Doc({ gc: false });
          try {
            Y.applyUpdate(vdoc, state.state);
            await w.add(`${dir}/versions/${v.seq}.yjs`, state.state);
            await w.addJson(`${dir}/versions/${v.seq}.json`, toProseMirrorJSON(vdoc));
          } finally {
            vdoc.destroy();
          }
          history.push({ id: v.id, seq: v.seq, kind: v.kind, name: v.name, createdBy: v.createdBy, createdAt: v.createdAt, authors: v.authors });
        }
        versionCount += page.length;
        if (page.length < 200) break;
        before = page[page.length - 1]!.seq;
      }
      await w.addJson(`${dir}/versions.json`, history);
    }

    const files: unknown[] = [];
    for (const a of head.attachments) {
      const id = String(a.id);
      const got = a.status === 'ready' ? await blobs.get(String(a.storage_key)) : null;
      let entry = null;
      if (got) entry = await w.addStream(`attachments/${id}`, got.body, got.size);
      const { storage_key: _key, ...meta } = a;
      files.push({ ...meta, path: entry ? entry.path : null, sha256: entry?.sha256 ?? null, bytes: entry?.bytes ?? 0 });
    }
    await w.addJson('attachments.json', plain(files));

    const summary: ExportSummary = {
      tenantId,
      name,
      documents: head.documents.length,
      versions: versionCount,
      comments: commentCount,
      attachments: files.length,
      users: head.users.length,
      bytes: w.files.reduce((n, f) => n + f.bytes, 0),
    };
    await w.addJson(
      'manifest.json',
      {
        format: EXPORT_FORMAT,
        version: EXPORT_VERSION,
        createdAt: new Date().toISOString(),
        workspace: { id: tenantId, name },
        counts: { documents: summary.documents, versions: summary.versions, comments: summary.comments, attachments: summary.attachments, users: summary.users },
        files: [...w.files],
      },
      { record: false },
    );
    await w.finish();
    return summary;
  } catch (e) {
    await w.abort();
    await fs.rm(out, { force: true });
    throw e;
  }
}

/**
 * `POST /api/v1/workspace/export`: an owner or admin exports their workspace. The archive is
 * written to a temporary file (the caller streams it, then removes it); audited as
 * `workspace.export` with its counts.
 */
export async function exportOwnWorkspace(svc: Services, principal: Principal, ip: string | null): Promise<{ file: string; size: number; name: string }> {
  const tenantId = principal.tenantId;
  await withTenant(svc.store.db, tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    if (!isTenantAdmin(actor.role)) throw forbidden('Only owners and admins export the workspace');
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-export-'));
  const file = path.join(dir, 'workspace.tar.gz');
  try {
    const summary = await exportWorkspace({ store: svc.store, blobs: svc.blobs }, tenantId, file);
    await withTenant(svc.store.db, tenantId, (tx) =>
      audit(tx, {
        tenantId,
        actorId: principal.userId,
        action: 'workspace.export',
        targetType: 'tenant',
        targetId: tenantId,
        ip,
        detail: { documents: summary.documents, versions: summary.versions, comments: summary.comments, attachments: summary.attachments, users: summary.users },
      }),
    );
    const { size } = await fs.stat(file);
    return { file, size, name: summary.name };
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
}
