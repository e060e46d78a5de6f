/**
 * Where a client keeps its session (access + refresh token and the user). The browser
 * default is localStorage, so every tab shares one session; Node and Electron's main
 * process can keep it in memory or bring their own (e.g. the OS keychain).
 */
import type { Session } from './types.js';

/** Keeps a client's session; implement it to keep sessions somewhere else (a keychain, a file). */
export interface TokenStorage {
  /** The stored session, or null. */
  load(): Session | null;
  /** Stores a new or refreshed session. */
  save(session: Session): void;
  /** Forgets the session (sign-out, expiry). */
  clear(): void;
  /** Called when another tab or process changed the stored session. Returns an unsubscribe function. */
  subscribe?(listener: () => void): () => void;
}

/** Keeps the session in this object only (gone when the process ends); `initial` resumes a saved one. */
export function memoryTokenStorage(initial: Session | null = null): TokenStorage {
  let current = initial;
  return {
    load: () => current,
    save: (s) => {
      current = s;
    },
    clear: () => {
      current = null;
    },
  };
}

function isSession(v: unknown): v is Session {
  const s = v as Session | null;
  return !!s && typeof s.accessToken === 'string' && typeof s.refreshToken === 'string' && !!s.user && typeof s.user.id === 'string';
}

/** Keeps the session in `localStorage` under `key`; other tabs see changes through the `storage` event. */
export function localStorageTokenStorage(key = 'quire.session'): TokenStorage {
  return {
    load() {
      try {
        const raw = globalThis.localStorage?.getItem(key);
        const parsed: unknown = raw ? JSON.parse(raw) : null;
        return isSession(parsed) ? parsed : null;
      } catch {
        return null;
      }
    },
    save(s) {
      globalThis.localStorage?.setItem(key, JSON.stringify(s));
    },
    clear() {
      globalThis.localStorage?.removeItem(key);
    },
    subscribe(listener) {
      const onStorage = (e: StorageEvent) => {
        if (e.key === key || e.key === null) listener();
      };
      globalThis.addEventListener?.('storage', onStorage);
      return () => globalThis.removeEventListener?.('storage', onStorage);
    },
  };
}

/** `exp` and `iat` of a JWT (seconds since the epoch); 0 for what cannot be read. */
export function tokenTimes(jwt: string): { exp: number; iat: number } {
  try {
    const part = jwt.split('.')[1] ?? '';
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    );
    const claims = JSON.parse(json) as { exp?: unknown; iat?: unknown };
    return { exp: typeof claims.exp === 'number' ? claims.exp : 0, iat: typeof claims.iat === 'number' ? claims.iat : 0 };
  } catch {
    return { exp: 0, iat: 0 };
  }
}

/** Seconds since the epoch at which a JWT expires, or 0 when it cannot be read. */
export function tokenExpiry(jwt: string): number {
  return tokenTimes(jwt).exp;
}

/**
 * Whether a token should be refreshed now: within `leeway` seconds of expiry, but never
 * earlier than half-way through its life (a server with very short tokens would otherwise
 * see a refresh on every call).
 */
export function needsRefresh(jwt: string, leewaySeconds: number, nowSeconds = Date.now() / 1000): boolean {
  const { exp, iat } = tokenTimes(jwt);
  const life = exp - iat;
  const margin = iat > 0 && life > 0 ? Math.min(leewaySeconds, life / 2) : leewaySeconds;
  return exp - margin <= nowSeconds;
}
