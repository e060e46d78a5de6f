/**
 * The People page's invitations (owners and admins): invite an email with a role — the
 * server emails the link when it has SMTP, else the link is shown here to copy and pass on —
 * and the pending invitations with resend and revoke. Also the per-person "Reset password"
 * action: a one-time link emailed to them, or shown to copy when the server sends no email.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { Invitation, InvitationRole, InvitationSent, QuireError, User } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { ConfirmDialog } from './menu.js';
import './account-links.css';

const ROLES: { value: InvitationRole; label: string }[] = [
  { value: 'member', label: 'Member (sees what is shared with them)' },
  { value: 'guest', label: 'Guest (shared documents only, cannot see people)' },
  { value: 'admin', label: 'Admin (all documents, manages people)' },
];

function inviteError(e: QuireError, email: string): string {
  switch (e.code) {
    case 'already_member':
      return `${email} is already in this workspace.`;
    case 'email_taken':
      return e.message || `${email} already has an account elsewhere. Each email can belong to one workspace.`;
    case 'invitation_pending':
      return `${email} already has a pending invitation. Resend it from the list below.`;
    case 'invitation_not_found':
      return 'That invitation is no longer pending.';
    default:
      return describeError(e);
  }
}

/** A link to pass on: selectable, with a copy button. */
export function CopyLink({ link, label }: { link: string; label: string }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    input.current?.select();
    try {
      await navigator.clipboard.writeText(link);
      setCopied(true);
    } catch {
      // No clipboard access (an insecure origin, a refused permission): the text is selected to copy by hand.
      setCopied(false);
    }
  };
  return (
    <div className="copy-link">
      <p>
        <label htmlFor={id}>{label}</label>
      </p>
      <input id={id} ref={input} readOnly value={link} onFocus={(e) => e.target.select()} data-testid="copy-link" />
      <button type="button" onClick={() => void copy()}>
        {copied ? 'Copied' : 'Copy link'}
      </button>
    </div>
  );
}

type Outcome = { kind: 'sent'; text: string } | { kind: 'link'; email: string; link: string; warning?: string };

function outcomeOf(r: InvitationSent): Outcome {
  if (r.delivery === 'email') return { kind: 'sent', text: `Invitation sent to ${r.invitation.email}.` };
  return { kind: 'link', email: r.invitation.email, link: r.link, ...(r.emailError ? { warning: r.emailError } : {}) };
}

export function InvitationsPanel() {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<InvitationRole>('member');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [pending, setPending] = useState<Invitation[] | null>(null);

  const load = async () => {
    const r = await client.listInvitations();
    if (r.ok) setPending(r.value);
    else setError(describeError(r.error));
  };
  useEffect(() => {
    void load();
  }, []);

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    const to = email.trim();
    setBusy(true);
    setError(null);
    setOutcome(null);
    const r = await client.createInvitation({ email: to, role });
    setBusy(false);
    if (!r.ok) return setError(inviteError(r.error, to));
    setOutcome(outcomeOf(r.value));
    setEmail('');
    await load();
  };
  const resend = async (inv: Invitation) => {
    setError(null);
    setOutcome(null);
    const r = await client.resendInvitation(inv.id);
    if (!r.ok) setError(inviteError(r.error, inv.email));
    else setOutcome(r.value.delivery === 'email' ? { kind: 'sent', text: `A new invitation was sent to ${inv.email}; the old link no longer works.` } : outcomeOf(r.value));
    await load();
  };
  const revoke = async (inv: Invitation) => {
    if (!window.confirm(`Revoke the invitation of ${inv.email}? Its link stops working.`)) return;
    setError(null);
    setOutcome(null);
    const r = await client.revokeInvitation(inv.id);
    if (!r.ok) setError(inviteError(r.error, inv.email));
    await load();
  };

  return (
    <section className="invitations" aria-labelledby="invite-heading">
      <h3 id="invite-heading">Invite people</h3>
      <form className="invite-form" onSubmit={invite} aria-label="Invite people">
        <div className="field grow">
          <label htmlFor="invite-to">Email</label>
          <input id="invite-to" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as InvitationRole)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Inviting…' : 'Invite'}
        </button>
      </form>
      {outcome?.kind === 'sent' && (
        <p className="notice" role="status">
          {outcome.text}
        </p>
      )}
      {outcome?.kind === 'link' && (
        <div role="status">
          {outcome.warning && <p className="error">{outcome.warning}</p>}
          <CopyLink link={outcome.link} label={`Invitation link for ${outcome.email}: send it to them yourself. It works once.`} />
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {pending && pending.length > 0 && (
        <>
          <h3 id="pending-heading">Pending invitations</h3>
          <ul className="perm-list invitation-list" aria-labelledby="pending-heading">
            {pending.map((inv) => (
              <li key={inv.id}>
                <span>
                  {inv.email} <span className="muted">· expires {new Date(inv.expiresAt).toLocaleDateString()}</span>
                </span>
                <span className="pill">{inv.role}</span>
                <button type="button" className="link" onClick={() => void resend(inv)} aria-label={`Resend the invitation of ${inv.email}`}>
                  Resend
                </button>
                <button type="button" className="link danger" onClick={() => void revoke(inv)} aria-label={`Revoke the invitation of ${inv.email}`}>
                  Revoke
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

/** "Reset password" for one person: asks first, then says the email went out or shows the link to pass on. */
export function ResetPasswordAction({ user }: { user: User }) {
  const [step, setStep] = useState<'idle' | 'asking' | 'done'>('idle');
  const [result, setResult] = useState<{ ok: true; link: string | null } | { ok: false; text: string } | null>(null);
  const answer = async (yes: boolean) => {
    if (!yes) return setStep('idle');
    const r = await client.createPasswordResetLink(user.id);
    setResult(r.ok ? { ok: true, link: r.value.delivery === 'link' ? r.value.link : null } : { ok: false, text: describeError(r.error) });
    setStep('done');
  };
  return (
    <>
      <button type="button" className="link" onClick={() => setStep('asking')} aria-label={`Reset password for ${user.email}`}>
        Reset password
      </button>
      {step === 'asking' && (
        <ConfirmDialog title="Reset password?" confirmLabel="Make reset link" onAnswer={(yes) => void answer(yes)}>
          <p>A one-time link lets {user.email} choose a new password. It is emailed to them when this server sends email; otherwise you get the link to pass on. Using it signs them out everywhere.</p>
        </ConfirmDialog>
      )}
      {step === 'done' && result && (
        <ConfirmDialog title={result.ok ? 'Password reset link' : 'No reset link'} confirmLabel="Done" onAnswer={() => setStep('idle')}>
          {!result.ok && (
            <p className="error" role="alert">
              {result.text}
            </p>
          )}
          {result.ok && result.link === null && <p role="status">We emailed {user.email} a link to choose a new password.</p>}
          {result.ok && result.link !== null && <CopyLink link={result.link} label={`Send this link to ${user.email} yourself. It works once, for a short while.`} />}
        </ConfirmDialog>
      )}
    </>
  );
}
