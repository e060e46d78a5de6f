/**
 * Searchable attachments: the text of PDFs, Word files and text files is extracted by the
 * workers and found by full-text and meaning search, pointing to the document, for those
 * who may read it. The extractor on its own (formats, limits, malformed and encrypted
 * files, its process' time and memory limits), the indexer with attachment rows and blobs of its own,
 * and the whole path (upload over REST, worker, search) on both profiles.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { Document, Packer, Paragraph } from 'docx';
import PDFDocument from 'pdfkit';

import { DocumentStore } from '../core/document-store.js';
import { withTenant } from '../db/store.js';
import { FsBlobStore } from '../lib/storage/fs-blob-store.js';
import { attachmentChunks, SEMANTIC_ATTACHMENT_MAX_CHUNKS, withAttachmentText } from '../ml-workers/extract/attachments.js';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { extractText } from '../ml-workers/extract/extract.js';
import { Extractor } from '../ml-workers/extract/extractor.js';
import { DOCX_TYPE, ExtractionError, PDF_TYPE } from '../ml-workers/extract/formats.js';
import { Indexer } from '../ml-workers/indexer.js';
import { PgVectorIndex } from '../ml-workers/search/pgvector.js';
import { PostgresFullText } from '../ml-workers/search/postgres-fulltext.js';
import { chunkBlocks } from '../ml-workers/search/vectors.js';
import { TEST_QDRANT_URL, TEST_S3 } from './helpers/env.js';
import { startServer, uniqueName, type StartServerOptions } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

/** A PDF with one page per entry (pdfkit lays the text out in lines). */
function makePdf(pages: string[], opts: PDFKit.PDFDocumentOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ ...opts, autoFirstPage: false });
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    for (const text of pages) doc.addPage().fontSize(12).text(text);
    doc.end();
  });
}

function makeDocx(paragraphs: string[]): Promise<Buffer> {
  return Packer.toBuffer(new Document({ sections: [{ children: paragraphs.map((p) => new Paragraph(p)) }] }));
}

/** Starts like a PDF, then is not one. */
const CORRUPT_PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), crypto.randomBytes(4096)]);

describe('extractText', () => {
  test('PDF pages, Word paragraphs and text files give their words', async () => {
    const pdf = await makePdf(['Quarterly heliotrope figures rose sharply.', 'The second page mentions a marmalade budget.']);
    const got = await extractText(pdf, PDF_TYPE);
    assert.equal(got.pages, 2);
    assert.equal(got.truncated, false);
    assert.match(got.text, /Quarterly heliotrope figures rose sharply\./, got.text);
    assert.match(got.text, /marmalade budget/, got.text);
    assert.ok(got.text.indexOf('heliotrope') < got.text.indexOf('marmalade'), 'pages in order');

    const docx = await extractText(await makeDocx(['Minutes of the zeppelin committee.', 'Second paragraph about gooseberries.']), DOCX_TYPE);
    assert.equal(docx.text, 'Minutes of the zeppelin committee.\n\nSecond paragraph about gooseberries.');

    const txt = await extractText(Buffer.from('\uFEFFPlain words\u0001 here\r\n\r\n\r\n\r\nand more\u0000'), 'text/plain; charset=utf-8');
    assert.equal(txt.text, 'Plain words  here\n\nand more', 'BOM, control characters and blank runs removed');
    assert.equal((await extractText(Buffer.from('# Title\n\nBody'), 'text/markdown')).text, '# Title\n\nBody');
  });

  test('limits: pages and characters past them are left out, and say so', async () => {
    const pdf = await makePdf(['first page alpha', 'second page beta', 'third page gamma']);
    const two = await extractText(pdf, PDF_TYPE, { maxPages: 2, maxChars: 1_000_000 });
    assert.equal(two.pages, 3);
    assert.equal(two.truncated, true);
    assert.match(two.text, /beta/);
    assert.doesNotMatch(two.text, /gamma/, 'the third page is past the limit');

    const short = await extractText(Buffer.from('one two three four five six'), 'text/plain', { maxPages: 1, maxChars: 25 });
    assert.deepEqual([short.text, short.truncated], ['one two three four five', true], 'cut at a word boundary');
  });

  test('malformed, encrypted and unsupported files throw ExtractionError', async () => {
    const encrypted = await makePdf(['secret words'], { userPassword: 'pw', ownerPassword: 'owner' });
    const cases: [Uint8Array, string, RegExp][] = [
      [CORRUPT_PDF, PDF_TYPE, /not a readable PDF/],
      [Buffer.from('plain text, not a PDF'), PDF_TYPE, /not a readable PDF/],
      [encrypted, PDF_TYPE, /encrypted/],
      [Buffer.from('PK\u0003\u0004 not really a zip'), DOCX_TYPE, /not a readable Word document/],
      [CORRUPT_PDF, 'image/png', /no text extraction for image\/png/],
    ];
    for (const [bytes, type, message] of cases) {
      await assert.rejects(extractText(bytes, type), (e: unknown) => e instanceof ExtractionError && message.test(e.message), `${type}: ${message}`);
    }
  });
});

