/** `GET /api/v1/audit`: the workspace's audit log for owners and admins, as pages or an NDJSON export. */
import { z } from 'zod';
import { AUDIT_MAX_LIMIT, type AuditQuery } from '../../contract/api.js';
import { exportAudit, listAudit } from '../commands/audit-log.js';
import { readQuery, type Expect } from '../http/validate.js';
import type { Res } from '../../lib/http/edge.js';
import { authenticate, type RouteContext } from './context.js';

const Time = z.iso.datetime({ offset: true });
const Query = z
  .strictObject({
    actor: z
      .uuid()
      .transform((v) => v.toLowerCase())
      .optional(),
    action: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[a-z0-9_.]+$/, 'letters, digits, "_" and "."')
      .optional(),
    target: z.string().min(1).max(200).optional(),
    from: Time.optional(),
    to: Time.optional(),
    cursor: z.string().min(1).max(200).optional(),
    limit: z.coerce.number().int().min(1).max(AUDIT_MAX_LIMIT).optional(),
    format: z.enum(['json', 'ndjson']).optional(),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: '"from" must not be after "to"', path: ['from'] });
type _Requests = [Expect<z.infer<typeof Query> extends AuditQuery ? true : false>];

export function auditRoutes(ctx: RouteContext): void {
  const { edge, svc } = ctx;
  edge.route(
    'get',
    '/api/v1/audit',
    async (req): Promise<Res> => {
      const p = await authenticate(ctx, req);
      const q = readQuery(req, Query);
      if (q.format === 'ndjson' || (req.headers['accept'] ?? '').includes('application/x-ndjson')) {
        const body = await exportAudit(svc, p, req.ip, q);
        return {
          status: 200,
          text: body,
          headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'content-disposition': 'attachment; filename="quire-audit.ndjson"', 'cache-control': 'no-store' },
        };
      }
      return { status: 200, json: await listAudit(svc, p, req.ip, q), headers: { 'cache-control': 'no-store' } };
    },
    {
      doc: {
        tag: 'Audit',
        summary: "Read the workspace's audit log",
        description: 'Owners and admins. Pages of entries, newest first; `format=ndjson` (or `Accept: application/x-ndjson`) exports every matching entry as newline-delimited JSON.',
        auth: 'bearer',
        query: Query,
        status: 200,
        response: [
          { contentType: 'application/json', schema: 'AuditPage', description: 'A page of entries' },
          { contentType: 'application/x-ndjson', description: 'With format=ndjson: one AuditEntry per line' },
        ],
      },
    },
  );
}
