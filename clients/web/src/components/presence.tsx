/** Who else has this document open (from the provider's awareness). */
import { useEffect, useState } from 'react';
import type { DocumentSession } from '../../../sdk/index.js';

interface Person {
  clientId: number;
  name: string;
  color: string;
}

export function Presence({ session, self }: { session: DocumentSession; self: { name: string } }) {
  const [people, setPeople] = useState<Person[]>([]);
  useEffect(() => {
    const awareness = session.awareness;
    const read = () => {
      const out: Person[] = [];
      for (const [clientId, state] of awareness.getStates()) {
        if (clientId === awareness.clientID) continue;
        const u = (state as { user?: { name?: unknown; color?: unknown } }).user;
        if (u && typeof u.name === 'string') out.push({ clientId, name: u.name, color: typeof u.color === 'string' ? u.color : '#666' });
      }
      setPeople(out);
    };
    read();
    awareness.on('change', read);
    return () => awareness.off('change', read);
  }, [session]);

  return (
    <div className="presence" role="group" aria-label="People in this document" data-testid="presence">
      <span className="avatar self" title={`${self.name} (you)`} aria-hidden="true">
        {self.name.slice(0, 1).toUpperCase()}
      </span>
      {people.map((p) => (
        <span key={p.clientId} className="avatar" style={{ background: p.color }} title={p.name}>
          {p.name.slice(0, 1).toUpperCase()}
        </span>
      ))}
      <span className="muted presence-text">{people.length === 0 ? 'Only you' : `Also here: ${people.map((p) => p.name).join(', ')}`}</span>
    </div>
  );
}
