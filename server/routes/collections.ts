/** `/api/v1/collections*`: the workspace's folders (every member who is not a guest). */
import { z } from 'zod';
import type { CreateCollectionRequest, UpdateCollectionRequest } from '../../contract/api.js';
import { createCollection, deleteCollection, listCollections, updateCollection } from '../commands/collections.js';
import { readJson, type Accepts, type Expect } from '../http/validate.js';
import { authenticate, pathId, type RouteContext } from './context.js';

const Name = z.string().trim().min(1).max(120);
/** A parent collection: a UUID in any case, or null for the top level. */
const ParentRef = z
  .uuid()
  .transform((v) => v.toLowerCase())
  .nullable();
const CreateCollection = z.strictObject({ name: Name, parentId: ParentRef.optional() });
const PatchCollection = z
  .strictObject({ name: Name.optional(), parentId: ParentRef.optional() })
  .refine((b) => b.name !== undefined || b.parentId !== undefined, { message: 'send at least one of "name" or "parentId"' });
// Bodies are the contract's types (contract/api.ts): a change on one side alone fails tsc.
type _Requests = [Expect<Accepts<typeof CreateCollection, CreateCollectionRequest>>, Expect<Accepts<typeof PatchCollection, UpdateCollectionRequest>>];

export function collectionRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/collections',
    async (req) => {
      const p = await authenticate(ctx, req);
      return { status: 200, json: await listCollections(svc, p, req.ip) };
    },
    { doc: { tag: 'Collections', summary: "List the workspace's collections", auth: 'bearer', status: 200, response: 'CollectionList' } },
  );
  edge.route(
    'post',
    '/api/v1/collections',
    async (req) => {
      const p = await authenticate(ctx, req);
      const body = readJson(req, CreateCollection);
      return { status: 201, json: await createCollection(svc, p, req.ip, { name: body.name, parentId: body.parentId ?? null }) };
    },
    {
      doc: {
        tag: 'Collections',
        summary: 'Create a collection',
        description: 'A folder, at the top level or inside `parentId`.',
        auth: 'bearer',
        body: CreateCollection,
        status: 201,
        response: 'Collection',
        example: { request: { name: 'Handbook', parentId: null } },
      },
    },
  );
  edge.route(
    'patch',
    '/api/v1/collections/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      const id = pathId(req, 'id', 'collection');
      const body = readJson(req, PatchCollection);
      return { status: 200, json: await updateCollection(svc, p, req.ip, { id, ...body }) };
    },
    {
      doc: {
        tag: 'Collections',
        summary: 'Rename or move a collection',
        auth: 'bearer',
        body: PatchCollection,
        status: 200,
        response: 'Collection',
        example: { request: { name: 'Team handbook' } },
      },
    },
  );
  edge.route(
    'del',
    '/api/v1/collections/:id',
    async (req) => {
      const p = await authenticate(ctx, req);
      await deleteCollection(svc, p, req.ip, { id: pathId(req, 'id', 'collection') });
      return { status: 204 };
    },
    { doc: { tag: 'Collections', summary: 'Delete a collection', description: 'Its documents move to the top level.', auth: 'bearer', status: 204 } },
  );
}
