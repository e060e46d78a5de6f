/**
 * The pages a link from an email (or from an admin) opens, signed in or not:
 *
 * - `/invite#token=…`: what the invitation joins (workspace, email, role), a password with the
 *   live strength estimate, then the account is made and the person is signed in.
 * - `/reset-password#token=…`: a new password; every session of the account ends, and the
 *   person goes back to sign in with a notice.
 * - `/forgot-password`: asks for a reset link by email; the answer is the same whether or not
 *   the account exists.
 *
 * The token rides in the URL's fragment, which the browser never sends to a server; the page
 * drops it from the address bar once read, so it is not left in history or a screenshot.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { InvitationPreview, PasswordStrength } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { loadStrength, MIN_SCORE, SCORE_WORDS, type Strength } from '../password-strength.js';
import { navigate } from '../router.js';
import './account-links.css';

/** Reads `#token=` once and takes it out of the address bar. */
function useFragmentToken(): string | null {
  const [token] = useState(() => {
    const t = new URLSearchParams(window.location.hash.slice(1)).get('token');
    if (window.location.hash) history.replaceState(history.state, '', window.location.pathname + window.location.search);
    return t && t.length <= 200 ? t : null;
  });
  return token;
}

function useStrength(password: string, inputs: string[]): Strength | null {
  const [strength, setStrength] = useState<Strength | null>(null);
  const key = inputs.join('\n');
  useEffect(() => {
    if (!password) return setStrength(null);
    let live = true;
    void loadStrength().then((check) => {
      if (live) setStrength(check(password, key.split('\n').filter(Boolean)));
    });
    return () => {
      live = false;
    };
  }, [password, key]);
  return strength;
}

/** A new-password field with the strength estimate the account page shows (the server has the last word). */
function NewPassword({ id, value, onChange, strength }: { id: string; value: string; onChange: (v: string) => void; strength: Strength | null }) {
  const weak = strength !== null && strength.score < MIN_SCORE;
  return (
    <>
      <label htmlFor={id}>Password</label>
      <input
        id={id}
        type="password"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        autoComplete="new-password"
        required
        minLength={10}
        aria-describedby={`${id}-strength ${id}-hint`}
        aria-invalid={weak || undefined}
      />
      <div id={`${id}-strength`} className="strength" aria-live="polite" data-testid="password-strength">
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
      <p id={`${id}-hint`} className="hint">
        At least 10 characters. A few unrelated words make a strong password that is easy to remember.
      </p>
    </>
  );
}

