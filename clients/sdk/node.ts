/** Node and Electron (main process) additions to the SDK. */
export * from './index.js';
export { fileStore, type FileStoreOptions } from './stores/file.js';