describe('the extraction process', () => {
  test('a corrupt file fails, one over time stops the process, and the next files extract', async (t) => {
    const extractor = new Extractor({ maxBytes: 1_000_000 });
    t.after(() => extractor.close());
    const good = await makePdf(['The walrus ledger balances.']);
    await assert.rejects(extractor.extract(CORRUPT_PDF, PDF_TYPE), ExtractionError);
    assert.match((await extractor.extract(good, PDF_TYPE)).text, /walrus ledger/, 'the process survived the corrupt file');
    await assert.rejects(extractor.extract(good, PDF_TYPE, { timeoutMs: 1 }), (e: unknown) => e instanceof ExtractionError && /longer than/.test(e.message), 'over time');
    assert.match((await extractor.extract(good, PDF_TYPE)).text, /walrus ledger/, 'a fresh process after the timeout');
    await assert.rejects(extractor.extract(new Uint8Array(1_000_001), PDF_TYPE), (e: unknown) => e instanceof ExtractionError && /larger than/.test(e.message), 'over maxBytes');
    // Files queue: several at once all answer, in order.
    const texts = await Promise.all([0, 1, 2].map(async (i) => (await extractor.extract(Buffer.from(`file ${i}`), 'text/plain')).text));
    assert.deepEqual(texts, ['file 0', 'file 1', 'file 2']);
  });

  test('a file that needs more memory than extraction may use fails; the worker goes on', async (t) => {
    const extractor = new Extractor({ maxHeapMb: 32 });
    t.after(() => extractor.close());
    // A 60 KB Word file of 20,000 paragraphs: its parsed XML needs several times the heap.
    const big = await makeDocx(Array.from({ length: 20_000 }, (_, i) => `paragraph ${i}`));
    const failed = await extractor.extract(big, DOCX_TYPE).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(failed instanceof ExtractionError && /more than 32 MiB of memory/.test(failed.message), `out of memory is a failed file: ${String(failed)}`);
    assert.equal((await extractor.extract(Buffer.from('still here'), 'text/plain')).text, 'still here', 'a fresh process for the next file');
  });
});

