/**
 * A document's reviews: the state badge in its header (In review · step / Approved /
 * Changes requested / Rejected), the Reviews panel (each review with its steps, who decides
 * each, deadlines, and every decision with its comment and time, newest review first), and
 * "Request review" (a workflow, optionally a named version to pin).
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { Review, ReviewEvent, ReviewStatus, Version, Workflow, WorkflowAssignees } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { Avatar } from './avatar.js';
import { relativeTime } from './comments-panel.js';
import type { NameOf } from './history-panel.js';
import { dueText } from './task-inbox.js';
import { ClipboardCheck, X } from 'lucide-react';
import { escapeCloses } from './panel-keys.js';

export const REVIEW_STATUS_WORDS: Record<ReviewStatus, string> = {
  in_review: 'In review',
  approved: 'Approved',
  rejected: 'Rejected',
  changes_requested: 'Changes requested',
  cancelled: 'Cancelled',
};

const ROLE_WORDS: Record<string, string> = { owner: 'owners', admin: 'admins', member: 'members', guest: 'guests' };

/** "Bea, Cy and every admin". */
export function assigneesText(a: WorkflowAssignees, nameOf: NameOf): string {
  const parts = (a.users ?? []).map((id) => nameOf(id));
  if (a.role) parts.push(`every ${ROLE_WORDS[a.role]?.replace(/s$/, '') ?? a.role}`);
  if (parts.length === 0) return 'nobody';
  if (parts.length === 1) return parts[0]!;
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** What the header says of a document's latest review (nothing for none, or a cancelled one). */
export function reviewBadgeText(r: Review | undefined): string | null {
  if (!r || r.status === 'cancelled') return null;
  if (r.status === 'in_review') return `In review · ${r.steps[r.currentStep]?.name ?? 'step ' + String(r.currentStep + 1)}`;
  return REVIEW_STATUS_WORDS[r.status];
}

export function ReviewBadge({ review, onOpen }: { review: Review | undefined; onOpen: () => void }) {
  const text = reviewBadgeText(review);
  if (!text || !review) return null;
  return (
    <button type="button" className={`pill review-badge review-status ${review.status}`} data-testid="review-badge" data-status={review.status} title="Show reviews" onClick={onOpen}>
      <ClipboardCheck size={14} aria-hidden /> {text}
    </button>
  );
}

const EVENT_WORDS: Record<ReviewEvent['type'], string> = {
  requested: 'requested a review',
  assigned: 'Sent to its reviewers',
  approved: 'approved',
  rejected: 'rejected',
  changes_requested: 'requested changes',
  step_completed: 'Step completed',
  completed: 'Review approved',
  warning: 'Deadline soon: assignees reminded',
  escalated: 'Deadline passed: escalated',
  cancelled: 'cancelled the review',
};

/** Events the review's progress makes (not a person's act), shown without a name. */
const SYSTEM_EVENTS = new Set<ReviewEvent['type']>(['assigned', 'step_completed', 'completed', 'warning', 'escalated']);

interface PanelProps {
  reviews: Review[] | null;
  error: string | null;
  nameOf: NameOf;
  canRequest: boolean;
  onRequest: () => void;
  sheet: boolean;
  onClose: () => void;
}

export function ReviewsPanel({ reviews, error, nameOf, canRequest, onRequest, sheet, onClose }: PanelProps) {
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    closeButton.current?.focus();
  }, []);
  const running = reviews?.some((r) => r.status === 'in_review') ?? false;
  return (
    <aside
      className={`comments-panel reviews-panel ${sheet ? 'sheet' : ''}`}
      aria-label="Reviews"
      data-testid="reviews-panel"
      role={sheet ? 'dialog' : undefined}
      aria-modal={sheet ? true : undefined}
      onKeyDown={escapeCloses(onClose)}
    >
      <div className="comments-head">
        <h2>
          <ClipboardCheck size={16} aria-hidden /> Reviews
        </h2>
        <button ref={closeButton} type="button" className="icon-button" aria-label="Close reviews" title="Close reviews (Esc)" onClick={onClose}>
          <X size={18} aria-hidden />
        </button>
      </div>
      {canRequest && (
        <div className="history-actions">
          <button type="button" onClick={onRequest} disabled={running} title={running ? 'A review is in progress' : undefined}>
            <ClipboardCheck size={15} aria-hidden /> Request review…
          </button>
        </div>
      )}
      {error && (
        <p className="error history-error" role="alert">
          {error}
        </p>
      )}
      <div className="version-list-wrap">
        {reviews === null ? (
          !error && <p className="muted empty-comments">Loading reviews…</p>
        ) : reviews.length === 0 ? (
          <p className="muted empty-comments">No reviews yet.{canRequest ? ' Ask for one with “Request review…”.' : ''}</p>
        ) : (
          <ol className="review-list" aria-label="Reviews, newest first">
            {reviews.map((r) => (
              <li key={r.id}>
                <ReviewCard review={r} nameOf={nameOf} />
              </li>
            ))}
          </ol>
        )}
      </div>
    </aside>
  );
}

