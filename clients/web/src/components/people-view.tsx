/** The workspace's people: everyone sees who is here; owners and admins add people, change roles and remove them. */
import { useEffect, useState, type FormEvent } from 'react';
import type { SessionUser, TenantRole, User } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { Avatar } from './avatar.js';
import { WorkspaceSettings } from './workspace-settings.js';
import { PersonSecurityMenu } from './people-security.js';
import { InvitationsPanel, ResetPasswordAction } from './invitations-panel.js';

const ROLES: { value: TenantRole; label: string }[] = [
  { value: 'member', label: 'Member (sees what is shared with them)' },
  { value: 'guest', label: 'Guest (shared documents only, cannot see people)' },
  { value: 'admin', label: 'Admin (all documents, manages people)' },
  { value: 'owner', label: 'Owner' },
];

export function PeopleView({ user, onWorkspaceRenamed }: { user: SessionUser; onWorkspaceRenamed: (name: string) => void }) {
  const manage = user.role === 'owner' || user.role === 'admin';
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<TenantRole>('member');
  const [busy, setBusy] = useState(false);
  const [added, setAdded] = useState<string | null>(null);

  const load = async () => {
    const r = await client.listUsers();
    if (r.ok) setUsers(r.value);
    else setError(describeError(r.error));
  };
  useEffect(() => {
    void load();
  }, []);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // A new attempt replaces the last outcome: an old "can now sign in" must not sit beside a new error.
    setAdded(null);
    const r = await client.createUser({ email, password, role, ...(name.trim() ? { displayName: name.trim() } : {}) });
    setBusy(false);
    if (!r.ok) {
      setError(r.error.code === 'email_taken' ? `${email.trim()} already has an account. Each person can belong to one workspace.` : describeError(r.error));
      return;
    }
    setAdded(`${r.value.email} can now sign in with the password you chose.`);
    setEmail('');
    setName('');
    setPassword('');
    await load();
  };

  const change = async (id: string, next: TenantRole) => {
    const r = await client.updateUserRole(id, next);
    if (!r.ok) setError(describeError(r.error));
    await load();
  };
  const remove = async (u: User) => {
    if (!window.confirm(`Remove ${u.email} from the workspace? They lose access to every document.`)) return;
    const r = await client.removeUser(u.id);
    if (!r.ok) setError(describeError(r.error));
    await load();
  };

  const roleOptions = ROLES.filter((r) => r.value !== 'owner' || user.role === 'owner');
  return (
    <section className="people" aria-labelledby="people-heading">
      <h2 id="people-heading">People</h2>
      {manage && <InvitationsPanel />}
      {manage && <h3 className="add-person-heading">Or add someone with a first password</h3>}
      {manage && (
        <form className="add-person" onSubmit={add} aria-label="Add a person">
          <div className="field">
            <label htmlFor="person-email">Email</label>
            <input id="person-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="person-name">Name (optional)</label>
            <input id="person-name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="person-password">First password</label>
            <input id="person-password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} required minLength={10} autoComplete="new-password" />
          </div>
          <div className="field">
            <label htmlFor="person-role">Role</label>
            <select id="person-role" value={role} onChange={(e) => setRole(e.target.value as TenantRole)}>
              {roleOptions.map((r) => (
                <option key={r.value} value={r.value}>
                  {r.label}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" className="primary" disabled={busy}>
            Add person
          </button>
        </form>
      )}
      {added && (
        <p className="notice" role="status">
          {added}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {users === null && !error && <p className="muted">Loading…</p>}
      {users && (
        <ul className="perm-list">
          {users.map((u) => (
            <li key={u.id}>
              <Avatar name={u.displayName || u.email} seed={u.id} size="sm" />
              <span>
                {u.displayName ? `${u.displayName} · ` : ''}
                {u.email}
                {u.id === user.id ? ' (you)' : ''}
              </span>
              {manage && u.id !== user.id ? (
                <>
                  <select aria-label={`Role of ${u.email}`} value={u.role} onChange={(e) => void change(u.id, e.target.value as TenantRole)}>
                    {ROLES.filter((r) => r.value !== 'owner' || user.role === 'owner' || u.role === 'owner').map((r) => (
                      <option key={r.value} value={r.value}>
                        {r.value}
                      </option>
                    ))}
                  </select>
                  <button type="button" className="link danger" onClick={() => void remove(u)}>
                    Remove
                  </button>
                  {(u.role !== 'owner' || user.role === 'owner') && <PersonSecurityMenu person={u} />}
                  {(u.role !== 'owner' || user.role === 'owner') && <ResetPasswordAction user={u} />}
                </>
              ) : (
                <span className="pill">{u.role}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      {manage && <WorkspaceSettings onRenamed={onWorkspaceRenamed} />}
    </section>
  );
}
