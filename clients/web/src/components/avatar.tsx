/** A person as a round badge: their initials on a colour that stays the same for them everywhere. */
import { colorFor } from '../api.js';

/** Up to two initials: of the first two words of a name, else the first letters of an email's local part. */
export function initials(name: string): string {
  const words = name
    .replace(/@.*$/, '')
    .split(/[\s._-]+/)
    .filter(Boolean);
  const letters = words.length >= 2 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

export function Avatar({ name, seed, size = 'md', label }: { name: string; seed: string; size?: 'sm' | 'md'; label?: string }) {
  return (
    <span className={`avatar ${size}`} style={{ background: colorFor(seed) }} title={label ?? name} aria-hidden={label ? undefined : true} role={label ? 'img' : undefined} aria-label={label}>
      {initials(name)}
    </span>
  );
}
