/**
 * The audit log for workspace owners and admins (`/admin/audit`): who did what, to what,
 * from where, newest first; filtered by person, action (one, or a whole group), target and
 * dates; paged with "Load more"; exported as NDJSON with the same filters.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import type { AuditEntry, AuditQuery, SessionUser, User } from '../../../sdk/index.js';
import { cachedDocuments, client, describeError } from '../api.js';
import { navigate, useNarrow } from '../router.js';
import { ACTION_GROUPS, actionsIn, actionWords, detailWords, targetWords } from './audit-words.js';
import './audit.css';

const PAGE = 50;

type Filters = Omit<AuditQuery, 'cursor' | 'limit' | 'format'>;

interface Draft {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}

const EMPTY: Draft = { actor: '', action: '', target: '', from: '', to: '' };

/** The form's values as the API's query: dates are whole local days, "to" included. */
function toFilters(d: Draft): Filters {
  const f: Filters = {};
  if (d.actor) f.actor = d.actor;
  if (d.action) f.action = d.action;
  if (d.target.trim()) f.target = d.target.trim();
  if (d.from) f.from = new Date(`${d.from}T00:00:00`).toISOString();
  if (d.to) {
    const end = new Date(`${d.to}T00:00:00`);
    end.setDate(end.getDate() + 1);
    f.to = end.toISOString();
  }
  return f;
}

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const short = (id: string) => (id.length > 12 ? `${id.slice(0, 8)}…` : id);

