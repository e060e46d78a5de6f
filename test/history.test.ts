/**
 * Version history: named versions taken while an editing trace replays read back as the
 * trace's text at that point; restoring while two editors type converges everywhere and can
 * be undone; automatic versions after the interval and when the last editor leaves, naming
 * the author, and none without edits; 404/403/400 on every history path; the trash and
 * undelete (and the old restore without a body). The REST core and the SDK run on both
 * dialects.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { memoryTokenStorage, QuireClient, unwrap } from '../clients/sdk/node.js';
import type { DocumentMeta, TrashItem, Version } from '../contract/api.js';
import { VersionStore } from '../core/history.js';
import { DocumentStore } from '../core/document-store.js';
import type { ApiClient, Session } from './helpers/api.js';
import { acked, connect, paragraphText, readParagraph, synced, type Client } from './helpers/provider.js';
import { DIALECTS, startServer } from './helpers/server.js';
import { applyPatches, loadTrace, type SequentialTrace } from './helpers/traces.js';
import { eventually, quietFor } from './helpers/wait.js';

const errorOf = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];

async function newDocument(api: ApiClient, s: Session, title: string, text?: string): Promise<DocumentMeta> {
  const r = await api.post('/api/v1/documents', { title, ...(text === undefined ? {} : { text }) }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as DocumentMeta;
}

async function versions(api: ApiClient, s: Session, id: string): Promise<Version[]> {
  const out: Version[] = [];
  let cursor: string | null = null;
  do {
    const r: { status: number; text: string; body: any } = await api.get(`/api/v1/documents/${id}/versions?limit=100${cursor ? `&cursor=${cursor}` : ''}`, s.accessToken);
    assert.equal(r.status, 200, r.text);
    out.push(...(r.body.versions as Version[]));
    cursor = r.body.nextCursor;
  } while (cursor);
  return out;
}

async function named(api: ApiClient, s: Session, id: string, name: string): Promise<Version> {
  const r = await api.post(`/api/v1/documents/${id}/versions`, { name }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as Version;
}

async function versionText(api: ApiClient, s: Session, id: string, versionId: string): Promise<string> {
  const r = await api.get(`/api/v1/documents/${id}/versions/${versionId}/content?format=text`, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.text;
}

async function restore(api: ApiClient, s: Session, id: string, versionId: string): Promise<Version> {
  const r = await api.post(`/api/v1/documents/${id}/restore`, { versionId }, s.accessToken);
  assert.equal(r.status, 200, r.text);
  return r.body.version as Version;
}

test('a trace replayed with a named version every 700 transactions: every version reads back as the trace at that point', async (t) => {
  const { api, quire } = await startServer(t);
  const s = await api.signup();
  const doc = await newDocument(api, s, 'svelte');
  const trace = loadTrace<SequentialTrace>('sveltecomponent');
  const c = connect(t, api.base, doc.id, s.accessToken);
  await synced(c);
  const text = paragraphText(c.doc);
  const EVERY = 700;
  const expected: { version: Version; text: string }[] = [];
  for (let i = 0; i < trace.txns.length; i++) {
    c.doc.transact(() => applyPatches(text, trace.txns[i]!.patches));
    if ((i + 1) % EVERY === 0 || i === trace.txns.length - 1) {
      await acked(c, 120_000);
      expected.push({ version: await named(api, s, doc.id, `after ${i + 1}`), text: readParagraph(c.doc) });
    }
  }
  assert.equal(expected.at(-1)!.text, trace.endContent);
  const listed = await versions(api, s, doc.id);
  assert.deepEqual(
    listed.map((v) => v.id),
    expected.map((e) => e.version.id).reverse(),
    'newest first, every version once',
  );
  for (const v of listed) {
    assert.equal(v.kind, 'named');
    assert.deepEqual(v.authors, [s.user.id]);
  }
  // Read while the document is still open: the answer comes from storage either way.
  const reads: number[] = [];
  for (const e of expected) {
    const t0 = performance.now();
    assert.equal(await versionText(api, s, doc.id, e.version.id), e.text, e.version.name ?? '');
    reads.push(performance.now() - t0);
  }
  // The current state as the live document encodes it.
  const res = await fetch(`${api.base}/api/v1/documents/${doc.id}/content?format=yjs`, { headers: { authorization: `Bearer ${s.accessToken}` } });
  const stateBytes = (await res.arrayBuffer()).byteLength;
  c.destroy();
  const store = new VersionStore(quire.store.db, new DocumentStore(quire.store.db));
  const size = await store.size(s.user.tenantId, doc.id);
  const fulls = (await store.list(s.user.tenantId, doc.id, { limit: 100 })).filter((v) => v.full).length;
  reads.sort((a, b) => a - b);
  t.diagnostic(
    `${expected.length} versions (${fulls} full states): ${size.bytes} bytes stored, ${(size.bytes / stateBytes).toFixed(2)}× the current state (${stateBytes} bytes); ` +
      `reading a version as text over REST: median ${reads[Math.floor(reads.length / 2)]!.toFixed(1)} ms, max ${reads.at(-1)!.toFixed(1)} ms`,
  );
  assert.ok(fulls >= 2, 'a full state at least every 20 versions');
  // The versions' bytes grow with the edits, not with the number of versions times the state.
  assert.ok(size.bytes < stateBytes * 8, `history is ${size.bytes} bytes for a ${stateBytes}-byte state`);
});

test('restoring while two editors type: everyone converges on the restored text plus later edits, and restoring the version before it undoes it', async (t) => {
  const { api } = await startServer(t);
  const s = await api.signup();
  const doc = await newDocument(api, s, 'Restore');
  const a = connect(t, api.base, doc.id, s.accessToken);
  const b = connect(t, api.base, doc.id, s.accessToken);
  await Promise.all([synced(a), synced(b)]);
  paragraphText(a.doc).insert(0, 'The first draft. ');
  await acked(a);
  await eventually(() => assert.equal(readParagraph(b.doc), 'The first draft. '));
  const v1 = await named(api, s, doc.id, 'First draft');

  const typing = (c: Client, ch: string) =>
    setInterval(() => {
      const t = paragraphText(c.doc);
      t.insert(t.length, ch);
    }, 15);
  const timers = [typing(a, 'a'), typing(b, 'b')];
  try {
    await new Promise((r) => setTimeout(r, 300));
    const before = await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken);
    assert.ok(before.text.length > 'The first draft. '.length, "before.text.length > 'The first draft. '.length");
    const r = await restore(api, s, doc.id, v1.id);
    assert.equal(r.kind, 'restore');
    assert.equal(r.name, 'Restored from First draft');
    assert.ok(r.authors.includes(s.user.id), 'r.authors.includes(s.user.id)');
    // Both editors get the restored text without reloading and keep typing into it.
    for (const c of [a, b]) await eventually(() => assert.ok(readParagraph(c.doc).startsWith('The first draft. '), readParagraph(c.doc)), { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    timers.forEach(clearInterval);
  }
  paragraphText(a.doc).insert(paragraphText(a.doc).length, '[A]');
  paragraphText(b.doc).insert(paragraphText(b.doc).length, '[B]');
  await Promise.all([acked(a), acked(b)]);
  await eventually(() => assert.equal(readParagraph(a.doc), readParagraph(b.doc)));
  const after = readParagraph(a.doc);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, after);
  assert.ok(after.startsWith('The first draft. '), after);
  const typed = after.slice('The first draft. '.length);
  assert.match(typed, /^[ab[\]AB]*$/, 'only edits made after the restore follow the restored text');
  assert.ok(typed.includes('[A]') && typed.includes('[B]'), typed);

  // Newest first: the restore, then the state it replaced (recorded just before it), then v1.
  const list = await versions(api, s, doc.id);
  assert.deepEqual(
    list.slice(0, 3).map((v) => v.kind),
    ['restore', 'auto', 'named'],
  );
  assert.equal(list[2]!.id, v1.id);
  const replaced = await versionText(api, s, doc.id, list[1]!.id);
  assert.ok(replaced.startsWith('The first draft. ') && /[ab]/.test(replaced.slice(17)), replaced);
  // The restore version is the committed state once the restore was: typing that reached the server meanwhile is in it.
  assert.match(await versionText(api, s, doc.id, list[0]!.id), /^The first draft\. [ab]*$/);

  // Undo the restore: restore the version before it.
  const undo = await restore(api, s, doc.id, list[1]!.id);
  assert.match(undo.name ?? '', /^Restored from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  for (const c of [a, b]) await eventually(() => assert.equal(readParagraph(c.doc), replaced));
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, s.accessToken)).text, replaced);
  // The edits after the first restore were versioned before being replaced.
  const again = await versions(api, s, doc.id);
  assert.equal(again[0]!.id, undo.id);
  assert.equal(await versionText(api, s, doc.id, again[1]!.id), after);
});

test('automatic versions: after the interval while edited, and when the last editor leaves, naming the author; none without edits', async (t) => {
  await t.test('interval', async (t) => {
    const { api } = await startServer(t, { env: { HISTORY_CHECKPOINT_INTERVAL_MS: '400' } });
    const owner = await api.signup();
    const writer = await api.addUser(owner, 'member');
    const doc = await newDocument(api, owner, 'Auto');
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
    const c = connect(t, api.base, doc.id, writer.accessToken);
    await synced(c);
    const watcher = connect(t, api.base, doc.id, owner.accessToken);
    await synced(watcher);
    paragraphText(c.doc).insert(0, 'Typed by the writer');
    await acked(c);
    const first = await eventually(
      async () => {
        const list = await versions(api, owner, doc.id);
        assert.equal(list.length, 1);
        return list[0]!;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(first.kind, 'auto');
    assert.equal(first.name, null);
    assert.deepEqual(first.authors, [writer.user.id]);
    assert.equal(await versionText(api, owner, doc.id, first.id), 'Typed by the writer');
    // Nothing typed: no version, however long it stays open.
    await quietFor(1_200, 'no version without edits', { check: async () => assert.equal((await versions(api, owner, doc.id)).length, 1) });
    paragraphText(c.doc).insert(0, '> ');
    await acked(c);
    await eventually(async () => assert.equal((await versions(api, owner, doc.id)).length, 2), { timeoutMs: 10_000 });
    assert.equal(await versionText(api, owner, doc.id, (await versions(api, owner, doc.id))[0]!.id), '> Typed by the writer');
  });

  await t.test('last editor leaves', async (t) => {
    const { api } = await startServer(t, { env: { HISTORY_CHECKPOINT_INTERVAL_MS: '3600000' } });
    const owner = await api.signup();
    const writer = await api.addUser(owner, 'member');
    const doc = await newDocument(api, owner, 'Leave');
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, owner.accessToken)).status, 200);
    const c = connect(t, api.base, doc.id, writer.accessToken);
    await synced(c);
    paragraphText(c.doc).insert(0, 'Written, then left');
    await acked(c);
    assert.equal((await versions(api, owner, doc.id)).length, 0, 'not before the interval');
    c.destroy();
    const list = await eventually(
      async () => {
        const l = await versions(api, owner, doc.id);
        assert.equal(l.length, 1);
        return l;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(list[0]!.kind, 'auto');
    assert.deepEqual(list[0]!.authors, [writer.user.id]);
    assert.equal(await versionText(api, owner, doc.id, list[0]!.id), 'Written, then left');
    // Opened and left without typing: nothing new.
    const idle = connect(t, api.base, doc.id, writer.accessToken);
    await synced(idle);
    idle.destroy();
    await quietFor(1_000, 'no version when nothing changed', { check: async () => assert.equal((await versions(api, owner, doc.id)).length, 1) });
  });
});

test('history access: 404 without access on every path, 403 for readers on writes, clear 400s for bad input', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const stranger = await api.addUser(owner, 'member');
  const doc = await newDocument(api, owner, 'Guarded', 'Secret plans');
  const other = await newDocument(api, owner, 'Other', 'Other text');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken)).status, 200);
  const v = await named(api, owner, doc.id, '  First  ');
  assert.equal(v.name, 'First', 'trimmed');
  const base = `/api/v1/documents/${doc.id}`;

  for (const [method, path, body] of [
    ['GET', `${base}/versions`, undefined],
    ['POST', `${base}/versions`, { name: 'x' }],
    ['GET', `${base}/versions/${v.id}/content`, undefined],
    ['GET', `${base}/versions/${v.id}/content?format=yjs`, undefined],
    ['POST', `${base}/restore`, { versionId: v.id }],
    ['POST', `${base}/restore`, undefined],
    ['POST', `${base}/undelete`, undefined],
  ] as const) {
    const r = await api.request(method, path, { token: stranger.accessToken, json: body });
    assert.deepEqual(errorOf(r), [404, 'document_not_found'], `${method} ${path}`);
  }
  assert.equal((await api.get(`${base}/versions`, reader.accessToken)).status, 200);
  assert.equal(await versionText(api, reader, doc.id, v.id), 'Secret plans');
  assert.deepEqual(errorOf(await api.post(`${base}/versions`, { name: 'mine' }, reader.accessToken)), [403, 'forbidden']);
  assert.deepEqual(errorOf(await api.post(`${base}/restore`, { versionId: v.id }, reader.accessToken)), [403, 'forbidden']);

  const tok = owner.accessToken;
  for (const [path, code] of [
    [`${base}/versions?limit=0`, 'invalid_query'],
    [`${base}/versions?limit=101`, 'invalid_query'],
    [`${base}/versions?limit=ten`, 'invalid_query'],
    [`${base}/versions?cursor=bogus`, 'invalid_cursor'],
    [`${base}/versions?cursor=${Buffer.from('["v",-1]').toString('base64url')}`, 'invalid_cursor'],
    [`${base}/versions?sort=name`, 'invalid_query'],
    [`${base}/versions/${v.id}/content?format=html`, 'invalid_query'],
  ] as const) {
    assert.deepEqual(errorOf(await api.get(path, tok)), [400, code], path);
  }
  for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(201) }, { name: 7 }, { name: 'ok', kind: 'auto' }]) {
    assert.deepEqual(errorOf(await api.post(`${base}/versions`, body, tok)), [400, 'validation_failed'], JSON.stringify(body));
  }
  assert.equal((await api.post(`${base}/versions`, { name: 'x'.repeat(200) }, tok)).status, 201);
  for (const body of [{ versionId: 'nope' }, { versionId: v.id, extra: 1 }, { versionId: null }]) {
    assert.deepEqual(errorOf(await api.post(`${base}/restore`, body, tok)), [400, 'validation_failed'], JSON.stringify(body));
  }
  // A version of another document, or none at all.
  const otherVersion = await named(api, owner, other.id, 'Other');
  assert.deepEqual(errorOf(await api.get(`${base}/versions/${otherVersion.id}/content`, tok)), [404, 'version_not_found']);
  assert.deepEqual(errorOf(await api.post(`${base}/restore`, { versionId: otherVersion.id }, tok)), [404, 'version_not_found']);
  assert.deepEqual(errorOf(await api.get(`${base}/versions/not-a-uuid/content`, tok)), [404, 'version_not_found']);
  assert.equal((await api.get(`${base}/content`, tok)).text, 'Secret plans', 'nothing restored');
});

test('trash: a deleted document is listed for those who may restore it, undelete brings it back; the restore without a body still undeletes', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const writer = await api.addUser(owner, 'member');
  const doc = await newDocument(api, member, 'Member notes', 'Notes');
  assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: writer.user.id, level: 'write' }, member.accessToken)).status, 200);
  const trash = async (s: Session) => {
    const r = await api.get('/api/v1/trash', s.accessToken);
    assert.equal(r.status, 200, r.text);
    return r.body.documents as TrashItem[];
  };
  assert.deepEqual(await trash(member), []);
  const older = await newDocument(api, member, 'Older', 'x');
  assert.equal((await api.del(`/api/v1/documents/${older.id}`, member.accessToken)).status, 204);
  assert.equal((await api.del(`/api/v1/documents/${doc.id}`, member.accessToken)).status, 204);

  const listed = await trash(member);
  assert.deepEqual(
    listed.map((d) => d.id),
    [doc.id, older.id],
    'newest deletion first',
  );
  const item = listed[0]!;
  assert.equal(item.title, 'Member notes');
  assert.equal(new Date(item.purgeAt).getTime() - new Date(item.deletedAt).getTime(), 30 * 86_400_000);
  assert.deepEqual(
    (await trash(owner)).map((d) => d.id),
    [doc.id, older.id],
    'workspace admins see every deleted document',
  );
  assert.deepEqual(await trash(writer), [], 'write access does not restore');
  assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/undelete`, undefined, writer.accessToken)), [404, 'document_not_found']);

  const back = await api.post(`/api/v1/documents/${doc.id}/undelete`, undefined, member.accessToken);
  assert.equal(back.status, 200, back.text);
  assert.equal(back.body.id, doc.id);
  assert.equal((await api.get(`/api/v1/documents/${doc.id}/content`, writer.accessToken)).text, 'Notes');
  assert.deepEqual(
    (await trash(member)).map((d) => d.id),
    [older.id],
  );
  assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${doc.id}/undelete`, undefined, member.accessToken)), [404, 'document_not_found'], 'not deleted');

  // The restore of before: no body, or `{}`.
  assert.equal((await api.post(`/api/v1/documents/${older.id}/restore`, undefined, member.accessToken)).status, 200);
  assert.equal((await api.del(`/api/v1/documents/${older.id}`, member.accessToken)).status, 204);
  const r = await api.post(`/api/v1/documents/${older.id}/restore`, {}, member.accessToken);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.title, 'Older');
  assert.deepEqual(await trash(member), []);
});

for (const dialect of DIALECTS) {
  test(`history core (${dialect}): versions of REST writes, pages, content in every format, restore and undo, trash — through the SDK`, async (t) => {
    const { url } = await startServer(t, { dialect });
    const email = `owner-${Math.random().toString(36).slice(2)}@example.test`;
    const sdk = new QuireClient({ baseUrl: url, tokens: memoryTokenStorage() });
    unwrap(await sdk.signup({ tenant: 'History', email, password: 'correct horse battery' }));
    const doc = unwrap(await sdk.createDocument({ title: 'Log', text: 'line 0' }));
    const texts: string[] = [];
    const made: Version[] = [];
    for (let i = 1; i <= 24; i++) {
      unwrap(await sdk.putContent(doc.id, { text: `\nline ${i}` }, 'append'));
      texts.push(unwrap(await sdk.getText(doc.id)));
      made.push(unwrap(await sdk.createVersion(doc.id, `v${i}`)));
    }
    const all: Version[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = unwrap(await sdk.listVersions(doc.id, { limit: 10, cursor }));
      assert.ok(page.versions.length === 10 || page.nextCursor === null, 'page.versions.length === 10 || page.nextCursor === null');
      all.push(...page.versions);
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    assert.ok(pages >= 3, 'pages >= 3');
    assert.equal(new Set(all.map((v) => v.id)).size, all.length, 'no version on two pages');
    // REST writes on a document nobody has open leave automatic versions too (when it unloads).
    const namedOnly = all.filter((v) => v.kind === 'named');
    assert.deepEqual(
      namedOnly.map((v) => v.name),
      made.map((v) => v.name).reverse(),
    );
    for (let i = 0; i < made.length; i++) assert.equal(unwrap(await sdk.getVersionContent(doc.id, made[i]!.id, 'text')), texts[i]);
    const json = unwrap(await sdk.getVersionContent(doc.id, made[2]!.id, 'json'));
    assert.equal(json.type, 'doc');
    assert.equal(json.content?.length, texts[2]!.split('\n').length);
    const state = unwrap(await sdk.getVersionContent(doc.id, made[2]!.id, 'yjs'));
    const ydoc = new Y.Doc();
    Y.applyUpdate(ydoc, state);
    assert.equal(ydoc.getXmlFragment('default').length, texts[2]!.split('\n').length);

    const restored = unwrap(await sdk.restoreVersion(doc.id, made[0]!.id));
    assert.equal(restored.kind, 'restore');
    assert.equal(unwrap(await sdk.getText(doc.id)), texts[0]);
    const list = unwrap(await sdk.listVersions(doc.id)).versions;
    assert.equal(list[0]!.id, restored.id);
    unwrap(await sdk.restoreVersion(doc.id, list[1]!.id));
    assert.equal(unwrap(await sdk.getText(doc.id)), texts.at(-1));

    unwrap(await sdk.deleteDocument(doc.id));
    const trash = unwrap(await sdk.listTrash());
    assert.deepEqual(
      trash.map((d) => d.id),
      [doc.id],
    );
    unwrap(await sdk.undeleteDocument(doc.id));
    assert.deepEqual(unwrap(await sdk.listTrash()), []);
    assert.equal(unwrap(await sdk.getText(doc.id)), texts.at(-1));
  });
}

test('automatic versions of one state are stored once, from any instance; a deletion alone is a change', async (t) => {
  const first = await startServer(t);
  const second = await startServer(t, { schema: first.schema });
  const s = await first.api.signup();
  const doc = await newDocument(first.api, s, 'Once', 'Keep this text');
  const stores = [first, second].map(({ quire }) => new VersionStore(quire.store.db, new DocumentStore(quire.store.db)));
  const auto = { kind: 'auto' as const, name: null, createdBy: null, authors: [s.user.id] };
  const both = await Promise.all(stores.map((v) => v.create(s.user.tenantId, doc.id, auto)));
  assert.deepEqual(both.map((r) => 'created' in r).sort(), [false, true], 'two instances, one version');
  assert.ok(
    both.some((r) => 'skipped' in r && r.skipped === 'unchanged'),
    "both.some((r) => 'skipped' in r && r.skipped === 'unchanged')",
  );
  assert.deepEqual(await stores[1]!.create(s.user.tenantId, doc.id, auto), { skipped: 'unchanged' });

  // Deleting text leaves the state vector as it was; the version is still taken.
  const c = connect(t, first.url, doc.id, s.accessToken);
  await synced(c);
  c.doc.transact(() => paragraphText(c.doc).delete(0, 5));
  await acked(c);
  const deleted = await stores[0]!.create(s.user.tenantId, doc.id, auto);
  assert.ok('created' in deleted, JSON.stringify(deleted));
  assert.equal(await versionText(first.api, s, doc.id, deleted.created.id), 'this text');
  // Named versions are kept even when the state is the latest one's.
  const same = await stores[1]!.create(s.user.tenantId, doc.id, { ...auto, kind: 'named', name: 'Same' });
  assert.ok('created' in same, "'created' in same");
  assert.equal((await versions(first.api, s, doc.id)).length, 3);
});
