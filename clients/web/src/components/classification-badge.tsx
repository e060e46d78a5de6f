/**
 * The document's label: the workspace's default classifier, else the built-in model, shown by
 * its readable name. Short documents and unsure models show no label (the server decides).
 */
import { useEffect, useState } from 'react';
import type { ClassificationAnswer } from '../../../sdk/index.js';
import { client } from '../api.js';

/** Labels follow edits by a second or two; look again soon while there is none, then now and then. */
const REFRESH_MS = 30_000;
const FIRST_LABEL_POLL_MS = 3_000;

/** `active` is false once the document is gone or unreadable: then nothing is asked any more. */
export function ClassificationBadge({ id, online, active }: { id: string; online: boolean; active: boolean }) {
  const [c, setC] = useState<ClassificationAnswer | null>(null);
  useEffect(() => {
    if (!online || !active) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      const r = await client.getClassification(id);
      if (!live) return;
      if (r.ok) setC(r.value);
      // Gone or no longer shared: stop asking.
      else if (r.error.status === 404 || r.error.status === 403) return;
      // Quickly while no model has labelled it yet; errors and labels then now and then.
      timer = setTimeout(load, r.ok && r.value.reason === 'not_classified' ? FIRST_LABEL_POLL_MS : REFRESH_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id, online, active]);
  if (!c || !active) return null;
  if (c.reason === 'not_classified')
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
