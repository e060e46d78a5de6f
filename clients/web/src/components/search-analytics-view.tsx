/** Search analytics for workspace owners and admins: what people search for, and what finds nothing. */
import { useEffect, useState } from 'react';
import type { SearchAnalytics, SearchQueryStats } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { navigate } from '../router.js';
import './search-analytics.css';

const PERIODS = [7, 30, 90] as const;

const percent = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)} %` : '—');
const when = (iso: string) => new Date(iso).toLocaleDateString(undefined, { day: 'numeric', month: 'short' });

function QueryLink({ query }: { query: string }) {
  return (
    <a
      href={`/search?q=${encodeURIComponent(query)}&mode=hybrid`}
      onClick={(e) => {
        e.preventDefault();
        navigate(`/search?q=${encodeURIComponent(query)}&mode=hybrid`);
      }}
    >
      {query}
    </a>
  );
}

function QueryTable({ caption, rows, empty, withClicks }: { caption: string; rows: SearchQueryStats[]; empty: string; withClicks: boolean }) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="query-table">
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Query</th>
          <th scope="col" className="num">
            Searches
          </th>
          {withClicks && (
            <>
              <th scope="col" className="num">
                Opened a result
              </th>
              <th scope="col" className="num">
                Results (avg.)
              </th>
            </>
          )}
          <th scope="col" className="num">
            Last searched
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.query}>
            <td className="query">
              <QueryLink query={r.query} />
            </td>
            <td className="num">{r.searches}</td>
            {withClicks && (
              <>
                <td className="num">{percent(r.clickedSearches, r.searches)}</td>
                <td className="num">{r.averageResults}</td>
              </>
            )}
            <td className="num">{when(r.lastSearchedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SearchAnalyticsView() {
  const [days, setDays] = useState<(typeof PERIODS)[number]>(30);
  const [data, setData] = useState<SearchAnalytics | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setData(null);
    setError(null);
    void (async () => {
      const r = await client.searchAnalytics({ days, limit: 20 });
      if (!live) return;
      if (r.ok) setData(r.value);
      else setError(r.error.code === 'forbidden' ? 'Only workspace owners and admins can see search analytics.' : describeError(r.error));
    })();
    return () => {
      live = false;
    };
  }, [days]);

  const t = data?.totals;
  return (
    <section className="search-analytics" aria-labelledby="analytics-heading">
      <h2 id="analytics-heading">Search analytics</h2>
      <p className="muted">What people in this workspace search for, and which searches find nothing.</p>
      <div className="tabs" role="radiogroup" aria-label="Period">
        {PERIODS.map((d) => (
          <button key={d} type="button" role="radio" aria-checked={days === d} onClick={() => setDays(d)}>
            Last {d} days
          </button>
        ))}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!error && !data && <p className="muted">Loading…</p>}
      {data && t && (
        <>
          <dl className="stat-cards" data-testid="search-totals">
            <div>
              <dt>Searches</dt>
              <dd>{t.searches}</dd>
            </div>
            <div>
              <dt>Found nothing</dt>
              <dd>
                {t.noResults} <span className="share">{percent(t.noResults, t.searches)}</span>
              </dd>
            </div>
            <div>
              <dt>Opened a result</dt>
              <dd>
                {t.clickedSearches} <span className="share">{percent(t.clickedSearches, t.searches)}</span>
              </dd>
            </div>
            <div>
              <dt>By mode</dt>
              <dd className="modes">
                <span>Best match {t.byMode.hybrid}</span>
                <span>Exact words {t.byMode.fulltext}</span>
                <span>Meaning {t.byMode.semantic}</span>
              </dd>
            </div>
          </dl>
          <h3>Top queries</h3>
          <QueryTable caption="Top queries" rows={data.topQueries} empty="No searches in this period." withClicks />
          <h3>Searches that found nothing</h3>
          <p className="hint">Documents people looked for and did not find: worth writing, or naming the way people search for them.</p>
          <QueryTable caption="Searches that found nothing" rows={data.noResultQueries} empty="Every search found something." withClicks={false} />
          <p className="hint footnote">Queries are counted in lower case, without who searched. Searches are kept for {data.retentionDays} days.</p>
        </>
      )}
    </section>
  );
}
