/**
 * The review task inbox (`/tasks`): the user's open tasks (document, workflow, step, when it
 * is due, overdue ones emphasised) with Approve, Request changes and Reject (the last two ask
 * for a comment), a link to the document, and the tasks already decided. On a phone each task
 * is one row: tapping it shows its actions, so approving takes two taps.
 */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import type { ReviewDecision, Task } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { relativeTime } from './comments-panel.js';
import { useToast } from './toast.js';
import { NOTIFICATION_EVENT } from './notification-bell.js';
import { Check, ChevronDown, ChevronRight, ExternalLink, MessageSquareWarning, X } from 'lucide-react';

/** "3 h", "2 d", "25 min": a span of time as people say it. */
export function spanText(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** "Due in 3 h" or "Overdue by 2 h", and whether it is late. */
export function dueText(dueAt: string | null, now = Date.now()): { text: string; overdue: boolean } | null {
  if (!dueAt) return null;
  const left = new Date(dueAt).getTime() - now;
  return left >= 0 ? { text: `Due in ${spanText(left)}`, overdue: false } : { text: `Overdue by ${spanText(left)}`, overdue: true };
}

const STATUS_WORDS: Record<Task['status'], string> = {
  open: 'Open',
  approved: 'Approved',
  rejected: 'Rejected',
  changes_requested: 'Changes requested',
  closed: 'Closed (decided by others)',
};

const DONE_WORDS: Record<ReviewDecision, string> = {
  approve: 'Approved',
  reject: 'Rejected',
  request_changes: 'Requested changes to',
};

interface Props {
  narrow: boolean;
  /** The task a link pointed at (`/tasks?task=<id>`): opened and scrolled to. */
  selected: string | null;
  /** The user decided a task here (the header's count follows). */
  onChanged: () => void;
}

export function TaskInbox({ narrow, selected, onChanged }: Props) {
  const [tab, setTab] = useState<'open' | 'decided'>('open');
  const [open, setOpen] = useState<Task[] | null>(null);
  const [decided, setDecided] = useState<Task[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<string | null>(selected);
  const toast = useToast();
  const asked = useRef(0);

  const load = useCallback(async () => {
    const n = ++asked.current;
    const [o, d] = await Promise.all([client.listTasks('open'), client.listTasks('decided')]);
    if (n !== asked.current) return;
    if (!o.ok) return setError(describeError(o.error));
    setError(null);
    setOpen(o.value);
    if (d.ok) setDecided(d.value);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  // A new review task (or a deadline) arrives as a notification: read the list again.
  useEffect(() => {
    const on = (e: Event) => {
      const kind = (e as CustomEvent<{ kind: string }>).detail?.kind;
      if (kind === 'review_assigned' || kind === 'deadline' || kind === 'review_decided') void load();
    };
    window.addEventListener(NOTIFICATION_EVENT, on);
    return () => window.removeEventListener(NOTIFICATION_EVENT, on);
  }, [load]);
  useEffect(() => {
    if (!selected) return;
    setExpanded(selected);
    setTab('open');
  }, [selected]);
  useEffect(() => {
    if (selected && open) document.getElementById(`task-${selected}`)?.scrollIntoView({ block: 'nearest' });
  }, [selected, open]);

  const decide = async (task: Task, decision: ReviewDecision, comment?: string): Promise<string | null> => {
    const r = await client.decideTask(task.id, { decision, ...(comment ? { comment } : {}) });
    if (!r.ok) {
      if (r.error.code === 'task_closed' || r.error.code === 'task_not_found') {
        void load();
        onChanged();
        return 'This task is no longer open: the review was decided or cancelled.';
      }
      return describeError(r.error);
    }
    setOpen((list) => list?.filter((x) => x.id !== task.id) ?? list);
    setExpanded(null);
    onChanged();
    void load();
    toast({ message: `${DONE_WORDS[decision]} “${task.documentTitle}”`, action: { label: 'Open document', run: () => navigate(`/d/${task.documentId}?panel=reviews`) } });
    return null;
  };

  const overdue = (open ?? []).filter((t) => dueText(t.dueAt)?.overdue).length;
  return (
    <section className="tasks-view" aria-labelledby="tasks-heading" data-testid="task-inbox">
      <div className="tasks-head">
        <h2 id="tasks-heading">Review tasks</h2>
        <div className="segmented" role="group" aria-label="Which tasks">
          <button type="button" aria-pressed={tab === 'open'} onClick={() => setTab('open')}>
            Open{open ? ` (${open.length})` : ''}
          </button>
          <button type="button" aria-pressed={tab === 'decided'} onClick={() => setTab('decided')}>
            Decided
          </button>
        </div>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {tab === 'open' &&
        (open === null ? (
          !error && <p className="muted">Loading tasks…</p>
        ) : open.length === 0 ? (
          <div className="tasks-empty">
            <Check size={28} aria-hidden />
            <p>No reviews waiting for you.</p>
            <p className="muted">When someone asks you to review a document, it shows up here.</p>
          </div>
        ) : (
          <>
            {overdue > 0 && <p className="task-overdue-note">{overdue === 1 ? 'One review is overdue.' : `${overdue} reviews are overdue.`}</p>}
            <ol className="task-list" aria-label="Open review tasks">
              {open.map((t) => (
                <li key={t.id} id={`task-${t.id}`}>
                  <TaskCard task={t} collapsible={narrow} expanded={!narrow || expanded === t.id} onToggle={() => setExpanded((x) => (x === t.id ? null : t.id))} onDecide={decide} />
                </li>
              ))}
            </ol>
          </>
        ))}
      {tab === 'decided' &&
        (decided === null ? (
          <p className="muted">Loading tasks…</p>
        ) : decided.length === 0 ? (
          <p className="muted">You have not decided any review yet.</p>
        ) : (
          <ol className="task-list decided" aria-label="Decided review tasks">
            {decided.map((t) => (
              <li key={t.id}>
                <DecidedTask task={t} />
              </li>
            ))}
          </ol>
        ))}
    </section>
  );
}

function TaskSummary({ task }: { task: Task }) {
  const due = dueText(task.dueAt);
  return (
    <>
      <span className="task-title">{task.documentTitle}</span>
      <span className="task-meta">
        {task.workflowName} · {task.stepName}
      </span>
      <span className="task-meta">
        <span>Asked {relativeTime(task.createdAt)}</span>
        {due && (
          <>
            {' · '}
            <time dateTime={task.dueAt ?? undefined} title={new Date(task.dueAt!).toLocaleString()} className={due.overdue ? 'overdue' : undefined}>
              {due.text}
            </time>
          </>
        )}
      </span>
    </>
  );
}

function TaskCard({
  task,
  collapsible,
  expanded,
  onToggle,
  onDecide,
}: {
  task: Task;
  collapsible: boolean;
  expanded: boolean;
  onToggle: () => void;
  onDecide: (task: Task, decision: ReviewDecision, comment?: string) => Promise<string | null>;
}) {
  const [asking, setAsking] = useState<'request_changes' | 'reject' | null>(null);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const due = dueText(task.dueAt);
  const run = async (decision: ReviewDecision, text?: string) => {
    setBusy(true);
    setError(null);
    const problem = await onDecide(task, decision, text);
    setBusy(false);
    if (problem) setError(problem);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (asking && comment.trim()) void run(asking, comment.trim());
  };
  const panelId = `task-actions-${task.id}`;
  return (
    <article className={`task-card ${due?.overdue ? 'overdue' : ''}`} data-testid="task-card" data-task={task.id} aria-label={`${task.documentTitle}: ${task.stepName}`}>
      {collapsible ? (
        <button type="button" className="task-summary" aria-expanded={expanded} aria-controls={panelId} onClick={onToggle}>
          {expanded ? <ChevronDown size={18} aria-hidden /> : <ChevronRight size={18} aria-hidden />}
          <span className="task-summary-text">
            <TaskSummary task={task} />
          </span>
        </button>
      ) : (
        <div className="task-summary">
          <span className="task-summary-text">
            <TaskSummary task={task} />
          </span>
        </div>
      )}
      {expanded && (
        <div className="task-actions" id={panelId}>
          {asking ? (
            <form className="task-comment" onSubmit={submit}>
              <label htmlFor={`task-comment-${task.id}`}>{asking === 'reject' ? 'Why are you rejecting it?' : 'What needs to change?'}</label>
              <textarea id={`task-comment-${task.id}`} rows={3} maxLength={5000} value={comment} onChange={(e) => setComment(e.target.value)} required autoFocus />
              <div className="task-buttons">
                <button type="submit" className={asking === 'reject' ? 'danger-button' : 'primary'} disabled={busy || !comment.trim()}>
                  {asking === 'reject' ? 'Reject' : 'Send request for changes'}
                </button>
                <button type="button" onClick={() => setAsking(null)} disabled={busy}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <div className="task-buttons">
              <button type="button" className="primary" onClick={() => void run('approve')} disabled={busy}>
                <Check size={16} aria-hidden /> Approve
              </button>
              <button type="button" onClick={() => setAsking('request_changes')} disabled={busy}>
                <MessageSquareWarning size={16} aria-hidden /> Request changes
              </button>
              <button type="button" className="reject" onClick={() => setAsking('reject')} disabled={busy}>
                <X size={16} aria-hidden /> Reject
              </button>
              <a
                className="task-open"
                href={`/d/${task.documentId}?panel=reviews`}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(`/d/${task.documentId}?panel=reviews`);
                }}
              >
                <ExternalLink size={15} aria-hidden /> Open document
              </a>
            </div>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
        </div>
      )}
    </article>
  );
}

function DecidedTask({ task }: { task: Task }) {
  return (
    <article className={`task-card decided status-${task.status}`} data-testid="decided-task">
      <div className="task-summary">
        <span className="task-summary-text">
          <a
            className="task-title"
            href={`/d/${task.documentId}?panel=reviews`}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/d/${task.documentId}?panel=reviews`);
            }}
          >
            {task.documentTitle}
          </a>
          <span className="task-meta">
            {task.workflowName} · {task.stepName}
          </span>
          <span className="task-meta">
            <span className={`pill review-status ${task.status}`}>{STATUS_WORDS[task.status]}</span>
            {task.decidedAt && <span> {relativeTime(task.decidedAt)}</span>}
          </span>
          {task.comment && <span className="task-decision-comment">“{task.comment}”</span>}
        </span>
      </div>
    </article>
  );
}
