/** The app: sign-in when there is no session, otherwise the workspace. */
import { useEffect, useState } from 'react';
import type { SessionUser } from '../../sdk/index.js';
import { client } from './api.js';
import { AuthPage } from './components/auth-page.js';
import { Workspace } from './components/workspace.js';

export function App() {
  const [user, setUser] = useState<SessionUser | null>(() => client.user);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(
    () =>
      client.onSession((u, reason) => {
        // A refresh (here or in another tab) rotates tokens, not the person: keep the same
        // object so open documents are not torn down and reopened.
        setUser((prev) => (prev && u && prev.id === u.id && prev.email === u.email && prev.role === u.role ? prev : u));
        if (reason === 'expired') setNotice('Your session ended. Sign in again.');
        else if (u) setNotice(null);
      }),
    [],
  );
  if (!user) return <AuthPage notice={notice} />;
  return <Workspace key={user.id} user={user} />;
}
