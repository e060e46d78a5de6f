/** The blob store a configuration names: S3-compatible object storage, or the filesystem under DATA_DIR/blobs. */
import path from 'node:path';
import type { Config } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

export function openBlobStore(files: Config['files'], dataDir: string): BlobStore {
  if (files.backend === 's3') {
    if (!files.s3) throw new Error('STORAGE_BACKEND=s3 needs S3_BUCKET');
    return new S3BlobStore(files.s3);
  }
  return new FsBlobStore(path.join(dataDir, 'blobs'));
}
