/**
 * The account page: the name others see, a password change with a live strength estimate
 * (the server checks the same way and has the last word), notification settings
 * (`#notifications`), and signing out everywhere.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { Me, PasswordStrength, SessionUser } from '../../../sdk/index.js';
import { cacheProfile, client, describeError, forgetDevice } from '../api.js';
import { loadStrength, MIN_SCORE, SCORE_WORDS, type Strength } from '../password-strength.js';
import { ConfirmDialog } from './menu.js';
import { NotificationSettings } from './notification-settings.js';
import { SessionsCard } from './security-sessions.js';
import { MfaCard } from './security-mfa.js';
import { ApiKeysCard } from './api-keys.js';

export function AccountView({ user, me, onProfile }: { user: SessionUser; me: Me | null; onProfile: (me: Me) => void }) {
  return (
    <section className="account" aria-labelledby="account-heading">
      <h2 id="account-heading">Your account</h2>
      <p className="muted">
        {user.email}
        {me ? ` · ${me.tenantName}` : ''}
      </p>
      <NameForm me={me} onProfile={onProfile} />
      <PasswordForm user={user} me={me} />
      <MfaCard />
      <NotificationSettings />
      <SessionsCard />
      <SignOutEverywhere user={user} />
      <ApiKeysCard user={user} />
    </section>
  );
}

function NameForm({ me, onProfile }: { me: Me | null; onProfile: (me: Me) => void }) {
  const [name, setName] = useState(me?.displayName ?? '');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => setName(me?.displayName ?? ''), [me?.displayName]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const r = await client.updateMe({ displayName: name.trim() || null });
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    cacheProfile(r.value);
    onProfile(r.value);
    setMessage({ ok: true, text: r.value.displayName ? `Others now see you as ${r.value.displayName}.` : 'Your name is cleared; others see your email’s first part.' });
  };
  return (
    <form className="card" onSubmit={save} aria-labelledby="name-heading">
      <h3 id="name-heading">Name</h3>
      <label htmlFor="display-name">Display name</label>
      <input id="display-name" value={name} maxLength={80} onChange={(e) => setName(e.target.value)} autoComplete="name" />
      <p className="hint">Shown to people you work with: in presence, beside your cursor, in sharing.</p>
      <div className="form-actions">
        <button type="submit" className="primary">
          Save name
        </button>
        <Outcome message={message} />
      </div>
    </form>
  );
}

function PasswordForm({ user, me }: { user: SessionUser; me: Me | null }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [strength, setStrength] = useState<Strength | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (!next) return setStrength(null);
    let live = true;
    void loadStrength().then((check) => {
      if (live) setStrength(check(next, [user.email, me?.displayName ?? '', me?.tenantName ?? ''].filter(Boolean)));
    });
    return () => {
      live = false;
    };
  }, [next, user.email, me?.displayName, me?.tenantName]);
  const weak = strength !== null && strength.score < MIN_SCORE;
  const change = async (e: FormEvent) => {
    e.preventDefault();
    if (weak) return;
    setBusy(true);
    setMessage(null);
    const r = await client.changePassword({ currentPassword: current, newPassword: next });
    setBusy(false);
    if (!r.ok) {
      const details = r.error.details as PasswordStrength | undefined;
      const text =
        r.error.code === 'wrong_password'
          ? 'Your current password is not right.'
          : r.error.code === 'weak_password' && details
            ? [r.error.message, details.warning, ...(details.suggestions ?? [])].filter(Boolean).join(' ')
            : describeError(r.error);
      return setMessage({ ok: false, text });
    }
    setCurrent('');
    setNext('');
    setMessage({ ok: true, text: 'Password changed. You stay signed in here; every other device was signed out.' });
  };
  return (
    <form className="card" onSubmit={change} aria-labelledby="password-heading">
      <h3 id="password-heading">Password</h3>
      <label htmlFor="current-password">Current password</label>
      <input id="current-password" type="password" value={current} onChange={(e) => setCurrent(e.target.value)} autoComplete="current-password" required />
      <label htmlFor="new-password">New password</label>
      <input
        id="new-password"
        type="password"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        autoComplete="new-password"
        required
        minLength={10}
        aria-describedby="strength"
        aria-invalid={weak || undefined}
      />
      <div id="strength" className="strength" aria-live="polite" data-testid="password-strength">
        {strength && (
          <>
            <meter min={0} max={4} low={2} high={3} optimum={4} value={strength.score} aria-label="Password strength" />
            <span className={weak ? 'error' : 'ok'}>
              {SCORE_WORDS[strength.score]}
              {weak ? ': choose a stronger password.' : ''}
            </span>
            {weak && (strength.warning || strength.suggestions.length > 0) && <span className="hint">{[strength.warning, ...strength.suggestions].filter(Boolean).join(' ')}</span>}
          </>
        )}
      </div>
      <p className="hint">At least 10 characters. A few unrelated words make a strong password that is easy to remember.</p>
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy || weak}>
          Change password
        </button>
        <Outcome message={message} />
      </div>
    </form>
  );
}

function SignOutEverywhere({ user }: { user: SessionUser }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const answer = async (yes: boolean) => {
    setAsking(false);
    if (!yes) return;
    const r = await client.logoutEverywhere();
    if (!r.ok) return setError(describeError(r.error));
    await forgetDevice(user.id);
  };
  return (
    <div className="card" aria-labelledby="everywhere-heading">
      <h3 id="everywhere-heading">Sign out everywhere</h3>
      <p>Lost a device, or signed in on a shared computer? Sign out on every device, this one included.</p>
      <button type="button" className="danger-button" onClick={() => setAsking(true)}>
        Sign out everywhere
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {asking && (
        <ConfirmDialog title="Sign out everywhere?" confirmLabel="Sign out everywhere" danger onAnswer={(yes) => void answer(yes)}>
          <p>Every device signed in to your account, this one included, will need your password again. Edits another device has not sent to the server yet are lost.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** What became of the last submit: said politely when it worked, as an alert when not. */
function Outcome({ message }: { message: { ok: boolean; text: string } | null }) {
  if (!message) return null;
  return (
    <span role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
      {message.text}
    </span>
  );
}
