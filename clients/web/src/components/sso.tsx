/**
 * Single sign-on in the web app: the "Sign in with SSO" offer on the login page (asked of the
 * server by the email's domain), the `/sso/done` page the server sends the browser back to
 * (it trades the one-time code in the fragment for a session, or says why the sign-in was
 * refused), and the SSO section of the workspace settings for owners and admins.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { QuireError, SsoDefaultRole, SsoDiscovery, SsoSettings } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import './sso.css';

/** What the callback's error codes mean to the person signing in. */
const SSO_MESSAGES: Record<string, string> = {
  sso_not_configured: 'Single sign-on is not set up for this workspace.',
  sso_invalid_state: 'This sign-in attempt expired or was started in another browser. Start again.',
  sso_provider_error: 'Your identity provider did not complete the sign-in.',
  sso_discovery_failed: 'Your identity provider could not be reached. Try again in a moment.',
  sso_token_invalid: 'The answer from your identity provider could not be verified.',
  sso_nonce_mismatch: 'The answer from your identity provider was not for this sign-in. Start again.',
  sso_issuer_mismatch: 'The answer came from a different identity provider than the one configured.',
  sso_audience_mismatch: 'The answer from your identity provider was issued for another application.',
  sso_token_expired: 'The answer from your identity provider had expired. Start again.',
  sso_email_unverified: 'Your identity provider did not confirm your email address.',
  sso_domain_not_allowed: 'This workspace does not accept sign-ins from your email domain.',
  sso_email_taken: 'Your email address belongs to an account in another workspace.',
  sso_invalid_code: 'This sign-in link was already used or has expired. Sign in again.',
  account_inactive: 'This account is disabled. Ask an admin of your workspace.',
  sso_required: 'Your workspace signs in with single sign-on. Use “Sign in with SSO”.',
  rate_limited: 'Too many attempts. Wait a minute and try again.',
};

export const describeSsoError = (e: Pick<QuireError, 'code' | 'message'> & Partial<QuireError>): string => SSO_MESSAGES[e.code] ?? describeError({ status: 0, ...e } as QuireError);

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * What discovery said per email domain, for this page load: the answer goes by domain, and
 * every question counts against the sign-in rate limit, so each domain is asked once.
 */
const discovered = new Map<string, boolean | SsoDiscovery>();

/** On the login page: offers SSO when the email's workspace has it (after a pause in typing). */
export function SsoSignIn({ email }: { email: string }) {
  const [found, setFound] = useState<SsoDiscovery | null>(null);
  useEffect(() => {
    const address = email.trim();
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    if (!EMAIL.test(address)) {
      setFound(null);
      return;
    }
    const known = discovered.get(domain);
    if (known !== undefined) {
      setFound(typeof known === 'object' ? known : null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      void client.ssoDiscover(address).then((r) => {
        // A failure (offline, rate limited) is not remembered: the next pause asks again.
        if (r.ok) discovered.set(domain, r.value.sso ? r.value : false);
        if (live) setFound(r.ok && r.value.sso ? r.value : null);
      });
    }, 500);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [email]);
  if (!found) return null;
  return (
    <div className="sso-offer" role="region" aria-label="Single sign-on">
      <span className="sso-or" aria-hidden="true">
        or
      </span>
      {found.mandatory && <p className="hint">Your workspace signs in with single sign-on. (Owners may still use their password.)</p>}
      <a className={found.mandatory ? 'sso-button primary' : 'sso-button'} href={client.ssoStartUrl({ email: email.trim() })}>
        Sign in with SSO
      </a>
    </div>
  );
}

/** The code is traded once per page load, whatever React does with effects. */
let traded: string | null = null;

/** `/sso/done#code=…` or `#error=…`: finishes an SSO sign-in. */
export function SsoDonePage() {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const params = new URLSearchParams(window.location.hash.slice(1));
    const code = params.get('code');
    const failed = params.get('error');
    // The fragment holds a one-time secret: off the address bar and out of history at once.
    if (window.location.hash) history.replaceState(null, '', '/sso/done');
    if (failed) return setError(describeSsoError({ code: failed, message: 'The sign-in did not complete.' }));
    if (!code) {
      if (!traded) setError('This page finishes a single sign-on; start from the sign-in page.');
      return;
    }
    if (traded === code) return;
    traded = code;
    void client.ssoExchange(code).then((r) => {
      if (r.ok) navigate('/', true);
      else setError(describeSsoError(r.error));
    });
  }, []);
  return (
    <main className="auth">
      <div className="auth-card">
        <h1 className="brand">Quire</h1>
        {error ? (
          <>
            <h2>Single sign-on did not complete</h2>
            <p className="error" role="alert">
              {error}
            </p>
            <p>
              <a
                href="/"
                onClick={(e) => {
                  e.preventDefault();
                  navigate('/', true);
                }}
              >
                Back to sign in
              </a>
            </p>
          </>
        ) : (
          <p role="status">Signing you in…</p>
        )}
      </div>
    </main>
  );
}

