/**
 * Retention: the trash purge deletes documents deleted more than TRASH_RETENTION_DAYS ago —
 * with every row keyed by them — and only those, announces each once on the change feed
 * even with two purgers racing, and the trash and undelete forget them; version retention
 * removes old automatic versions, keeps named, restore and newest ones, and every remaining
 * version reads back exactly as before (a removed full base, removed bases across several
 * full states, small batches, two instances at once). Time is set in the rows (SQL), never
 * waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import * as Y from 'yjs';
import type { DocumentMeta, TrashItem, VersionKind } from '../contract/api.js';
import { extractText, writeContent } from '../core/content.js';
import { DocumentStore } from '../core/document-store.js';
import { planExpiry, type VersionMeta } from '../core/history-retention.js';
import { VersionStore, type VersionRecord } from '../core/history.js';
import { Retention } from '../server/retention.js';
import type { ApiClient, Session } from './helpers/api.js';
import { DIALECTS, startServer, type TestServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const DAY_MS = 86_400_000;
/** Servers whose own retention timer stays off: the tests run it. */
const NO_TIMER = { RETENTION_INTERVAL_MS: '0' };

const errorOf = (r: { status: number; body: any }) => [r.status, r.body?.error?.code];

async function newDocument(api: ApiClient, s: Session, title: string, text: string): Promise<DocumentMeta> {
  const r = await api.post('/api/v1/documents', { title, text }, s.accessToken);
  assert.equal(r.status, 201, r.text);
  return r.body as DocumentMeta;
}

function retention(server: TestServer, opts: { historyRetentionDays?: number; limits?: ConstructorParameters<typeof Retention>[0]['limits'] } = {}): Retention {
  return new Retention({
    db: server.quire.store.db,
    log: server.quire.log,
    trashRetentionDays: server.config.trashRetentionDays,
    historyRetentionDays: opts.historyRetentionDays ?? 0,
    intervalMs: 0,
    limits: opts.limits,
  });
}

/** Tables of the test's schema with a `document_id` column, but the outbox (which keeps ids of documents long gone). */
async function documentTables(owner: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ t: string }>`
    select c.table_name as t from information_schema.columns c join information_schema.tables x using (table_schema, table_name)
     where c.table_schema = current_schema() and c.column_name = 'document_id' and x.table_type = 'BASE TABLE' and c.table_name <> 'document_events'`.execute(owner);
  return rows.map((r) => r.t).sort();
}

