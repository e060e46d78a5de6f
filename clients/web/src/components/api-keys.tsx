/**
 * The account page's API keys: make one (a name, its scopes, when it expires), see its secret
 * once and copy it, list the keys with their scopes and dates and last use, revoke one.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { ApiKey, ApiKeyScope, CreatedApiKey, SessionUser } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { ConfirmDialog } from './menu.js';
import { ago } from './security-sessions.js';
import './security.css';
import { ApiReferenceLink } from './api-reference.js';

const SCOPES: { scope: ApiKeyScope; label: string; hint: string; adminOnly?: boolean }[] = [
  { scope: 'read', label: 'Read', hint: 'open and list documents, comments and history' },
  { scope: 'write', label: 'Write', hint: 'create, edit, share and delete documents' },
  { scope: 'search', label: 'Search', hint: 'search the documents you can open' },
  { scope: 'admin', label: 'Admin', hint: 'manage people, the workspace and the audit log', adminOnly: true },
];
const EXPIRY = [7, 30, 90, 180, 365] as const;
const day = (iso: string) => new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });

export function ApiKeysCard({ user }: { user: SessionUser }) {
  const admin = user.role === 'owner' || user.role === 'admin';
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<Set<ApiKeyScope>>(new Set(['read']));
  const [days, setDays] = useState<number>(90);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const id = useId();

  const load = async () => {
    const r = await client.listApiKeys();
    if (r.ok) setKeys(r.value.keys);
    else setError(describeError(r.error));
  };
  useEffect(() => {
    void load();
  }, []);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    if (scopes.size === 0) return setError('Choose at least one scope.');
    setBusy(true);
    setError(null);
    setStatus(null);
    const r = await client.createApiKey({ name: name.trim(), scopes: SCOPES.map((s) => s.scope).filter((s) => scopes.has(s)), expiresInDays: days });
    setBusy(false);
    if (!r.ok) return setError(describeError(r.error));
    setCreated(r.value);
    setName('');
    setScopes(new Set(['read']));
    await load();
  };
  const revoke = async (yes: boolean) => {
    const key = revoking;
    setRevoking(null);
    if (!yes || !key) return;
    setError(null);
    const r = await client.revokeApiKey(key.id);
    if (!r.ok && r.error.code !== 'api_key_not_found') return setError(describeError(r.error));
    setStatus(`“${key.name}” is revoked: it no longer works.`);
    if (created?.key.id === key.id) setCreated(null);
    await load();
  };
  const toggle = (s: ApiKeyScope, on: boolean) =>
    setScopes((prev) => {
      const next = new Set(prev);
      if (on) next.add(s);
      else next.delete(s);
      return next;
    });

  const now = Date.now();
  return (
    <div className="card" role="region" aria-labelledby="keys-heading" data-testid="api-keys">
      <h3 id="keys-heading">API keys</h3>
      <p className="hint">
        For scripts and integrations. A key acts as you, only with the scopes you choose, and never beyond what you can do yourself. It cannot change your account. What a key can call is in the{' '}
        <ApiReferenceLink>API reference</ApiReferenceLink>.
      </p>
      {created ? (
        <NewKey created={created} onDone={() => setCreated(null)} />
      ) : (
        <form onSubmit={(e) => void create(e)} aria-label="Create an API key">
          <label htmlFor={`${id}-name`}>Name</label>
          <input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoComplete="off" placeholder="e.g. Nightly export" />
          <fieldset className="scope-choices">
            <legend>Scopes</legend>
            {SCOPES.filter((s) => !s.adminOnly || admin).map((s) => (
              <label key={s.scope} title={s.hint}>
                <input type="checkbox" checked={scopes.has(s.scope)} onChange={(e) => toggle(s.scope, e.target.checked)} />
                {s.label}
              </label>
            ))}
          </fieldset>
          <p className="hint">
            Read: {SCOPES[0]!.hint}. Write: {SCOPES[1]!.hint}. Search: {SCOPES[2]!.hint}.{admin ? ` Admin: ${SCOPES[3]!.hint}.` : ''}
          </p>
          <label htmlFor={`${id}-expiry`}>Expires after</label>
          <select id={`${id}-expiry`} value={days} onChange={(e) => setDays(Number(e.target.value))}>
            {EXPIRY.map((d) => (
              <option key={d} value={d}>
                {d === 365 ? '1 year' : `${d} days`}
              </option>
            ))}
          </select>
          <div className="form-actions">
            <button type="submit" className="primary" disabled={busy || scopes.size === 0}>
              {busy ? 'Creating…' : 'Create key'}
            </button>
          </div>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <p role="status" className="ok session-status">
        {status}
      </p>
      {keys === null && !error && <p className="muted">Loading…</p>}
      {keys && keys.length === 0 && <p className="muted">You have no API keys.</p>}
      {keys && keys.length > 0 && (
        <ul className="key-list" aria-label="Your API keys">
          {keys.map((k) => {
            const expired = Date.parse(k.expiresAt) <= now;
            return (
              <li key={k.id} className="key-item" aria-label={k.name}>
                <div className="key-text">
                  <div className="key-name">
                    <strong>{k.name}</strong>
                    <code className="hint">…{k.hint}</code>
                    {expired && <span className="pill">Expired</span>}
                  </div>
                  <div className="key-scopes" aria-label="Scopes">
                    {k.scopes.map((s) => (
                      <span key={s} className="pill label">
                        {SCOPES.find((x) => x.scope === s)?.label ?? s}
                      </span>
                    ))}
                  </div>
                  <div className="hint">
                    Created {day(k.createdAt)} · {expired ? 'expired' : 'expires'} {day(k.expiresAt)}
                  </div>
                  <div className="hint">{k.lastUsedAt ? `Last used ${ago(k.lastUsedAt)}${k.lastUsedIp ? ` from ${k.lastUsedIp}` : ''}` : 'Never used'}</div>
                </div>
                <button type="button" className="link danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>
                  Revoke
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {revoking && (
        <ConfirmDialog title={`Revoke “${revoking.name}”?`} confirmLabel="Revoke key" danger onAnswer={(yes) => void revoke(yes)}>
          <p>Anything using this key stops working at once. This cannot be undone; you can make a new key.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The new key's secret, shown this once, with a copy button. */
function NewKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const heading = useRef<HTMLParagraphElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the key and copy it.');
    }
  };
  return (
    <div className="key-once" data-testid="new-key">
      <p ref={heading} tabIndex={-1}>
        <strong>“{created.key.name}” is ready. Copy the key now: it is shown only this once.</strong>
      </p>
      <code data-testid="new-key-secret" className="mfa-secret">
        {created.secret}
      </code>
      <div className="form-actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
        <span role="status" className="hint">
          {copied}
        </span>
      </div>
      <p className="hint">
        Use it as <code>Authorization: Bearer …</code> on the REST API, or as the token of a sync connection.
      </p>
    </div>
  );
}
