import type { KeyboardEvent } from 'react';

/** A side panel's key handler: Escape closes it, unless a dialog inside it (a confirm) takes the key. */
export function escapeCloses(onClose: () => void): (e: KeyboardEvent<HTMLElement>) => void {
  return (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && !(e.target as HTMLElement).closest('dialog')) {
      e.preventDefault();
      onClose();
    }
  };
}