test('the trash purge: only documents deleted before the retention go, with everything keyed by them; two purgers announce each once; trash and undelete forget them', async (t) => {
  const first = await startServer(t, { env: NO_TIMER });
  const second = await startServer(t, { schema: first.schema, env: NO_TIMER });
  const { api } = first;
  const owner = first.quire.store.owner;
  const s = await api.signup();
  const colleague = await api.addUser(s, 'member');

  // Old deletions, with content, versions, a comment, a grant, a star and a public link.
  const old: DocumentMeta[] = [];
  for (let i = 0; i < 7; i++) {
    const doc = await newDocument(api, s, `Old ${i}`, `old text ${i}`);
    assert.equal((await api.post(`/api/v1/documents/${doc.id}/versions`, { name: `v${i}` }, s.accessToken)).status, 201);
    assert.equal((await api.post(`/api/v1/documents/${doc.id}/comments`, { body: 'a comment' }, s.accessToken)).status, 201);
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: colleague.user.id, level: 'read' }, s.accessToken)).status, 200);
    assert.equal((await api.put(`/api/v1/documents/${doc.id}/star`, undefined, s.accessToken)).status, 204);
    assert.equal((await api.post(`/api/v1/documents/${doc.id}/public-link`, undefined, s.accessToken)).status, 201);
    old.push(doc);
  }
  const recent = await newDocument(api, s, 'Recent', 'deleted today');
  const live = await newDocument(api, s, 'Live', 'still here');
  const almost = await newDocument(api, s, 'Almost', 'deleted 29 days ago');
  for (const d of [...old, recent, almost]) assert.equal((await api.del(`/api/v1/documents/${d.id}`, s.accessToken)).status, 204);
  const oldIds = old.map((d) => d.id);
  await sql`update documents set deleted_at = now() - interval '31 days' where id = any(${oldIds}::uuid[])`.execute(owner);
  await sql`update documents set deleted_at = now() - interval '29 days' where id = ${almost.id}`.execute(owner);

  const tables = await documentTables(owner);
  for (const table of ['document_versions', 'document_comments', 'document_permissions', 'document_stars', 'document_public_links', 'document_snapshots', 'document_updates']) {
    if (!tables.includes(table)) continue;
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.id(table)} where document_id = any(${oldIds}::uuid[])`.execute(owner);
    if (table !== 'document_updates' && table !== 'document_snapshots') assert.ok(Number(rows[0]!.n) > 0, `${table} has rows of the old documents before the purge`);
  }
  const { rows: before } = await sql<{ seq: string }>`select coalesce(max(seq), 0)::text as seq from document_events`.execute(owner);

  // Two instances purge at once, a few documents per transaction so their batches interleave.
  const limits = { trashBatch: 2 };
  const runs = await Promise.all([retention(first, { limits }).runOnce(), retention(second, { limits }).runOnce()]);
  const purged = runs.flatMap((r) => r.purged);
  assert.deepEqual([...purged].sort(), [...oldIds].sort(), 'every old deletion purged, by one of the two');
  t.diagnostic(`purged ${runs.map((r) => r.purged.length).join(' + ')} documents; keyed tables: ${tables.join(', ')}`);

  // Announced once each, and audited once each, by nobody.
  const { rows: events } = await sql<{ document_id: string; type: string }>`
    select document_id, type from document_events where seq > ${before[0]!.seq}::bigint order by seq`.execute(owner);
  assert.deepEqual(
    events.map((e) => e.type).filter((x) => x !== 'document.deleted'),
    [],
  );
  assert.deepEqual(events.map((e) => e.document_id).sort(), [...oldIds].sort());
  const { rows: audits } = await sql<{ target_id: string; actor_id: string | null; detail: unknown }>`
    select target_id, actor_id, detail from audit_log where action = 'document.purge' order by target_id`.execute(owner);
  assert.deepEqual(
    audits.map((a) => a.target_id),
    [...oldIds].sort(),
  );
  assert.ok(
    audits.every((a) => a.actor_id === null),
    'audits.every((a) => a.actor_id === null)',
  );

  // Nothing keyed by them is left, in any table.
  const { rows: docs } = await sql<{ n: string }>`select count(*) as n from documents where id = any(${oldIds}::uuid[])`.execute(owner);
  assert.equal(Number(docs[0]!.n), 0);
  for (const table of tables) {
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.id(table)} where document_id = any(${oldIds}::uuid[])`.execute(owner);
    assert.equal(Number(rows[0]!.n), 0, `${table} still has rows of purged documents`);
  }

  // The trash lists what is left; a purged document cannot come back.
  const trash = await api.get('/api/v1/trash', s.accessToken);
  assert.equal(trash.status, 200, trash.text);
  assert.deepEqual(
    (trash.body.documents as TrashItem[]).map((d) => d.id),
    [recent.id, almost.id],
  );
  for (const d of old) {
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${d.id}/undelete`, undefined, s.accessToken)), [404, 'document_not_found']);
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${d.id}/restore`, {}, s.accessToken)), [404, 'document_not_found']);
    assert.equal((await api.get(`/api/v1/documents/${d.id}`, s.accessToken)).status, 404);
  }
  assert.equal((await api.get(`/api/v1/documents/${live.id}/content`, s.accessToken)).text, 'still here');

  // Nothing more is due; the next runs purge nothing and announce nothing.
  const again = await Promise.all([retention(first).runOnce(), retention(second).runOnce()]);
  assert.deepEqual(
    again.flatMap((r) => r.purged),
    [],
  );
  // A day later the 29-day-old deletion is due; the one made today is not.
  const later = await retention(first).runOnce(new Date(Date.now() + 2 * DAY_MS));
  assert.deepEqual(later.purged, [almost.id]);
  assert.equal((await api.post(`/api/v1/documents/${recent.id}/undelete`, undefined, s.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${recent.id}/content`, s.accessToken)).text, 'deleted today');
  const { rows: after } = await sql<{ n: string }>`
    select count(*) as n from document_events where seq > ${before[0]!.seq}::bigint and type = 'document.deleted'`.execute(owner);
  assert.equal(Number(after[0]!.n), oldIds.length + 1);
});

/** Writes to a document's stored log directly (nobody has it open: no automatic versions appear). */
async function write(documents: DocumentStore, tenantId: string, documentId: string, text: string, mode: 'append' | 'replace'): Promise<void> {
  const { doc } = await documents.loadInto(tenantId, documentId, new Y.Doc());
  const before = Y.encodeStateVector(doc);
  doc.transact(() => writeContent(doc, { text }, mode));
  await documents.appendBatch([{ tenantId, documentId, data: Y.encodeStateAsUpdate(doc, before), userId: null }]);
  doc.destroy();
}

async function textOf(versions: VersionStore, tenantId: string, documentId: string, versionId: string): Promise<string> {
  const found = await versions.read(tenantId, documentId, versionId);
  assert.ok(found, `version ${versionId} reads`);
  try {
    return extractText(found.doc);
  } finally {
    found.doc.destroy();
  }
}

async function allVersions(versions: VersionStore, tenantId: string, documentId: string): Promise<VersionRecord[]> {
  return (await versions.list(tenantId, documentId, { limit: 10_000 })).reverse();
}

/** Takes a version of kind `kind`, then dates it `ageDays` ago. */
async function take(ctx: { versions: VersionStore; owner: Kysely<unknown>; tenantId: string }, documentId: string, kind: VersionKind, ageDays: number): Promise<VersionRecord> {
  const r = await ctx.versions.create(ctx.tenantId, documentId, { kind, name: kind === 'auto' ? null : `${kind} version`, createdBy: null, authors: [] });
  assert.ok('created' in r, JSON.stringify(r));
  await sql`update document_versions set created_at = now() - make_interval(secs => ${ageDays * 86_400}) where id = ${r.created.id}`.execute(ctx.owner);
  return r.created;
}

for (const dialect of DIALECTS) {
  test(`version retention (${dialect}): old automatic versions go, named, restore and newest ones stay, and every remaining version reads back the same`, async (t) => {
    const server = await startServer(t, { dialect, env: NO_TIMER });
    const { api } = server;
    const s = await api.signup();
    const tenantId = s.user.tenantId;
    const documents = new DocumentStore(server.quire.store.db);
    const versions = new VersionStore(server.quire.store.db, documents);
    const ctx = { versions, owner: server.quire.store.owner, tenantId };

    // A: the removed first version was the full base of a named one; a removed diff was the base of a restore one.
    // A long first paragraph keeps each appended line a small diff (a diff over half the state is stored full).
    const a = await newDocument(api, s, 'Chain', `line 0 ${'lorem ipsum '.repeat(100)}`);
    const plan: [VersionKind, number][] = [
      ['auto', 400],
      ['named', 399],
      ['auto', 398],
      ['auto', 397],
      ['restore', 396],
      ['auto', 395],
      ['auto', 10],
      ['named', 5],
      ['auto', 2],
    ];
    const made: VersionRecord[] = [];
    const texts = new Map<string, string>();
    for (const [i, [kind, age]] of plan.entries()) {
      await write(documents, tenantId, a.id, `line ${i + 1}`, 'append');
      const v = await take(ctx, a.id, kind, age);
      made.push(v);
      texts.set(v.id, await textOf(versions, tenantId, a.id, v.id));
    }
    assert.deepEqual(
      made.map((v) => v.full),
      [true, false, false, false, false, false, false, false, false],
      'one full state, then diffs',
    );

    // B: an old document whose versions are all automatic and old keeps its newest.
    const b = await newDocument(api, s, 'Dormant', 'quiet');
    const bMade: VersionRecord[] = [];
    for (let i = 0; i < 3; i++) {
      await write(documents, tenantId, b.id, `dormant ${i}`, 'append');
      bMade.push(await take(ctx, b.id, 'auto', 500 - i));
    }
    const bLast = await textOf(versions, tenantId, b.id, bMade[2]!.id);

    // C: recent automatic versions only: nothing is due.
    const c = await newDocument(api, s, 'Fresh', 'new');
    for (let i = 0; i < 3; i++) {
      await write(documents, tenantId, c.id, `fresh ${i}`, 'append');
      await take(ctx, c.id, 'auto', 30 - i);
    }

    const run = await retention(server, { historyRetentionDays: 365 }).runOnce();
    assert.ok(run.versions, 'run.versions is set');
    assert.deepEqual(run.versions.failed, []);
    assert.equal(run.versions.removed, 4 + 2);
    // A's named, restore and first recent version lost their base; B's newest did unless it was stored full (a small document).
    assert.equal(run.versions.rewritten, 3 + (bMade[2]!.full ? 0 : 1));

    const kept = await allVersions(versions, tenantId, a.id);
    assert.deepEqual(
      kept.map((v) => v.id),
      [made[1]!.id, made[4]!.id, made[6]!.id, made[7]!.id, made[8]!.id],
      'the named, restore and recent versions',
    );
    assert.deepEqual(
      kept.map((v) => v.full),
      [true, true, true, false, false],
      'the versions whose base went are full states now',
    );
    // Every remaining version reads as before, from storage and over REST.
    for (const v of kept) {
      assert.equal(await textOf(versions, tenantId, a.id, v.id), texts.get(v.id));
      const r = await api.get(`/api/v1/documents/${a.id}/versions/${v.id}/content?format=text`, s.accessToken);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.text, texts.get(v.id));
    }
    for (const v of [made[0]!, made[2]!, made[3]!, made[5]!]) {
      assert.deepEqual(errorOf(await api.get(`/api/v1/documents/${a.id}/versions/${v.id}/content?format=text`, s.accessToken)), [404, 'version_not_found']);
    }
    assert.deepEqual(
      (await allVersions(versions, tenantId, b.id)).map((v) => v.id),
      [bMade[2]!.id],
      'the newest version stays, however old',
    );
    assert.equal(await textOf(versions, tenantId, b.id, bMade[2]!.id), bLast);
    assert.equal((await allVersions(versions, tenantId, c.id)).length, 3);

    // History goes on from there: a new version is a diff from the newest, and reads right.
    await write(documents, tenantId, a.id, 'after retention', 'append');
    const next = await take(ctx, a.id, 'named', 0);
    assert.equal(next.full, false);
    assert.equal(next.seq, made[8]!.seq + 1);
    assert.equal(await textOf(versions, tenantId, a.id, next.id), `${texts.get(made[8]!.id)}\nafter retention`);

    // Nothing more is due.
    const again = await retention(server, { historyRetentionDays: 365 }).runOnce();
    assert.equal(again.versions?.removed, 0);
    // Off (0): nothing is removed, however old.
    assert.equal((await retention(server, { historyRetentionDays: 0 }).runOnce(new Date(Date.now() + 1000 * DAY_MS))).versions, null);
  });
}

test('version retention across several full states, in small batches and from two instances at once: every remaining version reads back the same after each run', async (t) => {
  const first = await startServer(t, { env: NO_TIMER });
  const second = await startServer(t, { schema: first.schema, env: NO_TIMER });
  const s = await first.api.signup();
  const tenantId = s.user.tenantId;
  const documents = new DocumentStore(first.quire.store.db);
  const versions = new VersionStore(first.quire.store.db, documents);
  const ctx = { versions, owner: first.quire.store.owner, tenantId };

  // 50 versions: every 4th named, every 9th a restore, the rest automatic; the first 40 old.
  // Some writes replace the text (large diffs: full states out of turn).
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const docs = [await newDocument(first.api, s, 'Long', 'start'), await newDocument(first.api, s, 'Longer', 'start')];
  const texts = new Map<string, string>();
  const made = new Map<string, VersionRecord[]>();
  for (const doc of docs) {
    const list: VersionRecord[] = [];
    for (let i = 0; i < 50; i++) {
      // A replacement brings mostly new text: its diff is over half the state, stored full.
      const replace = random() < 0.1;
      await write(documents, tenantId, doc.id, `${doc.title} ${i} ${(replace ? 'y' : 'x').repeat(Math.floor(random() * 40) + (replace ? 4_000 : 0))}`, replace ? 'replace' : 'append');
      const kind: VersionKind = i % 4 === 3 ? 'named' : i % 9 === 8 ? 'restore' : 'auto';
      const v = await take(ctx, doc.id, kind, i < 40 ? 800 - i : 1);
      list.push(v);
      texts.set(v.id, await textOf(versions, tenantId, doc.id, v.id));
    }
    made.set(doc.id, list);
    assert.ok(list.filter((v) => v.full).length >= 3, 'several full states');
  }

  const limits = { versionsPerDocument: 3, rewritesPerDocument: 1, versionDocuments: 1 };
  const runs = [retention(first, { historyRetentionDays: 365, limits }), retention(second, { historyRetentionDays: 365, limits })];
  let rounds = 0;
  const total = { removed: 0, rewritten: 0, skipped: 0 };
  for (;;) {
    const results = await Promise.all(runs.map((r) => r.runOnce()));
    for (const r of results) for (const k of ['removed', 'rewritten', 'skipped'] as const) total[k] += r.versions![k];
    for (const r of results) assert.deepEqual(r.versions?.failed, []);
    for (const doc of docs) {
      for (const v of await allVersions(versions, tenantId, doc.id)) assert.equal(await textOf(versions, tenantId, doc.id, v.id), texts.get(v.id), `round ${rounds}: ${doc.title} v${v.seq}`);
    }
    rounds++;
    if (results.every((r) => r.versions!.removed === 0 && r.versions!.skipped === 0)) break;
    assert.ok(rounds < 100, 'retention converges');
  }
  t.diagnostic(`${rounds} rounds of two instances: ${JSON.stringify(total)}`);
  assert.ok(total.rewritten > 0, 'total.rewritten > 0');
  for (const doc of docs) {
    const list = made.get(doc.id)!;
    const expected = list.filter((v, i) => v.kind !== 'auto' || i >= 40 || i === list.length - 1).map((v) => v.id);
    assert.deepEqual(
      (await allVersions(versions, tenantId, doc.id)).map((v) => v.id),
      expected,
    );
  }
});

test('planExpiry: removes old automatic versions in order within its limits, never the newest, and names the kept versions left without their base', () => {
  const old = new Date(Date.now() - 400 * DAY_MS);
  const now = new Date();
  const rows: VersionMeta[] = [];
  const add = (kind: VersionKind, created: Date, full: boolean) => {
    const prev = rows.at(-1);
    rows.push({ id: `v${rows.length + 1}`, seq: rows.length + 1, kind, base_id: full || !prev ? null : prev.id, created_at: created, digest: '' });
  };
  add('auto', old, true);
  add('auto', old, false);
  add('named', old, false);
  add('auto', old, false);
  add('auto', old, true);
  add('auto', now, false);
  add('auto', old, false);
  const before = new Date(Date.now() - 365 * DAY_MS);
  const all = planExpiry(rows, before, { maxRemove: 100, maxRewrite: 100 });
  assert.deepEqual(all.remove, ['v1', 'v2', 'v4', 'v5']);
  assert.deepEqual(
    all.rewrite.map((v) => v.id),
    ['v3', 'v6'],
    'v5 was full: the version after v4 needs a rewrite, the one after v5 too',
  );
  assert.equal(all.more, false);
  const few = planExpiry(rows, before, { maxRemove: 2, maxRewrite: 100 });
  assert.deepEqual(few.remove, ['v1', 'v2']);
  assert.deepEqual(
    few.rewrite.map((v) => v.id),
    ['v3'],
  );
  assert.equal(few.more, true);
  const oneRewrite = planExpiry(rows, before, { maxRemove: 100, maxRewrite: 1 });
  assert.deepEqual(oneRewrite.remove, ['v1', 'v2', 'v4'], 'removing v5 would leave a second version without its base');
  assert.equal(oneRewrite.more, true);
});

for (const dialect of DIALECTS) {
  test(`the worker role runs retention on its timer (${dialect}): a document deleted long ago leaves the trash by itself`, async (t) => {
    const server = await startServer(t, { dialect, env: { RETENTION_INTERVAL_MS: '100', HISTORY_RETENTION_DAYS: '30' } });
    const { api } = server;
    const s = await api.signup();
    const gone = await newDocument(api, s, 'Gone', 'long deleted');
    const kept = await newDocument(api, s, 'Kept', 'deleted today');
    for (const d of [gone, kept]) assert.equal((await api.del(`/api/v1/documents/${d.id}`, s.accessToken)).status, 204);
    await sql`update documents set deleted_at = now() - interval '31 days' where id = ${gone.id}`.execute(server.quire.store.owner);
    await eventually(async () => {
      const r = await api.get('/api/v1/trash', s.accessToken);
      assert.deepEqual(
        (r.body.documents as TrashItem[]).map((d) => d.id),
        [kept.id],
      );
    });
    assert.deepEqual(errorOf(await api.post(`/api/v1/documents/${gone.id}/undelete`, undefined, s.accessToken)), [404, 'document_not_found']);
  });
}
