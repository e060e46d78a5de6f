/**
 * "While you were away": a compact notice above a document's text when other people changed
 * it since the user last had it open ("Since you were here 2 h ago, Ann and Bo made
 * changes"), with "Show changes" (the comparison, see version-preview's ChangesSince) and
 * "Dismiss". The user's own changes (offline edits synced later, another device) do not count.
 */
import type { SinceSeen, VersionDiff } from '../../../../contract/api.js';
import { authorList, type NameOf } from './history-panel.js';
import { relativeTime } from './comments-panel.js';
import { GitCompareArrows, Users, X } from 'lucide-react';

/**
 * Who other than `selfId` added or removed something in the diff, most changes first
 * (null: the server does not know who; named "Someone"). Empty: nothing to tell.
 */
export function othersWhoChanged(diff: VersionDiff, selfId: string): (string | null)[] {
  const changedBy = new Set<string | null>();
  for (const b of diff.blocks) for (const r of b.runs) if (r.change !== 'same' && r.by !== selfId) changedBy.add(r.by);
  // The legend's order (most characters changed first); anyone only in the runs after them.
  const ordered = diff.authors.map((a) => a.userId).filter((id) => changedBy.has(id));
  return [...ordered, ...[...changedBy].filter((id) => !ordered.includes(id))];
}

/** The answer worth a notice: others changed something. */
export function awayWorthTelling(s: SinceSeen | null, selfId: string): s is SinceSeen & { seenAt: string; diff: VersionDiff } {
  return Boolean(s?.seenAt && s.diff && othersWhoChanged(s.diff, selfId).length > 0);
}

/** "5 min ago", "just now", or "on 12/1/2026" (past a week). */
function since(iso: string): string {
  const t = relativeTime(iso);
  return /ago$|^just now$/.test(t) ? t : `on ${t}`;
}

export function AwayNotice({ seenAt, diff, selfId, nameOf, onShow, onDismiss }: { seenAt: string; diff: VersionDiff; selfId: string; nameOf: NameOf; onShow: () => void; onDismiss: () => void }) {
  const who = othersWhoChanged(diff, selfId);
  const names = authorList(
    who.map((id) => id ?? ''),
    (id) => (id ? nameOf(id) : 'Someone'),
  );
  return (
    <div className="away-notice" role="status" data-testid="away-notice">
      <p className="away-text">
        <Users size={16} aria-hidden className="away-icon" />
        <span>
          Since you were here{' '}
          <time dateTime={seenAt} title={new Date(seenAt).toLocaleString()}>
            {since(seenAt)}
          </time>
          , {names} made changes
        </span>
      </p>
      <div className="away-actions">
        <button type="button" className="primary" onClick={onShow}>
          <GitCompareArrows size={15} aria-hidden /> Show changes
        </button>
        <button type="button" className="link" onClick={onDismiss}>
          <X size={15} aria-hidden /> Dismiss
        </button>
      </div>
    </div>
  );
}
