/**
 * The blob store on the local filesystem (the embedded default): one file per key under
 * `root`. Writes go to a temporary file in `root/.tmp` and are renamed into place, so a
 * reader sees a whole object or none.
 */
import crypto from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkKey, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.js';

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  private readonly tmp: string;

  constructor(private readonly root: string) {
    this.tmp = path.join(root, '.tmp');
  }

  private file(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, body: Readable | Uint8Array): Promise<number> {
    const target = this.file(key);
    await fs.mkdir(this.tmp, { recursive: true });
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = path.join(this.tmp, crypto.randomUUID());
    let size = 0;
    try {
      const source = body instanceof Readable ? body : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
      source.on('data', (c: Buffer) => (size += c.length));
      await pipeline(source, createWriteStream(temp, { flags: 'wx' }));
      await fs.rename(temp, target);
      return size;
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number } | null> {
    const file = this.file(key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { size } = await handle.stat();
      // The stream owns the handle from here: a rename or delete meanwhile does not cut it short.
      const body = createReadStream('', { fd: handle, start: range?.start, end: range?.end, autoClose: true });
      return { body, size };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const s = await fs.stat(this.file(key));
      return s.isFile() ? { key, size: s.size } : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async append(key: string, body: Readable): Promise<number> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const handle = await fs.open(file, 'a');
    let size = 0;
    try {
      // Each chunk is written before the next is read: what arrived before a failure is in the file.
      for await (const c of body) {
        const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
        await handle.write(chunk);
        size += chunk.length;
      }
    } catch (err) {
      if (size === 0) throw err;
    } finally {
      await handle.close();
    }
    return size;
  }

  async move(from: string, to: string): Promise<void> {
    const target = this.file(to);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(this.file(from), target);
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      const file = this.file(key);
      await fs.rm(file, { force: true });
      // Empty folders left behind are removed up to the root (best effort: another writer may be filling one).
      for (let dir = path.dirname(file); dir.startsWith(this.root + path.sep); dir = path.dirname(dir)) {
        try {
          await fs.rmdir(dir);
        } catch {
          break;
        }
      }
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    if (dirKey) checkKey(dirKey);
    const start = dirKey ? path.join(this.root, ...dirKey.split('/')) : this.root;
    const out: BlobInfo[] = [];
    const walk = async (dir: string, keyDir: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        if (keyDir === '' && e.name === '.tmp') continue;
        const key = keyDir ? `${keyDir}/${e.name}` : e.name;
        if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
        if (e.isDirectory()) await walk(path.join(dir, e.name), key);
        else if (e.isFile()) {
          try {
            out.push({ key, size: (await fs.stat(path.join(dir, e.name))).size });
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          }
        }
      }
    };
    await walk(start, dirKey);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* out;
  }

  async close(): Promise<void> {}
}
