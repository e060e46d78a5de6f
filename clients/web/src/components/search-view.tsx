/** Search across readable documents: full-text, semantic or hybrid, with highlighted snippets. */
import { useEffect, useState } from 'react';
import { snippetParts, type SearchHit, type SearchMatch, type SearchMode } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';

const MODES: { value: SearchMode; label: string }[] = [
  { value: 'hybrid', label: 'Best match' },
  { value: 'fulltext', label: 'Exact words' },
  { value: 'semantic', label: 'Meaning' },
];

/** Why a hit is listed, in words: "Exact words in title", "Close spelling: revenue", "Similar meaning". */
function whyMatched(m: SearchMatch): string {
  const where = m.fields.includes('title') ? ' in title' : '';
  if (m.kind === 'semantic') return 'Similar meaning';
  if (m.kind === 'typo') return `Close spelling${m.terms.length ? `: ${m.terms.slice(0, 3).join(', ')}` : ''}`;
  return `Exact words${where}`;
}

export function SearchView({ q, mode }: { q: string; mode: SearchMode }) {
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [searchId, setSearchId] = useState<string | null>(null);
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
      if (r.ok) {
        setHits(r.value.hits);
        setSearchId(r.value.searchId);
      } else setError(describeError(r.error));
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
          <button key={m.value} type="button" role="radio" aria-checked={mode === m.value} onClick={() => navigate(`/search?q=${encodeURIComponent(q)}&mode=${m.value}`, true)}>
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
      {hits && hits.length === 0 && (
        <p className="muted">
          {mode === 'semantic' && !fallback
            ? 'Nothing is close enough in meaning. Try Best match or Exact words for names and single words.'
            : 'No documents match. New text is searchable a moment after it is saved.'}
        </p>
      )}
      {hits && hits.length > 0 && (
        <ol className="hits" data-testid="search-hits">
          {hits.map((h, i) => (
            <li key={h.documentId}>
              <a
                href={`/d/${h.documentId}`}
                onClick={(e) => {
                  e.preventDefault();
                  // For the workspace's search analytics; opening the document does not wait for it.
                  if (searchId) void client.recordSearchClick(searchId, h.documentId, i + 1);
                  navigate(`/d/${h.documentId}`);
                }}
              >
                {h.title}
              </a>
              <span className="hit-match" data-testid="hit-match">
                {whyMatched(h.match)}
              </span>
              <p className="snippet">{snippetParts(h.snippet).map((p, i) => (p.highlight ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
