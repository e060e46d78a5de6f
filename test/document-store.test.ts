/** The document store's conformance suite on Postgres and PGlite: log, load, compaction. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import * as Y from 'yjs';
import { DocumentStore } from '../core/document-store.js';
import { GroupCommitter } from '../sync/group-commit.js';
import { extractText } from '../core/content.js';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

function edits(n: number): Uint8Array[] {
  const doc = new Y.Doc();
  const out: Uint8Array[] = [];
  doc.on('update', (u: Uint8Array) => out.push(u));
  const p = new Y.XmlElement('paragraph');
  doc.getXmlFragment('default').insert(0, [p]);
  const text = new Y.XmlText();
  p.insert(0, [text]);
  for (let i = 0; i < n; i++) text.insert(text.length, `${i},`);
  return out;
}

for (const dialect of DIALECTS) {
  describe(`document store on ${dialect}`, () => {
    test('append (group commit), load, compact, load again; later appends survive compaction', async (t) => {
      const { api, quire } = await startServer(t, { dialect });
      const s = await api.signup();
      const doc = await api.createDocument(s, 'store');
      const store = new DocumentStore(quire.store.db);
      const batches: number[] = [];
      const committer = new GroupCommitter(store, (size) => batches.push(size));
      const updates = edits(50);
      await Promise.all(updates.map((data) => committer.append({ tenantId: s.user.tenantId, documentId: doc.id, data, userId: s.user.id })));
      assert.ok(batches.length < updates.length, `group commit batched ${updates.length} appends into ${batches.length} commits`);
      const expected = Array.from({ length: 50 }, (_, i) => `${i},`).join('');
      const loaded = await store.loadInto(s.user.tenantId, doc.id);
      assert.equal(extractText(loaded.doc), expected);

      const res = await store.compact(s.user.tenantId, doc.id);
      assert.ok(res && res.folded === updates.length, 'res && res.folded === updates.length');
      const rows = await sql<{ n: string }>`select count(*) as n from document_updates where document_id = ${doc.id}`.execute(quire.store.owner);
      assert.equal(Number(rows.rows[0]!.n), 0);
      assert.equal(extractText((await store.loadInto(s.user.tenantId, doc.id)).doc), expected);

      // An update appended after compaction is loaded from the log tail.
      const more = new Y.Doc();
      Y.applyUpdate(more, Y.encodeStateAsUpdate(loaded.doc));
      let tail: Uint8Array | null = null;
      more.on('update', (u: Uint8Array) => (tail = u));
      ((more.getXmlFragment('default').get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'head:');
      await store.appendBatch([{ tenantId: s.user.tenantId, documentId: doc.id, data: tail!, userId: null }]);
      assert.equal(extractText((await store.loadInto(s.user.tenantId, doc.id)).doc), `head:${expected}`);
    });

    test('a group commit stores every byte as sent, for several tenants at once, all or nothing, small or large', async (t) => {
      const { api, quire } = await startServer(t, { dialect });
      const a = await api.signup('A');
      const b = await api.signup('B');
      const da = await api.createDocument(a, 'a');
      const db = await api.createDocument(b, 'b');
      const store = new DocumentStore(quire.store.db);
      const stored = async (docId: string) =>
        (await sql<{ data: Uint8Array }>`select data from document_updates where document_id = ${docId} order by seq`.execute(quire.store.owner)).rows.map((r) => Buffer.from(r.data).toString('hex'));
      const before = { a: await stored(da.id), b: await stored(db.id) };
      // Bytes that mean something in SQL text: quote, backslash, NUL, high bytes.
      const tricky = [Uint8Array.from([0, 39, 92, 255, 39, 39]), Uint8Array.from([92, 120, 48, 48]), Uint8Array.from(Buffer.from("'); drop table document_updates; --"))];
      await store.appendBatch([
        { tenantId: a.user.tenantId, documentId: da.id, data: tricky[0]!, userId: a.user.id },
        { tenantId: b.user.tenantId, documentId: db.id, data: tricky[1]!, userId: null },
        { tenantId: a.user.tenantId, documentId: da.id, data: tricky[2]!, userId: a.user.id },
      ]);
      const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
      assert.deepEqual(await stored(da.id), [...before.a, hex(tricky[0]!), hex(tricky[2]!)]);
      assert.deepEqual(await stored(db.id), [...before.b, hex(tricky[1]!)]);
      // A row the database refuses (no such document) fails the whole commit, the valid
      // rows of both tenants included.
      await assert.rejects(
        store.appendBatch([
          { tenantId: a.user.tenantId, documentId: da.id, data: Uint8Array.from([1]), userId: null },
          { tenantId: b.user.tenantId, documentId: db.id, data: Uint8Array.from([2]), userId: null },
          { tenantId: b.user.tenantId, documentId: crypto.randomUUID(), data: Uint8Array.from([3]), userId: null },
        ]),
        /foreign key/,
      );
      assert.equal((await stored(da.id)).length, before.a.length + 2, 'nothing of the failed commit is stored');
      assert.equal((await stored(db.id)).length, before.b.length + 1, 'nothing of the failed commit is stored');
      // Above the one-round-trip size the commit takes the parameter path, with the same result.
      const big = Uint8Array.from({ length: 300 * 1024 }, (_, i) => (i * 7) % 256);
      await store.appendBatch([
        { tenantId: a.user.tenantId, documentId: da.id, data: big, userId: null },
        { tenantId: b.user.tenantId, documentId: db.id, data: tricky[0]!, userId: null },
      ]);
      assert.equal((await stored(da.id)).at(-1), hex(big));
      assert.equal((await stored(db.id)).at(-1), hex(tricky[0]!));
    });

    test('a load racing a compaction sees the whole document, never the old snapshot with the emptied log', async (t) => {
      const { api, quire } = await startServer(t, { dialect });
      const s = await api.signup();
      const store = new DocumentStore(quire.store.db);
      const expected = Array.from({ length: 20 }, (_, i) => `${i},`).join('');
      for (let round = 0; round < 15; round++) {
        const doc = await api.createDocument(s, `race ${round}`);
        await store.appendBatch(edits(20).map((data) => ({ tenantId: s.user.tenantId, documentId: doc.id, data, userId: null })));
        // Keep loading, two at a time, for as long as the compaction runs.
        let done = false;
        const compaction = store.compact(s.user.tenantId, doc.id).finally(() => (done = true));
        const texts: string[] = [];
        const loader = async () => {
          do texts.push(extractText((await store.loadInto(s.user.tenantId, doc.id)).doc));
          while (!done);
        };
        await Promise.all([compaction, loader(), loader()]);
        for (const text of texts) assert.equal(text, expected, `round ${round}: ${texts.length} loads`);
      }
    });

    test('a corrupt log row is skipped and kept aside; a corrupt snapshot refuses the load instead of serving an empty document', async (t) => {
      const { api, quire, url } = await startServer(t, { dialect });
      const s = await api.signup();
      const doc = await api.post('/api/v1/documents', { title: 'c', text: 'precious' }, s.accessToken);
      const corrupt = new Uint8Array([1, 200, 7]);
      const stored = async () =>
        Number(
          (
            await sql<{
              n: string;
            }>`select (select count(*) from document_updates where document_id = ${doc.body.id} and data = ${corrupt}) + (select count(*) from document_quarantine where document_id = ${doc.body.id} and data = ${corrupt}) as n`.execute(
              quire.store.owner,
            )
          ).rows[0]!.n,
        );
      await sql`insert into document_updates (tenant_id, document_id, data) values (${s.user.tenantId}, ${doc.body.id}, ${corrupt})`.execute(quire.store.owner);
      // The rest of the document is served, and the row that cannot be applied is reported.
      const store = new DocumentStore(quire.store.db);
      const loaded = await store.loadInto(s.user.tenantId, doc.body.id);
      assert.equal(extractText(loaded.doc), 'precious');
      assert.equal(loaded.skipped.length, 1);
      const r = await api.get(`/api/v1/documents/${doc.body.id}/content`, s.accessToken);
      assert.equal(r.status, 200);
      assert.equal(r.text, 'precious');
      const c = connect(t, url, doc.body.id, s.accessToken, { reconnect: false });
      await synced(c);
      assert.equal(extractText(c.doc), 'precious');
      c.destroy();
      // Nothing is lost: the load's compaction moves the bytes to quarantine.
      await eventually(async () => assert.equal((await store.quarantined(s.user.tenantId, doc.body.id)).length, 1));
      assert.equal(await stored(), 1);

      // A snapshot that cannot be applied has nothing to fold onto: the load is refused.
      await sql`insert into document_snapshots (tenant_id, document_id, state, last_seq) values (${s.user.tenantId}, ${doc.body.id}, ${new Uint8Array([1, 200, 7])}, 0)
        on conflict (document_id) do update set state = excluded.state`.execute(quire.store.owner);
      await eventually(() => assert.equal(quire.sync?.documentsInMemory, 0));
      const refused = await api.get(`/api/v1/documents/${doc.body.id}/content`, s.accessToken);
      assert.equal(refused.status, 500);
      await assert.rejects(store.loadInto(s.user.tenantId, doc.body.id), /could not be loaded/);
      // A live client is refused with a reason, not handed an empty document.
      const d = connect(t, url, doc.body.id, s.accessToken, { reconnect: false });
      await eventually(() => assert.deepEqual(d.authFailures, ['load_failed']));
      assert.equal(d.doc.getXmlFragment('default').length, 0);
      assert.equal(await stored(), 1);
    });
  });
}

test('live documents compact in the background and reload intact', async (t) => {
  const env = { SYNC_COMPACT_AFTER_UPDATES: '20', SYNC_COMPACT_DEBOUNCE_MS: '0' };
  const first = await startServer(t, { env });
  const s = await first.api.signup();
  const doc = await first.api.createDocument(s, 'compact me');
  const c = connect(t, first.url, doc.id, s.accessToken);
  await synced(c);
  const text = paragraphText(c.doc);
  for (let i = 0; i < 100; i++) {
    text.insert(text.length, `${i};`);
    await acked(c);
  }
  const count = async (table: string) => Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)} where document_id = ${doc.id}`.execute(first.quire.store.owner)).rows[0]!.n);
  await eventually(async () => {
    assert.equal(await count('document_snapshots'), 1);
    assert.ok((await count('document_updates')) < 100, "(await count('document_updates')) < 100");
  });
  const expected = Array.from({ length: 100 }, (_, i) => `${i};`).join('');
  c.destroy();
  await first.quire.close();
  const second = await startServer(t, { env, schema: first.schema });
  assert.equal((await second.api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, expected);
  const m = await second.api.get('/metrics');
  assert.match(m.text, /quire_sync_sockets 0/);
});

test('a reconnecting offline client sends its edits and they are stored', async (t) => {
  const { api, url } = await startServer(t);
  const s = await api.signup();
  const doc = await api.createDocument(s, 'offline');
  const ydoc = new Y.Doc();
  const first = connect(null, url, doc.id, s.accessToken, { doc: ydoc });
  await synced(first);
  paragraphText(ydoc).insert(0, 'online;');
  await acked(first);
  first.destroy();
  // Edits made while disconnected...
  paragraphText(ydoc).insert(paragraphText(ydoc).length, 'offline;');
  // ...reach the server on reconnect and are acknowledged only once stored.
  const again = connect(t, url, doc.id, s.accessToken, { doc: ydoc });
  await synced(again);
  await acked(again);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, 'online;offline;');
  const m = await api.get('/metrics');
  assert.match(m.text, /quire_sync_updates_total [1-9]/);
  assert.match(m.text, /quire_sync_commit_seconds_count [1-9]/);
});