describe('attachment text in the index', () => {
  test('chunks carry the file name and long lines are split', () => {
    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const chunks = attachmentChunks([{ id: 'a', name: 'report.pdf', text: `short line\n${long}` }], (b) => chunkBlocks(b), 3, 120);
    assert.equal(chunks.length, 3, 'capped');
    assert.ok(chunks[0]!.startsWith('report.pdf\nshort line'), chunks[0]);
    assert.ok(
      chunks.every((c) => c.split(/\s+/).length <= 130),
      'no chunk much over the word budget',
    );
    assert.equal(withAttachmentText('doc text', []), 'doc text');
    assert.equal(withAttachmentText('doc text', [{ id: 'a', name: 'a.pdf', text: 'pdf text' }]), 'doc text\n\na.pdf\npdf text');
  });

  test('Postgres full text indexes the beginning of a text too large for a tsvector', async (t) => {
    const { api, quire } = await startServer(t, { dialect: 'pglite', roles: ['api', 'sync'] });
    const owner = await api.signup();
    const doc = await api.createDocument(owner, 'Checksums');
    const fulltext = new PostgresFullText(quire.store.db);
    // 70,000 distinct words (2.3 MB): their tsvector would be over Postgres' 1 MB limit.
    const distinct = Array.from({ length: 70_000 }, (_, i) => crypto.createHash('md5').update(String(i)).digest('hex')).join(' ');
    const tenantId = owner.user.tenantId;
    await fulltext.upsert({ tenantId, documentId: doc.id, title: 'Checksums', text: `Opening remarks on zanzibar. ${distinct}`, labels: [], readers: [owner.user.id] });
    const hits = await fulltext.search({ tenantId, userId: owner.user.id, tenantAdmin: false, q: 'zanzibar', limit: 5 });
    assert.deepEqual(
      hits.map((h) => h.documentId),
      [doc.id],
      'indexed, from its beginning',
    );
    const stored = await withTenant(quire.store.db, tenantId, (tx) => tx.selectFrom('search_documents').select('body').where('document_id', '=', doc.id).executeTakeFirstOrThrow());
    assert.ok(stored.body.length < distinct.length, `the body was cut (${stored.body.length} of ${distinct.length} characters)`);
  });

  test('the indexer extracts pending attachments (a corrupt one fails, the next extracts) and indexes their text with the document', async (t) => {
    const { api, quire } = await startServer(t, { dialect: 'pglite', roles: ['api', 'sync'] });
    const db = quire.store.db;
    const blobDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-extract-'));
    t.after(() => fs.rm(blobDir, { recursive: true, force: true }));
    const blobs = new FsBlobStore(blobDir);
    const fulltext = new PostgresFullText(db);
    const indexer = new Indexer({ db, store: new DocumentStore(db), fulltext, log: quire.log, blobs });
    t.after(() => indexer.close());

    const owner = await api.signup();
    const outsider = await api.addUser(owner, 'member');
    const doc = await api.createDocument(owner, 'Travel plans');
    const tenantId = owner.user.tenantId;
    const files: [string, string, Uint8Array][] = [
      ['broken.pdf', PDF_TYPE, CORRUPT_PDF],
      ['itinerary.pdf', PDF_TYPE, await makePdf(['Board the funicular to Wuppertal at noon.'])],
      ['notes.docx', DOCX_TYPE, await makeDocx(['Pack the xylophone carefully.'])],
      ['photo.png', 'image/png', Buffer.from('not extracted')],
    ];
    const ids: string[] = [];
    for (const [name, type, bytes] of files) {
      const id = crypto.randomUUID();
      ids.push(id);
      const key = `t/${tenantId}/a/${id}`;
      await blobs.put(key, bytes);
      await withTenant(db, tenantId, (tx) =>
        tx
          .insertInto('attachments')
          .values({
            id,
            tenant_id: tenantId,
            document_id: doc.id,
            name,
            content_type: type,
            kind: 'file',
            size: bytes.byteLength,
            storage_key: key,
            status: 'ready',
            extraction_status: type === 'image/png' ? 'none' : 'pending',
          })
          .execute(),
      );
    }
    const ev = (txid: string) => ({ type: 'document.attachment' as const, tenantId, documentId: doc.id, txid, seq: '1', at: new Date().toISOString(), subjectId: ids[0] });
    assert.equal(await indexer.handle(ev('1')), 'indexed');

    const rows = await withTenant(db, tenantId, (tx) => tx.selectFrom('attachments').select(['name', 'extraction_status', 'extraction_error', 'extracted_text']).orderBy('name').execute());
    const by = new Map(rows.map((r) => [r.name, r]));
    assert.equal(by.get('broken.pdf')!.extraction_status, 'failed');
    assert.match(by.get('broken.pdf')!.extraction_error ?? '', /not a readable PDF/);
    assert.equal(by.get('itinerary.pdf')!.extraction_status, 'done', 'the file after the corrupt one extracted');
    assert.match(by.get('itinerary.pdf')!.extracted_text ?? '', /funicular to Wuppertal/);
    assert.equal(by.get('notes.docx')!.extracted_text, 'Pack the xylophone carefully.');
    assert.equal(by.get('photo.png')!.extraction_status, 'none');

    const search = (userId: string, q: string) => fulltext.search({ tenantId, userId, tenantAdmin: false, q, limit: 10 });
    for (const q of ['funicular Wuppertal', 'xylophone', 'itinerary.pdf']) {
      const hits = await search(owner.user.id, q);
      assert.deepEqual(
        hits.map((h) => h.documentId),
        [doc.id],
        `"${q}" finds the document`,
      );
    }
    assert.match((await search(owner.user.id, 'funicular'))[0]!.snippet, /<mark>funicular<\/mark>/, 'the snippet shows the attachment text');
    assert.deepEqual(await search(outsider.user.id, 'funicular'), [], 'not found by a user who cannot read the document');

    // An event the index covers is skipped; nothing is extracted again.
    assert.equal(await indexer.handle(ev('1')), 'skipped');
    // The attachment row goes: its text leaves the index at the document's next indexing.
    await withTenant(db, tenantId, (tx) => tx.deleteFrom('attachments').where('id', '=', ids[2]!).execute());
    assert.equal(await indexer.handle(ev('18446744073709551615')), 'indexed');
    assert.deepEqual(await search(owner.user.id, 'xylophone'), [], 'the removed attachment is no longer found');
    assert.equal((await search(owner.user.id, 'funicular')).length, 1, 'the other one still is');
  });
});

