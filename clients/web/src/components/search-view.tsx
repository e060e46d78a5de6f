/** Search across readable documents: full-text, semantic or hybrid, with highlighted snippets. */
import { useEffect, useState } from 'react';
import { snippetParts, type SearchHit, type SearchMode } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';

const MODES: { value: SearchMode; label: string }[] = [
  { value: 'hybrid', label: 'Best match' },
  { value: 'fulltext', label: 'Exact words' },
  { value: 'semantic', label: 'Meaning' },
];

export function SearchView({ q, mode }: { q: string; mode: SearchMode }) {
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fallback, setFallback] = useState(false);
  useEffect(() => {
    if (!q) return;
    let live = true;
    void (async () => {
      let r = await client.search(q, { mode, limit: 20 });
      // A server without semantic search answers exact-word searches only.
      if (!r.ok && r.error.code === 'mode_unavailable' && mode !== 'fulltext') {
        r = await client.search(q, { mode: 'fulltext', limit: 20 });
        if (live) setFallback(true);
      }
      if (!live) return;
      if (r.ok) setHits(r.value.hits);
      else setError(describeError(r.error));
    })();
    return () => {
      live = false;
    };
  }, [q, mode]);

  return (
    <section className="search-view" aria-labelledby="search-heading">
      <h2 id="search-heading">Results for “{q}”</h2>
      <div className="tabs" role="radiogroup" aria-label="Search mode">
        {MODES.map((m) => (
          <button
            key={m.value}
            type="button"
            role="radio"
            aria-checked={mode === m.value}
            onClick={() => navigate(`/search?q=${encodeURIComponent(q)}&mode=${m.value}`, true)}
          >
            {m.label}
          </button>
        ))}
      </div>
      {fallback && <p className="notice">Search by meaning is off on this server; showing documents with these exact words.</p>}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!error && hits === null && <p className="muted">Searching…</p>}
      {hits && hits.length === 0 && <p className="muted">No documents match. New text is searchable a moment after it is saved.</p>}
      {hits && hits.length > 0 && (
        <ol className="hits" data-testid="search-hits">
          {hits.map((h) => (
            <li key={h.documentId}>
              <a
                href={`/d/${h.documentId}`}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(`/d/${h.documentId}`);
                }}
              >
                {h.title}
              </a>
              <p className="snippet">
                {snippetParts(h.snippet).map((p, i) => (p.highlight ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
              </p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
