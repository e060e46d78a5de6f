/**
 * The account page's signed-in devices: browser and system in words, where and when each
 * signed in, when it was last used, this device marked; sign one out, or every other one.
 */
import { useCallback, useEffect, useState } from 'react';
import { Monitor, Smartphone } from 'lucide-react';
import type { SessionInfo, SessionMethod } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { ConfirmDialog } from './menu.js';
import { describeUserAgent } from './user-agent.js';
import './security.css';

const METHODS: Record<SessionMethod, string> = {
  signup: 'when the account was made',
  password: 'with a password',
  sso: 'with single sign-on',
  invitation: 'from an invitation',
  password_reset: 'after a password reset',
};

const date = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** "just now", "5 minutes ago", "yesterday", "3 days ago". */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(s) < 60) return 'just now';
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const m = Math.round(s / 60);
  if (Math.abs(m) < 60) return rtf.format(m, 'minute');
  const h = Math.round(m / 60);
  if (Math.abs(h) < 24) return rtf.format(h, 'hour');
  const d = Math.round(h / 24);
  if (Math.abs(d) < 30) return rtf.format(d, 'day');
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function SessionsCard() {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);

  const load = useCallback(async () => {
    const r = await client.listSessions();
    if (r.ok) {
      // This device first, then the most recently used.
      setSessions([...r.value.sessions].sort((a, b) => Number(b.current) - Number(a.current)));
      setError(null);
    } else setError(describeError(r.error));
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const end = async (s: SessionInfo) => {
    setBusy(s.id);
    setStatus(null);
    const r = await client.endOtherSession(s.id);
    setBusy(null);
    // Already gone (it expired or was signed out elsewhere) is what was asked for.
    if (!r.ok && r.error.code !== 'session_not_found') return setError(describeError(r.error));
    setStatus(`${describeUserAgent(s.userAgent).label} is signed out.`);
    await load();
  };
  const endOthers = async (yes: boolean) => {
    setAsking(false);
    if (!yes) return;
    setBusy('others');
    setStatus(null);
    const r = await client.endOtherSessions();
    setBusy(null);
    if (!r.ok) return setError(describeError(r.error));
    setStatus(r.value.ended === 1 ? 'One other session is signed out.' : `${r.value.ended} other sessions are signed out.`);
    await load();
  };

  const others = sessions?.filter((s) => !s.current).length ?? 0;
  return (
    <div className="card" role="region" aria-labelledby="sessions-heading" data-testid="sessions">
      <h3 id="sessions-heading">Signed-in devices</h3>
      <p className="hint">Where your account is signed in now. Sign out a device you do not know or no longer use.</p>
      {sessions === null && !error && <p className="muted">Loading…</p>}
      {sessions && (
        <ul className="session-list">
          {sessions.map((s) => {
            const d = describeUserAgent(s.userAgent);
            const Icon = d.mobile ? Smartphone : Monitor;
            const where = s.lastIp ?? s.ip;
            return (
              <li key={s.id} className="session-item" data-current={s.current || undefined} aria-label={`${d.label}${s.current ? ', this device' : ''}`}>
                <Icon size={22} aria-hidden className="session-icon" />
                <div className="session-text">
                  <div className="session-name">
                    <strong>{d.label}</strong>
                    {s.current && <span className="pill label">This device</span>}
                    {s.mfa && <span className="pill">Two-factor</span>}
                  </div>
                  <div className="hint">
                    Signed in {date(s.createdAt)} {METHODS[s.method] ?? ''}
                    {s.ip ? ` from ${s.ip}` : ''}
                  </div>
                  <div className="hint">
                    Last used {s.current ? 'now' : ago(s.lastUsedAt)}
                    {where && where !== s.ip ? ` from ${where}` : ''}
                  </div>
                </div>
                {!s.current && (
                  <button type="button" className="session-end" onClick={() => void end(s)} disabled={busy !== null} aria-label={`Sign out ${d.label}, last used ${ago(s.lastUsedAt)}`}>
                    Sign out
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      )}
      <div className="form-actions">
        <button type="button" onClick={() => setAsking(true)} disabled={others === 0 || busy !== null}>
          Sign out all other sessions
        </button>
        {sessions && others === 0 && <span className="hint">This is the only device signed in.</span>}
      </div>
      <p role="status" className="ok session-status">
        {status}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {asking && (
        <ConfirmDialog title="Sign out all other sessions?" confirmLabel="Sign out other sessions" danger onAnswer={(yes) => void endOthers(yes)}>
          <p>Every other device signed in to your account will need to sign in again. This device stays signed in.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}