test('meaning search embeds at most SEMANTIC_ATTACHMENT_MAX_CHUNKS passages of attachments, in batches', async (t) => {
  const { api, quire } = await startServer(t, { dialect: 'pglite', roles: ['api', 'sync'] });
  const db = quire.store.db;
  const blobDir = await fs.mkdtemp(path.join(os.tmpdir(), 'quire-extract-'));
  t.after(() => fs.rm(blobDir, { recursive: true, force: true }));
  const blobs = new FsBlobStore(blobDir);
  const real = await createUseEmbedder();
  t.after(() => real.destroy());
  const requests: number[] = [];
  const counting: Embedder = { model: real.model, dimensions: real.dimensions, embed: async (texts) => (requests.push(texts.length), real.embed(texts)), destroy: async () => undefined };
  const indexer = new Indexer({ db, store: new DocumentStore(db), fulltext: new PostgresFullText(db), log: quire.log, blobs, semantic: { embedder: counting, vectors: new PgVectorIndex(db) } });
  t.after(() => indexer.close());
  const owner = await api.signup();
  const doc = await api.createDocument(owner, 'Archive');
  const tenantId = owner.user.tenantId;
  // 60 paragraphs of 100 words: 60 passages, more than the limit.
  const text = Array.from({ length: 60 }, (_, p) => Array.from({ length: 100 }, (_, w) => `word${(p * 100 + w) % 997}`).join(' ')).join('\n');
  const id = crypto.randomUUID();
  await blobs.put(`t/${tenantId}/a/${id}`, Buffer.from(text));
  await withTenant(db, tenantId, (tx) =>
    tx
      .insertInto('attachments')
      .values({
        id,
        tenant_id: tenantId,
        document_id: doc.id,
        name: 'archive.txt',
        content_type: 'text/plain',
        kind: 'file',
        size: text.length,
        storage_key: `t/${tenantId}/a/${id}`,
        status: 'ready',
        extraction_status: 'pending',
      })
      .execute(),
  );
  assert.equal(await indexer.handle({ type: 'document.attachment', tenantId, documentId: doc.id, txid: '1', seq: '1', at: new Date().toISOString(), subjectId: id }), 'indexed');
  const stored = await new PgVectorIndex(db).existing(tenantId, doc.id);
  assert.equal(requests[0], 1, "the document's own passage (its title) first");
  assert.deepEqual(requests.slice(1), [16, 16], `attachment passages in batches of 16: ${requests.join(', ')}`);
  assert.equal(stored.size, 1 + SEMANTIC_ATTACHMENT_MAX_CHUNKS, 'the document passage and the first 32 of the file');
});

const PROFILES: Record<string, (t: TestContext) => StartServerOptions> = {
  'embedded (Postgres full text + pgvector, files on disk)': () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
  'scaled (Meilisearch + Qdrant + NATS, files on S3)': (t) => {
    const collection = uniqueName('qa');
    t.after(() => fetch(`${TEST_QDRANT_URL}/collections/${collection}`, { method: 'DELETE' }).then(() => undefined));
    return {
      nats: true,
      meili: true,
      env: {
        SEMANTIC_SEARCH: 'true',
        QDRANT_URL: TEST_QDRANT_URL,
        QDRANT_COLLECTION: collection,
        S3_BUCKET: TEST_S3.bucket,
        S3_ENDPOINT: TEST_S3.endpoint,
        S3_REGION: TEST_S3.region,
        S3_ACCESS_KEY_ID: TEST_S3.accessKeyId,
        S3_SECRET_ACCESS_KEY: TEST_S3.secretAccessKey,
        S3_PREFIX: `test-${uniqueName('as')}`,
      },
    };
  },
};

