/** Search across the documents the caller may read, in the caller's tenant. */
import { withTenant } from '../../db/store.js';
import type { SearchHit } from '../../ml-workers/search/fulltext.js';
import type { Principal } from '../auth/tokens.js';
import { AppError, badRequest } from '../errors.js';
import type { Services } from '../services.js';
import { isTenantAdmin, loadActor } from './actor.js';

export type SearchMode = 'fulltext' | 'semantic' | 'hybrid';

export async function search(
  svc: Services,
  principal: Principal,
  ip: string | null,
  props: { q: string; mode: SearchMode; limit: number },
): Promise<{ hits: SearchHit[]; mode: SearchMode }> {
  if (!svc.fulltext) throw new AppError(503, 'search_unavailable', 'Search is not configured on this server');
  if (props.mode !== 'fulltext') throw badRequest('mode_unavailable', `Search mode "${props.mode}" is not enabled on this server; use mode=fulltext`);
  const actor = await withTenant(svc.store.db, principal.tenantId, (tx) => loadActor(tx, principal, ip));
  const hits = await svc.fulltext.search({
    tenantId: actor.tenantId,
    userId: actor.userId,
    tenantAdmin: isTenantAdmin(actor.role),
    q: props.q,
    limit: props.limit,
  });
  return { hits, mode: props.mode };
}
