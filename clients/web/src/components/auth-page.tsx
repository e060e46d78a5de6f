/** Sign in, or create a workspace (tenant) and its first account. */
import { useState, type FormEvent } from 'react';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { SsoSignIn } from './sso.js';
import { MfaSignIn, mfaStepOf, type MfaStep } from './security-mfa.js';

export function AuthPage({ notice }: { notice: string | null }) {
  const [mode, setMode] = useState<'login' | 'signup'>('login');
  const [tenant, setTenant] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The second step of a sign-in: a code, or enrolling where the workspace requires it.
  const [step, setStep] = useState<MfaStep | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = mode === 'login' ? await client.login({ email, password }) : await client.signup({ tenant, email, password });
    setBusy(false);
    if (r.ok) return;
    const next = mode === 'login' ? mfaStepOf(r.error) : null;
    if (next) {
      setPassword('');
      return setStep(next);
    }
    setError(describeError(r.error));
  };

  if (step)
    return (
      <MfaSignIn
        step={step}
        email={email}
        onCancel={(message) => {
          setStep(null);
          setError(message ?? null);
        }}
      />
    );
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="brand">Quire</h1>
        <p className="muted">Write together, live and offline.</p>
        <div className="tabs" role="tablist" aria-label="Account">
          <button role="tab" type="button" aria-selected={mode === 'login'} onClick={() => setMode('login')}>
            Sign in
          </button>
          <button role="tab" type="button" aria-selected={mode === 'signup'} onClick={() => setMode('signup')}>
            Create workspace
          </button>
        </div>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={submit} aria-label={mode === 'login' ? 'Sign in' : 'Create workspace'}>
          {mode === 'signup' && (
            <label>
              Workspace name
              <input name="tenant" value={tenant} onChange={(e) => setTenant(e.target.value)} required maxLength={200} autoComplete="organization" />
            </label>
          )}
          <label>
            Email
            <input name="email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="email" />
          </label>
          <label>
            Password
            <input
              name="password"
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
              minLength={mode === 'signup' ? 10 : 1}
              autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            />
            {mode === 'signup' && <span className="hint">At least 10 characters.</span>}
          </label>
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Please wait…' : mode === 'login' ? 'Sign in' : 'Create workspace'}
          </button>
        </form>
        {mode === 'login' && <SsoSignIn email={email} />}
        {mode === 'login' && (
          <p className="auth-forgot">
            <a
              href="/forgot-password"
              onClick={(e) => {
                e.preventDefault();
                navigate('/forgot-password');
              }}
            >
              Forgot password?
            </a>
          </p>
        )}
      </div>
    </main>
  );
}