/** A refusal as a sentence; a weak password says why, as the server explained it. */
function passwordError(e: { code: string; message: string; details?: unknown }): string {
  const details = e.details as PasswordStrength | undefined;
  if (e.code === 'weak_password' && details) return [e.message, details.warning, ...(details.suggestions ?? [])].filter(Boolean).join(' ');
  return describeError(e as Parameters<typeof describeError>[0]);
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth account-link">
      <div className="auth-card">
        <p className="brand">Quire</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function BackToSignIn({ label = 'Back to sign in' }: { label?: string }) {
  return (
    <p className="account-link-back">
      <a
        href="/"
        onClick={(e) => {
          e.preventDefault();
          navigate('/', true);
        }}
      >
        {label}
      </a>
    </p>
  );
}

const ROLE_WORDS: Record<string, string> = { admin: 'an admin', member: 'a member', guest: 'a guest' };

/** `onSignIn`: the account is made but signing in needs the sign-in page (a second factor the workspace requires, say). */
export function InvitePage({ onSignIn }: { onSignIn: (notice: string) => void }) {
  const token = useFragmentToken();
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [missing, setMissing] = useState<string | null>(token ? null : 'This invitation link is incomplete. Open the link from your invitation again.');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const strength = useStrength(password, [preview?.email ?? '', name, preview?.workspace ?? '']);
  const weak = strength !== null && strength.score < MIN_SCORE;

  useEffect(() => {
    if (!token) return;
    void client.getInvitation(token).then((r) => {
      if (r.ok) setPreview(r.value);
      else
        setMissing(
          r.error.code === 'invitation_not_found'
            ? 'This invitation is not valid any more: it was used, revoked, replaced by a newer one, or it expired. Ask the person who invited you for a new one.'
            : describeError(r.error),
        );
    });
  }, [token]);

  const accept = async (e: FormEvent) => {
    e.preventDefault();
    if (!token || !preview || weak) return;
    setBusy(true);
    setError(null);
    const r = await client.acceptInvitation({ token, password, ...(name.trim() ? { displayName: name.trim() } : {}) });
    if (!r.ok) {
      setBusy(false);
      return setError(r.error.code === 'invitation_not_found' ? 'This invitation is not valid any more. Ask for a new one.' : passwordError(r.error));
    }
    // Someone else signed in on this browser: they are signed out first.
    if (client.user) await client.logout();
    const signed = await client.login({ email: preview.email, password });
    setBusy(false);
    if (signed.ok) return navigate('/', true);
    // A second step (two-factor sign-in the workspace requires) is the sign-in page's to ask for.
    if (signed.error.code.startsWith('mfa_')) return onSignIn(`Your account is ready. Sign in as ${preview.email} with your new password to set up two-factor sign-in.`);
    setError(`Your account is ready, but signing in failed: ${describeError(signed.error)} Sign in from the start page.`);
  };

  if (missing) {
    return (
      <Card title="Invitation">
        <p className="error" role="alert">
          {missing}
        </p>
        <BackToSignIn label="Go to sign in" />
      </Card>
    );
  }
  if (!preview) {
    return (
      <Card title="Invitation">
        <p className="muted">Loading…</p>
      </Card>
    );
  }
  if (preview.ssoRequired) {
    return (
      <Card title={`Join ${preview.workspace}`}>
        <p>
          {preview.workspace} signs in with single sign-on. Sign in with your organisation account as <strong>{preview.email}</strong>; there is no password to choose here.
        </p>
        <BackToSignIn label="Go to sign in" />
      </Card>
    );
  }
  return (
    <Card title={`Join ${preview.workspace}`}>
      <p className="account-link-lead">
        You were invited as {ROLE_WORDS[preview.role] ?? preview.role}. Choose a password for <strong>{preview.email}</strong>.
      </p>
      <form onSubmit={accept} aria-label="Accept the invitation">
        <label htmlFor="invite-email">Email</label>
        <input id="invite-email" type="email" value={preview.email} readOnly autoComplete="username" />
        <label htmlFor="invite-name">Your name (optional)</label>
        <input id="invite-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={80} autoComplete="name" />
        <NewPassword id="invite-password" value={password} onChange={setPassword} strength={strength} />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || weak}>
          {busy ? 'Please wait…' : 'Join and sign in'}
        </button>
      </form>
      <p className="hint">This link works until {new Date(preview.expiresAt).toLocaleString()}.</p>
    </Card>
  );
}

export function ResetPasswordPage({ onDone }: { onDone: (notice: string) => void }) {
  const token = useFragmentToken();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(token ? null : 'This reset link is incomplete. Open the link from the email again.');
  const strength = useStrength(password, []);
  const weak = strength !== null && strength.score < MIN_SCORE;

  const save = async (e: FormEvent) => {
    e.preventDefault();
    if (!token || weak) return;
    setBusy(true);
    setError(null);
    const r = await client.confirmPasswordReset({ token, password });
    setBusy(false);
    if (!r.ok) return setError(passwordError(r.error));
    // Every session of the account ended, this browser's too if it was signed in.
    if (client.user) await client.logout();
    onDone('Your password was changed and you were signed out everywhere. Sign in with your new password.');
  };

  return (
    <Card title="Choose a new password">
      <form onSubmit={save} aria-label="Choose a new password">
        <NewPassword id="reset-password" value={password} onChange={setPassword} strength={strength} />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || weak || !token}>
          {busy ? 'Please wait…' : 'Set password'}
        </button>
      </form>
      <p className="hint">Setting a new password signs you out on every device.</p>
      <BackToSignIn />
    </Card>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await client.requestPasswordReset(email.trim());
    setBusy(false);
    if (!r.ok) return setError(describeError(r.error));
    setSent(email.trim());
  };
  return (
    <Card title="Forgot your password?">
      {sent ? (
        <p className="notice" role="status">
          If an account exists for {sent}, we sent a link to reset its password. The link works once, for a short while. No email? Check your spam folder, or ask an admin of your workspace for a reset
          link.
        </p>
      ) : (
        <form onSubmit={ask} aria-label="Reset your password">
          <p className="account-link-lead">Enter the email you sign in with. We will send you a link to choose a new password.</p>
          <label htmlFor="forgot-email">Email</label>
          <input id="forgot-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="email" />
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Please wait…' : 'Send reset link'}
          </button>
        </form>
      )}
      <BackToSignIn />
    </Card>
  );
}
