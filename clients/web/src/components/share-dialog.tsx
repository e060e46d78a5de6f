/** Share a document with people of the workspace: read, comment, write or admin; remove access. */
import { useEffect, useRef, useState } from 'react';
import type { LinkAccess, Permission, PermissionLevel, User } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { Avatar } from './avatar.js';
import { ShareLinks } from './share-links.js';

interface Props {
  documentId: string;
  title: string;
  selfId: string;
  linkAccess: LinkAccess;
  onLinkAccess: (l: LinkAccess) => void;
  onClose: () => void;
}

const LEVELS: { value: PermissionLevel; label: string }[] = [
  { value: 'read', label: 'Can read' },
  { value: 'comment', label: 'Can comment' },
  { value: 'write', label: 'Can edit' },
  { value: 'admin', label: 'Can edit and share' },
];

export function ShareDialog({ documentId, title, selfId, linkAccess, onLinkAccess, onClose }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const [perms, setPerms] = useState<Permission[] | null>(null);
  const [users, setUsers] = useState<User[]>([]);
  const [userId, setUserId] = useState('');
  const [level, setLevel] = useState<PermissionLevel>('write');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const load = async () => {
    const [p, u] = await Promise.all([client.listPermissions(documentId), client.listUsers()]);
    if (p.ok) setPerms(p.value);
    else setError(describeError(p.error));
    if (u.ok) setUsers(u.value);
    else if (u.error.status !== 403) setError(describeError(u.error));
  };
  useEffect(() => {
    void load();
  }, [documentId]);

  const shared = new Set((perms ?? []).map((p) => p.userId));
  const candidates = users.filter((u) => u.id !== selfId && !shared.has(u.id) && u.role !== 'owner' && u.role !== 'admin');

  const set = async (uid: string, lvl: PermissionLevel | 'none') => {
    setBusy(true);
    setError(null);
    const r = await client.setPermission(documentId, uid, lvl);
    setBusy(false);
    if (!r.ok) setError(describeError(r.error));
    else {
      setUserId('');
      await load();
    }
  };

  return (
    <dialog ref={ref} className="dialog" aria-labelledby="share-title" onClose={onClose} onCancel={onClose}>
      <h2 id="share-title">Share “{title}”</h2>
      <form
        className="share-add"
        onSubmit={(e) => {
          e.preventDefault();
          if (userId) void set(userId, level);
        }}
      >
        <div className="field">
          <label htmlFor="share-user">Person</label>
          <select id="share-user" name="user" value={userId} onChange={(e) => setUserId(e.target.value)} required>
            <option value="">Choose someone…</option>
            {candidates.map((u) => (
              <option key={u.id} value={u.id}>
                {u.displayName ? `${u.displayName} (${u.email})` : u.email}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="share-level">Access</label>
          <select id="share-level" name="level" value={level} onChange={(e) => setLevel(e.target.value as PermissionLevel)}>
            {LEVELS.map((l) => (
              <option key={l.value} value={l.value}>
                {l.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary" disabled={busy || !userId}>
          Share
        </button>
      </form>
      {candidates.length === 0 && users.length > 0 && <p className="muted">Everyone in the workspace already has access. Owners and admins always do.</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <h3>People with access</h3>
      {perms === null ? (
        <p className="muted">Loading…</p>
      ) : perms.length === 0 ? (
        <p className="muted">Only you, and the workspace's owners and admins.</p>
      ) : (
        <ul className="perm-list">
          {perms.map((p) => (
            <li key={p.userId}>
              <Avatar name={p.email} seed={p.userId} size="sm" />
              <span>{p.email}</span>
              <select aria-label={`Access for ${p.email}`} value={p.level} disabled={busy || p.userId === selfId} onChange={(e) => void set(p.userId, e.target.value as PermissionLevel)}>
                {LEVELS.map((l) => (
                  <option key={l.value} value={l.value}>
                    {l.label}
                  </option>
                ))}
              </select>
              {p.userId !== selfId && (
                <button type="button" className="link danger" disabled={busy} onClick={() => void set(p.userId, 'none')}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <ShareLinks documentId={documentId} linkAccess={linkAccess} onLinkAccess={onLinkAccess} />
      <div className="dialog-actions">
        <button type="button" onClick={() => ref.current?.close()}>
          Done
        </button>
      </div>
    </dialog>
  );
}
