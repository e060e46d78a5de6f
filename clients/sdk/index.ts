/**
 * The Quire client SDK (browser, Electron renderer, Node): typed REST client with token
 * refresh, live documents with offline persistence. Node-only pieces (the file store)
 * are in `./node.ts`.
 *
 * @module @quire/sdk
 */
export { QuireClient, type QuireClientOptions, type SessionListener } from './client.js';
export { canEdit, colorFor, DocumentSession, openDocument, type ConnectionState, type DocumentStatus, type OpenDocumentOptions, type SessionError, type StatusListener } from './document.js';
export { err, ok, unwrap, QuireRequestError, type QuireError, type QuireErrorCode, type Result } from './errors.js';
export { SERVER_ERROR_CODES, type ServerErrorCode } from '../../contract/errors.js';
export { CLOSE, DENIED, FINAL_CLOSE_CODES, type CloseReason, type DeniedReason } from '../../contract/sync.js';
export { memoryStore, type OfflineBinding, type OfflineStore } from './offline.js';
export { indexedDbStore } from './stores/indexeddb.js';
export { snippetParts, type SnippetPart } from './snippets.js';
export type { NotificationStream, NotificationStreamOptions } from './notifications.js';
export { localStorageTokenStorage, memoryTokenStorage, needsRefresh, tokenExpiry, tokenTimes, type TokenStorage } from './tokens.js';
export { WEBHOOK_EVENT_TYPES } from '../../contract/webhooks.js';
export type * from './types.js';
