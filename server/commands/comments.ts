/**
 * Comments on a document: threads anchored on a range of its text (or on the whole
 * document), replies, resolving and reopening, @mentions.
 *
 * Who may do what: reading a document reads its comments; `comment` access (and above)
 * starts threads, replies and resolves or reopens any thread; a comment's author edits its
 * body; the author or a document admin deletes it (a thread goes with its replies).
 *
 * Anchors are stored as Yjs relative positions (core/comment-anchors.ts) and resolved
 * against the document's current text on every read, so a list always says where each
 * thread is now, or that its text was deleted (detached). Every change is announced to the
 * document's open connections after commit (`quire.comments`), which read the list again.
 */
import type { Comment, CommentAnchorInput, CommentAuthor, CommentList, CreateCommentRequest, UpdateCommentRequest } from '../../contract/api.js';
import { withTenant, type Tx } from '../../db/store.js';
import { badRequest, forbidden, notFound } from '../../lib/errors.js';
import type { Principal } from '../../core/tokens.js';
import type { Services } from '../services.js';
import { loadActor } from '../../core/actor.js';
import { atLeast, requireLevel } from '../../core/access.js';
import { anchorFromOffsets, anchorFromPositions, resolveAnchor, TextMap } from '../../core/comment-anchors.js';
import { ContentTooDeepError } from '../../core/content.js';
import { AppError } from '../../lib/errors.js';
import { audit } from './audit.js';
import { busyOr, contentService } from './content.js';
import { mentionsIn } from '../../core/mentions.js';
import { feedEvent } from './feed.js';

/** Most mentions one comment records. */
export const MAX_MENTIONS = 20;
/** Most comments a document holds (threads and replies). */
export const MAX_COMMENTS_PER_DOCUMENT = 5_000;

const authorOf = (id: string | null, displayName: string | null, email: string | null): CommentAuthor => ({
  id,
  name: id === null || email === null ? 'Removed user' : (displayName ?? email.split('@')[0] ?? email),
});

interface Row {
  id: string;
  document_id: string;
  parent_id: string | null;
  author_id: string | null;
  author_name: string | null;
  author_email: string | null;
  body: string;
  anchor_start: string | null;
  anchor_end: string | null;
  quote: string;
  resolved_at: Date | null;
  resolved_by: string | null;
  resolver_name: string | null;
  resolver_email: string | null;
  created_at: Date;
  edited_at: Date | null;
}

async function rows(tx: Tx, documentId: string, commentId?: string): Promise<Row[]> {
  let q = tx
    .selectFrom('document_comments as c')
    .leftJoin('users as a', 'a.id', 'c.author_id')
    .leftJoin('users as r', 'r.id', 'c.resolved_by')
    .select([
      'c.id',
      'c.document_id',
      'c.parent_id',
      'c.author_id',
      'a.display_name as author_name',
      'a.email as author_email',
      'c.body',
      'c.anchor_start',
      'c.anchor_end',
      'c.quote',
      'c.resolved_at',
      'c.resolved_by',
      'r.display_name as resolver_name',
      'r.email as resolver_email',
      'c.created_at',
      'c.edited_at',
    ])
    .where('c.document_id', '=', documentId);
  if (commentId) q = q.where('c.id', '=', commentId);
  // Threads first, then replies; oldest first within each.
  return q
    .orderBy((eb) => eb.case().when('c.parent_id', 'is', null).then(0).else(1).end())
    .orderBy('c.created_at')
    .orderBy('c.id')
    .execute();
}

async function mentionsOf(tx: Tx, ids: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (ids.length === 0) return out;
  const found = await tx.selectFrom('comment_mentions').select(['comment_id', 'user_id', 'created_at']).where('comment_id', 'in', ids).orderBy('created_at').execute();
  for (const m of found) out.set(m.comment_id, [...(out.get(m.comment_id) ?? []), m.user_id]);
  return out;
}

