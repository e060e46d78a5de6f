/**
 * Webhooks for workspace owners and admins (`/admin/webhooks`): the workspace's endpoints with
 * their health and last delivery; add one (its signing secret is shown once); change its
 * events, turn it on or off, rotate its secret, delete it, send a test event; and an
 * endpoint's delivery log, with a retry of one delivery and a replay of everything since a time.
 */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { QuireError, SessionUser } from '../../../sdk/index.js';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_LIMITS, type WebhookDelivery, type WebhookEndpoint, type WebhookEndpointWithSecret, type WebhookEventType } from '../../../../contract/webhooks.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { ConfirmDialog } from './menu.js';
import './security.css';
import './audit.css';
import './webhooks.css';

const EVENT_WORDS: Record<WebhookEventType, { label: string; hint: string }> = {
  'document.created': { label: 'Document created', hint: 'created, duplicated, imported or restored from the trash' },
  'document.changed': { label: 'Document changed', hint: 'its content or title changed' },
  'document.deleted': { label: 'Document deleted', hint: 'moved to the trash or purged' },
  'document.shared': { label: 'Document shared', hint: 'someone was given access' },
  'comment.created': { label: 'Comment posted', hint: 'a comment or reply was posted' },
  'review.decided': { label: 'Review decided', hint: 'a reviewer decided, or a review completed' },
  'document.classified': { label: 'Document classified', hint: 'a label shown on the document changed' },
};
const eventLabel = (t: string) => (t === 'webhook.test' ? 'Test event' : (EVENT_WORDS[t as WebhookEventType]?.label ?? t));

const STATUS_WORDS: Record<WebhookEndpoint['status'], string> = { active: 'Active', failing: 'Failing', disabled: 'Disabled' };
const DELIVERY_WORDS: Record<WebhookDelivery['status'], string> = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const LOG_PAGE = 50;
/** While a delivery in the log is still pending, the log is read again this often. */
const PENDING_REFRESH_MS = 2_000;

/** Field errors of a failed create or update: a refused URL goes next to the URL field. */
interface FieldErrors {
  url?: string;
  events?: string;
  description?: string;
  form?: string;
}

function fieldErrors(e: QuireError): FieldErrors {
  if (e.code === 'validation_failed' && Array.isArray(e.details)) {
    const out: FieldErrors = {};
    const rest: string[] = [];
    for (const d of e.details as { path?: string; message?: string }[]) {
      const field = (d.path ?? '').split('.')[0];
      const message = d.message ?? 'is not valid';
      if (field === 'url') out.url = e.message.startsWith('The webhook URL was refused') ? `This URL was refused: ${message}.` : `The URL ${message.replace(/^[A-Z]/, (c) => c.toLowerCase())}.`;
      else if (field === 'events') out.events = 'Choose at least one event.';
      else if (field === 'description') out.description = `The description ${message.replace(/^[A-Z]/, (c) => c.toLowerCase())}.`;
      else rest.push(`${d.path ? `${d.path}: ` : ''}${message}`);
    }
    if (rest.length) out.form = rest.join('; ');
    if (out.url || out.events || out.description || out.form) return out;
  }
  return { form: describeError(e) };
}

/** The event checkboxes of the add and edit forms. */
function EventChoices({ value, onChange, error, idPrefix }: { value: Set<WebhookEventType>; onChange: (next: Set<WebhookEventType>) => void; error?: string; idPrefix: string }) {
  const toggle = (t: WebhookEventType, on: boolean) => {
    const next = new Set(value);
    if (on) next.add(t);
    else next.delete(t);
    onChange(next);
  };
  return (
    <fieldset className="webhook-events" aria-describedby={error ? `${idPrefix}-events-error` : undefined}>
      <legend>Events</legend>
      <div className="webhook-event-grid">
        {WEBHOOK_EVENT_TYPES.map((t) => (
          <label key={t} className="webhook-event">
            <input type="checkbox" checked={value.has(t)} onChange={(e) => toggle(t, e.target.checked)} />
            <span>
              {EVENT_WORDS[t].label}
              <span className="hint">{EVENT_WORDS[t].hint}</span>
            </span>
          </label>
        ))}
      </div>
      {error && (
        <p className="field-error" id={`${idPrefix}-events-error`} role="alert">
          {error}
        </p>
      )}
    </fieldset>
  );
}

