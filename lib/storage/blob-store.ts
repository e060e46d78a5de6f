/**
 * The blob store port: where file bytes live. Two implementations pass one conformance
 * suite (test/blob-store.test.ts): the filesystem under `DATA_DIR/blobs` (the embedded
 * default, fs-blob-store.ts) and S3-compatible object storage (the scaled profile,
 * s3-blob-store.ts). Keys are relative paths (`t/<tenant>/a/<attachment>`); the store never
 * interprets them beyond the folder separator.
 */
import type { Readable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
}

/** Bytes `start`..`end` inclusive, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /**
   * Stores `body` under `key`, replacing what was there; resolves to the number of bytes
   * stored. The object appears whole or not at all: a body stream that fails leaves
   * nothing under `key`.
   */
  put(key: string, body: Readable | Uint8Array, opts?: { contentType?: string }): Promise<number>;
  /** The object's bytes (or a range of them) and its full size; null when there is none. */
  get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number } | null>;
  stat(key: string): Promise<BlobInfo | null>;
  /**
   * Appends `body` to the object (creating it), durably as the bytes arrive: a stream that
   * ends early or fails leaves what came before it. Resolves to the bytes appended. Only
   * stores that can append in place have it (the filesystem; S3 objects cannot grow).
   */
  append?(key: string, body: Readable): Promise<number>;
  /** Moves an object to another key (replacing what was there) without sending its bytes through us. */
  move(from: string, to: string): Promise<void>;
  /** Removes the objects; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  close(): Promise<void>;
}

const KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;

/** Refuses keys that could leave the store's root or mean different things to different stores. */
export function checkKey(key: string): string {
  if (key.length > 512 || !KEY_RE.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`Not a valid blob key: ${JSON.stringify(key)}`);
  return key;
}

/** Reads a whole (small) object into memory; null when there is none. */
export async function readAll(store: BlobStore, key: string): Promise<Buffer | null> {
  const got = await store.get(key);
  if (!got) return null;
  const chunks: Buffer[] = [];
  for await (const c of got.body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}