function present(r: Row, mentions: string[], map: TextMap | null): Comment {
  let anchor: Comment['anchor'] = null;
  if (r.anchor_start !== null && r.anchor_end !== null) {
    const at = map ? resolveAnchor(map, r.anchor_start, r.anchor_end) : { from: null, to: null, detached: true };
    anchor = { start: r.anchor_start, end: r.anchor_end, from: at.from, to: at.to, quote: r.quote, detached: at.detached };
  }
  return {
    id: r.id,
    documentId: r.document_id,
    parentId: r.parent_id,
    author: authorOf(r.author_id, r.author_name, r.author_email),
    body: r.body,
    mentions,
    anchor,
    resolvedAt: r.resolved_at?.toISOString() ?? null,
    resolvedBy: r.resolved_at ? authorOf(r.resolved_by, r.resolver_name, r.resolver_email) : null,
    createdAt: r.created_at.toISOString(),
    editedAt: r.edited_at?.toISOString() ?? null,
  };
}

/** The document's text as it stands, for anchors. */
async function textMap(svc: Services, tenantId: string, documentId: string): Promise<TextMap> {
  try {
    return await contentService(svc).read(tenantId, documentId, (doc) => new TextMap(doc));
  } catch (e) {
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, e.message);
    throw busyOr(e);
  }
}

/** Rows with their mentions, read in a transaction; presented after it (the anchors read the document, which may need the store). */
interface Found {
  rows: Row[];
  mentions: Map<string, string[]>;
}

async function find(tx: Tx, documentId: string, commentId?: string): Promise<Found> {
  const found = await rows(tx, documentId, commentId);
  return {
    rows: found,
    mentions: await mentionsOf(
      tx,
      found.map((r) => r.id),
    ),
  };
}

async function presentFound(svc: Services, tenantId: string, documentId: string, found: Found): Promise<Comment[]> {
  const map = found.rows.some((r) => r.anchor_start !== null) ? await textMap(svc, tenantId, documentId) : null;
  return found.rows.map((r) => present(r, found.mentions.get(r.id) ?? [], map));
}

export async function listComments(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<CommentList> {
  const found = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    await requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read');
    return find(tx, props.id);
  });
  return { comments: await presentFound(svc, principal.tenantId, props.id, found) };
}

async function checkMentions(tx: Tx, body: string): Promise<string[]> {
  const ids = mentionsIn(body);
  if (ids.length > MAX_MENTIONS) throw badRequest('validation_failed', `A comment mentions at most ${MAX_MENTIONS} people`);
  if (ids.length === 0) return ids;
  const known = await tx.selectFrom('users').select('id').where('id', 'in', ids).where('disabled_at', 'is', null).execute();
  const missing = ids.filter((id) => !known.some((k) => k.id === id));
  if (missing.length > 0) throw badRequest('validation_failed', 'The comment mentions someone who is not in this workspace', { users: missing });
  return ids;
}

async function recordMentions(tx: Tx, tenantId: string, documentId: string, commentId: string, ids: string[]): Promise<void> {
  await tx.deleteFrom('comment_mentions').where('comment_id', '=', commentId).execute();
  if (ids.length > 0) {
    await tx
      .insertInto('comment_mentions')
      .values(ids.map((user_id) => ({ comment_id: commentId, tenant_id: tenantId, document_id: documentId, user_id })))
      .execute();
  }
}

async function anchorFor(svc: Services, tenantId: string, documentId: string, input: CommentAnchorInput): Promise<{ start: string; end: string; quote: string }> {
  const map = await textMap(svc, tenantId, documentId);
  const made = 'from' in input ? anchorFromOffsets(map, input.from, input.to) : anchorFromPositions(map, input.start, input.end);
  if (typeof made === 'string') throw badRequest('invalid_anchor', `The anchor is not usable: ${made}`);
  return made;
}

function announce(svc: Services, tenantId: string, documentId: string, commentId: string): void {
  svc.accessEvents.emit({ type: 'comments', tenantId, documentId, commentId });
}

