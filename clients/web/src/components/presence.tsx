/** Who has this document open (from the provider's awareness): editors and readers alike. */
import { useEffect, useState } from 'react';
import type { DocumentSession } from '../../../sdk/index.js';
import { Avatar } from './avatar.js';

interface Person {
  clientId: number;
  name: string;
  /** The user id when the client shares it (stable colour), else the name. */
  seed: string;
  reading: boolean;
}

export function Presence({ session, self, reading }: { session: DocumentSession; self: { name: string; id: string }; reading: boolean }) {
  const [people, setPeople] = useState<Person[]>([]);
  // Others see whether this user is reading or editing.
  useEffect(() => {
    session.provider.setAwarenessField('mode', reading ? 'reading' : 'editing');
  }, [session, reading]);
  useEffect(() => {
    const awareness = session.awareness;
    const read = () => {
      // One entry per person: the user's own other tabs and devices (or a session of theirs
      // that just closed) are not someone else; a person editing anywhere shows as editing.
      const byPerson = new Map<string, Person>();
      for (const [clientId, state] of awareness.getStates()) {
        if (clientId === awareness.clientID) continue;
        const s = state as { user?: { name?: unknown; id?: unknown }; mode?: unknown };
        const u = s.user;
        if (!u || typeof u.name !== 'string') continue;
        const seed = typeof u.id === 'string' ? u.id : u.name;
        if (seed === self.id) continue;
        const reading = s.mode === 'reading';
        const seen = byPerson.get(seed);
        if (!seen) byPerson.set(seed, { clientId, name: u.name, seed, reading });
        else if (!reading) seen.reading = false;
      }
      setPeople([...byPerson.values()]);
    };
    read();
    awareness.on('change', read);
    return () => awareness.off('change', read);
  }, [session, self.id]);

  const describe = (p: Person) => `${p.name}${p.reading ? ' (reading)' : ''}`;
  return (
    <div className="presence" role="group" aria-label="People in this document" data-testid="presence">
      <Avatar name={self.name} seed={self.id} label={`${self.name} (you)`} />
      {people.map((p) => (
        <Avatar key={p.clientId} name={p.name} seed={p.seed} label={describe(p)} />
      ))}
      <span className="muted presence-text">{people.length === 0 ? 'Only you' : `Also here: ${people.map(describe).join(', ')}`}</span>
    </div>
  );
}