export function AuditView({ user }: { user: SessionUser }) {
  const admin = user.role === 'owner' || user.role === 'admin';
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applied, setApplied] = useState<Filters>({});
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(!admin);
  const [loadingMore, setLoadingMore] = useState(false);
  const [status, setStatus] = useState('');
  const [exporting, setExporting] = useState(false);
  const [people, setPeople] = useState<Map<string, User>>(new Map());
  const asked = useRef(0);
  // Document titles this device knows (the user's own list), for targets.
  const titles = useMemo(() => new Map(cachedDocuments(user.id).map((d) => [d.id, d.title])), [user.id]);
  const narrow = useNarrow();
  // On a phone the filters fold away, so the entries come first.
  const [filtersOpen, setFiltersOpen] = useState(!narrow);

  useEffect(() => {
    const previous = document.title;
    document.title = 'Audit log · Quire';
    return () => {
      document.title = previous;
    };
  }, []);
  useEffect(() => {
    if (!admin) return;
    void client.listUsers().then((r) => {
      if (r.ok) setPeople(new Map(r.value.map((u) => [u.id, u])));
    });
  }, [admin]);

  const load = useCallback(
    async (filters: Filters) => {
      if (!admin) return;
      const n = ++asked.current;
      setEntries(null);
      setError(null);
      const r = await client.listAudit({ ...filters, limit: PAGE });
      if (n !== asked.current) return;
      if (r.ok) {
        setEntries(r.value.entries);
        setCursor(r.value.nextCursor);
        setStatus(`${r.value.entries.length}${r.value.nextCursor ? ' or more' : ''} entries shown.`);
      } else if (r.error.code === 'forbidden') setForbidden(true);
      else setError(describeError(r.error));
    },
    [admin],
  );
  useEffect(() => {
    void load(applied);
  }, [load, applied]);

  const more = async () => {
    if (!cursor) return;
    const n = asked.current;
    setLoadingMore(true);
    const r = await client.listAudit({ ...applied, cursor, limit: PAGE });
    setLoadingMore(false);
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setEntries((prev) => [...(prev ?? []), ...r.value.entries]);
    setCursor(r.value.nextCursor);
    setStatus(`${r.value.entries.length} more entries loaded.`);
  };

  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (draft.from && draft.to && draft.from > draft.to) {
      setError('The “From” date is after the “To” date.');
      return;
    }
    setApplied(toFilters(draft));
  };
  const clear = () => {
    setDraft(EMPTY);
    setApplied({});
  };
  const filtered = Object.keys(applied).length > 0;

  const exportAll = async () => {
    setExporting(true);
    setStatus('');
    const r = await client.exportAudit(applied);
    setExporting(false);
    if (!r.ok) return setError(describeError(r.error));
    const lines = r.value ? r.value.trimEnd().split('\n').length : 0;
    const url = URL.createObjectURL(new Blob([r.value], { type: 'application/x-ndjson' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `quire-audit-${new Date().toISOString().slice(0, 10)}.ndjson`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(`Exported ${lines} ${lines === 1 ? 'entry' : 'entries'}.`);
  };

  const sortedPeople = useMemo(() => [...people.values()].sort((a, b) => (a.displayName || a.email).localeCompare(b.displayName || b.email)), [people]);

  if (forbidden) {
    return (
      <section className="audit" aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit log</h2>
        <div className="empty" role="alert" data-testid="audit-forbidden">
          <p>Only workspace owners and admins can see the audit log.</p>
          <button type="button" className="primary" onClick={() => navigate('/')}>
            Go to your documents
          </button>
        </div>
      </section>
    );
  }

  const personLabel = (id: string | null, fallback: string) => {
    const u = id ? people.get(id) : undefined;
    return u ? { name: u.displayName || u.email.split('@')[0] || u.email, email: u.email } : { name: fallback, email: null };
  };

  const target = (e: AuditEntry) => {
    if (!e.targetId) return <span className="muted">—</span>;
    if (e.targetType === 'tenant') return <span>Workspace</span>;
    if (e.targetType === 'user') {
      const u = people.get(e.targetId);
      return u ? (
        <span>
          {u.displayName || u.email}
          {u.displayName && <span className="audit-sub">{u.email}</span>}
        </span>
      ) : (
        <span>
          Person <code title={e.targetId}>{short(e.targetId)}</code>
        </span>
      );
    }
    if (e.targetType === 'document') {
      return (
        <a
          href={`/d/${e.targetId}`}
          onClick={(ev) => {
            ev.preventDefault();
            navigate(`/d/${e.targetId}`);
          }}
        >
          {titles.get(e.targetId) || 'Document'} <code title={e.targetId}>{short(e.targetId)}</code>
        </a>
      );
    }
    return (
      <span>
        {targetWords(e.targetType)} <code title={e.targetId}>{short(e.targetId)}</code>
      </span>
    );
  };

  return (
    <section className="audit" aria-labelledby="audit-heading">
      <div className="audit-head">
        <div>
          <h2 id="audit-heading">Audit log</h2>
          <p className="muted">Security and administrative events in this workspace, newest first.</p>
        </div>
        <button type="button" onClick={() => void exportAll()} disabled={exporting} aria-describedby="export-hint">
          {exporting ? 'Exporting…' : 'Export NDJSON'}
        </button>
      </div>
      <p id="export-hint" className="hint">
        The export has every entry matching the filters below, one JSON object per line. Exports are recorded in the log.
      </p>
      <details className="audit-filter-box" open={filtersOpen} onToggle={(e) => setFiltersOpen(e.currentTarget.open)}>
        <summary>
          Filters
          {filtered ? <span className="pill">{Object.keys(applied).length} active</span> : null}
        </summary>
        <form className="audit-filters" onSubmit={apply} aria-label="Filter the audit log">
          <div className="field">
            <label htmlFor="audit-actor">Person</label>
            <select id="audit-actor" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })}>
              <option value="">Anyone</option>
              {sortedPeople.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.displayName ? `${u.displayName} (${u.email})` : u.email}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="audit-action">Action</label>
            <select id="audit-action" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })}>
              <option value="">Any action</option>
              {ACTION_GROUPS.map((g) => (
                <optgroup key={g.prefix} label={g.label}>
                  <option value={g.prefix}>Every {g.label.toLowerCase()} event</option>
                  {actionsIn(g.prefix).map((a) => (
                    <option key={a.action} value={a.action}>
                      {a.label}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="audit-target">Target id</label>
            <input id="audit-target" value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} maxLength={200} autoComplete="off" spellCheck={false} />
          </div>
          <div className="field">
            <label htmlFor="audit-from">From</label>
            <input id="audit-from" type="date" value={draft.from} max={draft.to || undefined} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
          </div>
          <div className="field">
            <label htmlFor="audit-to">To (including)</label>
            <input id="audit-to" type="date" value={draft.to} min={draft.from || undefined} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
          </div>
          <div className="audit-filter-actions">
            <button type="submit" className="primary">
              Apply filters
            </button>
            <button type="button" onClick={clear} disabled={!filtered && draft === EMPTY}>
              Clear
            </button>
          </div>
        </form>
      </details>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="audit-status">
        {status}
      </p>
      {error && (
        <div className="error" role="alert">
          {error}{' '}
          <button type="button" className="link" onClick={() => void load(applied)}>
            Try again
          </button>
        </div>
      )}
      {!error && entries === null && <p className="muted">Loading…</p>}
      {entries && entries.length === 0 && (
        <div className="empty audit-empty" data-testid="audit-empty">
          <p>{filtered ? 'No entries match these filters.' : 'Nothing has been recorded yet.'}</p>
          {filtered && (
            <button type="button" onClick={clear}>
              Clear filters
            </button>
          )}
        </div>
      )}
      {entries && entries.length > 0 && (
        <div className="audit-scroll" role="region" aria-label="Audit entries" tabIndex={0}>
          <table className="audit-table" data-testid="audit-table">
            <caption className="visually-hidden">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Person</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">IP address</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const who = e.actor ? personLabel(e.actor.id, e.actor.name) : null;
                const detail = detailWords(e);
                return (
                  <tr key={e.id} data-action={e.action}>
                    <td data-label="Time">
                      <time dateTime={e.createdAt}>{when(e.createdAt)}</time>
                    </td>
                    <td data-label="Person">
                      {who ? (
                        <>
                          {who.name}
                          {who.email && <span className="audit-sub">{who.email}</span>}
                        </>
                      ) : (
                        <span className="muted">{e.action.startsWith('auth.') ? 'Not signed in' : 'System'}</span>
                      )}
                    </td>
                    <td data-label="Action">
                      {actionWords(e.action)}
                      {detail && <span className="audit-sub">{detail}</span>}
                      <code className="audit-code">{e.action}</code>
                    </td>
                    <td data-label="Target">{target(e)}</td>
                    <td data-label="IP address">{e.ip ? <code>{e.ip}</code> : <span className="muted">—</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {entries && cursor && (
        <div className="audit-more">
          <button type="button" onClick={() => void more()} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        </div>
      )}
      {entries && entries.length > 0 && !cursor && <p className="hint audit-end">That is every matching entry.</p>}
    </section>
  );
}