/** A passage of the uploaded PDF, and a question about it in other words. */
const PDF_PASSAGE = 'The lighthouse keeper logged every passing ship and the height of the waves during the winter storms.';
const PDF_PHRASE = 'quillfeather lanterns';
const MEANING = 'a lighthouse keeper recording ships and waves in winter storms';

for (const [name, profile] of Object.entries(PROFILES)) {
  describe(`searchable attachments: ${name}`, () => {
    test("a PDF's phrase is found by search within seconds of upload, pointing to the document, for its readers only", async (t) => {
      const { api } = await startServer(t, profile(t));
      const owner = await api.signup('Harbour');
      const reader = await api.addUser(owner, 'member');
      const outsider = await api.addUser(owner, 'member');
      const doc = await api.createDocument(owner, 'Coast notes');
      await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Our notes on the coast trip.', mode: 'replace' }, owner.accessToken);
      assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken)).status, 200);

      const upload = async (fileName: string, type: string, bytes: Uint8Array) => {
        const r = await api.request('POST', `/api/v1/documents/${doc.id}/attachments?name=${encodeURIComponent(fileName)}`, {
          token: owner.accessToken,
          body: bytes,
          headers: { 'content-type': type },
        });
        assert.equal(r.status, 201, r.text);
        return r.body as { id: string; extraction: string };
      };
      // A corrupt PDF first: it must not hold up the files after it.
      const broken = await upload('broken.pdf', PDF_TYPE, CORRUPT_PDF);
      const started = Date.now();
      const pdf = await upload('logbook.pdf', PDF_TYPE, await makePdf([`${PDF_PASSAGE} The ${PDF_PHRASE} were lit at dusk.`]));
      const word = await upload('supplies.docx', DOCX_TYPE, await makeDocx(['Order more barnacle scrapers before spring.']));
      assert.equal(pdf.extraction, 'pending', 'a PDF waits for extraction');

      const find = (token: string, q: string, mode = 'fulltext') => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=10`, token);
      const ids = (r: { body: { hits: { documentId: string }[] } }) => r.body.hits.map((h) => h.documentId);
      const hit = await eventually(
        async () => {
          const r = await find(reader.accessToken, PDF_PHRASE);
          assert.equal(r.status, 200, r.text);
          assert.deepEqual(ids(r), [doc.id], 'the PDF phrase finds the document');
          return r.body.hits[0] as { title: string; snippet: string };
        },
        { timeoutMs: 60_000, intervalMs: 100, message: 'the PDF phrase was not found' },
      );
      const tookMs = Date.now() - started;
      t.diagnostic(`PDF phrase found ${tookMs} ms after upload`);
      assert.ok(tookMs < 30_000, `found within seconds of upload (${tookMs} ms)`);
      assert.equal(hit.title, 'Coast notes');
      assert.match(hit.snippet, /<mark>quillfeather<\/mark>/i, `the snippet shows the PDF's words: ${hit.snippet}`);
      await eventually(async () => assert.deepEqual(ids(await find(reader.accessToken, 'barnacle scrapers')), [doc.id], 'the Word file too'), { timeoutMs: 30_000, intervalMs: 100 });

      for (const mode of ['semantic', 'hybrid']) {
        const r = await find(reader.accessToken, MEANING, mode);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(ids(r), [doc.id], `${mode} search finds the document by the PDF's meaning`);
        if (mode === 'semantic') assert.match(r.body.hits[0].snippet, /lighthouse/i, `the best passage is the PDF's: ${r.body.hits[0].snippet}`);
      }
      for (const mode of ['fulltext', 'semantic', 'hybrid']) {
        const r = await find(outsider.accessToken, mode === 'fulltext' ? PDF_PHRASE : MEANING, mode);
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(ids(r), [], `${mode}: not found by a member who cannot read the document`);
      }

      const states = async () => {
        const r = await api.get(`/api/v1/documents/${doc.id}/attachments`, owner.accessToken);
        assert.equal(r.status, 200, r.text);
        return new Map((r.body.attachments as { id: string; extraction: string }[]).map((a) => [a.id, a.extraction]));
      };
      const now = await states();
      assert.deepEqual([now.get(broken.id), now.get(pdf.id), now.get(word.id)], ['failed', 'done', 'done'], 'the corrupt PDF failed, the files after it were extracted');
    });
  });
}
