/**
 * Compaction in bounded chunks: each chunk of at most `maxRows` log rows folds and commits
 * in its own transaction, so a process killed every few seconds still advances through a
 * huge log instead of starting over (a 44k-row log never finished in one transaction).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import { extractText } from '../core/content.js';
import { COMPACT_CHUNK_ROWS, DocumentStore } from '../core/document-store.js';
import { DIALECTS, startServer } from './helpers/server.js';

/** `n` single-character edits, one log row each, and the text they make. */
function typing(n: number): { rows: Uint8Array[]; text: string } {
  const doc = new Y.Doc();
  const rows: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => rows.push(u));
  const p = new Y.XmlElement('paragraph');
  doc.getXmlFragment('default').insert(0, [p]);
  const t = new Y.XmlText();
  p.insert(0, [t]);
  for (let i = 0; i < n; i++) t.insert(t.length, String.fromCharCode(97 + (i % 26)));
  return { rows, text: t.toString() };
}

async function logRows(owner: Kysely<unknown>, id: string): Promise<number> {
  const r = await sql<{ n: string }>`select count(*) as n from document_updates where document_id = ${id}`.execute(owner);
  return Number(r.rows[0]!.n);
}

for (const dialect of DIALECTS) {
  describe(`chunked compaction on ${dialect}`, () => {
    test('each chunk folds at most maxRows and commits on its own; the loop finishes the log', async (t) => {
      const { api, quire } = await startServer(t, { dialect });
      const s = await api.signup();
      const doc = await api.createDocument(s, 'long log');
      const tenantId = s.user.tenantId;
      const { rows, text } = typing(5_000);
      await new DocumentStore(quire.store.db).appendBatch(rows.map((data) => ({ tenantId, documentId: doc.id, data, userId: null })));
      const total = rows.length;

      // One bounded chunk: progress is committed, the rest waits, and the document loads whole.
      const first = await new DocumentStore(quire.store.db).compact(tenantId, doc.id, { maxRows: 1_000 });
      assert.equal(first?.folded, 1_000);
      assert.equal(first?.remaining, total - 1_000);
      // A fresh store object (as after a restart) sees the chunk's result.
      const store = new DocumentStore(quire.store.db);
      assert.equal(await logRows(quire.store.owner, doc.id), total - 1_000);
      assert.equal(extractText((await store.loadInto(tenantId, doc.id)).doc), text);

      // The loop resumes from there in chunks and empties the log.
      const rest = await store.compactAll(tenantId, doc.id, { maxRows: 1_000 });
      assert.equal(rest?.chunks, Math.ceil((total - 1_000) / 1_000));
      assert.equal(rest?.folded, total - 1_000);
      assert.equal(rest?.remaining, 0);
      assert.equal(await logRows(quire.store.owner, doc.id), 0);
      assert.equal(extractText((await store.loadInto(tenantId, doc.id)).doc), text);
    });
  });
}

test('the sync tier compacts a long log in chunks of COMPACT_CHUNK_ROWS', async (t) => {
  const { api, quire } = await startServer(t);
  const s = await api.signup();
  const doc = await api.createDocument(s, 'server log');
  const { rows, text } = typing(COMPACT_CHUNK_ROWS * 2 + 10);
  const store = new DocumentStore(quire.store.db);
  await store.appendBatch(rows.map((data) => ({ tenantId: s.user.tenantId, documentId: doc.id, data, userId: null })));
  const res = (await quire.sync!.persistence.compact(doc.id, s.user.tenantId)) as { chunks: number; folded: number; remaining: number };
  assert.equal(res.chunks, 3);
  assert.equal(res.folded, rows.length);
  assert.equal(res.remaining, 0);
  assert.equal(await logRows(quire.store.owner, doc.id), 0);
  assert.equal(extractText((await store.loadInto(s.user.tenantId, doc.id)).doc), text);
});
