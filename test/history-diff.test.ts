/**
 * Comparing versions: the diff's runs rebuild both sides of every pair of versions of a
 * replayed trace; added and removed text names who added or removed it — through sockets,
 * through REST (where every writer shares the server's Yjs client id) and after the log was
 * folded; "what changed since you were here" shows a colleague's edits once and then
 * nothing; every path answers 404 to a user who cannot read the document, 400 to a bad
 * `against`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DocumentMeta, SinceSeen, Version, VersionDiff } from '../contract/api.js';
import * as Y from 'yjs';
import { Authorship, decodeRanges } from '../core/authorship.js';
import { DocumentStore } from '../core/document-store.js';
import { foldRows } from '../core/fold.js';
import type { ApiClient, Session } from './helpers/api.js';
import { acked, connect, paragraphText, readParagraph, synced } from './helpers/provider.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { applyPatches, loadTrace, type SequentialTrace } from './helpers/traces.js';
import { eventually } from './helpers/wait.js';

async function newDocument(api: ApiClient, s: Session, title: string, text?: string): Promise<DocumentMeta> {
  const r = await api.post('/api/v1/documents', { title, ...(text === undefined ? {} : { text }) }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as DocumentMeta;
}

async function named(api: ApiClient, s: Session, id: string, name: string): Promise<Version> {
  const r = await api.post(`/api/v1/documents/${id}/versions`, { name }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Version;
}

async function diff(api: ApiClient, s: Session, id: string, versionId: string, against = 'current'): Promise<VersionDiff> {
  const r = await api.get(`/api/v1/documents/${id}/versions/${versionId}/diff?against=${against}`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body as VersionDiff;
}

/** The text of one side of a diff: the newer (`same` + `added`) or the older (`same` + `removed`), blocks joined by "\n". */
function side(d: VersionDiff, which: 'older' | 'newer'): string {
  const skip = which === 'older' ? 'added' : 'removed';
  return d.blocks
    .filter((b) => b.change !== skip)
    .map((b) =>
      b.runs
        .filter((r) => r.change !== skip)
        .map((r) => r.text)
        .join(''),
    )
    .join('\n');
}

/** The runs of one kind, as `[text, by]`, in order. */
const runs = (d: VersionDiff, change: 'added' | 'removed') => d.blocks.flatMap((b) => b.runs.filter((r) => r.change === change).map((r) => [r.text, r.by]));

test('authorship is what each row changed: a reconnecting client’s sync step, which names everyone’s deletions, credits it with none of them', () => {
  const alice = new Y.Doc();
  const bob = new Y.Doc();
  const rows: { seq: string; data: Uint8Array; userId: string | null }[] = [];
  const row = (userId: string, data: Uint8Array) => rows.push({ seq: String(rows.length + 1), data, userId });
  alice.on('update', (u: Uint8Array) => row('alice', u));
  alice.getText('t').insert(0, 'Hello world');
  Y.applyUpdate(bob, Y.encodeStateAsUpdate(alice));
  bob.on('update', (u: Uint8Array) => row('bob', u));
  bob.getText('t').delete(5, 6);
  // Alice receives Bob's deletion, then reconnects: her sync step carries her whole delete set.
  Y.applyUpdate(alice, Y.encodeStateAsUpdate(bob), 'remote');
  rows.length = 2;
  row('alice', Y.encodeStateAsUpdate(alice, Y.encodeStateVector(bob)));
  assert.ok(Y.decodeUpdate(rows[2]!.data).ds.clients.size > 0, 'the sync step names the deletion');
  const { authorship } = foldRows(null, rows, { authorship: true });
  const who = new Authorship((authorship ?? []).map((u) => ({ userId: u.userId, inserted: decodeRanges(u.inserted), deleted: decodeRanges(u.deleted) })));
  assert.equal(who.writer(alice.clientID, 0).userId, 'alice');
  assert.equal(who.deleter(alice.clientID, 6).userId, 'bob', '"world" was deleted by Bob');
  assert.equal(who.deleter(alice.clientID, 0).userId, null, '"Hello" was deleted by no one');
});

