/**
 * Comparing versions over REST: the diff between a version and another one or the current
 * state, with authorship, and "while you were away" (what changed since the caller last
 * had the document open). Read access; a document the caller cannot read is a 404.
 */
import type { SinceSeen, VersionDiff } from '../../contract/api.js';
import { withTenant } from '../../db/store.js';
import { DocumentStore } from '../../core/document-store.js';
import { VersionStore, type VersionRecord } from '../../core/history.js';
import { loadAuthorshipRanges } from '../../core/authorship.js';
import { diffStored, foldStored } from '../../core/fold.js';
import { lastSeen } from '../../core/seen.js';
import { loadActor } from '../../core/actor.js';
import { requireLevel } from '../../core/access.js';
import type { Principal } from '../../core/tokens.js';
import { AppError, notFound } from '../../lib/errors.js';
import type { Services } from '../services.js';

interface State {
  /** The state as one update. */
  state: Uint8Array;
  version: VersionRecord | null;
}

/** A version's state, or the current committed state (`version` null), as one update; nothing is integrated on the event loop. */
async function stateOf(svc: Services, tenantId: string, documentId: string, versionId: string | 'current'): Promise<State> {
  if (versionId === 'current') {
    const stored = await new DocumentStore(svc.store.db).load(tenantId, documentId);
    const { state } = await foldStored(
      stored.snapshot,
      stored.updates.map((data, i) => ({ seq: stored.seqs[i]!, data })),
    );
    return { state, version: null };
  }
  const versions = svc.content?.versions ?? new VersionStore(svc.store.db, new DocumentStore(svc.store.db));
  const found = await versions.readState(tenantId, documentId, versionId);
  if (!found) throw notFound('version');
  return found;
}

/** Compares two states of a readable document, older to newer whichever order they are named in; the work runs on the folding thread. */
async function compare(svc: Services, tenantId: string, documentId: string, a: string, b: string | 'current'): Promise<VersionDiff> {
  const computedAt = new Date();
  const first = await stateOf(svc, tenantId, documentId, a);
  const second = await stateOf(svc, tenantId, documentId, b);
  const [older, newer] = second.version && first.version && second.version.seq < first.version.seq ? [second, first] : [first, second];
  // One snapshot of the database: a compaction moving rows from the log to the authorship table meanwhile would hide them.
  const authorship = await withTenant(svc.store.db, tenantId, (tx) => loadAuthorshipRanges(tx, documentId), { isolation: 'repeatable read' });
  let diffed: Awaited<ReturnType<typeof diffStored>>;
  try {
    diffed = await diffStored(older.state, newer.state, authorship);
  } catch (e) {
    if (e instanceof Error && e.name === 'ContentTooDeepError') throw new AppError(422, 'document_too_deep', e.message);
    throw e;
  }
  const end = (s: State) => ({ versionId: s.version?.id ?? null, at: (s.version?.createdAt ?? computedAt).toISOString() });
  return { from: end(older), to: end(newer), blocks: diffed.blocks, authors: diffed.authors };
}

async function checkRead(svc: Services, principal: Principal, ip: string | null, id: string): Promise<void> {
  await withTenant(svc.store.db, principal.tenantId, async (tx) => requireLevel(tx, await loadActor(tx, principal, ip), id, 'read'));
}

export async function diffVersion(svc: Services, principal: Principal, ip: string | null, props: { id: string; versionId: string; against: string | 'current' }): Promise<VersionDiff> {
  await checkRead(svc, principal, ip, props.id);
  return compare(svc, principal.tenantId, props.id, props.versionId, props.against);
}

export async function sinceSeen(svc: Services, principal: Principal, ip: string | null, props: { id: string }): Promise<SinceSeen> {
  await checkRead(svc, principal, ip, props.id);
  const seen = await lastSeen(svc.store.db, principal.tenantId, props.id, principal.userId);
  if (!seen) return { seenAt: null, diff: null };
  if (!seen.versionId) return { seenAt: seen.seenAt.toISOString(), diff: null };
  const diff = await compare(svc, principal.tenantId, props.id, seen.versionId, 'current');
  return { seenAt: seen.seenAt.toISOString(), diff: diff.authors.length > 0 ? diff : null };
}
