/** The caller's documents, newest first, with a button to start a new one. */
import { useState } from 'react';
import type { DocumentMeta } from '../../../sdk/index.js';
import { navigate } from '../router.js';

interface Props {
  docs: DocumentMeta[];
  activeId: string | null;
  loading: boolean;
  error: string | null;
  available: Set<string>;
  hasMore: boolean;
  onMore: () => void;
  onCreate: () => Promise<string | null>;
}

export function DocumentList({ docs, activeId, loading, error, available, hasMore, onMore, onCreate }: Props) {
  const [createError, setCreateError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const create = async () => {
    setCreating(true);
    setCreateError(await onCreate());
    setCreating(false);
  };
  return (
    <nav className="sidebar" aria-label="Documents">
      <button type="button" className="primary new-doc" onClick={create} disabled={creating}>
        New document
      </button>
      {createError && (
        <p className="error" role="alert">
          {createError}
        </p>
      )}
      {error && <p className="notice">{error}</p>}
      {loading && docs.length === 0 && <p className="muted">Loading documents…</p>}
      {!loading && !error && docs.length === 0 && <p className="muted">No documents yet.</p>}
      <ul className="doc-list">
        {docs.map((d) => (
          <li key={d.id}>
            <a
              href={`/d/${d.id}`}
              aria-current={d.id === activeId ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/d/${d.id}`);
              }}
            >
              <span className="title">{d.title}</span>
              <span className="meta">
                {d.access === 'read' ? 'Read only' : d.access === 'admin' ? 'Owner' : 'Can edit'}
                {available.has(d.id) ? ' · on this device' : ''}
              </span>
            </a>
          </li>
        ))}
      </ul>
      {hasMore && (
        <button type="button" className="link" onClick={onMore}>
          Show more
        </button>
      )}
    </nav>
  );
}
