/**
 * Resumable uploads (the tus protocol, served by `@tus/server`) kept in the blob store, so
 * any instance can take the next piece of an upload another instance started, on either
 * backend.
 *
 * An upload `<id>` is a folder: `uploads/<id>/info` (its length and metadata, JSON) and
 * one object per piece received, `uploads/<id>/p<offset>-<random>` (offset zero-padded, so
 * key order is byte order; the random part keeps two instances that took pieces at the same
 * offset, a resumed request racing the one it replaced, from overwriting each other, and the
 * longer piece wins). A PATCH cut short by a dropped connection still stores the bytes that
 * arrived, and the client resumes after them. `assemble` streams the pieces into the final
 * object and removes them. A store that appends in place (the filesystem) keeps one object,
 * `uploads/<id>/data`, that every piece is appended to, and the finished file is moved, not
 * copied; an upload's pieces are serialised by tus's lock within the one instance such a
 * store serves.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { DataStore, ERRORS, Upload } from '@tus/utils';
import { readAll, type BlobStore } from './blob-store.js';

const PIECE_DIGITS = 15;

interface Info {
  id: string;
  size?: number;
  metadata?: Record<string, string | null>;
  creation_date?: string;
}

export class BlobUploadStore extends DataStore {
  constructor(private readonly blobs: BlobStore) {
    super();
    this.extensions = ['creation', 'creation-with-upload', 'termination'];
  }

  private folder(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw ERRORS.FILE_NOT_FOUND;
    return `uploads/${id}/`;
  }

  override async create(upload: Upload): Promise<Upload> {
    const info: Info = { id: upload.id, size: upload.size, metadata: upload.metadata, creation_date: upload.creation_date ?? new Date().toISOString() };
    await this.blobs.put(`${this.folder(upload.id)}info`, Buffer.from(JSON.stringify(info)), { contentType: 'application/json' });
    upload.storage = { type: this.blobs.kind, path: this.folder(upload.id) };
    return upload;
  }

  /** The pieces of an upload in byte order, and how many bytes they hold from the start without a gap. */
  private async pieces(id: string): Promise<{ keys: string[]; offset: number }> {
    const byOffset = new Map<number, { key: string; size: number }>();
    for await (const b of this.blobs.list(`${this.folder(id)}p`)) {
      const at = Number(b.key.slice(b.key.lastIndexOf('/p') + 2, b.key.lastIndexOf('-')));
      const best = byOffset.get(at);
      if (!best || b.size > best.size) byOffset.set(at, b);
    }
    // From the start, piece after piece, each starting where the one before ended; a longer piece at an offset wins.
    const keys: string[] = [];
    let offset = 0;
    for (let piece = byOffset.get(0); piece && piece.size > 0; piece = byOffset.get(offset)) {
      keys.push(piece.key);
      offset += piece.size;
    }
    return { keys, offset };
  }

  private async received(id: string): Promise<number> {
    if (this.blobs.append) return (await this.blobs.stat(`${this.folder(id)}data`))?.size ?? 0;
    return (await this.pieces(id)).offset;
  }

  override async getUpload(id: string): Promise<Upload> {
    const raw = await readAll(this.blobs, `${this.folder(id)}info`);
    if (!raw) throw ERRORS.FILE_NOT_FOUND;
    const info = JSON.parse(raw.toString('utf8')) as Info;
    const offset = await this.received(id);
    return new Upload({ id, size: info.size, offset, metadata: info.metadata, creation_date: info.creation_date, storage: { type: this.blobs.kind, path: this.folder(id) } });
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    if (this.blobs.append) {
      if ((await this.received(id)) !== offset) throw ERRORS.INVALID_OFFSET;
      return offset + (await this.blobs.append(`${this.folder(id)}data`, stream));
    }
    const key = `${this.folder(id)}p${String(offset).padStart(PIECE_DIGITS, '0')}-${crypto.randomBytes(6).toString('hex')}`;
    // A request cut short ends its body stream early (the HTTP edge closes it when the client
    // goes away): what arrived is stored as this piece, and the client resumes after it.
    return offset + (await this.blobs.put(key, stream));
  }

  override async remove(id: string): Promise<void> {
    const keys: string[] = [];
    for await (const b of this.blobs.list(this.folder(id))) keys.push(b.key);
    await this.blobs.delete(keys);
  }

  override async declareUploadLength(): Promise<void> {
    throw ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION;
  }

  /**
   * Makes the finished upload the object `target` and removes its pieces; resolves to the
   * stored length. A file that arrived in one piece (or into one appended object) is moved,
   * not copied.
   */
  async assemble(id: string, target: string, contentType?: string): Promise<number> {
    const data = `${this.folder(id)}data`;
    const keys = this.blobs.append ? ((await this.blobs.stat(data)) ? [data] : []) : (await this.pieces(id)).keys;
    let size: number;
    if (keys.length === 1) {
      size = (await this.blobs.stat(keys[0]!))?.size ?? 0;
      await this.blobs.move(keys[0]!, target);
    } else {
      const blobs = this.blobs;
      size = await this.blobs.put(
        target,
        Readable.from(
          (async function* () {
            for (const key of keys) {
              const got = await blobs.get(key);
              if (!got) throw new Error(`upload piece ${key} disappeared`);
              yield* got.body;
            }
          })(),
        ),
        { contentType },
      );
    }
    await this.remove(id);
    return size;
  }
}