function ReviewCard({ review: r, nameOf }: { review: Review; nameOf: NameOf }) {
  const stepState = (i: number): string => {
    if (r.status === 'in_review') return i < r.currentStep ? 'done' : i === r.currentStep ? 'current' : 'waiting';
    if (r.status === 'approved') return 'done';
    return i < r.currentStep ? 'done' : i === r.currentStep ? 'ended' : 'skipped';
  };
  const STATE_WORDS: Record<string, string> = { done: 'Done', current: 'In progress', waiting: 'Waiting', ended: REVIEW_STATUS_WORDS[r.status], skipped: 'Not reached' };
  return (
    <article className="review-card" data-testid="review-card" data-status={r.status}>
      <div className="review-card-head">
        <span className="version-title">{r.workflowName}</span>
        <span className={`pill review-status ${r.status}`}>{REVIEW_STATUS_WORDS[r.status]}</span>
      </div>
      <p className="version-meta">
        Requested by {r.requestedBy?.name ?? 'someone'} <time dateTime={r.createdAt}>{relativeTime(r.createdAt)}</time>
        {r.versionId ? ' · of a pinned version' : ''}
      </p>
      <ol className="review-steps" aria-label="Steps">
        {r.steps.map((s, i) => {
          const state = stepState(i);
          const tasks = r.tasks.filter((t) => t.step === i);
          const approved = tasks.filter((t) => t.status === 'approved').length;
          const due = state === 'current' ? dueText(r.stepDueAt) : null;
          return (
            <li key={i} className={`review-step ${state}`} aria-current={state === 'current' ? 'step' : undefined}>
              <span className="step-name">
                {i + 1}. {s.name} <span className="muted">· {STATE_WORDS[state]}</span>
              </span>
              <span className="step-who">
                Decided by {assigneesText(s.assignees, nameOf)}
                {s.approvals > 1 || state === 'current' ? ` · ${approved} of ${s.approvals} approval${s.approvals === 1 ? '' : 's'}` : ''}
              </span>
              {due && <span className={`step-due ${due.overdue ? 'overdue' : ''}`}>{due.text}</span>}
            </li>
          );
        })}
      </ol>
      <h3 className="review-events-head">History</h3>
      <ol className="review-events" aria-label="Every decision and event, oldest first">
        {r.events.map((e) => {
          const byPerson = e.actor !== null && !SYSTEM_EVENTS.has(e.type);
          return (
            <li key={e.id} className={`review-event ${e.type}`} data-testid="review-event" data-type={e.type}>
              {byPerson && e.actor?.id ? (
                <Avatar name={e.actor.name} seed={e.actor.id} size="sm" />
              ) : (
                <span className="avatar sm notification-icon" aria-hidden>
                  <ClipboardCheck size={13} />
                </span>
              )}
              <span className="review-event-text">
                <span>
                  {byPerson ? <strong>{e.actor!.name}</strong> : null}
                  {byPerson ? ' ' : ''}
                  {EVENT_WORDS[e.type]}
                  {e.step !== null && r.steps[e.step] ? <span className="muted"> · {r.steps[e.step]!.name}</span> : null}
                </span>
                {e.comment && <span className="review-event-comment">“{e.comment}”</span>}
                <time dateTime={e.createdAt} title={new Date(e.createdAt).toLocaleString()}>
                  {relativeTime(e.createdAt)} · {new Date(e.createdAt).toLocaleString()}
                </time>
              </span>
            </li>
          );
        })}
      </ol>
    </article>
  );
}

/** "Request review": a workflow and, optionally, one of the document's named versions to pin. */
export function RequestReviewDialog({ documentId, onDone }: { documentId: string; onDone: (review: Review | null) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [workflows, setWorkflows] = useState<Workflow[] | null>(null);
  const [versions, setVersions] = useState<Version[]>([]);
  const [workflowId, setWorkflowId] = useState('');
  const [versionId, setVersionId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  useEffect(() => {
    let live = true;
    void client.listWorkflows().then((r) => {
      if (!live) return;
      if (!r.ok) return setError(describeError(r.error));
      const usable = r.value.filter((w) => !w.archived);
      setWorkflows(usable);
      setWorkflowId((id) => id || usable[0]?.id || '');
    });
    void client.listVersions(documentId, { limit: 100 }).then((r) => {
      if (live && r.ok) setVersions(r.value.versions.filter((v) => v.kind === 'named'));
    });
    return () => {
      live = false;
    };
  }, [documentId]);
  const chosen = workflows?.find((w) => w.id === workflowId);
  const submit = async () => {
    if (!workflowId) return;
    setBusy(true);
    setError(null);
    const r = await client.requestReview(documentId, { workflowId, ...(versionId ? { versionId } : {}) });
    setBusy(false);
    if (!r.ok) return setError(describeError(r.error));
    onDone(r.value);
  };
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onCancel={() => onDone(null)} data-testid="request-review-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h2 id={titleId}>Request review</h2>
        {workflows === null ? (
          !error && <p className="muted">Loading workflows…</p>
        ) : workflows.length === 0 ? (
          <p className="muted">This workspace has no review workflows yet. An owner or admin can create one on the People page, under Review workflows.</p>
        ) : (
          <>
            <label htmlFor={`${titleId}-workflow`}>Workflow</label>
            <select id={`${titleId}-workflow`} value={workflowId} onChange={(e) => setWorkflowId(e.target.value)} autoFocus>
              {workflows.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
            {chosen && (
              <p className="hint">
                {chosen.steps.length} step{chosen.steps.length === 1 ? '' : 's'}: {chosen.steps.map((s) => s.name).join(' → ')}
              </p>
            )}
            <label htmlFor={`${titleId}-version`}>Version to review</label>
            <select id={`${titleId}-version`} value={versionId} onChange={(e) => setVersionId(e.target.value)}>
              <option value="">The document as it is (no pinned version)</option>
              {versions.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.name ?? 'Named version'} · {new Date(v.createdAt).toLocaleString()}
                </option>
              ))}
            </select>
            {versions.length === 0 && <p className="hint">Save a named version (More actions → Save version…) to pin exactly what is reviewed.</p>}
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !workflowId}>
            Request review
          </button>
        </div>
      </form>
    </dialog>
  );
}
