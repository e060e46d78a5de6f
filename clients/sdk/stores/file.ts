/**
 * Offline store on the file system, for Node and Electron: per document an append-only
 * file of length-prefixed Yjs updates, compacted into one update when it grows, and a
 * small JSON file of metadata. Writes of one document are serialised.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as Y from 'yjs';
import type { OfflineBinding, OfflineStore } from '../offline.js';

/** Tuning of `fileStore`. */
export interface FileStoreOptions {
  /** Fold the log into one update once it holds this many updates. @default 500 */
  compactAfter?: number;
}

function encodeFrame(update: Uint8Array): Buffer {
  const frame = Buffer.alloc(4 + update.byteLength);
  frame.writeUInt32BE(update.byteLength, 0);
  frame.set(update, 4);
  return frame;
}

/** Reads frames; a torn last frame (a crash mid-append) is ignored. */
function decodeFrames(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt32BE(off);
    if (off + 4 + len > buf.length) break;
    out.push(new Uint8Array(buf.subarray(off + 4, off + 4 + len)));
    off += 4 + len;
  }
  return out;
}

/** An `OfflineStore` in directory `dir` (created, mode 0700), for Node and Electron. */
export function fileStore(dir: string, opts: FileStoreOptions = {}): OfflineStore {
  const compactAfter = opts.compactAfter ?? 500;
  const base = (name: string) => path.join(dir, encodeURIComponent(name));

  return {
    async open(name: string, doc: Y.Doc): Promise<OfflineBinding> {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const logFile = `${base(name)}.yupdates`;
      const metaFile = `${base(name)}.meta.json`;
      let chain: Promise<unknown> = Promise.resolve();
      let frames = 0;
      const queue = <T>(fn: () => Promise<T>): Promise<T> => {
        const next = chain.then(fn);
        chain = next.catch(() => undefined);
        return next;
      };
      const readMeta = async (): Promise<Record<string, unknown>> => {
        try {
          return JSON.parse(await fs.readFile(metaFile, 'utf8')) as Record<string, unknown>;
        } catch {
          return {};
        }
      };
      const compact = async () => {
        const tmp = `${logFile}.tmp`;
        await fs.writeFile(tmp, encodeFrame(Y.encodeStateAsUpdate(doc)), { mode: 0o600 });
        await fs.rename(tmp, logFile);
        frames = 1;
      };

      let stored: Uint8Array[] = [];
      try {
        stored = decodeFrames(await fs.readFile(logFile));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      frames = stored.length;

      const binding: OfflineBinding = {
        getMeta: async <T>(key: string) => (await queue(readMeta))[key] as T | undefined,
        setMeta: (key, value) =>
          queue(async () => {
            const meta = await readMeta();
            meta[key] = value;
            const tmp = `${metaFile}.tmp`;
            await fs.writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
            await fs.rename(tmp, metaFile);
          }),
        destroy: async () => {
          doc.off('update', onUpdate);
          await chain;
        },
        clear: async () => {
          doc.off('update', onUpdate);
          await chain;
          await fs.rm(logFile, { force: true });
          await fs.rm(metaFile, { force: true });
        },
      };
      const onUpdate = (update: Uint8Array, origin: unknown) => {
        if (origin === binding) return;
        void queue(async () => {
          await fs.appendFile(logFile, encodeFrame(update), { mode: 0o600 });
          if (++frames > compactAfter) await compact();
        });
      };
      if (stored.length > 0) Y.applyUpdate(doc, Y.mergeUpdates(stored), binding);
      doc.on('update', onUpdate);
      return binding;
    },
    async remove(name: string) {
      await fs.rm(`${base(name)}.yupdates`, { force: true });
      await fs.rm(`${base(name)}.meta.json`, { force: true });
    },
  };
}
