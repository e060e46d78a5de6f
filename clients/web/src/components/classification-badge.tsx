/**
 * The document's label: the workspace's default classifier, else the built-in model, shown by
 * its readable name. Short documents and unsure models show no label (the server decides).
 */
import { useEffect, useState } from 'react';
import type { DocumentClassification } from '../../../sdk/index.js';
import { client } from '../api.js';

/** Labels follow edits by a second or two; look again soon while there is none, then now and then. */
const REFRESH_MS = 30_000;
const FIRST_LABEL_POLL_MS = 3_000;

export function ClassificationBadge({ id, online }: { id: string; online: boolean }) {
  const [c, setC] = useState<DocumentClassification | null>(null);
  const [state, setState] = useState<'loading' | 'none' | 'ok'>('loading');
  useEffect(() => {
    if (!online) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const r = await client.getClassification(id);
      if (!live) return;
      if (r.ok) {
        setC(r.value);
        setState('ok');
      } else if (r.error.status === 404) setState('none');
      // Poll quickly only while the label is merely not there yet; errors back off.
      timer = setTimeout(load, !r.ok && r.error.status === 404 ? FIRST_LABEL_POLL_MS : REFRESH_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, online]);
  if (state === 'loading') return null;
  if (state === 'none' || !c)
    return (
      <span className="pill muted" data-testid="classification">
        Not classified yet
      </span>
    );
  if (c.label === null) {
    const why = c.reason === 'too_little_text' ? 'Too short to label' : 'No clear label';
    return (
      <span className="pill muted" data-testid="classification" title={`Best guess: ${c.predicted} (${Math.round(c.confidence * 100)}% sure)`}>
        {why}
      </span>
    );
  }
  return (
    <span className="pill label" data-testid="classification" title={`${Math.round(c.confidence * 100)}% sure · model ${c.model}`}>
      {c.name ?? c.label}
    </span>
  );
}
