/**
 * Workspace settings for owners and admins: its name, whether public read-only links work,
 * the notification defaults everyone starts from, and the review workflows.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { Workspace } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { NotificationGrid } from './notification-settings.js';
import { WorkflowsSection } from './workflow-editor.js';
import { SsoSettingsSection } from './sso.js';
import { WorkspaceMfaSection } from './workspace-mfa.js';
import { ApiReferenceLink } from './api-reference.js';

export function WorkspaceSettings({ onRenamed }: { onRenamed: (name: string) => void }) {
  const [ws, setWs] = useState<Workspace | null>(null);
  const [name, setName] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    void client.getWorkspace().then((r) => {
      if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
      setWs(r.value);
      setName(r.value.name);
    });
  }, []);
  const save = async (patch: { name?: string; publicLinksEnabled?: boolean }, done: string) => {
    setMessage(null);
    const r = await client.updateWorkspace(patch);
    if (!r.ok) return setMessage({ ok: false, text: describeError(r.error) });
    setWs(r.value);
    if (patch.name) onRenamed(r.value.name);
    setMessage({ ok: true, text: done });
  };
  if (!ws) return null;
  return (
    <>
      <section className="card" aria-labelledby="workspace-heading">
        <h3 id="workspace-heading">Workspace</h3>
        <form
          className="share-row"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            if (name.trim() && name.trim() !== ws.name) void save({ name: name.trim() }, 'The workspace is renamed.');
          }}
        >
          <label htmlFor="workspace-name-field" className="visually-hidden">
            Workspace name
          </label>
          <input id="workspace-name-field" value={name} maxLength={120} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Rename</button>
        </form>
        <label className="check">
          <input
            type="checkbox"
            checked={ws.publicLinksEnabled}
            onChange={(e) =>
              void save({ publicLinksEnabled: e.target.checked }, e.target.checked ? 'Public links work again.' : 'Public links are off: every public link of this workspace stopped working.')
            }
          />
          Allow public read-only links (anyone with such a link can read that document without signing in)
        </label>
        {message && (
          <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'ok' : 'error'}>
            {message.text}
          </p>
        )}
        <p className="hint">
          Integrations and scripts use the REST API: see the <ApiReferenceLink>API reference</ApiReferenceLink>.
        </p>
      </section>
      <section className="card" aria-labelledby="defaults-heading">
        <h3 id="defaults-heading">Notification defaults</h3>
        <p className="hint">What everyone in the workspace gets until they choose otherwise on their account page.</p>
        <NotificationGrid mode="defaults" />
      </section>
      <WorkflowsSection />
      <WorkspaceMfaSection />
      <SsoSettingsSection />
    </>
  );
}
