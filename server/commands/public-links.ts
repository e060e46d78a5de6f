/**
 * Public read-only links: a document admin creates one (replacing the previous one, which
 * stops working), reads whether there is one, or revokes it; anyone holding the token reads
 * the document's title and content, without signing in.
 *
 * Tokens are `qpl_<tenantId>_<32 random bytes, base64url>`, stored as a SHA-256 hash (like
 * refresh tokens, `auth.ts`): the tenant in clear lets the link be looked up under that
 * tenant's row-level security, and the secret is never stored. The token has no `.`, so
 * the web app's `/p/<token>` address is an app route, not a file. The answer of a public
 * read names no id: title, content, last update and the workspace's name.
 *
 * A link answers only while its document exists (not deleted) and its workspace has public
 * links on (`tenants.public_links_enabled`); otherwise it answers 404 like an unknown
 * token. Links are kept through a delete and while the workspace has public links off:
 * restoring the document or turning public links back on makes them work again.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { PublicDocument, PublicLink, PublicLinkState } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { ContentTooDeepError, extractText, toProseMirrorJSON } from '../../core/content.js';
import { loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, forbidden } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { audit } from './audit.js';
import { busyOr } from './content.js';

const PREFIX = 'qpl_';
const TOKEN_RE = /^qpl_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

/** Where the web app shows a public link (relative to the server's origin). */
export const publicLinkPath = (token: string) => `/p/${token}`;

function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token).digest('hex');
}

/** The token's tenant, or null when it is not a token this server issues. */
export function parsePublicToken(token: string): { tenantId: string } | null {
  const m = TOKEN_RE.exec(token);
  return m?.[1] ? { tenantId: m[1] } : null;
}

/** The one answer for every link that does not answer: unknown, replaced, revoked, its document deleted, public links off. */
export const publicLinkNotFound = () => new AppError(404, 'public_link_not_found', 'This link does not exist or no longer works');

/**
 * A new public link for the document (admin on it), replacing the previous one. 403
 * `public_links_disabled` while the workspace has public links off; the workspace row is
 * read `FOR SHARE`, so a link is never created after turning them off has committed.
 */
export async function createPublicLink(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<PublicLink> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'admin');
    const workspace = await tx.selectFrom('tenants').select('public_links_enabled').where('id', '=', actor.tenantId).forShare().executeTakeFirstOrThrow();
    if (!workspace.public_links_enabled) throw forbidden('Public links are turned off in this workspace', 'public_links_disabled');
    const token = `${PREFIX}${actor.tenantId}_${crypto.randomBytes(32).toString('base64url')}`;
    const previous = await tx.selectFrom('document_public_links').select('created_at').where('document_id', '=', props.id).forUpdate().executeTakeFirst();
    const row = await tx
      .insertInto('document_public_links')
      .values({ tenant_id: actor.tenantId, document_id: props.id, token_hash: hashToken(token), created_by: actor.userId })
      .onConflict((oc) => oc.columns(['tenant_id', 'document_id']).doUpdateSet({ token_hash: (eb) => eb.ref('excluded.token_hash'), created_by: actor.userId, created_at: sql`now()` }))
      .returning('created_at')
      .executeTakeFirstOrThrow();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'document.public_link_create',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { replaced: Boolean(previous) },
    });
    return { token, url: publicLinkPath(token), createdAt: row.created_at.toISOString() };
  });
}

/** Whether the document has a public link, and since when (read access). The token is not stored, so the address cannot be shown again. */
export async function getPublicLinkState(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<PublicLinkState> {
  return withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    const row = await tx.selectFrom('document_public_links').select('created_at').where('document_id', '=', props.id).executeTakeFirst();
    return { active: Boolean(row), createdAt: row ? row.created_at.toISOString() : null, url: null };
  });
}

/** Revokes the document's public link (admin on it); revoking when there is none is not an error. */
export async function revokePublicLink(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'admin');
    const removed = await tx.deleteFrom('document_public_links').where('document_id', '=', props.id).executeTakeFirst();
    if (removed.numDeletedRows > 0n) {
      await audit(tx, { tenantId: actor.tenantId, actorId: actor.userId, action: 'document.public_link_revoke', targetType: 'document', targetId: props.id, ip });
    }
  });
}

/**
 * The document behind a public token, for anyone: its title, content (ProseMirror JSON and
 * text), last update and workspace name. Every token that does not answer — malformed,
 * another tenant's, unknown, replaced, revoked, its document deleted, its workspace's
 * public links off — is the same 404.
 */
export async function readPublicDocument(svc: Services, props: { token: string }): Promise<PublicDocument> {
  const { tenantId, link } = await publicLinkTarget(svc, props.token);
  if (!svc.content) throw new AppError(503, 'sync_unavailable', 'Document content is served by the sync role, which this process does not run');
  let content: Pick<PublicDocument, 'json' | 'text'>;
  try {
    content = await svc.content.read(tenantId, link.id, (doc) => ({ json: toProseMirrorJSON(doc), text: extractText(doc) }));
  } catch (e) {
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, e.message);
    throw busyOr(e);
  }
  return { title: link.title, ...content, updatedAt: link.updated_at.toISOString(), workspace: link.workspace };
}

/** The document a public token opens now (404 for every token that does not answer, as above). */
export async function publicLinkTarget(svc: Services, token: string) {
  const parsed = parsePublicToken(token);
  if (!parsed) throw publicLinkNotFound();
  const { tenantId } = parsed;
  const link = await withTenant(svc.store.db, tenantId, (tx) =>
    tx
      .selectFrom('document_public_links as l')
      .innerJoin('documents as d', 'd.id', 'l.document_id')
      .innerJoin('tenants as t', 't.id', 'l.tenant_id')
      .select(['d.id', 'd.title', 'd.updated_at', 't.name as workspace'])
      .where('l.token_hash', '=', hashToken(token))
      .where('d.deleted_at', 'is', null)
      .where('t.public_links_enabled', '=', true)
      .executeTakeFirst(),
  );
  if (!link) throw publicLinkNotFound();
  return { tenantId, link };
}