test('a replayed trace: for every pair of versions the diff rebuilds the older and the newer text, in either order', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const doc = await newDocument(api, s, 'svelte');
  const trace = loadTrace<SequentialTrace>('sveltecomponent');
  const c = connect(t, api.base, doc.id, s.accessToken);
  await synced(c);
  const text = paragraphText(c.doc);
  const EVERY = 2_500;
  const taken: { version: Version; text: string }[] = [];
  for (let i = 0; i < trace.txns.length; i++) {
    c.doc.transact(() => applyPatches(text, trace.txns[i]!.patches));
    if ((i + 1) % EVERY === 0 || i === trace.txns.length - 1) {
      await acked(c, 120_000);
      taken.push({ version: await named(api, s, doc.id, `after ${i + 1}`), text: readParagraph(c.doc) });
    }
  }
  assert.ok(taken.length >= 3, 'taken.length >= 3');
  for (let i = 0; i < taken.length; i++) {
    for (let j = i + 1; j < taken.length; j++) {
      const [older, newer] = [taken[i]!, taken[j]!];
      for (const d of [await diff(api, s, doc.id, older.version.id, newer.version.id), await diff(api, s, doc.id, newer.version.id, older.version.id)]) {
        assert.equal(d.from.versionId, older.version.id, 'from the older, whichever is named first');
        assert.equal(d.to.versionId, newer.version.id);
        assert.equal(side(d, 'older'), older.text, `${older.version.name} → ${newer.version.name}: the older side`);
        assert.equal(side(d, 'newer'), newer.text, `${older.version.name} → ${newer.version.name}: the newer side`);
        for (const a of d.authors)
          assert.equal(
            a.userId,
            s.user.id,
            `every change is the one editor’s: ${JSON.stringify(d.blocks.flatMap((bl) => bl.runs.filter((r) => r.by !== s.user.id && r.change !== 'same')).slice(0, 5))} ${JSON.stringify(d.authors)}`,
          );
      }
    }
  }
  const toCurrent = await diff(api, s, doc.id, taken[0]!.version.id);
  assert.equal(toCurrent.to.versionId, null);
  assert.equal(side(toCurrent, 'newer'), trace.endContent);
  const same = await diff(api, s, doc.id, taken.at(-1)!.version.id);
  assert.deepEqual(same.authors, [], 'the last version is the current state: nothing changed');
  assert.equal(side(same, 'newer'), trace.endContent);
});

