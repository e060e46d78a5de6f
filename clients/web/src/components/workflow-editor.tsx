/**
 * Review workflows, for owners and admins: the list (archived ones marked), and the editor —
 * a name and ordered steps, each with its name, who decides (people, a role, or both), how
 * many approvals complete it, an optional deadline (hours and minutes) and who is told when
 * it passes. Reviews already running keep the steps they started with.
 */
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { MAX_WORKFLOW_STEPS, type CreateWorkflowRequest, type TenantRole, type User, type Workflow } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';
import { assigneesText } from './reviews-panel.js';
import { ArrowDown, ArrowUp, Plus, Trash2 } from 'lucide-react';

interface StepDraft {
  key: number;
  name: string;
  users: string[];
  role: TenantRole | '';
  approvals: number;
  slaHours: string;
  slaMinutes: string;
  escalate: string[];
}

let nextKey = 1;
const emptyStep = (): StepDraft => ({ key: nextKey++, name: '', users: [], role: '', approvals: 1, slaHours: '', slaMinutes: '', escalate: [] });

function toDraft(w: Workflow): StepDraft[] {
  return w.steps.map((s) => ({
    key: nextKey++,
    name: s.name,
    users: s.assignees.users ?? [],
    role: s.assignees.role ?? '',
    approvals: s.approvals,
    slaHours: s.slaSeconds ? String(Math.floor(s.slaSeconds / 3600)) : '',
    slaMinutes: s.slaSeconds ? String(Math.round((s.slaSeconds % 3600) / 60)) : '',
    escalate: s.escalateTo.users ?? [],
  }));
}

function slaText(seconds: number | null): string {
  if (!seconds) return 'no deadline';
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return `due in ${h ? `${h} h` : ''}${h && m ? ' ' : ''}${m ? `${m} min` : ''}`;
}

/** The steps as the API takes them, or what is missing. */
function toRequest(steps: StepDraft[]): CreateWorkflowRequest['steps'] | string {
  const out: CreateWorkflowRequest['steps'] = [];
  for (const [i, s] of steps.entries()) {
    const label = `Step ${i + 1}`;
    if (!s.name.trim()) return `${label}: give it a name.`;
    if (s.users.length === 0 && !s.role) return `${label}: choose who decides (people, a role, or both).`;
    const h = s.slaHours.trim() ? Number(s.slaHours) : 0;
    const m = s.slaMinutes.trim() ? Number(s.slaMinutes) : 0;
    if (!Number.isInteger(h) || !Number.isInteger(m) || h < 0 || m < 0) return `${label}: the deadline takes whole hours and minutes.`;
    const sla = h * 3600 + m * 60;
    out.push({
      name: s.name.trim(),
      assignees: { ...(s.users.length ? { users: s.users } : {}), ...(s.role ? { role: s.role } : {}) },
      approvals: Math.max(1, Math.floor(s.approvals) || 1),
      slaSeconds: sla > 0 ? sla : null,
      ...(s.escalate.length ? { escalateTo: { users: s.escalate } } : {}),
    });
  }
  return out;
}

