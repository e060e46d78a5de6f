/**
 * The conversion thread (started by core/convert/thread.ts): runs one import or export at
 * a time, off the process' event loop and inside the thread's own heap limit.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../../lib/thread.js';
import type { PMNode } from '../content.js';
import { exportDocument, importDocument, type ExportFormat, type ImportFormat } from './index.js';

export type Job =
  | { id: number; kind: 'import'; format: ImportFormat; bytes: Uint8Array }
  | { id: number; kind: 'export'; format: ExportFormat; doc: PMNode; title: string; images: [string, { bytes: Uint8Array; contentType: string }][] };

export interface StoredImage {
  id: string;
  bytes: Uint8Array;
  contentType: string;
  name: string;
}

async function run(job: Job): Promise<unknown> {
  if (job.kind === 'import') {
    const images: StoredImage[] = [];
    const { doc, title } = await importDocument(job.format, job.bytes, {
      storeImage: (bytes, contentType, name) => {
        // A stand-in id: the caller stores the bytes once the document exists.
        const id = crypto.randomUUID();
        images.push({ id, bytes, contentType, name });
        return Promise.resolve(id);
      },
    });
    return { doc, title, images };
  }
  const images = new Map(job.images);
  return exportDocument(job.format, job.doc, job.title, { loadImage: (id) => Promise.resolve(images.get(id) ?? null) });
}

parentPort?.on('message', (job: Job) => {
  run(job).then(
    (result) => parentPort?.postMessage({ id: job.id, ok: true, result }),
    (error: unknown) => parentPort?.postMessage({ id: job.id, ok: false, error: serializeError(error) }),
  );
});
