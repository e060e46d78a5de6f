/** Document content over REST: text, ProseMirror JSON or the Yjs state; replace or append. */
import type { ContentFormat, ProseMirrorJson } from '../../contract/api.js';
import { DENIED } from '../../contract/sync.js';
import { withTenant } from '../../db/store.js';
import { ContentTooDeepError, extractText, toProseMirrorJSON } from '../../core/content.js';
import type { ContentInput, ContentService } from '../../sync/content-service.js';
import type { Principal } from '../../core/tokens.js';
import { AppError } from '../../lib/errors.js';
import type { Services } from '../services.js';
import { loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';
import { audit } from './audit.js';

/** The content service, or 503 `sync_unavailable` in a process that does not run it. */
export function contentService(svc: Services): ContentService {
  if (!svc.content) throw new AppError(503, 'sync_unavailable', 'Document content is served by the sync role, which this process does not run');
  return svc.content;
}

export async function getContent(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { id: string; format: ContentFormat },
): Promise<{ text: string } | { json: ProseMirrorJson } | { yjs: Uint8Array }> {
  const content = contentService(svc);
  await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'read'));
  if (props.format === 'yjs') return { yjs: await content.state(principal.tenantId, props.id) };
  try {
    return await content.read(principal.tenantId, props.id, (doc) => (props.format === 'text' ? { text: extractText(doc) } : { json: toProseMirrorJSON(doc) }));
  } catch (e) {
    // Stored before nesting was limited: a clear refusal (the Yjs state still reads).
    if (e instanceof ContentTooDeepError) throw new AppError(422, e.code, `${e.message}; read it with format=yjs`);
    throw busyOr(e);
  }
}

/** A document the sync tier would not load because the workspace's processing budget is spent: 429. */
export function busyOr(e: unknown): unknown {
  if ((e as { reason?: unknown } | null)?.reason !== DENIED.workspaceBusy) return e;
  return new AppError(429, 'workspace_busy', 'This workspace has used its processing budget for now; retry in a moment', undefined, { 'retry-after': '1' });
}

export async function putContent(svc: Services, principal: Principal, ip: string | null, props: { id: string; input: ContentInput; mode: 'replace' | 'append' }): Promise<void> {
  const content = contentService(svc);
  await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), props.id, 'write'));
  await content.write({ tenantId: principal.tenantId, userId: principal.userId }, props.id, props.input, props.mode).catch((e: unknown) => {
    throw busyOr(e);
  });
  await withTenant(svc.store.db, principal.tenantId, (tx) =>
    audit(tx, {
      tenantId: principal.tenantId,
      actorId: principal.userId,
      action: 'document.content_put',
      targetType: 'document',
      targetId: props.id,
      ip,
      detail: { mode: props.mode, format: props.input.json ? 'json' : 'text' },
    }),
  );
}
