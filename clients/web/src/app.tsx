/** The app: sign-in when there is no session, otherwise the workspace. */
import { useEffect, useRef, useState } from 'react';
import type { SessionUser } from '../../sdk/index.js';
import { client, forgetDevice } from './api.js';
import { AuthPage } from './components/auth-page.js';
import { PublicView } from './components/public-view.js';
import { Workspace } from './components/workspace.js';
import { PendingRecoveryCodes } from './components/security-mfa.js';
import { ForgotPasswordPage, InvitePage, ResetPasswordPage } from './components/account-links.js';
import { navigate, useRoute } from './router.js';
import { SsoDonePage } from './components/sso.js';

export function App() {
  const [user, setUser] = useState<SessionUser | null>(() => client.user);
  const [notice, setNotice] = useState<string | null>(null);
  const last = useRef<SessionUser | null>(client.user);
  const route = useRoute();
  useEffect(
    () =>
      client.onSession((u, reason) => {
        // A session the server ended (account removed or disabled, tokens revoked) takes
        // what the person kept offline with it, as signing out does.
        if (reason === 'expired' && last.current) void forgetDevice(last.current.id);
        last.current = u;
        // A refresh (here or in another tab) rotates tokens, not the person: keep the same
        // object so open documents are not torn down and reopened.
        setUser((prev) => (prev && u && prev.id === u.id && prev.email === u.email && prev.role === u.role ? prev : u));
        if (reason === 'expired') setNotice('Your session ended. Sign in again.');
        else if (u) setNotice(null);
      }),
    [],
  );
  // A public link opens without an account, signed in or not.
  const publicToken = /^\/p\/([A-Za-z0-9_.-]{10,200})\/?$/.exec(window.location.pathname)?.[1];
  if (publicToken) return <PublicView token={publicToken} />;
  // Invitation and password reset links open whether or not someone is signed in here.
  if (route.name === 'invite')
    return (
      <InvitePage
        onSignIn={(text) => {
          navigate('/', true);
          setNotice(text);
        }}
      />
    );
  if (route.name === 'reset-password')
    return (
      <ResetPasswordPage
        onDone={(text) => {
          navigate('/', true);
          setNotice(text);
        }}
      />
    );
  if (route.name === 'forgot-password' && !user) return <ForgotPasswordPage />;
  if (route.name === 'sso-done') return <SsoDonePage />;
  if (!user) return <AuthPage notice={notice} />;
  return (
    <>
      <Workspace key={user.id} user={user} />
      <PendingRecoveryCodes />
    </>
  );
}
