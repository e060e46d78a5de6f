/**
 * The trash: deleted documents the user may bring back (those they administer), newest
 * deletion first, each with when it was deleted, the date it goes for good, and Restore.
 */
import { useCallback, useEffect, useState } from 'react';
import type { DocumentMeta, TrashItem } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import { relativeTime } from './comments-panel.js';
import { useToast } from './toast.js';
import { RotateCcw, Trash2 } from 'lucide-react';

export function TrashView({ narrow, onRestored }: { narrow: boolean; onRestored: (meta: DocumentMeta) => void }) {
  const [items, setItems] = useState<TrashItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const toast = useToast();
  const load = useCallback(async () => {
    const r = await client.listTrash();
    if (r.ok) {
      setItems(r.value);
      setError(null);
    } else setError(describeError(r.error));
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    const previous = document.title;
    document.title = 'Trash · Quire';
    return () => {
      document.title = previous;
    };
  }, []);

  const restore = async (item: TrashItem) => {
    setBusy(item.id);
    const r = await client.undeleteDocument(item.id);
    setBusy(null);
    if (!r.ok) {
      toast({ message: `Could not restore “${item.title}”: ${describeError(r.error)}`, tone: 'error' });
      return void load();
    }
    setItems((all) => (all ?? []).filter((x) => x.id !== item.id));
    onRestored(r.value);
    toast({ message: `Restored “${r.value.title}”`, action: { label: 'Open', run: () => navigate(`/d/${r.value.id}`) } });
  };

  return (
    <section className="trash" data-testid="trash-view" aria-labelledby="trash-heading">
      {narrow && (
        <button type="button" className="link back" onClick={() => navigate('/')}>
          ‹ Documents
        </button>
      )}
      <h1 id="trash-heading">
        <Trash2 size={22} aria-hidden /> Trash
      </h1>
      <p className="muted">Deleted documents you can bring back, until the date each is deleted for good.</p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {items === null ? (
        !error && <p className="muted">Loading…</p>
      ) : items.length === 0 ? (
        <div className="empty trash-empty">
          <Trash2 size={32} aria-hidden className="muted" />
          <p>Trash is empty</p>
        </div>
      ) : (
        <ul className="trash-list" aria-label="Deleted documents">
          {items.map((d) => (
            <li key={d.id} data-testid="trash-item">
              <div className="trash-info">
                <span className="trash-title">
                  {d.title}
                  {d.kind === 'template' && <span className="pill">Template</span>}
                </span>
                <span className="muted small-print">
                  Deleted{' '}
                  <time dateTime={d.deletedAt} title={new Date(d.deletedAt).toLocaleString()}>
                    {relativeTime(d.deletedAt)}
                  </time>{' '}
                  · Deleted for good on{' '}
                  <time dateTime={d.purgeAt} title={new Date(d.purgeAt).toLocaleString()}>
                    {new Date(d.purgeAt).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' })}
                  </time>
                </span>
              </div>
              <button type="button" onClick={() => void restore(d)} disabled={busy === d.id} aria-label={`Restore ${d.title}`}>
                <RotateCcw size={15} aria-hidden /> Restore
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