for (const dialect of DIALECTS) {
  test(`compare (${dialect}): who added and who removed what, over sockets and REST, before and after the log is folded; 404s and 400s`, async (t) => {
    const { api, quire } = await startServer(t, { dialect });
    const alice = await api.signup();
    const bob = await api.addUser(alice, 'member');
    const carol = await api.addUser(alice, 'member');
    const outsider = await api.signup('Elsewhere');
    const doc = await newDocument(api, alice, 'Minutes');
    for (const u of [bob, carol]) assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: u.user.id, level: 'write' }, alice.accessToken)).status, 200);

    const a = connect(t, api.base, doc.id, alice.accessToken);
    const b = connect(t, api.base, doc.id, bob.accessToken);
    await Promise.all([synced(a), synced(b)]);
    paragraphText(a.doc).insert(0, 'The budget is approved.');
    await acked(a);
    const v1 = await named(api, alice, doc.id, 'Draft');
    await eventually(() => assert.equal(readParagraph(b.doc), 'The budget is approved.'));
    // Bob replaces "approved" with "rejected"; then two REST writers append a paragraph each.
    const bt = paragraphText(b.doc);
    const at = 'The budget is '.length;
    b.doc.transact(() => {
      bt.delete(at, 'approved'.length);
      bt.insert(at, 'rejected');
    });
    await acked(b);
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Carol notes.', mode: 'append' }, carol.accessToken)).status, 204);
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/content`, { text: 'Alice agrees.', mode: 'append' }, alice.accessToken)).status, 204);

    const check = (d: VersionDiff, label: string) => {
      assert.deepEqual(runs(d, 'removed'), [['approved', bob.user.id]], `${label}: bob removed "approved"`);
      assert.deepEqual(
        runs(d, 'added'),
        [
          ['rejected', bob.user.id],
          ['Carol notes.', carol.user.id],
          ['Alice agrees.', alice.user.id],
        ],
        `${label}: each addition by its writer, REST writers told apart`,
      );
      assert.deepEqual(
        d.blocks.map((bl) => [bl.type, bl.change]),
        [
          ['paragraph', 'same'],
          ['paragraph', 'added'],
          ['paragraph', 'added'],
        ],
      );
      const by = Object.fromEntries(d.authors.map((x) => [x.userId, [x.added, x.removed]]));
      assert.deepEqual(by, { [bob.user.id]: [8, 8], [carol.user.id]: [12, 0], [alice.user.id]: [13, 0] }, label);
    };
    check(await diff(api, carol, doc.id, v1.id), 'from the log');
    // Folded into the snapshot, the rows' authorship stays.
    await new DocumentStore(quire.store.db).compactAll(alice.user.tenantId, doc.id);
    check(await diff(api, carol, doc.id, v1.id), 'after compaction');
    const v2 = await named(api, alice, doc.id, 'Final');
    check(await diff(api, carol, doc.id, v1.id, v2.id), 'between two versions');

    // Errors: no access is a 404 everywhere; a bad `against` is a 400; an unknown version a 404.
    const bad = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];
    assert.equal((await api.get(`/api/v1/documents/${doc.id}/versions/${v1.id}/diff`, outsider.accessToken)).status, 404);
    assert.equal((await api.get(`/api/v1/documents/${doc.id}/since-seen`, outsider.accessToken)).status, 404);
    assert.deepEqual(bad(await api.get(`/api/v1/documents/${doc.id}/versions/${v1.id}/diff?against=yesterday`, alice.accessToken)), [400, 'invalid_query']);
    assert.deepEqual(bad(await api.get(`/api/v1/documents/${doc.id}/versions/${v1.id}/diff?against=current&x=1`, alice.accessToken)), [400, 'invalid_query']);
    assert.equal((await api.get(`/api/v1/documents/${doc.id}/versions/${crypto.randomUUID()}/diff`, alice.accessToken)).status, 404);
    assert.equal((await api.get(`/api/v1/documents/${doc.id}/versions/${v1.id}/diff?against=${crypto.randomUUID()}`, alice.accessToken)).status, 404);
    a.destroy();
    b.destroy();
  });
}

test('while you were away: a colleague’s edits since you left, once; nothing for someone who never opened it', async (t) => {
  const { api } = await startServer(t);
  const alice = await api.signup();
  const bob = await api.addUser(alice, 'member');
  const doc = await newDocument(api, alice, 'Plan', 'Ship on Friday.');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: bob.user.id, level: 'write' }, alice.accessToken)).status, 200);
  const since = async (s: Session) => {
    const r = await api.get(`/api/v1/documents/${doc.id}/since-seen`, s.accessToken);
    assert.equal(r.status, 200, r.text);
    return r.body as SinceSeen;
  };
  assert.deepEqual(await since(bob), { seenAt: null, diff: null }, 'never opened');

  // Alice keeps the document open; Bob looks at it and leaves.
  const a = connect(t, api.base, doc.id, alice.accessToken);
  await synced(a);
  const b1 = connect(t, api.base, doc.id, bob.accessToken);
  await synced(b1);
  b1.destroy();
  await eventually(async () => assert.notEqual((await since(bob)).seenAt, null, 'leaving records what Bob saw'));
  assert.equal((await since(bob)).diff, null, 'nothing changed since');

  // While Bob is away, Alice edits.
  const text = paragraphText(a.doc);
  text.insert(text.length, ' Tell the customer.');
  await acked(a);
  const away = await since(bob);
  assert.ok(away.diff, 'changes since Bob left');
  assert.deepEqual(runs(away.diff, 'added'), [[' Tell the customer.', alice.user.id]]);
  assert.deepEqual(runs(away.diff, 'removed'), []);

  // Bob comes back and leaves again: he has seen it.
  const seenBefore = away.seenAt;
  const b2 = connect(t, api.base, doc.id, bob.accessToken);
  await synced(b2);
  b2.destroy();
  await eventually(async () => assert.notEqual((await since(bob)).seenAt, seenBefore));
  assert.equal((await since(bob)).diff, null);
  a.destroy();
});