/** A signing secret, shown this once, with a copy button. */
function SecretOnce({ created, rotated, onDone }: { created: WebhookEndpointWithSecret; rotated: boolean; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const heading = useRef<HTMLParagraphElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the secret and copy it.');
    }
  };
  return (
    <div className="key-once" data-testid="webhook-secret">
      <p ref={heading} tabIndex={-1}>
        <strong>{rotated ? 'The endpoint has a new signing secret.' : 'The endpoint is added.'} Copy its signing secret now: it is shown only this once.</strong>
      </p>
      <p className="hint">
        Your receiver checks the <code>webhook-signature</code> header of each request with this secret (Standard Webhooks, see docs/WEBHOOKS.md).
        {rotated && created.endpoint.previousSecretExpiresAt ? ` The previous secret keeps signing beside it until ${when(created.endpoint.previousSecretExpiresAt)}.` : ''}
      </p>
      <code data-testid="webhook-secret-value" className="mfa-secret">
        {created.secret}
      </code>
      <div className="form-actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy secret
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
        <span role="status" className="hint">
          {copied}
        </span>
      </div>
    </div>
  );
}

/** The form that adds an endpoint. */
function AddEndpoint({ onCreated, full }: { onCreated: (c: WebhookEndpointWithSecret) => void; full: boolean }) {
  const id = useId();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState<Set<WebhookEventType>>(new Set(['document.created', 'document.changed']));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (events.size === 0) return setErrors({ events: 'Choose at least one event.' });
    setBusy(true);
    setErrors({});
    const r = await client.createWebhook({ url: url.trim(), description: description.trim(), events: WEBHOOK_EVENT_TYPES.filter((t) => events.has(t)) });
    setBusy(false);
    if (!r.ok) return setErrors(fieldErrors(r.error));
    setUrl('');
    setDescription('');
    setEvents(new Set(['document.created', 'document.changed']));
    onCreated(r.value);
  };
  return (
    <form className="webhook-form" onSubmit={(e) => void submit(e)} aria-label="Add an endpoint">
      <label htmlFor={`${id}-url`}>Endpoint URL</label>
      <input
        id={`${id}-url`}
        type="url"
        value={url}
        onChange={(e) => setUrl(e.target.value)}
        required
        maxLength={WEBHOOK_LIMITS.urlChars}
        placeholder="https://hooks.example.com/quire"
        autoComplete="off"
        spellCheck={false}
        aria-invalid={errors.url ? true : undefined}
        aria-describedby={errors.url ? `${id}-url-error` : `${id}-url-hint`}
      />
      {errors.url ? (
        <p className="field-error" id={`${id}-url-error`} role="alert" data-testid="webhook-url-error">
          {errors.url}
        </p>
      ) : (
        <p className="hint" id={`${id}-url-hint`}>
          An <code>https:</code> address on the public internet. Quire POSTs each event to it as JSON.
        </p>
      )}
      <label htmlFor={`${id}-description`} className="webhook-inline-label">
        Description <span className="hint">(optional)</span>
      </label>
      <input id={`${id}-description`} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={WEBHOOK_LIMITS.descriptionChars} placeholder="e.g. CRM sync" autoComplete="off" />
      {errors.description && (
        <p className="field-error" role="alert">
          {errors.description}
        </p>
      )}
      <EventChoices value={events} onChange={setEvents} error={errors.events} idPrefix={id} />
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy || full}>
          {busy ? 'Adding…' : 'Add endpoint'}
        </button>
        {full && <span className="hint">A workspace has at most {WEBHOOK_LIMITS.endpointsPerWorkspace} endpoints.</span>}
      </div>
    </form>
  );
}

