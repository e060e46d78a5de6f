/**
 * The share dialog's link options: who in the workspace can open the document with its
 * link (and at which level), and an explicit public read-only link that the workspace's
 * admins can switch off for everyone.
 */
import { Check, Copy, Globe, Link2 } from 'lucide-react';
import { useEffect, useState } from 'react';
import type { LinkAccess, PublicLinkState, Workspace } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<boolean | null>(null);
  return (
    <button type="button" onClick={() => void copy(text).then(setDone)} aria-label={label}>
      {done ? <Check size={16} aria-hidden /> : <Copy size={16} aria-hidden />} {done ? 'Copied' : done === false ? 'Copy failed: select the address' : 'Copy link'}
    </button>
  );
}

export function ShareLinks({ documentId, linkAccess, onLinkAccess }: { documentId: string; linkAccess: LinkAccess; onLinkAccess: (l: LinkAccess) => void }) {
  const [workspace, setWorkspace] = useState<Workspace | null>(null);
  const [publicState, setPublicState] = useState<PublicLinkState | null>(null);
  const [fresh, setFresh] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void client.getWorkspace().then((r) => r.ok && setWorkspace(r.value));
    void client.getPublicLink(documentId).then((r) => r.ok && setPublicState(r.value));
  }, [documentId]);

  const run = async <T,>(op: () => Promise<{ ok: true; value: T } | { ok: false; error: Parameters<typeof describeError>[0] }>, then: (v: T) => void) => {
    setBusy(true);
    setError(null);
    const r = await op();
    setBusy(false);
    if (r.ok) then(r.value);
    else setError(describeError(r.error));
  };
  const docUrl = `${location.origin}/d/${documentId}`;
  const workspaceName = workspace?.name ?? 'the workspace';

  return (
    <section className="share-links" aria-label="Links">
      <h3>
        <Link2 size={16} aria-hidden /> Link
      </h3>
      <div className="share-row">
        <label htmlFor="link-access" className="visually-hidden">
          Who can open the link
        </label>
        <select
          id="link-access"
          value={linkAccess}
          disabled={busy}
          onChange={(e) =>
            void run(
              () => client.setLinkAccess(documentId, e.target.value as LinkAccess),
              (meta) => onLinkAccess(meta.linkAccess),
            )
          }
        >
          <option value="none">Only people added above</option>
          <option value="read">Anyone in {workspaceName} with the link can read</option>
          <option value="comment">Anyone in {workspaceName} with the link can comment</option>
          <option value="write">Anyone in {workspaceName} with the link can edit</option>
        </select>
        <CopyButton text={docUrl} label="Copy the document’s link" />
      </div>
      <p className="hint">
        {linkAccess === 'none'
          ? 'Only the people above (and the workspace’s owners and admins) can open it.'
          : 'The document is not listed for them: they need the link. Guests never get in through it.'}
      </p>

      <h3>
        <Globe size={16} aria-hidden /> Public link
      </h3>
      {workspace && !workspace.publicLinksEnabled ? (
        <p className="hint" data-testid="public-links-off">
          Public links are turned off for {workspace.name} by its admins.
        </p>
      ) : (
        <>
          {fresh ? (
            <div className="share-row">
              <input readOnly value={fresh} aria-label="Public link" onFocus={(e) => e.target.select()} />
              <CopyButton text={fresh} label="Copy the public link" />
            </div>
          ) : null}
          <p className="hint">
            {publicState?.active
              ? fresh
                ? 'Anyone with this address can read the document, without signing in. It is shown only now: copy it.'
                : `A public read-only link is on since ${new Date(publicState.createdAt ?? '').toLocaleString()}. Its address is shown only when created; make a new one to see an address (the old one stops working).`
              : 'Anyone with a public link can read the document without signing in. Nobody can edit through it.'}
          </p>
          <div className="share-row">
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                void run(
                  () => client.createPublicLink(documentId),
                  (link) => {
                    setFresh(new URL(link.url, location.origin).href);
                    setPublicState({ active: true, createdAt: link.createdAt, url: null });
                  },
                )
              }
            >
              {publicState?.active ? 'Make a new public link' : 'Create a public read-only link'}
            </button>
            {publicState?.active && (
              <button
                type="button"
                className="link danger"
                disabled={busy}
                onClick={() =>
                  void run(
                    () => client.revokePublicLink(documentId),
                    () => {
                      setFresh(null);
                      setPublicState({ active: false, createdAt: null, url: null });
                    },
                  )
                }
              >
                Turn off the public link
              </button>
            )}
          </div>
        </>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