export function WorkflowsSection() {
  const [workflows, setWorkflows] = useState<Workflow[] | null>(null);
  const [people, setPeople] = useState<User[]>([]);
  const [editing, setEditing] = useState<Workflow | 'new' | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const load = useCallback(async () => {
    const r = await client.listWorkflows();
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    setWorkflows(r.value);
  }, []);
  useEffect(() => {
    void load();
    void client.listUsers().then((r) => {
      if (r.ok) setPeople(r.value);
    });
  }, [load]);
  const nameOf = (id: string | null) => {
    const u = people.find((p) => p.id === id);
    return u ? u.displayName || u.email : 'Someone';
  };
  const archive = async (w: Workflow, archived: boolean) => {
    setMessage(null);
    const r = await client.updateWorkflow(w.id, { archived });
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    setMessage({ ok: true, text: archived ? `“${w.name}” is archived: no new reviews use it; running ones finish.` : `“${w.name}” can be used again.` });
    void load();
  };
  return (
    <section className="card workflows" aria-labelledby="workflows-heading" data-testid="workflows">
      <h3 id="workflows-heading">Review workflows</h3>
      <p className="hint">A workflow is the steps a document goes through when someone requests a review: who decides each step, how many approvals it needs, and by when.</p>
      {workflows === null ? (
        <p className="muted">Loading workflows…</p>
      ) : workflows.length === 0 ? (
        <p className="muted">No workflows yet.</p>
      ) : (
        <ul className="workflow-list">
          {workflows.map((w) => (
            <li key={w.id} className={w.archived ? 'archived' : undefined} data-testid="workflow-row">
              <div className="workflow-summary">
                <strong>{w.name}</strong> {w.archived && <span className="pill">Archived</span>}
                <ol className="workflow-steps-summary">
                  {w.steps.map((s, i) => (
                    <li key={i}>
                      {s.name}: {assigneesText(s.assignees, nameOf)}
                      {s.approvals > 1 ? ` (${s.approvals} approvals)` : ''}, {slaText(s.slaSeconds)}
                    </li>
                  ))}
                </ol>
              </div>
              <div className="workflow-row-actions">
                <button type="button" onClick={() => setEditing(w)} aria-label={`Edit ${w.name}`}>
                  Edit
                </button>
                <button type="button" className="link" onClick={() => void archive(w, !w.archived)} aria-label={`${w.archived ? 'Restore' : 'Archive'} ${w.name}`}>
                  {w.archived ? 'Restore' : 'Archive'}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {editing === null && (
        <button type="button" className="new-workflow" onClick={() => setEditing('new')}>
          <Plus size={16} aria-hidden /> New workflow
        </button>
      )}
      {editing !== null && (
        <WorkflowEditor
          key={editing === 'new' ? 'new' : editing.id}
          workflow={editing === 'new' ? null : editing}
          people={people}
          onDone={(saved) => {
            setEditing(null);
            if (saved) {
              setMessage({ ok: true, text: `Saved “${saved.name}”.` });
              void load();
            }
          }}
        />
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
    </section>
  );
}

function WorkflowEditor({ workflow, people, onDone }: { workflow: Workflow | null; people: User[]; onDone: (saved: Workflow | null) => void }) {
  const [name, setName] = useState(workflow?.name ?? '');
  const [steps, setSteps] = useState<StepDraft[]>(() => (workflow ? toDraft(workflow) : [emptyStep()]));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const update = (key: number, patch: Partial<StepDraft>) => setSteps((list) => list.map((s) => (s.key === key ? { ...s, ...patch } : s)));
  const move = (i: number, by: number) =>
    setSteps((list) => {
      const next = [...list];
      const [s] = next.splice(i, 1);
      next.splice(i + by, 0, s!);
      return next;
    });
  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setError('Give the workflow a name.');
    const body = toRequest(steps);
    if (typeof body === 'string') return setError(body);
    setBusy(true);
    setError(null);
    const r = workflow ? await client.updateWorkflow(workflow.id, { name: name.trim(), steps: body }) : await client.createWorkflow({ name: name.trim(), steps: body });
    setBusy(false);
    if (!r.ok) return setError(describeError(r.error));
    onDone(r.value);
  };
  return (
    <form className="workflow-editor" onSubmit={save} aria-labelledby={`${id}-title`} data-testid="workflow-editor">
      <h4 id={`${id}-title`}>{workflow ? `Edit “${workflow.name}”` : 'New workflow'}</h4>
      {workflow && <p className="hint">Reviews already running keep the steps they started with.</p>}
      <label htmlFor={`${id}-name`}>Workflow name</label>
      <input id={`${id}-name`} value={name} maxLength={200} onChange={(e) => setName(e.target.value)} required autoFocus placeholder="e.g. Legal sign-off" />
      <ol className="step-editors">
        {steps.map((s, i) => (
          <li key={s.key}>
            <fieldset className="step-editor" data-testid="step-editor">
              <legend>Step {i + 1}</legend>
              <div className="step-tools">
                <button type="button" className="icon-button small" aria-label={`Move step ${i + 1} up`} disabled={i === 0} onClick={() => move(i, -1)}>
                  <ArrowUp size={15} aria-hidden />
                </button>
                <button type="button" className="icon-button small" aria-label={`Move step ${i + 1} down`} disabled={i === steps.length - 1} onClick={() => move(i, 1)}>
                  <ArrowDown size={15} aria-hidden />
                </button>
                <button
                  type="button"
                  className="icon-button small"
                  aria-label={`Remove step ${i + 1}`}
                  disabled={steps.length === 1}
                  onClick={() => setSteps((list) => list.filter((x) => x.key !== s.key))}
                >
                  <Trash2 size={15} aria-hidden />
                </button>
              </div>
              <label htmlFor={`${id}-${s.key}-name`}>Step name</label>
              <input id={`${id}-${s.key}-name`} value={s.name} maxLength={200} onChange={(e) => update(s.key, { name: e.target.value })} required placeholder="e.g. Legal review" />
              <PeoplePicker label="Who decides" people={people} chosen={s.users} onChange={(users) => update(s.key, { users })} />
              <div className="step-row">
                <label htmlFor={`${id}-${s.key}-role`}>
                  …and/or everyone with the role
                  <select id={`${id}-${s.key}-role`} value={s.role} onChange={(e) => update(s.key, { role: e.target.value as TenantRole | '' })}>
                    <option value="">No role</option>
                    <option value="owner">Owner</option>
                    <option value="admin">Admin</option>
                    <option value="member">Member</option>
                  </select>
                </label>
                <label htmlFor={`${id}-${s.key}-approvals`}>
                  Approvals needed
                  <input id={`${id}-${s.key}-approvals`} type="number" min={1} max={100} value={s.approvals} onChange={(e) => update(s.key, { approvals: Number(e.target.value) })} />
                </label>
              </div>
              <fieldset className="sla">
                <legend>Deadline (optional)</legend>
                <label htmlFor={`${id}-${s.key}-h`}>
                  Hours
                  <input id={`${id}-${s.key}-h`} type="number" min={0} inputMode="numeric" value={s.slaHours} onChange={(e) => update(s.key, { slaHours: e.target.value })} />
                </label>
                <label htmlFor={`${id}-${s.key}-m`}>
                  Minutes
                  <input id={`${id}-${s.key}-m`} type="number" min={0} max={59} inputMode="numeric" value={s.slaMinutes} onChange={(e) => update(s.key, { slaMinutes: e.target.value })} />
                </label>
              </fieldset>
              <PeoplePicker label="When the deadline passes, tell" people={people} chosen={s.escalate} onChange={(escalate) => update(s.key, { escalate })} />
            </fieldset>
          </li>
        ))}
      </ol>
      <button type="button" onClick={() => setSteps((list) => [...list, emptyStep()])} disabled={steps.length >= MAX_WORKFLOW_STEPS}>
        <Plus size={16} aria-hidden /> Add step
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {workflow ? 'Save workflow' : 'Create workflow'}
        </button>
        <button type="button" onClick={() => onDone(null)} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** People as checkboxes in a short scrolling list. */
function PeoplePicker({ label, people, chosen, onChange }: { label: string; people: User[]; chosen: string[]; onChange: (ids: string[]) => void }) {
  const id = useId();
  return (
    <fieldset className="people-picker" aria-describedby={`${id}-count`}>
      <legend>{label}</legend>
      <div className="people-picker-list">
        {people
          .filter((p) => p.role !== 'guest')
          .map((p) => (
            <label key={p.id} className="check">
              <input type="checkbox" checked={chosen.includes(p.id)} onChange={(e) => onChange(e.target.checked ? [...chosen, p.id] : chosen.filter((x) => x !== p.id))} />
              {p.displayName || p.email}
            </label>
          ))}
      </div>
      <span id={`${id}-count`} className="hint">
        {chosen.length ? `${chosen.length} chosen` : 'Nobody chosen'}
      </span>
    </fieldset>
  );
}
