/**
 * Two-factor sign-in (TOTP) in the web app: the account page's card (set up with a QR code
 * or the secret typed in, confirmed by a first code; ten recovery codes shown once; new
 * recovery codes; turning it off), the sign-in page's second step (a 6-digit code or a
 * recovery code) and its enrolment step when the workspace requires two-factor sign-in.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import type { MfaEnrolment, MfaStatus, QuireError } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import './security.css';

const MFA_MESSAGES: Record<string, string> = {
  invalid_mfa_code: 'That code is not right, or was already used. Check the time on your phone and try the newest code.',
  invalid_mfa_challenge: 'This sign-in took too long or had too many wrong codes. Sign in again.',
  mfa_required_by_workspace: 'Your workspace requires two-factor sign-in, so it cannot be turned off.',
  mfa_already_enabled: 'Two-factor sign-in is already on.',
  mfa_not_enabled: 'Two-factor sign-in is not on.',
};
const mfaError = (e: QuireError) => MFA_MESSAGES[e.code] ?? describeError(e);

/** `ABCD EFGH …`: a base-32 secret in groups of four, easier to type. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

/** A 6-digit code from the app, or a recovery code: spaces and dashes typed in are the user's, not the code's. */
const cleanCode = (raw: string) => raw.trim();

function useQr(uri: string): string | null {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void QRCode.toString(uri, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }).then((svg) => {
      if (live) setSrc(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`);
    });
    return () => {
      live = false;
    };
  }, [uri]);
  return src;
}

/** The code field: six digits from the app (or, where allowed, a recovery code). */
function CodeField({ id, value, onChange, recovery, autoFocus }: { id: string; value: string; onChange: (v: string) => void; recovery?: boolean; autoFocus?: boolean }) {
  return (
    <input
      id={id}
      className="code-input"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      required
      autoFocus={autoFocus}
      autoComplete="one-time-code"
      inputMode={recovery ? 'text' : 'numeric'}
      pattern={recovery ? undefined : '\\s*\\d{3}\\s?\\d{3}\\s*'}
      maxLength={recovery ? 40 : 7}
      spellCheck={false}
    />
  );
}

/** Step one of enrolling: the QR code and the secret, then a first code to confirm. */
export function EnrolSteps({
  enrolment,
  onConfirm,
  busy,
  error,
  confirmLabel,
}: {
  enrolment: MfaEnrolment;
  onConfirm: (code: string) => void;
  busy: boolean;
  error: string | null;
  confirmLabel: string;
}) {
  const qr = useQr(enrolment.otpauthUri);
  const [code, setCode] = useState('');
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onConfirm(cleanCode(code).replace(/\s/g, ''));
  };
  return (
    <form onSubmit={submit} className="mfa-enrol" aria-label="Set up two-factor sign-in">
      <ol className="mfa-steps">
        <li>Open an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis) and add an account.</li>
        <li>
          Scan this QR code, or type the key below into the app.
          <div className="mfa-setup">
            {qr ? <img className="mfa-qr" src={qr} alt="QR code to add Quire to an authenticator app" data-testid="mfa-qr" /> : <div className="mfa-qr" aria-hidden />}
            <div>
              <p className="hint">Key (if you cannot scan):</p>
              <p className="mfa-secret" data-testid="mfa-secret" aria-label={`Key: ${enrolment.secret.split('').join(' ')}`}>
                {grouped(enrolment.secret)}
              </p>
              <p className="hint">Time-based, 6 digits, every 30 seconds.</p>
            </div>
          </div>
        </li>
        <li>
          <label htmlFor={`${id}-code`}>Enter the 6-digit code the app shows</label>
          <CodeField id={`${id}-code`} value={code} onChange={setCode} />
        </li>
      </ol>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : confirmLabel}
        </button>
      </div>
    </form>
  );
}

/** Ten recovery codes, shown once: copy, download, and a clear "saved them" to go on. */
export function RecoveryCodesPanel({ codes, onDone, doneLabel = 'I have saved them' }: { codes: string[]; onDone: () => void; doneLabel?: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const text = `Quire recovery codes (each works once)\n\n${codes.join('\n')}\n`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(codes.join('\n'));
      setCopied('Copied to the clipboard.');
    } catch {
      setCopied('Copying is not allowed here: select the codes and copy them, or download them.');
    }
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'quire-recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div className="recovery" data-testid="recovery-codes">
      <h4 ref={heading} tabIndex={-1}>
        Save your recovery codes
      </h4>
      <p>
        If you lose your phone, each of these codes signs you in once instead of a code from the app. <strong>They are shown only now.</strong> Keep them somewhere safe, like a password manager.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      <div className="form-actions">
        <button type="button" onClick={() => void copy()}>
          Copy codes
        </button>
        <button type="button" onClick={download}>
          Download codes
        </button>
        <button type="button" className="primary" onClick={onDone}>
          {doneLabel}
        </button>
      </div>
      <p role="status" className="hint">
        {copied}
      </p>
    </div>
  );
}

type CardState = { name: 'idle' } | { name: 'enrolling'; enrolment: MfaEnrolment } | { name: 'codes'; codes: string[]; fresh: boolean } | { name: 'asking'; what: 'regenerate' | 'disable' };

/** The account page's two-factor sign-in card. */
export function MfaCard() {
  const [status, setStatus] = useState<MfaStatus | null>(null);
  const [state, setState] = useState<CardState>({ name: 'idle' });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const id = useId();

  const load = async () => {
    const r = await client.mfaStatus();
    if (r.ok) setStatus(r.value);
    else setError(describeError(r.error));
  };
  useEffect(() => {
    void load();
  }, []);

  const begin = async () => {
    setBusy(true);
    setError(null);
    setDone(null);
    const r = await client.startMfaEnrolment();
    setBusy(false);
    if (!r.ok) return setError(mfaError(r.error));
    setState({ name: 'enrolling', enrolment: r.value });
  };
  const confirm = async (c: string) => {
    setBusy(true);
    setError(null);
    const r = await client.confirmMfaEnrolment(c);
    setBusy(false);
    if (!r.ok) return setError(mfaError(r.error));
    setState({ name: 'codes', codes: r.value.recoveryCodes, fresh: true });
    await load();
  };
  const answer = async (e: FormEvent) => {
    e.preventDefault();
    if (state.name !== 'asking') return;
    setBusy(true);
    setError(null);
    if (state.what === 'regenerate') {
      const r = await client.regenerateRecoveryCodes(cleanCode(code).replace(/\s/g, ''));
      setBusy(false);
      if (!r.ok) return setError(mfaError(r.error));
      setCode('');
      setState({ name: 'codes', codes: r.value.recoveryCodes, fresh: false });
    } else {
      const r = await client.disableMfa(cleanCode(code));
      setBusy(false);
      if (!r.ok) return setError(mfaError(r.error));
      setCode('');
      setState({ name: 'idle' });
      setDone('Two-factor sign-in is off. Your password alone signs you in now.');
    }
    await load();
  };
  const cancel = () => {
    setState({ name: 'idle' });
    setError(null);
    setCode('');
  };

  return (
    <div className="card" role="region" aria-labelledby="mfa-heading" data-testid="mfa">
      <h3 id="mfa-heading">Two-factor sign-in</h3>
      {status === null && !error && <p className="muted">Loading…</p>}
      {status && state.name === 'idle' && (
        <>
          <p className="mfa-state">
            {status.enabled ? (
              <>
                <span className="pill on">On</span>
                {status.enabledAt && <span className="hint">since {new Date(status.enabledAt).toLocaleDateString(undefined, { dateStyle: 'medium' })}</span>}
              </>
            ) : (
              <span className="pill">Off</span>
            )}
            {status.requiredByWorkspace && <span className="hint">Your workspace requires it.</span>}
          </p>
          {status.enabled ? (
            <>
              <p>Signing in asks for a code from your authenticator app after your password.</p>
              <p className={status.recoveryCodesLeft <= 3 ? 'notice' : 'hint'} data-testid="recovery-left">
                {status.recoveryCodesLeft === 1 ? '1 recovery code left.' : `${status.recoveryCodesLeft} recovery codes left.`}
                {status.recoveryCodesLeft <= 3 ? ' Make new ones before you run out.' : ''}
              </p>
              <div className="form-actions">
                <button type="button" onClick={() => setState({ name: 'asking', what: 'regenerate' })}>
                  Regenerate recovery codes
                </button>
                {!status.requiredByWorkspace && (
                  <button type="button" className="link danger" onClick={() => setState({ name: 'asking', what: 'disable' })}>
                    Turn off
                  </button>
                )}
              </div>
            </>
          ) : (
            <>
              <p>Protect your account with a code from an authenticator app on your phone, asked for after your password. Someone who learns your password still cannot sign in.</p>
              <div className="form-actions">
                <button type="button" className="primary" onClick={() => void begin()} disabled={busy}>
                  Set up two-factor sign-in
                </button>
              </div>
            </>
          )}
        </>
      )}
      {state.name === 'enrolling' && (
        <>
          <EnrolSteps enrolment={state.enrolment} onConfirm={(c) => void confirm(c)} busy={busy} error={error} confirmLabel="Turn on two-factor sign-in" />
          <button type="button" className="link mfa-cancel" onClick={cancel}>
            Cancel
          </button>
        </>
      )}
      {state.name === 'codes' && (
        <>
          {state.fresh && (
            <p className="ok" role="status">
              Two-factor sign-in is on.
            </p>
          )}
          <RecoveryCodesPanel
            codes={state.codes}
            onDone={() => {
              setState({ name: 'idle' });
              setDone(state.fresh ? 'Two-factor sign-in is on.' : 'Your new recovery codes are saved; the old ones no longer work.');
            }}
          />
        </>
      )}
      {state.name === 'asking' && (
        <form onSubmit={(e) => void answer(e)} aria-label={state.what === 'regenerate' ? 'Regenerate recovery codes' : 'Turn off two-factor sign-in'}>
          <p>
            {state.what === 'regenerate'
              ? 'Ten new codes replace your current ones, which stop working. Enter a code from your authenticator app to go on.'
              : 'Signing in will ask only for your password. Enter a code from your authenticator app, or a recovery code, to turn it off.'}
          </p>
          <label htmlFor={`${id}-confirm`}>{state.what === 'regenerate' ? 'Code from the app' : 'Code from the app or a recovery code'}</label>
          <CodeField id={`${id}-confirm`} value={code} onChange={setCode} recovery={state.what === 'disable'} autoFocus />
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="form-actions">
            <button type="submit" className={state.what === 'disable' ? 'danger-button' : 'primary'} disabled={busy}>
              {state.what === 'regenerate' ? 'Make new codes' : 'Turn off two-factor sign-in'}
            </button>
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {state.name === 'idle' && error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {state.name === 'idle' && done && (
        <p className="ok" role="status">
          {done}
        </p>
      )}
    </div>
  );
}

// ---- sign-in ----------------------------------------------------------------------------

export type MfaStep = { kind: 'verify' | 'enrol'; challenge: string };

/** The login error that asks for a second step, as that step (or null). */
export function mfaStepOf(e: QuireError): MfaStep | null {
  if (e.code !== 'mfa_required' && e.code !== 'mfa_enrollment_required') return null;
  const d = e.details as { challenge?: unknown } | undefined;
  if (typeof d?.challenge !== 'string') return null;
  return { kind: e.code === 'mfa_required' ? 'verify' : 'enrol', challenge: d.challenge };
}

/**
 * Recovery codes from an enrolment at sign-in: the session starts as the codes arrive (and
 * the app moves on to the workspace), so the dialog that shows them lives beside it.
 */
let pendingCodes: string[] | null = null;
const codeListeners = new Set<() => void>();
function setPendingCodes(codes: string[] | null) {
  pendingCodes = codes;
  for (const l of codeListeners) l();
}

/** Shows the recovery codes of an enrolment at sign-in once the workspace is open. */
export function PendingRecoveryCodes() {
  const [codes, setCodes] = useState(pendingCodes);
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const on = () => setCodes(pendingCodes);
    codeListeners.add(on);
    on();
    return () => void codeListeners.delete(on);
  }, []);
  useEffect(() => {
    if (codes && ref.current && !ref.current.open) ref.current.showModal();
  }, [codes]);
  if (!codes) return null;
  return (
    <dialog ref={ref} className="dialog recovery-dialog" aria-labelledby="recovery-dialog-heading" onCancel={(e) => e.preventDefault()}>
      <h2 id="recovery-dialog-heading">Two-factor sign-in is on</h2>
      <RecoveryCodesPanel codes={codes} onDone={() => setPendingCodes(null)} doneLabel="I have saved them, continue" />
    </dialog>
  );
}

/** The sign-in page's second step: a code (or a recovery code), or enrolling when the workspace requires it. */
export function MfaSignIn({ step, email, onCancel }: { step: MfaStep; email: string; onCancel: (message?: string) => void }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="brand">Quire</h1>
        {step.kind === 'verify' ? <VerifyStep challenge={step.challenge} email={email} onCancel={onCancel} /> : <EnrolStep challenge={step.challenge} onCancel={onCancel} />}
      </div>
    </main>
  );
}

function VerifyStep({ challenge, email, onCancel }: { challenge: string; email: string; onCancel: (message?: string) => void }) {
  const [recovery, setRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const r = await client.completeMfa({ challenge, code: recovery ? cleanCode(code) : cleanCode(code).replace(/\s/g, '') });
    setBusy(false);
    if (r.ok) return;
    if (r.error.code === 'invalid_mfa_challenge') return onCancel(mfaError(r.error));
    setError(mfaError(r.error));
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`} className="auth-step-heading">
        Two-factor sign-in
      </h2>
      <p className="muted">{recovery ? `Enter one of your recovery codes for ${email}. Each works once.` : `Enter the 6-digit code from your authenticator app for ${email}.`}</p>
      <label htmlFor={`${id}-code`}>{recovery ? 'Recovery code' : 'Code'}</label>
      <CodeField key={String(recovery)} id={`${id}-code`} value={code} onChange={setCode} recovery={recovery} autoFocus />
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Checking…' : 'Verify'}
      </button>
      <button
        type="button"
        className="link"
        onClick={() => {
          setRecovery(!recovery);
          setCode('');
          setError(null);
        }}
      >
        {recovery ? 'Use a code from the app instead' : 'Use a recovery code instead'}
      </button>
      <button type="button" className="link" onClick={() => onCancel()}>
        Back to sign in
      </button>
    </form>
  );
}

