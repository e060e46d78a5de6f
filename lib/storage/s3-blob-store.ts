/**
 * The blob store on S3-compatible object storage (the scaled profile: AWS S3, MinIO, R2,
 * Ceph...). Path-style addressing, so any endpoint works; every key is placed under
 * `prefix` (one bucket can serve several deployments or test runs). Streams of unknown
 * length go up as multipart uploads (`@aws-sdk/lib-storage`), which S3 makes visible only
 * when complete.
 */
import { CopyObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable, Transform } from 'node:stream';
import { checkKey, type BlobInfo, type BlobStore, type ByteRange } from './blob-store.js';

export interface S3Options {
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Folder inside the bucket every key is placed under ('' for none). */
  prefix: string;
}

function missing(err: unknown): boolean {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode === 404 || err.name === 'NoSuchKey' || err.name === 'NotFound';
  return false;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly opts: S3Options) {
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: true,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      // Checksums on every request are not understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.prefix = opts.prefix ? `${checkKey(opts.prefix.replace(/\/+$/, ''))}/` : '';
  }

  private objectKey(key: string): string {
    return this.prefix + checkKey(key);
  }

  async put(key: string, body: Readable | Uint8Array, opts: { contentType?: string } = {}): Promise<number> {
    const Key = this.objectKey(key);
    if (!(body instanceof Readable)) {
      await this.client.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key, Body: body, ContentLength: body.byteLength, ContentType: opts.contentType }));
      return body.byteLength;
    }
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          done(null, chunk);
        },
      }),
    );
    body.on('error', (err) => counted.destroy(err));
    const upload = new Upload({ client: this.client, params: { Bucket: this.opts.bucket, Key, Body: counted, ContentType: opts.contentType }, leavePartsOnError: false });
    await upload.done();
    return size;
  }

  async get(key: string, range?: ByteRange): Promise<{ body: Readable; size: number } | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }));
      const total = r.ContentRange ? Number(r.ContentRange.split('/')[1]) : Number(r.ContentLength ?? 0);
      return { body: r.Body as Readable, size: total };
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(key) }));
      return { key, size: Number(r.ContentLength ?? 0) };
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async move(from: string, to: string): Promise<void> {
    // Copied inside the store, then the original removed (S3 has no rename). Objects past 5 GB would need a multipart copy.
    await this.client.send(new CopyObjectCommand({ Bucket: this.opts.bucket, Key: this.objectKey(to), CopySource: `${this.opts.bucket}/${this.objectKey(from)}` }));
    await this.delete([from]);
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => ({ Key: this.objectKey(k) }));
      if (batch.length === 0) continue;
      const r = await this.client.send(new DeleteObjectsCommand({ Bucket: this.opts.bucket, Delete: { Objects: batch, Quiet: true } }));
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) throw new Error(`Could not delete ${failed.length} objects: ${failed[0]?.Code ?? ''} ${failed[0]?.Message ?? ''}`);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobInfo> {
    let token: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.opts.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      for (const o of r.Contents ?? []) if (o.Key) yield { key: o.Key.slice(this.prefix.length), size: Number(o.Size ?? 0) };
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
