/**
 * Owners' and admins' security actions for one person on the People page: sign them out on
 * every device, and reset their two-factor sign-in (a lost phone: they sign in with their
 * password and set it up again where the workspace requires it). Each asks first; the
 * outcome is a toast.
 */
import { useState } from 'react';
import { LogOut, ShieldOff, ShieldUser } from 'lucide-react';
import type { User } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { ConfirmDialog, MenuButton } from './menu.js';
import { useToast } from './toast.js';

type Asking = 'sessions' | 'mfa' | null;

export function PersonSecurityMenu({ person }: { person: User }) {
  const [asking, setAsking] = useState<Asking>(null);
  const toast = useToast();
  const who = person.displayName || person.email;
  const answer = async (yes: boolean) => {
    const what = asking;
    setAsking(null);
    if (!yes || !what) return;
    if (what === 'sessions') {
      const r = await client.endUserSessions(person.id);
      toast(r.ok ? { message: `${who} is signed out on every device.` } : { message: describeError(r.error), tone: 'error' });
    } else {
      const r = await client.resetUserMfa(person.id);
      toast(r.ok ? { message: `Two-factor sign-in is reset for ${who}.` } : { message: describeError(r.error), tone: 'error' });
    }
  };
  return (
    <>
      <MenuButton
        label={`Security actions for ${person.email}`}
        icon={<ShieldUser size={18} aria-hidden />}
        items={[
          { label: 'Sign out everywhere', icon: <LogOut size={16} aria-hidden />, run: () => setAsking('sessions') },
          { label: 'Reset two-factor', icon: <ShieldOff size={16} aria-hidden />, run: () => setAsking('mfa') },
        ]}
      />
      {asking === 'sessions' && (
        <ConfirmDialog title={`Sign ${who} out everywhere?`} confirmLabel="Sign out everywhere" danger onAnswer={(yes) => void answer(yes)}>
          <p>Every device signed in to {person.email} will need to sign in again. Edits a device has not sent yet are lost.</p>
        </ConfirmDialog>
      )}
      {asking === 'mfa' && (
        <ConfirmDialog title={`Reset two-factor sign-in for ${who}?`} confirmLabel="Reset two-factor" danger onAnswer={(yes) => void answer(yes)}>
          <p>
            Their authenticator app and recovery codes stop working, and every device of theirs is signed out. They sign in with their password next, and set up two-factor sign-in again where the
            workspace requires it.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