export async function createComment(svc: Services, principal: Principal, ip: string | null, props: { id: string } & CreateCommentRequest): Promise<Comment> {
  if (props.parentId && props.anchor) throw badRequest('validation_failed', 'A reply follows its thread: send "parentId" or "anchor", not both');
  // Access first: the anchor reads the document, which a caller without access must not learn about.
  await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'comment'));
  const anchor = props.anchor ? await anchorFor(svc, principal.tenantId, props.id, props.anchor) : null;
  const created = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'comment');
    if (props.parentId) {
      const parent = await tx.selectFrom('document_comments').select(['id', 'parent_id']).where('id', '=', props.parentId).where('document_id', '=', props.id).executeTakeFirst();
      if (!parent) throw notFound('comment');
      if (parent.parent_id !== null) throw badRequest('not_a_thread', 'Reply to the thread’s first comment');
    }
    const count = await tx
      .selectFrom('document_comments')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('document_id', '=', props.id)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_COMMENTS_PER_DOCUMENT) throw badRequest('validation_failed', `A document holds at most ${MAX_COMMENTS_PER_DOCUMENT} comments`);
    const mentions = await checkMentions(tx, props.body);
    const row = await tx
      .insertInto('document_comments')
      .values({
        tenant_id: actor.tenantId,
        document_id: props.id,
        parent_id: props.parentId ?? null,
        author_id: actor.userId,
        body: props.body,
        anchor_start: anchor?.start ?? null,
        anchor_end: anchor?.end ?? null,
        quote: anchor?.quote ?? '',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await recordMentions(tx, actor.tenantId, props.id, row.id, mentions);
    // Mentioned people and the thread's other participants are told (the notifier).
    await feedEvent(tx, actor.tenantId, props.id, 'document.commented', row.id);
    return find(tx, props.id, row.id);
  });
  const comment = (await presentFound(svc, principal.tenantId, props.id, created))[0]!;
  announce(svc, principal.tenantId, props.id, comment.id);
  return comment;
}

export async function updateComment(svc: Services, principal: Principal, ip: string | null, props: { id: string; commentId: string } & UpdateCommentRequest): Promise<Comment> {
  const updated = await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    await requireLevel(tx, actor, props.id, 'read');
    const c = await tx.selectFrom('document_comments').select(['id', 'parent_id', 'author_id', 'resolved_at']).where('id', '=', props.commentId).where('document_id', '=', props.id).executeTakeFirst();
    if (!c) throw notFound('comment');
    await requireLevel(tx, actor, props.id, 'comment');
    if (props.body !== undefined) {
      if (c.author_id !== actor.userId) throw forbidden('Only its author changes a comment');
      const mentions = await checkMentions(tx, props.body);
      const before = (await tx.selectFrom('comment_mentions').select('user_id').where('comment_id', '=', c.id).execute()).map((m) => m.user_id);
      await tx.updateTable('document_comments').set({ body: props.body, edited_at: new Date() }).where('id', '=', c.id).execute();
      await recordMentions(tx, actor.tenantId, props.id, c.id, mentions);
      // Someone newly mentioned is told (each person once per comment: see the notifier).
      if (mentions.some((m) => !before.includes(m))) await feedEvent(tx, actor.tenantId, props.id, 'document.commented', c.id);
    }
    if (props.resolved !== undefined) {
      if (c.parent_id !== null) throw badRequest('not_a_thread', 'Resolve the thread (its first comment), not a reply');
      if (props.resolved !== (c.resolved_at !== null)) {
        await tx
          .updateTable('document_comments')
          .set(props.resolved ? { resolved_at: new Date(), resolved_by: actor.userId } : { resolved_at: null, resolved_by: null })
          .where('id', '=', c.id)
          .execute();
      }
    }
    return find(tx, props.id, c.id);
  });
  const comment = (await presentFound(svc, principal.tenantId, props.id, updated))[0]!;
  announce(svc, principal.tenantId, props.id, comment.id);
  return comment;
}

export async function deleteComment(svc: Services, principal: Principal, ip: string | null, props: { id: string; commentId: string }): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => {
    const actor = await loadActor(tx, principal, ip);
    const level = await requireLevel(tx, actor, props.id, 'read');
    const c = await tx.selectFrom('document_comments').select(['id', 'author_id', 'parent_id']).where('id', '=', props.commentId).where('document_id', '=', props.id).executeTakeFirst();
    if (!c) throw notFound('comment');
    const own = c.author_id === actor.userId && atLeast(level, 'comment');
    if (!own && !atLeast(level, 'admin')) throw forbidden('Only its author or a document admin deletes a comment');
    await tx.deleteFrom('document_comments').where('id', '=', c.id).execute();
    await audit(tx, {
      tenantId: actor.tenantId,
      actorId: actor.userId,
      action: 'comment.delete',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { commentId: c.id, thread: c.parent_id === null, own },
    });
  });
  announce(svc, principal.tenantId, props.id, props.commentId);
}
