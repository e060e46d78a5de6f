/**
 * Node and Electron (main process) additions to the SDK: everything of `@quire/sdk`, and the file store.
 *
 * @module @quire/sdk/node
 */
export * from './index.js';
export { fileStore, type FileStoreOptions } from './stores/file.js';
