/**
 * Writing and reading the tar.gz archives of backups and workspace exports (tar-stream over
 * Node's gzip): entries are added one at a time, each hashed (SHA-256) as it is written, so
 * the manifest can list every entry with its size and checksum.
 */
import crypto from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';

export interface ArchivedFile {
  /** Path inside the archive (forward slashes). */
  path: string;
  bytes: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
}

const ENTRY_RE = /^[A-Za-z0-9._@+=-][A-Za-z0-9._@+= -]*(\/[A-Za-z0-9._@+=-][A-Za-z0-9._@+= -]*)*$/;

/** Refuses entry names that could leave the folder an archive is read into. */
export function checkEntryPath(p: string): string {
  if (p.length > 1024 || !ENTRY_RE.test(p) || p.split('/').some((s) => s === '.' || s === '..')) throw new Error(`not a valid archive entry name: ${JSON.stringify(p)}`);
  return p;
}

/** A tar.gz being written to a file, entry by entry. */
export class ArchiveWriter {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  private readonly written: ArchivedFile[] = [];
  private failed: Error | null = null;

  constructor(file: string) {
    this.done = pipeline(this.pack, zlib.createGzip({ level: 6 }), createWriteStream(file, { flags: 'wx' }));
    this.done.catch((e: unknown) => (this.failed = e instanceof Error ? e : new Error(String(e))));
  }

  /** What has been written so far, in order. */
  get files(): readonly ArchivedFile[] {
    return this.written;
  }

  /** Adds an entry with these bytes. */
  async add(name: string, data: Uint8Array | string, opts: { record?: boolean } = {}): Promise<ArchivedFile> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.addStream(name, Readable.from([buf]), buf.length, opts);
  }

  /** Adds a JSON entry (pretty-printed). */
  addJson(name: string, value: unknown, opts: { record?: boolean } = {}): Promise<ArchivedFile> {
    return this.add(name, `${JSON.stringify(value, null, 2)}\n`, opts);
  }

  /** Adds an entry of exactly `size` bytes read from `body`. */
  async addStream(name: string, body: Readable, size: number, opts: { record?: boolean } = {}): Promise<ArchivedFile> {
    if (this.failed) throw this.failed;
    checkEntryPath(name);
    const hash = crypto.createHash('sha256');
    let seen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        if (seen > size) return cb(new Error(`${name}: more than the ${size} bytes expected`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await new Promise<void>((resolve, reject) => {
      const entry = this.pack.entry({ name, size, mode: 0o644, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
      pipeline(body, counter, entry).catch(reject);
    });
    if (seen !== size) throw new Error(`${name}: ${seen} bytes where ${size} were expected`);
    const file = { path: name, bytes: size, sha256: hash.digest('hex') };
    if (opts.record !== false) this.written.push(file);
    return file;
  }

  /** Adds an (empty) folder, so that reading the archive makes it even when nothing is in it. */
  async addDirectory(name: string): Promise<void> {
    if (this.failed) throw this.failed;
    checkEntryPath(name);
    await new Promise<void>((resolve, reject) => {
      this.pack.entry({ name: `${name}/`, type: 'directory', mode: 0o755, mtime: new Date(0) }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Adds a file from disk. */
  async addFile(name: string, source: string): Promise<ArchivedFile> {
    const { size } = await fs.stat(source);
    return this.addStream(name, createReadStream(source), size);
  }

  /** Ends the archive; resolves once every byte is on disk. */
  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }

  /** Stops writing (the caller removes the file). */
  async abort(): Promise<void> {
    this.pack.destroy();
    await this.done.catch(() => undefined);
  }
}

/**
 * Reads every entry of a tar.gz into `dir` (which must exist and be empty), refusing entry
 * names that would leave it and anything but regular files and folders. Resolves to each
 * file's size and checksum, in archive order.
 */
export async function extractArchive(file: string, dir: string): Promise<ArchivedFile[]> {
  const extract = tar.extract();
  const files: ArchivedFile[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const rel = checkEntryPath(name.replace(/\/+$/, ''));
      if (type === 'directory') {
        await fs.mkdir(path.join(dir, ...rel.split('/')), { recursive: true });
        entry.resume();
        continue;
      }
      if (type !== 'file') throw new Error(`${rel}: only files are expected in the archive (found a ${type ?? 'special entry'})`);
      const target = path.join(dir, ...rel.split('/'));
      await fs.mkdir(path.dirname(target), { recursive: true });
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      const tap = new PassThrough();
      tap.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      await pipeline(entry, tap, createWriteStream(target, { flags: 'wx' }));
      files.push({ path: rel, bytes, sha256: hash.digest('hex') });
    }
  })().catch((e: unknown) => {
    extract.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  });
  await Promise.all([pipeline(createReadStream(file), zlib.createGunzip(), extract), reading]);
  return files;
}

/** SHA-256 of a file on disk, hex. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}
