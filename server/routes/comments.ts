/** `/api/v1/documents/:id/comments*`: list, start a thread or reply, edit or resolve, delete. */
import { z } from 'zod';
import { MAX_COMMENT_CHARS, type CommentList, type CreateCommentRequest, type UpdateCommentRequest } from '../../contract/api.js';
import { MAX_POSITION_CHARS } from '../../core/comment-anchors.js';
import { createComment, deleteComment, listComments, updateComment } from '../commands/comments.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

/** Text offsets are bounded by the largest document text a write accepts. */
const Offset = z.number().int().min(0).max(100_000_000);
const Position = z.string().min(1).max(MAX_POSITION_CHARS);
const Anchor = z.union([z.strictObject({ from: Offset, to: Offset }), z.strictObject({ start: Position, end: Position })]);
/** A body: trimmed, not empty, at most `MAX_COMMENT_CHARS`. */
const Body = z.string().trim().min(1).max(MAX_COMMENT_CHARS);
const CreateComment = z.strictObject({
  body: Body,
  anchor: Anchor.optional(),
  parentId: z
    .uuid()
    .transform((v) => v.toLowerCase())
    .optional(),
});
const UpdateComment = z
  .strictObject({ body: Body.optional(), resolved: z.boolean().optional() })
  .refine((b) => b.body !== undefined || b.resolved !== undefined, { message: 'send "body", "resolved" or both' });
type _Requests = [Expect<Accepts<typeof CreateComment, CreateCommentRequest>>, Expect<Accepts<typeof UpdateComment, UpdateCommentRequest>>];

export function commentRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/documents/:id/comments',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: (await listComments(svc, p, req.ip, { id: pathId(req, 'id', 'document') })) satisfies CommentList };
    },
    { doc: { tag: 'Comments', summary: "List a document's comments", auth: 'bearer', params: { id: 'The document' }, status: 200, response: 'CommentList' } },
  );
  edge.route(
    'post',
    '/api/v1/documents/:id/comments',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const body = readJson(req, CreateComment);
      return { status: 201, json: await createComment(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Comments',
        summary: 'Comment on a document or reply',
        description: 'A new thread (optionally anchored to a text range) or, with `parentId`, a reply. Needs `comment` access.',
        auth: 'bearer',
        params: { id: 'The document' },
        body: CreateComment,
        status: 201,
        response: 'Comment',
        example: { request: { body: 'Should this be “quarterly”?', anchor: { from: 12, to: 21 } } },
      },
    },
  );
  edge.route(
    'patch',
    '/api/v1/documents/:id/comments/:commentId',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'document');
      const commentId = pathId(req, 'commentId', 'comment');
      const body = readJson(req, UpdateComment);
      return { status: 200, json: await updateComment(svc, p, req.ip, { id, commentId, ...body }) };
    },
    {
      doc: {
        tag: 'Comments',
        summary: 'Edit or resolve a comment',
        auth: 'bearer',
        params: { id: 'The document', commentId: 'The comment' },
        body: UpdateComment,
        status: 200,
        response: 'Comment',
        example: { request: { resolved: true } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/documents/:id/comments/:commentId',
    async (req) => {
      const p = await authenticate(ctx, req);
      await deleteComment(svc, p, req.ip, { id: pathId(req, 'id', 'document'), commentId: pathId(req, 'commentId', 'comment') });
      return { status: 204 };
    },
    { doc: { tag: 'Comments', summary: 'Delete a comment', auth: 'bearer', params: { id: 'The document', commentId: 'The comment' }, status: 204 } },
  );
}
