/**
 * The blob store port's conformance suite, run against both implementations: the
 * filesystem (embedded default) and S3-compatible object storage (the scaled profile; the
 * s3rver instance `ops/object-store.sh` starts, one key prefix per run).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { readAll, type BlobStore } from '../lib/storage/blob-store.js';
import { FsBlobStore } from '../lib/storage/fs-blob-store.js';
import { S3BlobStore } from '../lib/storage/s3-blob-store.js';
import { TEST_S3 } from './helpers/env.js';

async function text(got: { body: Readable } | null): Promise<string | null> {
  if (!got) return null;
  let s = '';
  for await (const c of got.body) s += Buffer.from(c as Uint8Array).toString();
  return s;
}

async function keys(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of store.list(prefix)) out.push(`${b.key}:${b.size}`);
  return out;
}

/** Each store, and whether it appends in place (the filesystem does; S3 objects cannot grow). */
const stores: [string, () => Promise<BlobStore>, boolean][] = [
  ['filesystem', async () => new FsBlobStore(await fs.mkdtemp(path.join(os.tmpdir(), 'quire-blobs-'))), true],
  ['s3', async () => new S3BlobStore({ ...TEST_S3, prefix: `test-${crypto.randomUUID()}` }), false],
];

for (const [name, make, appends] of stores) {
  describe(`blob store: ${name}`, () => {
    test('put, get, range, stat, replace, delete', async (t) => {
      const store = await make();
      t.after(() => store.close());
      assert.equal(await store.get('t/1/a/missing'), null, 'a missing key reads as null');
      assert.equal(await store.stat('t/1/a/missing'), null, 'a missing key has no stat');
      assert.equal(await store.put('t/1/a/x', new TextEncoder().encode('hello, world')), 12);
      assert.equal(await text(await store.get('t/1/a/x')), 'hello, world');
      const whole = await store.get('t/1/a/x');
      whole?.body.destroy();
      assert.equal(whole?.size, 12);
      const part = await store.get('t/1/a/x', { start: 7, end: 11 });
      assert.equal(part?.size, 12, 'a range read reports the whole size');
      assert.equal(await text(part), 'world');
      assert.deepEqual(await store.stat('t/1/a/x'), { key: 't/1/a/x', size: 12 });
      await store.put('t/1/a/x', new TextEncoder().encode('bye'));
      assert.equal(await text(await store.get('t/1/a/x')), 'bye', 'a put replaces');
      await store.delete(['t/1/a/x', 't/1/a/never-there']);
      assert.equal(await store.get('t/1/a/x'), null, 'deleted');
    });

    test('streams of unknown length, larger than one multipart part, arrive whole', async (t) => {
      const store = await make();
      t.after(() => store.close());
      const bytes = crypto.randomBytes(6 * 1024 * 1024 + 123);
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
        })(),
      );
      assert.equal(await store.put('big/one', body), bytes.length);
      const back = await readAll(store, 'big/one');
      assert.ok(back && back.equals(bytes), 'the same bytes come back');
    });

    test('a body stream that fails leaves nothing behind', async (t) => {
      const store = await make();
      t.after(() => store.close());
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024, 1));
          this.destroy(new Error('connection lost'));
        },
      });
      await assert.rejects(store.put('broken/one', failing));
      assert.equal(await store.stat('broken/one'), null, 'no partial object');
      assert.deepEqual(await keys(store, 'broken/'), []);
    });

    test('list by prefix, in key order', async (t) => {
      const store = await make();
      t.after(() => store.close());
      for (const k of ['u/9/part-2', 'u/9/part-10', 'u/9/info', 'u/10/info', 'v/1']) await store.put(k, new TextEncoder().encode(k));
      assert.deepEqual(await keys(store, 'u/9/'), ['u/9/info:8', 'u/9/part-10:11', 'u/9/part-2:10']);
      assert.deepEqual(await keys(store, 'u/9/part-'), ['u/9/part-10:11', 'u/9/part-2:10']);
      assert.deepEqual((await keys(store, 'u/')).length, 4);
      assert.deepEqual(await keys(store, 'w/'), []);
    });

    test('move: the object is under its new key, not its old one', async (t) => {
      const store = await make();
      t.after(() => store.close());
      await store.put('m/from', new TextEncoder().encode('moving'));
      await store.put('n/to', new TextEncoder().encode('old'));
      await store.move('m/from', 'n/to');
      assert.equal(await store.stat('m/from'), null, 'gone from the old key');
      assert.equal(await text(await store.get('n/to')), 'moving', 'replaces what the new key held');
    });

    test(`appending in place: ${appends ? 'offered' : 'not offered (uploads keep one object per piece)'}`, async (t) => {
      const store = await make();
      t.after(() => store.close());
      assert.equal(typeof store.append === 'function', appends, 'the store offers append exactly when it can');
    });

    if (appends)
      test('append: bytes accumulate, and a failing stream keeps what came before', async (t) => {
        const store = await make();
        t.after(() => store.close());
        const append = store.append!.bind(store);
        assert.equal(await append('ap/data', Readable.from([Buffer.from('one ')])), 4);
        assert.equal(await append('ap/data', Readable.from([Buffer.from('two')])), 3);
        let sent = false;
        const failing = new Readable({
          read() {
            if (sent) this.destroy(new Error('connection lost'));
            else this.push(Buffer.from(' three'));
            sent = true;
          },
        });
        await append('ap/data', failing).catch(() => undefined);
        assert.equal(await text(await store.get('ap/data')), 'one two three');
      });

    test('keys that could leave the store are refused', async (t) => {
      const store = await make();
      t.after(() => store.close());
      for (const bad of ['../x', 'a/../../x', '/abs', 'a//b', '', 'a/./b', 'a\\b']) {
        await assert.rejects(store.put(bad, new Uint8Array(1)), /Not a valid blob key/, bad);
      }
    });
  });
}
