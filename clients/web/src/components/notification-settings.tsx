/**
 * Notification settings: a kind × channel grid (in the app, by email, as a push message),
 * either the user's own (each row says what the workspace default is) or, for owners and
 * admins, the workspace defaults; each box saves as it is changed. And "Enable push on this
 * device": the service worker's push subscription, registered with the server.
 */
import { useCallback, useEffect, useState } from 'react';
import { NOTIFICATION_CHANNELS, NOTIFICATION_KINDS, type NotificationChannel, type NotificationKind, type NotificationPreferenceMap } from '../../../../contract/api.js';
import { client, describeError } from '../api.js';

const KIND_WORDS: Record<NotificationKind, { label: string; hint: string }> = {
  mention: { label: 'Mentions', hint: 'Someone @mentions you in a comment' },
  reply: { label: 'Replies', hint: 'A reply in a thread you started or joined' },
  share: { label: 'Shares', hint: 'A document is shared with you' },
  review_assigned: { label: 'Review requests', hint: 'You are asked to review a document' },
  review_decided: { label: 'Review decisions', hint: 'A review you asked for is decided' },
  deadline: { label: 'Review deadlines', hint: 'A review you decide is due soon or overdue' },
};

const CHANNEL_WORDS: Record<NotificationChannel, string> = { inApp: 'In app', email: 'Email', push: 'Push' };

function onChannels(row: Record<NotificationChannel, boolean> | undefined): string {
  const on = NOTIFICATION_CHANNELS.filter((c) => row?.[c]).map((c) => CHANNEL_WORDS[c].toLowerCase());
  return on.length ? on.join(', ') : 'off';
}

