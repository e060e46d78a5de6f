/**
 * Workspace settings (owners and admins): require two-factor sign-in for everyone. Whoever
 * turns it on needs it on their own account first; people without it are signed out and set
 * it up at their next sign-in.
 */
import { useEffect, useState } from 'react';
import type { MfaStatus } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { ConfirmDialog } from './menu.js';

export function WorkspaceMfaSection() {
  const [status, setStatus] = useState<MfaStatus | null>(null);
  const [asking, setAsking] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    void client.mfaStatus().then((r) => {
      if (r.ok) setStatus(r.value);
      else setMessage({ ok: false, text: describeError(r.error) });
    });
  }, []);
  const set = async (required: boolean) => {
    setAsking(null);
    setBusy(true);
    setMessage(null);
    const r = await client.setWorkspaceMfa(required);
    setBusy(false);
    if (!r.ok) {
      const text = r.error.code === 'mfa_not_enabled' ? 'Turn on two-factor sign-in for your own account first.' : describeError(r.error);
      return setMessage({ ok: false, text });
    }
    setStatus((s) => (s ? { ...s, requiredByWorkspace: r.value.required } : s));
    const ended = r.value.sessionsEnded;
    setMessage({
      ok: true,
      text: r.value.required
        ? `Two-factor sign-in is required.${ended ? ` ${ended === 1 ? 'One session' : `${ended} sessions`} of people without it ended; they set it up at their next sign-in.` : ''}`
        : 'Two-factor sign-in is no longer required. People who have it keep it.',
    });
  };
  if (!status) return message ? <p className="error">{message.text}</p> : null;
  const canRequire = status.enabled || status.requiredByWorkspace;
  return (
    <section className="card" aria-labelledby="workspace-mfa-heading" data-testid="workspace-mfa">
      <h3 id="workspace-mfa-heading">Two-factor sign-in</h3>
      <label className="check">
        <input type="checkbox" checked={status.requiredByWorkspace} disabled={busy || !canRequire} onChange={(e) => setAsking(e.target.checked)} aria-describedby="workspace-mfa-hint" />
        Require two-factor sign-in for everyone
      </label>
      <p id="workspace-mfa-hint" className="hint">
        Everyone signing in with a password then needs a code from an authenticator app. People who have not set it up are signed out and set it up at their next sign-in. Single sign-on is left to
        your identity provider.
      </p>
      {!canRequire && (
        <p className="hint">
          To require it, first{' '}
          <a
            href="/account"
            onClick={(e) => {
              e.preventDefault();
              navigate('/account');
            }}
          >
            turn it on for your own account
          </a>
          .
        </p>
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
      {asking === true && (
        <ConfirmDialog title="Require two-factor sign-in?" confirmLabel="Require it" onAnswer={(yes) => void (yes ? set(true) : setAsking(null))}>
          <p>Everyone in the workspace who has not set up two-factor sign-in is signed out now, and sets it up the next time they sign in.</p>
        </ConfirmDialog>
      )}
      {asking === false && (
        <ConfirmDialog title="Stop requiring two-factor sign-in?" confirmLabel="Stop requiring it" danger onAnswer={(yes) => void (yes ? set(false) : setAsking(null))}>
          <p>People can then turn two-factor sign-in off for their own account. Those who have it keep it.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
