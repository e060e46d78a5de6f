/** The app's one SDK client (same origin, session in localStorage) and shared helpers. */
import { colorFor, indexedDbStore, localStorageTokenStorage, QuireClient, type DocumentMeta, type Me, type QuireError } from '../../sdk/index.js';

export { colorFor };

export const client = new QuireClient({ baseUrl: '', tokens: localStorageTokenStorage() });
export const offlineStore = indexedDbStore();

const MESSAGES: Record<string, string> = {
  network_error: 'Cannot reach the server. Check your connection and try again.',
  invalid_credentials: 'That email and password do not match.',
  email_taken: 'An account with this email already exists. Sign in instead.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  document_not_found: 'This document does not exist or you do not have access to it.',
  forbidden: 'You do not have permission to do that.',
  search_unavailable: 'Search is not available on this server right now.',
  ml_unavailable: 'Semantic search is not enabled on this server. Try full-text search.',
  not_signed_in: 'Your session ended. Sign in again.',
  refresh_token_reused: 'Your session ended. Sign in again.',
  invalid_refresh_token: 'Your session ended. Sign in again.',
  review_in_progress: 'This document already has a review in progress. It must be decided before another is requested.',
  no_eligible_assignees: 'Nobody in the first step of this workflow can read this document. Share it with them, or choose another workflow.',
  workflow_archived: 'That workflow is archived. Choose another one.',
  workflow_not_found: 'That workflow no longer exists.',
  task_closed: 'This task is no longer open: the review was decided or cancelled.',
  task_not_found: 'This task does not exist or is not yours.',
  push_unavailable: 'Push messages are not set up on this server.',
};

/** A sentence for the user; validation details become "field: problem". */
export function describeError(e: QuireError): string {
  const known = MESSAGES[e.code];
  if (known) return known;
  if (e.code === 'validation_failed' && Array.isArray(e.details)) {
    const parts = (e.details as { path?: string; message?: string }[]).map((d) => `${d.path ? `${d.path}: ` : ''}${d.message ?? ''}`);
    if (parts.length) return parts.join('; ');
  }
  return e.message || 'Something went wrong.';
}

/** The document list is kept per user so it shows offline. */
const listKey = (userId: string) => `quire.documents.${userId}`;

export function cachedDocuments(userId: string): DocumentMeta[] {
  try {
    return JSON.parse(localStorage.getItem(listKey(userId)) ?? '[]') as DocumentMeta[];
  } catch {
    return [];
  }
}

export function cacheDocuments(userId: string, docs: DocumentMeta[]): void {
  localStorage.setItem(listKey(userId), JSON.stringify(docs));
}

/** The signed-in user's profile (display name, workspace name), for offline starts. */
const profileKey = (userId: string) => `quire.me.${userId}`;

export function cachedProfile(userId: string): Me | null {
  try {
    const me = JSON.parse(localStorage.getItem(profileKey(userId)) ?? 'null') as Me | null;
    return me?.id === userId ? me : null;
  } catch {
    return null;
  }
}

export function cacheProfile(me: Me): void {
  localStorage.setItem(profileKey(me.id), JSON.stringify(me));
}

/** Documents whose offline copy is on this device (to remove them on sign-out). */
const offlineKey = (userId: string) => `quire.offline.${userId}`;

export function rememberOffline(userId: string, documentId: string): void {
  const ids = new Set(JSON.parse(localStorage.getItem(offlineKey(userId)) ?? '[]') as string[]);
  ids.add(documentId);
  localStorage.setItem(offlineKey(userId), JSON.stringify([...ids]));
}

export function offlineDocuments(userId: string): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(offlineKey(userId)) ?? '[]') as string[]);
  } catch {
    return new Set();
  }
}

/** Local changes not yet stored on the server, per document (to warn before signing out). */
const pendingKey = (userId: string) => `quire.pending.${userId}`;

export function recordPending(userId: string, documentId: string, pending: number): void {
  const all = JSON.parse(localStorage.getItem(pendingKey(userId)) ?? '{}') as Record<string, number>;
  if (pending > 0) all[documentId] = pending;
  else delete all[documentId];
  localStorage.setItem(pendingKey(userId), JSON.stringify(all));
}

export function pendingTotal(userId: string): number {
  try {
    return Object.values(JSON.parse(localStorage.getItem(pendingKey(userId)) ?? '{}') as Record<string, number>).reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}

/** Removes one document's offline copy from this device. */
export async function forgetOffline(userId: string, documentId: string): Promise<void> {
  await offlineStore.remove(`${userId}/${documentId}`).catch(() => undefined);
  const ids = offlineDocuments(userId);
  ids.delete(documentId);
  localStorage.setItem(offlineKey(userId), JSON.stringify([...ids]));
  recordPending(userId, documentId, 0);
}

/** Removes this user's offline copies and cached document list from the device. */
export async function forgetDevice(userId: string): Promise<void> {
  await Promise.all([...offlineDocuments(userId)].map((id) => offlineStore.remove(`${userId}/${id}`).catch(() => undefined)));
  localStorage.removeItem(offlineKey(userId));
  localStorage.removeItem(listKey(userId));
  localStorage.removeItem(pendingKey(userId));
  localStorage.removeItem(profileKey(userId));
}

/**
 * Stops this browser's Web Push for the signed-in person: the server forgets the
 * subscription and the browser drops it, so whoever uses the browser next is not shown
 * their notifications. Quietly does nothing where push is not available.
 */
export async function forgetPush(): Promise<void> {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator)) return;
  const reg = await navigator.serviceWorker.getRegistration().catch(() => undefined);
  const sub = await reg?.pushManager?.getSubscription().catch(() => null);
  if (!sub) return;
  await client.removePushSubscription(sub.endpoint);
  await sub.unsubscribe().catch(() => undefined);
}

/** Signs out and removes this user's offline copies, cached list and push subscription from the device. */
export async function signOut(userId: string): Promise<void> {
  await forgetPush().catch(() => undefined);
  await forgetDevice(userId);
  await client.logout();
}

export function displayName(email: string): string {
  return email.split('@')[0] ?? email;
}