function EnrolStep({ challenge, onCancel }: { challenge: string; onCancel: (message?: string) => void }) {
  const [enrolment, setEnrolment] = useState<MfaEnrolment | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // One secret per challenge: asked once, whatever the parent re-renders.
  const cancel = useRef(onCancel);
  cancel.current = onCancel;
  useEffect(() => {
    let live = true;
    void client.mfaEnrolmentSecret(challenge).then((r) => {
      if (!live) return;
      if (r.ok) setEnrolment(r.value);
      else if (r.error.code === 'invalid_mfa_challenge') cancel.current(mfaError(r.error));
      else setError(mfaError(r.error));
    });
    return () => {
      live = false;
    };
  }, [challenge]);
  const confirm = async (code: string) => {
    setBusy(true);
    setError(null);
    // The session starts as the answer arrives (the app moves on to the workspace); the
    // dialog beside the workspace shows the codes.
    const r = await client.completeMfaEnrolment({ challenge, code });
    setBusy(false);
    if (r.ok) return setPendingCodes(r.value.recoveryCodes);
    if (r.error.code === 'invalid_mfa_challenge') return onCancel(mfaError(r.error));
    setError(mfaError(r.error));
  };
  return (
    <div className="auth-enrol">
      <h2 className="auth-step-heading">Set up two-factor sign-in</h2>
      <p className="muted">Your workspace requires a code from an authenticator app when you sign in. Set it up now to continue.</p>
      {!enrolment && !error && <p className="muted">Loading…</p>}
      {enrolment && <EnrolSteps enrolment={enrolment} onConfirm={(c) => void confirm(c)} busy={busy} error={error} confirmLabel="Turn on and sign in" />}
      {!enrolment && error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" className="link" onClick={() => onCancel()}>
        Back to sign in
      </button>
    </div>
  );
}