const ROLES: { value: SsoDefaultRole; label: string }[] = [
  { value: 'member', label: 'Member' },
  { value: 'guest', label: 'Guest' },
  { value: 'admin', label: 'Admin' },
];

/** Workspace settings: the SSO section (owners and admins). The client secret is write-only. */
export function SsoSettingsSection() {
  const [settings, setSettings] = useState<SsoSettings | null>(null);
  const [issuer, setIssuer] = useState('');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [role, setRole] = useState<SsoDefaultRole>('member');
  const [mandatory, setMandatory] = useState(false);
  const [domains, setDomains] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const callbackRef = useRef<HTMLInputElement>(null);

  const load = (s: SsoSettings) => {
    setSettings(s);
    setIssuer(s.issuer ?? '');
    setClientId(s.clientId ?? '');
    setSecret('');
    setRole(s.defaultRole);
    setMandatory(s.mandatory);
    setDomains(s.allowedDomains.join(', '));
  };
  useEffect(() => {
    void client.getSso().then((r) => (r.ok ? load(r.value) : setMessage({ ok: false, text: describeError(r.error) })));
  }, []);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setMessage(null);
    const allowedDomains = domains
      .split(/[\s,]+/)
      .map((d) => d.trim())
      .filter(Boolean);
    const r = await client.putSso({ issuer: issuer.trim(), clientId: clientId.trim(), ...(secret ? { clientSecret: secret } : {}), defaultRole: role, mandatory, allowedDomains });
    setBusy(false);
    if (!r.ok) return setMessage({ ok: false, text: r.error.code === 'sso_discovery_failed' ? r.error.message : describeError(r.error) });
    load(r.value);
    setMessage({ ok: true, text: 'Single sign-on is saved and on.' });
  };
  const switchOff = async () => {
    if (!window.confirm('Switch single sign-on off? People sign in with passwords again.')) return;
    const r = await client.deleteSso();
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    const again = await client.getSso();
    if (again.ok) load(again.value);
    setMessage({ ok: true, text: 'Single sign-on is off.' });
  };
  const copy = async () => {
    if (!settings) return;
    try {
      await navigator.clipboard.writeText(settings.callbackUrl);
      setMessage({ ok: true, text: 'The callback URL is copied.' });
    } catch {
      callbackRef.current?.select();
    }
  };

  if (!settings) return null;
  return (
    <section className="card sso-settings" aria-labelledby="sso-heading">
      <h3 id="sso-heading">Single sign-on (OpenID Connect)</h3>
      <p className="hint">
        Register Quire as an application at your identity provider with this callback (redirect) URL, then enter the issuer and the client’s credentials. Saving checks the issuer first.
      </p>
      <label htmlFor="sso-callback">Callback URL</label>
      <div className="share-row">
        <input id="sso-callback" ref={callbackRef} readOnly value={settings.callbackUrl} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <form onSubmit={(e) => void save(e)} aria-label="Single sign-on settings">
        <label>
          Issuer URL
          <input name="issuer" type="url" value={issuer} onChange={(e) => setIssuer(e.target.value)} required placeholder="https://login.example.com/realms/acme" />
        </label>
        <label>
          Client ID
          <input name="clientId" value={clientId} onChange={(e) => setClientId(e.target.value)} required maxLength={512} autoComplete="off" />
        </label>
        <label>
          Client secret
          <input
            name="clientSecret"
            type="password"
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            autoComplete="new-password"
            placeholder={settings.hasClientSecret ? 'Stored — type a new one to replace it' : 'Leave empty for a public client (PKCE only)'}
          />
        </label>
        <label>
          Email domains (comma-separated)
          <input name="domains" value={domains} onChange={(e) => setDomains(e.target.value)} placeholder="example.com" />
          <span className="hint">People at these domains are offered SSO on the sign-in page; when set, only they can join by SSO.</span>
        </label>
        <label>
          Role of people who join by SSO
          <select name="defaultRole" value={role} onChange={(e) => setRole(e.target.value as SsoDefaultRole)}>
            {ROLES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" name="mandatory" checked={mandatory} onChange={(e) => setMandatory(e.target.checked)} />
          Require single sign-on (passwords stop working, except owners’ — the way in if the provider fails)
        </label>
        {message && (
          <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
            {message.text}
          </p>
        )}
        <div className="share-row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Checking the issuer…' : settings.configured ? 'Save' : 'Turn on single sign-on'}
          </button>
          {settings.configured && (
            <button type="button" className="danger-button" onClick={() => void switchOff()}>
              Switch off
            </button>
          )}
        </div>
      </form>
      {settings.configured && (
        <p className="hint">
          Sign-in link for this workspace: <code>{settings.startUrl}</code>
        </p>
      )}
    </section>
  );
}