export function NotificationGrid({ mode }: { mode: 'mine' | 'defaults' }) {
  const [prefs, setPrefs] = useState<NotificationPreferenceMap | null>(null);
  const [defaults, setDefaults] = useState<NotificationPreferenceMap | null>(null);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const load = useCallback(async () => {
    const r = mode === 'mine' ? await client.getNotificationPreferences() : await client.getNotificationDefaults();
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    setPrefs(mode === 'mine' ? r.value.preferences : r.value.defaults);
    setDefaults(r.value.defaults);
  }, [mode]);
  useEffect(() => {
    void load();
  }, [load]);
  const toggle = async (kind: NotificationKind, channel: NotificationChannel, value: boolean) => {
    setPrefs((p) => (p ? { ...p, [kind]: { ...p[kind], [channel]: value } } : p));
    setMessage(null);
    const patch = { [kind]: { [channel]: value } };
    const r = mode === 'mine' ? await client.setNotificationPreferences(patch) : await client.setNotificationDefaults(patch);
    if (!r.ok) {
      setMessage({ ok: false, text: describeError(r.error) });
      return void load();
    }
    setPrefs(mode === 'mine' ? r.value.preferences : r.value.defaults);
    setDefaults(r.value.defaults);
    setMessage({
      ok: true,
      text: `Saved: ${KIND_WORDS[kind].label.toLowerCase()} ${value ? 'now' : 'no longer'} ${channel === 'inApp' ? 'show in the app' : channel === 'email' ? 'come by email' : 'come as push messages'}${mode === 'defaults' ? ' for people who have not chosen otherwise' : ''}.`,
    });
  };
  if (!prefs) return message ? <p className={message.ok ? 'ok' : 'error'}>{message.text}</p> : <p className="muted">Loading…</p>;
  return (
    <>
      <div className="pref-grid-wrap">
        <table className="pref-grid" data-testid={mode === 'mine' ? 'notification-preferences' : 'notification-defaults'}>
          <caption className="visually-hidden">{mode === 'mine' ? 'Your notifications, by kind and channel' : 'Workspace default notifications, by kind and channel'}</caption>
          <thead>
            <tr>
              <th scope="col">Notify me about</th>
              {NOTIFICATION_CHANNELS.map((c) => (
                <th scope="col" key={c}>
                  {CHANNEL_WORDS[c]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {NOTIFICATION_KINDS.map((k) => (
              <tr key={k}>
                <th scope="row">
                  <span className="pref-kind">{KIND_WORDS[k].label}</span>
                  <span className="hint">{KIND_WORDS[k].hint}</span>
                  {mode === 'mine' && defaults && <span className="hint pref-default">Workspace default: {onChannels(defaults[k])}</span>}
                </th>
                {NOTIFICATION_CHANNELS.map((c) => (
                  <td key={c}>
                    <input
                      type="checkbox"
                      aria-label={`${KIND_WORDS[k].label}: ${CHANNEL_WORDS[c]}`}
                      checked={prefs[k][c]}
                      onChange={(e) => void toggle(k, c, e.target.checked)}
                      data-kind={k}
                      data-channel={c}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="pref-status" role={message && !message.ok ? 'alert' : 'status'} aria-live="polite">
        {message && <span className={message.ok ? 'ok' : 'error'}>{message.text}</span>}
      </p>
    </>
  );
}

/** The user's notification settings on the account page (`/account#notifications`). */
export function NotificationSettings() {
  useEffect(() => {
    if (window.location.hash === '#notifications') document.getElementById('notifications')?.scrollIntoView();
  }, []);
  return (
    <section className="card notification-settings" id="notifications" aria-labelledby="notifications-heading">
      <h3 id="notifications-heading">Notifications</h3>
      <p className="hint">Choose what you hear about, and where. Email comes as one message for several notifications close together.</p>
      <NotificationGrid mode="mine" />
      <PushDevice />
    </section>
  );
}

function urlBase64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const padded = (base64 + '='.repeat((4 - (base64.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(padded);
  const out = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/** The service worker, or null when it does not become ready in time (not registered, blocked). */
function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

async function serviceWorker(): Promise<ServiceWorkerRegistration | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), 10_000);
  });
  try {
    return await Promise.race([navigator.serviceWorker.ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

type PushState = { kind: 'unsupported' } | { kind: 'denied' } | { kind: 'off' } | { kind: 'on'; endpoint: string } | { kind: 'checking' };

function PushDevice() {
  const supported = typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
  const [state, setState] = useState<PushState>(() => (!supported ? { kind: 'unsupported' } : Notification.permission === 'denied' ? { kind: 'denied' } : { kind: 'checking' }));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (state.kind !== 'checking') return;
    let live = true;
    void (async () => {
      const reg = await navigator.serviceWorker.getRegistration().catch(() => undefined);
      const sub = await reg?.pushManager.getSubscription().catch(() => null);
      if (live) setState(sub ? { kind: 'on', endpoint: sub.endpoint } : { kind: 'off' });
    })();
    return () => {
      live = false;
    };
  }, [state.kind]);

  const enable = async () => {
    setBusy(true);
    setMessage(null);
    try {
      const key = await client.getVapidPublicKey();
      if (!key.ok) {
        setMessage({ ok: false, text: key.error.code === 'push_unavailable' ? 'Push messages are not set up on this server.' : describeError(key.error) });
        return;
      }
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        setState(permission === 'denied' ? { kind: 'denied' } : { kind: 'off' });
        if (permission !== 'denied') setMessage({ ok: false, text: 'Push stays off: the browser did not get permission to show notifications.' });
        return;
      }
      const reg = await serviceWorker();
      if (!reg) {
        setMessage({ ok: false, text: 'This browser did not start the app’s background worker, which push messages need. Reload the page and try again.' });
        return;
      }
      const serverKey = urlBase64ToBytes(key.value.publicKey);
      let sub = await reg.pushManager.getSubscription();
      // A subscription made for other keys (the server's were replaced) is refused by push services: make a new one.
      if (sub && !sameBytes(sub.options.applicationServerKey, serverKey)) {
        await sub.unsubscribe().catch(() => undefined);
        sub = null;
      }
      sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
      const json = sub.toJSON();
      if (!json.endpoint || !json.keys?.['p256dh'] || !json.keys['auth']) {
        setMessage({ ok: false, text: 'This browser gave an incomplete push subscription.' });
        return;
      }
      const r = await client.addPushSubscription({ endpoint: json.endpoint, keys: { p256dh: json.keys['p256dh'], auth: json.keys['auth'] } });
      if (!r.ok) {
        await sub.unsubscribe().catch(() => undefined);
        setMessage({ ok: false, text: describeError(r.error) });
        return;
      }
      setState({ kind: 'on', endpoint: sub.endpoint });
      setMessage({ ok: true, text: 'Push is on for this device.' });
    } catch (e) {
      setMessage({ ok: false, text: `This browser could not turn on push messages${e instanceof Error && e.message ? ` (${e.message})` : ''}.` });
    } finally {
      setBusy(false);
    }
  };
  const disable = async () => {
    if (state.kind !== 'on') return;
    setBusy(true);
    setMessage(null);
    const r = await client.removePushSubscription(state.endpoint);
    const reg = await navigator.serviceWorker.getRegistration().catch(() => undefined);
    await (await reg?.pushManager.getSubscription().catch(() => null))?.unsubscribe().catch(() => undefined);
    setBusy(false);
    setState({ kind: 'off' });
    setMessage(r.ok ? { ok: true, text: 'Push is off for this device.' } : { ok: false, text: describeError(r.error) });
  };

  return (
    <div className="push-device" data-testid="push-device" data-state={state.kind}>
      <h4>Push on this device</h4>
      {state.kind === 'unsupported' && <p className="hint">This browser cannot receive push messages. On an iPhone or iPad, add Quire to the Home Screen first.</p>}
      {state.kind === 'denied' && <p className="hint">Notifications are blocked for this site. Allow them in the browser’s site settings, then come back here.</p>}
      {state.kind === 'checking' && <p className="hint">Checking this device…</p>}
      {state.kind === 'off' && (
        <button type="button" onClick={() => void enable()} disabled={busy}>
          {busy ? 'Enabling…' : 'Enable push on this device'}
        </button>
      )}
      {state.kind === 'on' && (
        <div className="form-actions">
          <span className="ok">Push messages come to this device.</span>
          <button type="button" onClick={() => void disable()} disabled={busy}>
            Turn off on this device
          </button>
        </div>
      )}
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
          {message.text}
        </p>
      )}
    </div>
  );
}