/** An endpoint's settings: description, events, on or off. */
function EditEndpoint({ endpoint, onSaved, onCancel }: { endpoint: WebhookEndpoint; onSaved: (e: WebhookEndpoint) => void; onCancel: () => void }) {
  const id = useId();
  const [description, setDescription] = useState(endpoint.description);
  const [events, setEvents] = useState<Set<WebhookEventType>>(new Set(endpoint.events));
  const [enabled, setEnabled] = useState(endpoint.enabled);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (events.size === 0) return setErrors({ events: 'Choose at least one event.' });
    setBusy(true);
    setErrors({});
    const r = await client.updateWebhook(endpoint.id, { description: description.trim(), events: WEBHOOK_EVENT_TYPES.filter((t) => events.has(t)), enabled });
    setBusy(false);
    if (!r.ok) return setErrors(fieldErrors(r.error));
    onSaved(r.value);
  };
  return (
    <form className="webhook-form webhook-edit" onSubmit={(e) => void submit(e)} aria-label={`Edit ${endpoint.url}`}>
      <label htmlFor={`${id}-description`}>Description</label>
      <input id={`${id}-description`} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={WEBHOOK_LIMITS.descriptionChars} autoComplete="off" />
      {errors.description && (
        <p className="field-error" role="alert">
          {errors.description}
        </p>
      )}
      <EventChoices value={events} onChange={setEvents} error={errors.events} idPrefix={id} />
      <label className="webhook-toggle">
        <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
        <span>
          Enabled
          <span className="hint">While disabled, new events are not queued for it; deliveries already queued wait until it is enabled again.</span>
        </span>
      </label>
      {errors.form && (
        <p className="error" role="alert">
          {errors.form}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save changes'}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The value of a `datetime-local` input for a time (local, to the minute). */
function localInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An endpoint's delivery log, newest first, with retry and replay. */
function DeliveryLog({ endpoint, refreshKey, onNewest }: { endpoint: WebhookEndpoint; refreshKey: number; onNewest: (d: WebhookDelivery | null) => void }) {
  const id = useId();
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 60 * 60 * 1000)));
  const [replaying, setReplaying] = useState(false);
  const [replayError, setReplayError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const asked = useRef(0);

  const load = useCallback(async () => {
    const n = ++asked.current;
    const r = await client.listWebhookDeliveries(endpoint.id, { limit: LOG_PAGE });
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setError(null);
    setDeliveries(r.value.deliveries);
    setCursor(r.value.nextCursor);
    onNewest(r.value.deliveries[0] ?? null);
  }, [endpoint.id, onNewest]);
  useEffect(() => {
    void load();
  }, [load, refreshKey]);
  // Pending deliveries settle within seconds (or are retried later): read the log again until none is left.
  const pending = deliveries?.some((d) => d.status === 'pending') ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void load(), PENDING_REFRESH_MS);
    return () => clearInterval(timer);
  }, [pending, load]);

  const more = async () => {
    if (!cursor) return;
    const n = asked.current;
    setLoadingMore(true);
    const r = await client.listWebhookDeliveries(endpoint.id, { limit: LOG_PAGE, cursor });
    setLoadingMore(false);
    if (n !== asked.current) return;
    if (!r.ok) return setError(describeError(r.error));
    setDeliveries((prev) => [...(prev ?? []), ...r.value.deliveries]);
    setCursor(r.value.nextCursor);
  };
  const retry = async (d: WebhookDelivery) => {
    setStatus(null);
    const r = await client.retryWebhookDelivery(endpoint.id, d.id);
    if (!r.ok) return setError(describeError(r.error));
    setStatus(`${eventLabel(d.eventType)} is being sent again.`);
    await load();
  };
  const replay = async (e: FormEvent) => {
    e.preventDefault();
    setReplayError(null);
    setStatus(null);
    const at = new Date(since);
    if (Number.isNaN(at.getTime())) return setReplayError('Enter a date and time.');
    if (at.getTime() > Date.now()) return setReplayError('Choose a time in the past.');
    setReplaying(true);
    const r = await client.replayWebhook(endpoint.id, at);
    setReplaying(false);
    if (!r.ok) return setReplayError(describeError(r.error));
    const n = r.value.queued;
    setStatus(
      n === 0
        ? 'No deliveries since then to send again.'
        : `${n} ${n === 1 ? 'delivery is' : 'deliveries are'} being sent again${n >= WEBHOOK_LIMITS.maxReplay ? ' (the most one replay sends: replay again from a later time for the rest)' : ''}.`,
    );
    await load();
  };

  return (
    <div className="webhook-log" role="region" aria-labelledby={`${id}-heading`} data-testid="webhook-log">
      <div className="webhook-log-head">
        <h4 id={`${id}-heading`}>Delivery log</h4>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <form className="webhook-replay" onSubmit={(e) => void replay(e)} aria-label="Replay deliveries">
        <label htmlFor={`${id}-since`}>Send again every event since</label>
        <div className="webhook-replay-row">
          <input
            id={`${id}-since`}
            type="datetime-local"
            value={since}
            max={localInput(new Date())}
            onChange={(e) => setSince(e.target.value)}
            required
            aria-invalid={replayError ? true : undefined}
          />
          <button type="submit" disabled={replaying}>
            {replaying ? 'Replaying…' : 'Replay'}
          </button>
        </div>
        {replayError ? (
          <p className="field-error" role="alert">
            {replayError}
          </p>
        ) : (
          <p className="hint">Same ids and bodies as before, oldest first; the log reaches back {WEBHOOK_LIMITS.logRetentionDays} days.</p>
        )}
      </form>
      <p role="status" className="ok session-status">
        {status}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}{' '}
          <button type="button" className="link" onClick={() => void load()}>
            Try again
          </button>
        </p>
      )}
      {deliveries === null && !error && <p className="muted">Loading…</p>}
      {deliveries && deliveries.length === 0 && <p className="muted webhook-log-empty">Nothing has been sent to this endpoint yet. Send a test event to try it.</p>}
      {deliveries && deliveries.length > 0 && (
        <div className="audit-scroll" role="region" aria-label="Deliveries" tabIndex={0}>
          <table className="audit-table webhook-table" data-testid="webhook-deliveries">
            <caption className="visually-hidden">Deliveries to {endpoint.url}, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Response</th>
                <th scope="col">Attempts</th>
                <th scope="col">Duration</th>
                <th scope="col">Error</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-status={d.status} data-event={d.eventType}>
                  <td data-label="Time">
                    <time dateTime={d.lastAttemptAt ?? d.createdAt}>{when(d.lastAttemptAt ?? d.createdAt)}</time>
                  </td>
                  <td data-label="Event">
                    {eventLabel(d.eventType)}
                    <code className="audit-code" title={d.eventId}>
                      {d.eventType}
                    </code>
                  </td>
                  <td data-label="Status">
                    <span className={`pill webhook-${d.status}`}>{DELIVERY_WORDS[d.status]}</span>
                    {d.status === 'pending' && d.nextAttemptAt && d.attempts > 0 && <span className="audit-sub">Next try {when(d.nextAttemptAt)}</span>}
                  </td>
                  <td data-label="Response" data-testid="webhook-response">
                    {d.lastStatus !== null ? <code>{d.lastStatus}</code> : <span className="muted">—</span>}
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Duration">{d.lastDurationMs !== null ? `${d.lastDurationMs} ms` : <span className="muted">—</span>}</td>
                  <td data-label="Error">{d.lastError ? <span className="webhook-error-text">{d.lastError}</span> : <span className="muted">—</span>}</td>
                  <td data-label="">
                    {d.status === 'failed' && (
                      <button type="button" className="link" onClick={() => void retry(d)} aria-label={`Retry ${eventLabel(d.eventType)} of ${when(d.createdAt)}`}>
                        Retry
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deliveries && cursor && (
        <div className="audit-more">
          <button type="button" onClick={() => void more()} disabled={loadingMore}>
            {loadingMore ? 'Loading…' : 'Load older deliveries'}
          </button>
        </div>
      )}
    </div>
  );
}

/** The last delivery of each endpoint, for the list. */
type LastDeliveries = Map<string, WebhookDelivery | null>;

function LastOutcome({ delivery }: { delivery: WebhookDelivery | null | undefined }) {
  if (delivery === undefined) return null;
  if (delivery === null) return <span className="hint">No deliveries yet</span>;
  const at = when(delivery.lastAttemptAt ?? delivery.createdAt);
  // A pending delivery's code and error are of an earlier attempt (or a replayed one): left out.
  const code = delivery.status === 'pending' ? '' : delivery.lastStatus !== null ? ` · ${delivery.lastStatus}` : delivery.lastError ? ` · ${delivery.lastError}` : '';
  return (
    <span className="hint" data-testid="webhook-last">
      Last delivery: {DELIVERY_WORDS[delivery.status].toLowerCase()}
      {code} · {eventLabel(delivery.eventType)} · {at}
    </span>
  );
}

export function WebhooksView({ user }: { user: SessionUser }) {
  const admin = user.role === 'owner' || user.role === 'admin';
  const [endpoints, setEndpoints] = useState<WebhookEndpoint[] | null>(null);
  const [last, setLast] = useState<LastDeliveries>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(!admin);
  const [secret, setSecret] = useState<{ created: WebhookEndpointWithSecret; rotated: boolean } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<WebhookEndpoint | null>(null);
  const [rotating, setRotating] = useState<WebhookEndpoint | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [logKey, setLogKey] = useState(0);
  const [adding, setAdding] = useState(false);

  useEffect(() => {
    const previous = document.title;
    document.title = 'Webhooks · Quire';
    return () => {
      document.title = previous;
    };
  }, []);

  const load = useCallback(async () => {
    if (!admin) return;
    const r = await client.listWebhooks();
    if (!r.ok) {
      if (r.error.code === 'forbidden') setForbidden(true);
      else setError(describeError(r.error));
      return;
    }
    setError(null);
    setEndpoints(r.value.endpoints);
    const outcomes = await Promise.all(r.value.endpoints.map(async (e) => [e.id, await client.listWebhookDeliveries(e.id, { limit: 1 })] as const));
    setLast(new Map(outcomes.map(([id, d]) => [id, d.ok ? (d.value.deliveries[0] ?? null) : null])));
  }, [admin]);
  useEffect(() => {
    void load();
  }, [load]);

  // The log's newest delivery is the list's last outcome of its endpoint.
  const onNewest = useCallback((d: WebhookDelivery | null) => {
    if (d) setLast((prev) => (prev.get(d.endpointId) === d ? prev : new Map(prev).set(d.endpointId, d)));
  }, []);
  const replace = (e: WebhookEndpoint) => setEndpoints((prev) => prev?.map((x) => (x.id === e.id ? e : x)) ?? prev);

  const setEnabled = async (e: WebhookEndpoint, enabled: boolean) => {
    setStatus(null);
    setError(null);
    const r = await client.updateWebhook(e.id, { enabled });
    if (!r.ok) return setError(describeError(r.error));
    replace(r.value);
    setStatus(enabled ? `${e.url} is enabled.` : `${e.url} is disabled: no events are queued for it.`);
  };
  const sendTest = async (e: WebhookEndpoint) => {
    setStatus(null);
    setError(null);
    const r = await client.testWebhook(e.id);
    if (!r.ok) return setError(describeError(r.error));
    setStatus(`A test event is on its way to ${e.url}. Its delivery shows in the log.`);
    setOpen(e.id);
    setLogKey((k) => k + 1);
    setLast((prev) => new Map(prev).set(e.id, r.value.delivery));
  };
  const remove = async (yes: boolean) => {
    const e = deleting;
    setDeleting(null);
    if (!yes || !e) return;
    setError(null);
    const r = await client.deleteWebhook(e.id);
    if (!r.ok && r.error.status !== 404) return setError(describeError(r.error));
    setStatus(`${e.url} is deleted: it receives no more events.`);
    if (secret?.created.endpoint.id === e.id) setSecret(null);
    setEndpoints((prev) => prev?.filter((x) => x.id !== e.id) ?? prev);
  };
  const rotate = async (yes: boolean) => {
    const e = rotating;
    setRotating(null);
    if (!yes || !e) return;
    setError(null);
    const r = await client.rotateWebhookSecret(e.id);
    if (!r.ok) return setError(describeError(r.error));
    replace(r.value.endpoint);
    setSecret({ created: r.value, rotated: true });
  };
  const expirePrevious = async (e: WebhookEndpoint) => {
    setError(null);
    const r = await client.expirePreviousWebhookSecret(e.id);
    if (!r.ok) return setError(describeError(r.error));
    replace(r.value);
    setStatus('The previous secret no longer signs.');
  };

  if (forbidden) {
    return (
      <section className="webhooks" aria-labelledby="webhooks-heading">
        <h2 id="webhooks-heading">Webhooks</h2>
        <div className="empty" role="alert" data-testid="webhooks-forbidden">
          <p>Only workspace owners and admins can manage webhooks.</p>
          <button type="button" className="primary" onClick={() => navigate('/')}>
            Go to your documents
          </button>
        </div>
      </section>
    );
  }

  const full = (endpoints?.length ?? 0) >= WEBHOOK_LIMITS.endpointsPerWorkspace;
  return (
    <section className="webhooks" aria-labelledby="webhooks-heading">
      <div className="audit-head">
        <div>
          <h2 id="webhooks-heading">Webhooks</h2>
          <p className="muted">Quire POSTs this workspace’s events to your endpoints, signed, retried for about a day.</p>
        </div>
        {!adding && !secret && (
          <button type="button" className="primary" onClick={() => setAdding(true)} disabled={full}>
            Add endpoint
          </button>
        )}
      </div>
      {secret && <SecretOnce created={secret.created} rotated={secret.rotated} onDone={() => setSecret(null)} />}
      {adding && !secret && (
        <div className="card" role="region" aria-labelledby="webhook-add-heading">
          <div className="webhook-card-head">
            <h3 id="webhook-add-heading">Add an endpoint</h3>
            <button type="button" className="link" onClick={() => setAdding(false)}>
              Cancel
            </button>
          </div>
          <AddEndpoint
            full={full}
            onCreated={(c) => {
              setAdding(false);
              setSecret({ created: c, rotated: false });
              setEndpoints((prev) => [...(prev ?? []), c.endpoint]);
              setLast((prev) => new Map(prev).set(c.endpoint.id, null));
            }}
          />
        </div>
      )}
      <p role="status" className="ok session-status" data-testid="webhooks-status">
        {status}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}{' '}
          <button type="button" className="link" onClick={() => void load()}>
            Try again
          </button>
        </p>
      )}
      {endpoints === null && !error && <p className="muted">Loading…</p>}
      {endpoints && endpoints.length === 0 && !adding && !secret && (
        <div className="empty audit-empty" data-testid="webhooks-empty">
          <p>No endpoints yet. Add one to have this workspace’s events sent to it.</p>
        </div>
      )}
      {endpoints && endpoints.length > 0 && (
        <ul className="key-list webhook-list" aria-label="Endpoints">
          {endpoints.map((e) => (
            <li key={e.id} className="webhook-item" data-testid="webhook-endpoint" data-status={e.status}>
              <div className="webhook-item-main">
                <div className="key-text">
                  <div className="key-name">
                    <strong className="webhook-url" title={e.url}>
                      {e.url}
                    </strong>
                    <span className={`pill webhook-${e.status}`} data-testid="webhook-status">
                      {STATUS_WORDS[e.status]}
                    </span>
                  </div>
                  {e.description && <div>{e.description}</div>}
                  <div className="key-scopes" aria-label="Events">
                    {e.events.map((t) => (
                      <span key={t} className="pill label" title={t}>
                        {EVENT_WORDS[t]?.label ?? t}
                      </span>
                    ))}
                  </div>
                  {e.status === 'failing' && (
                    <span className="webhook-warn">
                      {e.consecutiveFailures} failed {e.consecutiveFailures === 1 ? 'attempt' : 'attempts'} in a row{e.failingSince ? `, since ${when(e.failingSince)}` : ''}.
                    </span>
                  )}
                  {e.status === 'disabled' && e.disabledReason === 'failing' && <span className="webhook-warn">Turned off after failing for days. Fix the receiver, then enable it.</span>}
                  {e.previousSecretExpiresAt && (
                    <span className="hint">
                      The previous secret signs too until {when(e.previousSecretExpiresAt)}.{' '}
                      <button type="button" className="link" onClick={() => void expirePrevious(e)}>
                        Stop it now
                      </button>
                    </span>
                  )}
                  <LastOutcome delivery={last.get(e.id)} />
                </div>
              </div>
              <div className="webhook-actions" role="group" aria-label={`Actions for ${e.url}`}>
                <button type="button" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                  {open === e.id ? 'Hide deliveries' : 'Deliveries'}
                </button>
                <button type="button" onClick={() => void sendTest(e)}>
                  Send test event
                </button>
                <button type="button" onClick={() => setEditing(editing === e.id ? null : e.id)} aria-expanded={editing === e.id}>
                  Edit
                </button>
                <button type="button" onClick={() => void setEnabled(e, !e.enabled)}>
                  {e.enabled ? 'Disable' : 'Enable'}
                </button>
                <button type="button" onClick={() => setRotating(e)}>
                  Rotate secret
                </button>
                <button type="button" className="link danger" onClick={() => setDeleting(e)} aria-label={`Delete ${e.url}`}>
                  Delete
                </button>
              </div>
              {editing === e.id && (
                <EditEndpoint
                  endpoint={e}
                  onCancel={() => setEditing(null)}
                  onSaved={(saved) => {
                    replace(saved);
                    setEditing(null);
                    setStatus(`${saved.url} is saved.`);
                  }}
                />
              )}
              {open === e.id && <DeliveryLog endpoint={e} refreshKey={logKey} onNewest={onNewest} />}
            </li>
          ))}
        </ul>
      )}
      {deleting && (
        <ConfirmDialog title="Delete this endpoint?" confirmLabel="Delete endpoint" danger onAnswer={(yes) => void remove(yes)}>
          <p>
            <code className="webhook-url">{deleting.url}</code> stops receiving events at once, and its delivery log is deleted with it. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
      {rotating && (
        <ConfirmDialog title="Rotate the signing secret?" confirmLabel="Rotate secret" onAnswer={(yes) => void rotate(yes)}>
          <p>
            A new secret is made and shown once. The current one keeps signing beside it for {WEBHOOK_LIMITS.previousSecretHours} hours, so the receiver of{' '}
            <code className="webhook-url">{rotating.url}</code> can switch without missing events.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
