/**
 * The data layer's conformance suite: the same assertions on server Postgres and on
 * embedded PGlite — migrations, row-level security, the application role, and the
 * commands that read and write through it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { startVacuumTimer, vacuumChurnedTables, vacuumReason } from '../db/maintenance.js';
import { PREPARE_MISSES_BEFORE_OFF, PREPARED_PER_CONNECTION, readAsTenant, withTenant, type Tx } from '../db/store.js';
import { sqlLiteral } from '../db/literal-compiler.js';
import * as Y from 'yjs';
import { DocumentStore } from '../core/document-store.js';
import { migrateDownAll, migrateToLatest } from '../db/migrate.js';
import { login, refresh, signup } from '../server/commands/auth.js';
import { createDocument, getDocument, listDocuments } from '../server/commands/documents.js';
import { setPermission } from '../server/commands/permissions.js';
import { createUser, removeUser, updateUserRole } from '../server/commands/users.js';
import { DIALECTS, startServer, uniqueName } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const TENANT_TABLES = ['users', 'refresh_tokens', 'documents', 'document_permissions', 'audit_log'];

for (const dialect of DIALECTS) {
  describe(`data layer on ${dialect}`, () => {
    test('the application role is not a superuser, cannot bypass RLS and owns no table', async (t) => {
      const { quire } = await startServer(t, { dialect });
      const r = await sql<{ who: string; rolsuper: boolean; rolbypassrls: boolean; owned: string }>`
        select current_user as who, r.rolsuper, r.rolbypassrls,
          (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relowner = r.oid and n.nspname = current_schema()) as owned
        from pg_roles r where r.rolname = current_user`.execute(quire.store.db);
      const row = r.rows[0]!;
      assert.equal(row.who, quire.store.appRole);
      assert.equal(row.rolsuper, false);
      assert.equal(row.rolbypassrls, false);
      assert.equal(Number(row.owned), 0);
    });

    test('with no tenant set every tenant-owned table reads as empty; a tenant sees only its rows', async (t) => {
      const { quire, api } = await startServer(t, { dialect });
      const a = await api.signup('A');
      const b = await api.signup('B');
      await api.createDocument(a, 'A1');
      await api.createDocument(b, 'B1');
      for (const table of ['tenants', ...TENANT_TABLES]) {
        const none = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(quire.store.db);
        assert.equal(Number(none.rows[0]?.n), 0, `${table} without tenant`);
        const all = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(quire.store.owner);
        assert.ok(Number(all.rows[0]?.n) > 0, `${table} has rows for the owner`);
      }
      const docs = await withTenant(quire.store.db, a.user.tenantId, (tx) => tx.selectFrom('documents').select('title').execute());
      assert.deepEqual(
        docs.map((d) => d.title),
        ['A1'],
      );
      // Writing a row for another tenant is refused by the policy's WITH CHECK.
      await assert.rejects(
        withTenant(quire.store.db, a.user.tenantId, (tx) => tx.insertInto('documents').values({ tenant_id: b.user.tenantId, title: 'smuggled', created_by: null }).execute()),
        /row-level security/,
      );
      // Updating another tenant's rows touches nothing.
      const upd = await withTenant(quire.store.db, a.user.tenantId, (tx) => tx.updateTable('documents').set({ title: 'hijacked' }).where('tenant_id', '=', b.user.tenantId).executeTakeFirst());
      assert.equal(Number(upd.numUpdatedRows), 0);
    });

    test('a row keyed by a document carries that document’s tenant', async (t) => {
      const { quire, api } = await startServer(t, { dialect });
      const a = await api.signup('A');
      const b = await api.signup('B');
      const docB = await api.createDocument(b, 'B1');
      // Under tenant A, rows that name B's document: row-level security alone would let
      // them through (their tenant_id is A's); the composite foreign keys refuse them.
      const attempts = [
        (tx: Tx) =>
          tx
            .insertInto('document_updates')
            .values({ tenant_id: a.user.tenantId, document_id: docB.id, data: Uint8Array.from([0, 0]), user_id: null })
            .execute(),
        (tx: Tx) => tx.insertInto('document_permissions').values({ tenant_id: a.user.tenantId, document_id: docB.id, user_id: a.user.id, level: 'admin', granted_by: null }).execute(),
        (tx: Tx) =>
          tx
            .insertInto('document_snapshots')
            .values({ tenant_id: a.user.tenantId, document_id: docB.id, state: Uint8Array.from([0, 0]), last_seq: '0' })
            .execute(),
      ];
      for (const attempt of attempts) {
        await assert.rejects(withTenant(quire.store.db, a.user.tenantId, attempt), /foreign key/);
      }
      // The same rows under B's own tenant are fine.
      await withTenant(quire.store.db, b.user.tenantId, (tx) =>
        tx
          .insertInto('document_updates')
          .values({ tenant_id: b.user.tenantId, document_id: docB.id, data: Uint8Array.from([0, 0]), user_id: null })
          .execute(),
      );
    });

    test('a document-keyed row has one key to its document, and goes with it or its tenant', async (t) => {
      const { quire, api } = await startServer(t, { dialect });
      const owner = quire.store.owner;
      // Every extra foreign key is checked (a lookup and a row lock) on every insert, and
      // the composite one implies `document_id → documents` and `tenant_id → tenants`.
      const keys = await sql<{ table: string; columns: string; ref: string }>`
        select t.relname as "table", ref.relname as ref,
          (select string_agg(a.attname, ',' order by k.i) from unnest(c.conkey) with ordinality k(n, i)
            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.n) as columns
        from pg_constraint c
        join pg_class t on t.oid = c.conrelid
        join pg_namespace n on n.oid = t.relnamespace
        join pg_class ref on ref.oid = c.confrelid
        where c.contype = 'f' and n.nspname = current_schema() and ref.relname in ('tenants', 'documents')
          and t.relname in ('document_updates', 'document_snapshots', 'document_permissions', 'search_documents', 'index_state', 'document_classifications', 'document_quarantine')
        order by 1, 2`.execute(owner);
      for (const table of ['document_updates', 'document_snapshots', 'document_permissions', 'search_documents', 'index_state', 'document_classifications', 'document_quarantine']) {
        assert.deepEqual(
          keys.rows.filter((k) => k.table === table).map((k) => `${k.columns} → ${k.ref}`),
          ['tenant_id,document_id → documents'],
          table,
        );
      }
      // Deletes still cascade through it: a document takes its rows, a tenant everything.
      const a = await api.signup('A');
      const b = await api.signup('B');
      const [a1, a2] = [await api.createDocument(a, 'A1'), await api.createDocument(a, 'A2')];
      const b1 = await api.createDocument(b, 'B1');
      const store = new DocumentStore(quire.store.db);
      for (const [s, d] of [
        [a, a1],
        [a, a2],
        [b, b1],
      ] as const) {
        await store.appendBatch([{ tenantId: s.user.tenantId, documentId: d.id, data: Uint8Array.from([0, 0]), userId: null }]);
      }
      const rows = async (documentId: string) =>
        Number(
          (
            await sql<{
              n: string;
            }>`select (select count(*) from document_updates where document_id = ${documentId}) + (select count(*) from document_permissions where document_id = ${documentId}) as n`.execute(owner)
          ).rows[0]!.n,
        );
      assert.ok((await rows(a1.id)) >= 2, '(await rows(a1.id)) >= 2');
      await sql`delete from documents where id = ${a1.id}`.execute(owner);
      assert.equal(await rows(a1.id), 0);
      assert.ok((await rows(a2.id)) >= 2, '(await rows(a2.id)) >= 2');
      await sql`delete from tenants where id = ${a.user.tenantId}`.execute(owner);
      assert.equal(await rows(a2.id), 0);
      assert.ok((await rows(b1.id)) >= 2, 'another tenant keeps its rows');
    });

    test('the audit log is append-only for the application', async (t) => {
      const { quire, api } = await startServer(t, { dialect });
      const a = await api.signup('A');
      await assert.rejects(
        withTenant(quire.store.db, a.user.tenantId, (tx) => tx.deleteFrom('audit_log').execute()),
        /permission denied/,
      );
      await assert.rejects(
        withTenant(quire.store.db, a.user.tenantId, (tx) => tx.updateTable('audit_log').set({ action: 'x' }).execute()),
        /permission denied/,
      );
    });

    test('commands: signup, login, refresh, users, documents, sharing and pagination', async (t) => {
      const { quire } = await startServer(t, { dialect });
      const svc = quire.svc;
      const s = await signup(svc, { tenant: 'Conf', email: 'Conf@Example.test', password: 'password long enough', ip: '127.0.0.1' });
      await assert.rejects(signup(svc, { tenant: 'Again', email: 'conf@example.test', password: 'password long enough', ip: null }), /already exists/);
      const l = await login(svc, { email: 'CONF@example.test', password: 'password long enough', ip: null });
      assert.equal(l.user.id, s.user.id);
      const r = await refresh(svc, { refreshToken: l.refreshToken, ip: null });
      assert.equal(r.user.tenantId, s.user.tenantId);
      const owner = { userId: s.user.id, tenantId: s.user.tenantId, role: 'owner' as const };
      const member = await createUser(svc, owner, null, { email: 'm@example.test', password: 'password long enough', role: 'member' });
      const docs = [];
      for (let i = 0; i < 5; i++) docs.push(await createDocument(svc, owner, null, { title: `D${i}` }));
      const m = { userId: member.id, tenantId: s.user.tenantId, role: 'member' as const };
      assert.equal((await listDocuments(svc, m, null, {})).documents.length, 0);
      await setPermission(svc, owner, null, { id: docs[1]!.id, userId: member.id, level: 'write' });
      await setPermission(svc, owner, null, { id: docs[3]!.id, userId: member.id, level: 'read' });
      const page1 = await listDocuments(svc, m, null, { limit: 1 });
      assert.deepEqual(
        page1.documents.map((d) => [d.title, d.access]),
        [['D3', 'read']],
      );
      const page2 = await listDocuments(svc, m, null, { limit: 1, cursor: page1.nextCursor! });
      assert.deepEqual(
        page2.documents.map((d) => [d.title, d.access]),
        [['D1', 'write']],
      );
      assert.equal(page2.nextCursor, null);
      const all = await listDocuments(svc, owner, null, { limit: 2 });
      assert.equal(all.documents.length, 2);
      assert.ok(all.nextCursor, 'all.nextCursor is set');
    });

    test('readAsTenant: each query’s rows in order, under the tenant’s row-level security; values stay data', async (t) => {
      const { quire, api } = await startServer(t, { dialect });
      const db = quire.store.db;
      const a = await api.signup('A');
      const b = await api.signup('B');
      const tricky = `it's "quoted" \\ back\\slash $1 -- not a comment'; drop table documents; --`;
      await api.createDocument(a, tricky);
      await api.createDocument(a, 'A2');
      await api.createDocument(b, 'B1');
      const [exact, all, none] = await readAsTenant(db, a.user.tenantId, [
        db.selectFrom('documents').select('title').where('title', '=', tricky),
        db.selectFrom('documents').select('title').orderBy('title'),
        db.selectFrom('documents').select('title').where('title', '=', 'B1'),
      ]);
      assert.deepEqual(exact, [{ title: tricky }]);
      assert.deepEqual(all.map((r) => r.title).sort(), ['A2', tricky].sort());
      assert.deepEqual(none, [], "another tenant's rows are invisible");
      // Every value means what it means as a parameter: the same query through withTenant
      // (parameters) and through readAsTenant (literals) gives the same rows.
      const when = new Date('2026-01-02T03:04:05.678Z');
      const values: unknown[] = ['', "'", '\\', "\\'", "E'x'", 'ünïcødé ✓ 🚀', '$1', -1, 0, 42, -0.5, 12n, NaN, true, false, null];
      const select = (q: Pick<Tx, 'selectNoFrom'>) => q.selectNoFrom((eb) => values.map((v, i) => eb.val(v).as(`v${i}`)));
      const [literal] = await readAsTenant(db, a.user.tenantId, [select(db)]);
      const parameter = await withTenant(db, a.user.tenantId, (tx) => select(tx).execute());
      assert.deepEqual(literal, parameter);
      const typed = await readAsTenant(db, a.user.tenantId, [
        db.selectNoFrom((eb) => [
          sql<number>`${-3}::int + ${5}::int`.as('n'),
          sql<boolean>`${true}::boolean`.as('b'),
          sql<Date>`${when}::timestamptz`.as('d'),
          sql<Buffer>`${Buffer.from([1, 2, 255])}::bytea`.as('bytes'),
          eb.val("'; select 1; --").as('s'),
        ]),
      ]);
      const { bytes, ...rest } = typed[0][0]!;
      assert.deepEqual(rest, { n: 2, b: true, d: when, s: "'; select 1; --" });
      assert.deepEqual([...bytes], [1, 2, 255]);
      // Values without a literal form are refused before anything is sent (on PGlite the
      // queries go with parameters).
      for (const bad of ['nul\0byte', { a: 1 }, [1], new Date(NaN)]) {
        if (dialect === 'postgres') await assert.rejects(readAsTenant(db, a.user.tenantId, [db.selectNoFrom((eb) => eb.val(bad).as('v'))]), /sqlLiteral/);
        assert.throws(() => sqlLiteral(bad), /sqlLiteral/);
      }
      assert.deepEqual(await readAsTenant(db, a.user.tenantId, []), []);
    });

    test('the document list and a document decide by the stored role, not the role in the token', async (t) => {
      const { quire } = await startServer(t, { dialect });
      const svc = quire.svc;
      const s = await signup(svc, { tenant: 'Roles', email: 'roles@example.test', password: 'password long enough', ip: null });
      const owner = { userId: s.user.id, tenantId: s.user.tenantId, role: 'owner' as const };
      const user = await createUser(svc, owner, null, { email: 'u@example.test', password: 'password long enough', role: 'member' });
      const d1 = await createDocument(svc, owner, null, { title: 'Shared' });
      const d2 = await createDocument(svc, owner, null, { title: 'Private' });
      await setPermission(svc, owner, null, { id: d1.id, userId: user.id, level: 'read' });
      const titles = async (role: 'member' | 'admin') => (await listDocuments(svc, { userId: user.id, tenantId: s.user.tenantId, role }, null, {})).documents.map((d) => `${d.title}:${d.access}`);
      // The same for one document: what the caller reads it at, or not found.
      const as = (role: 'member' | 'admin') => ({ userId: user.id, tenantId: s.user.tenantId, role });
      const read = async (role: 'member' | 'admin', id: string) =>
        getDocument(svc, as(role), null, { id }).then(
          (d) => `${d.title}:${d.access}`,
          (e: Error) => e.message,
        );
      // Issued as admin, demoted since: only what is shared.
      assert.deepEqual(await titles('admin'), ['Shared:read']);
      assert.equal(await read('admin', d1.id), 'Shared:read');
      assert.match(await read('admin', d2.id), /not found/i);
      await updateUserRole(svc, owner, null, { userId: user.id, role: 'admin' });
      // Issued as member, promoted since: everything, at admin level.
      assert.deepEqual(await titles('member'), ['Private:admin', 'Shared:admin']);
      assert.deepEqual(await titles('admin'), ['Private:admin', 'Shared:admin']);
      assert.equal(await read('member', d2.id), 'Private:admin');
      assert.match(await read('member', '00000000-0000-4000-8000-000000000000'), /not found/i);
      await removeUser(svc, owner, null, { userId: user.id });
      await assert.rejects(titles('admin'), /no longer active/);
      await assert.rejects(titles('member'), /no longer active/);
      assert.match(await read('admin', d2.id), /no longer active/);
    });

    test('migrations roll down and up again', async (t) => {
      const { quire } = await startServer(t, { dialect });
      const schema = uniqueName('m');
      const ctx = { schema, appRole: quire.store.appRole };
      const owner = quire.store.owner;
      await migrateToLatest(owner, ctx);
      const tables = async () => (await sql<{ n: string }>`select count(*) as n from pg_tables where schemaname = ${schema}`.execute(owner)).rows[0]!.n;
      assert.ok(Number(await tables()) >= 6, 'Number(await tables()) >= 6');
      await migrateDownAll(owner, ctx);
      assert.equal(Number(await tables()), 2, 'only kysely’s own bookkeeping tables remain');
      await migrateToLatest(owner, ctx);
      assert.ok(Number(await tables()) >= 6, 'Number(await tables()) >= 6');
      await sql.raw(`drop schema "${schema}" cascade`).execute(owner);
    });
  });
}

for (const dialect of DIALECTS) {
  test(`vacuuming the churned tables when the database does not (${dialect})`, async (t) => {
    const { quire, api } = await startServer(t, { dialect });
    const store = quire.store;
    const setting = dialect === 'pglite' ? null : (await sql<{ autovacuum: string }>`show autovacuum`.execute(store.owner)).rows[0]!.autovacuum;
    const reason = await vacuumReason(store);
    if (dialect === 'pglite') assert.match(reason ?? '', /embedded database has no autovacuum/);
    else if (setting === 'on') assert.equal(reason, null);
    else assert.match(reason ?? '', /autovacuum is off/);

    // Dead rows: a document's log folded into its snapshot.
    const owner = await api.signup('V');
    const doc = await api.createDocument(owner, 'Vacuumed');
    const docs = new DocumentStore(store.db);
    const ydoc = new Y.Doc();
    const updates: Uint8Array[] = [];
    ydoc.on('update', (u: Uint8Array) => updates.push(u));
    for (let i = 0; i < 20; i++) ydoc.getText('t').insert(0, `${i}`);
    await docs.appendBatch(updates.map((data) => ({ tenantId: owner.user.tenantId, documentId: doc.id, data, userId: owner.user.id })));
    assert.equal((await docs.compact(owner.user.tenantId, doc.id))?.folded, 20);
    const count = async () => Number((await sql<{ n: string }>`select pg_stat_get_vacuum_count(to_regclass('document_updates')) as n`.execute(store.owner)).rows[0]!.n);
    const before = await count();
    const tables = await vacuumChurnedTables(store);
    assert.ok(tables.includes('document_updates') && tables.includes('search_documents'), tables.join());
    assert.equal(await count(), before + 1, 'document_updates was vacuumed once');

    // The timer runs only where the database needs it, and stops cleanly.
    const runs: unknown[] = [];
    const timer = await startVacuumTimer(store, 20, (r) => runs.push(r));
    assert.equal(timer.running, reason !== null);
    if (timer.running) {
      await eventually(() => assert.ok(runs.length > 0, 'runs.length > 0'), { message: 'the vacuum timer runs' });
      assert.ok(!('error' in (runs[0] as object)), JSON.stringify(runs));
    }
    await timer.stop();
    const off = await startVacuumTimer(store, 0, (r) => runs.push(r));
    assert.equal(off.running, false);
    assert.equal(off.reason, reason);
  });
}

test('withTenant on server Postgres: rolls back on error, leaves nothing on the pooled connection, and takes only a UUID', async (t) => {
  const { quire, api } = await startServer(t, { dialect: 'postgres' });
  const a = await api.signup('A');
  const doc = await api.createDocument(a, 'Original');
  const db = quire.store.db;
  await assert.rejects(
    withTenant(db, a.user.tenantId, async (tx) => {
      await tx.updateTable('documents').set({ title: 'Changed' }).where('id', '=', doc.id).execute();
      throw new Error('boom');
    }),
    /boom/,
  );
  const title = await withTenant(db, a.user.tenantId, (tx) => tx.selectFrom('documents').select('title').where('id', '=', doc.id).executeTakeFirstOrThrow());
  assert.equal(title.title, 'Original', 'rolled back');
  // The tenant setting is transaction-local: no connection of the pool keeps it.
  await Promise.all(Array.from({ length: 12 }, () => withTenant(db, a.user.tenantId, async (tx) => sql`select pg_sleep(0.01)`.execute(tx))));
  const settings = await Promise.all(Array.from({ length: 12 }, () => sql<{ v: string | null }>`select current_setting('app.tenant_id', true) as v, pg_sleep(0.01)`.execute(db)));
  assert.ok(
    settings.every((r) => !r.rows[0]!.v),
    JSON.stringify(settings.map((r) => r.rows[0]!.v)),
  );
  assert.equal((await sql<{ n: string }>`select count(*) as n from documents`.execute(db)).rows[0]!.n, '0', 'outside withTenant no row is visible');
  await assert.rejects(
    withTenant(db, `${a.user.tenantId}'; drop table documents; --`, async () => 1),
    /not a UUID/,
  );
  // readAsTenant, one message per call, leaves nothing behind either.
  await Promise.all(Array.from({ length: 12 }, () => readAsTenant(db, a.user.tenantId, [db.selectFrom('documents').select(sql<string>`pg_sleep(0.01)::text`.as('s'))])));
  const after = await Promise.all(Array.from({ length: 12 }, () => sql<{ v: string | null }>`select current_setting('app.tenant_id', true) as v, pg_sleep(0.01)`.execute(db)));
  assert.ok(
    after.every((r) => !r.rows[0]!.v),
    JSON.stringify(after.map((r) => r.rows[0]!.v)),
  );
  await assert.rejects(readAsTenant(db, `${a.user.tenantId}'; drop table documents; --`, [db.selectFrom('documents').select('id')]), /not a UUID/);
  // A failing statement fails the whole read.
  await assert.rejects(readAsTenant(db, a.user.tenantId, [db.selectFrom('documents').select('id'), db.selectFrom('documents').select(sql`1 / 0`.as('x'))]), /division by zero/);
});

test('readAsTenant on server Postgres: each statement prepared once per connection and executed by name, with the same rows, tenants and errors', async (t) => {
  // One pooled connection, so every call below meets the statements the earlier ones prepared.
  const { quire, api } = await startServer(t, { dialect: 'postgres', env: { DATABASE_POOL_MAX: '1' } });
  const db = quire.store.db;
  const catalog = db as unknown as Kysely<{ pg_prepared_statements: { name: string; statement: string } }>;
  const preparedNow = async (tenantId: string) => (await readAsTenant(db, tenantId, [catalog.selectFrom('pg_prepared_statements').select(['name', 'statement']).orderBy('name')]))[0];
  const a = await api.signup('A');
  const b = await api.signup('B');
  const tricky = `it's $1 \\ '); deallocate all; --`;
  await api.createDocument(a, tricky);
  await api.createDocument(a, 'A2');
  await api.createDocument(b, 'B1');
  const titles = (tenantId: string, not: string) => readAsTenant(db, tenantId, [db.selectFrom('documents').select('title').where('title', '!=', not).orderBy('title')]);

  // The same statement for two tenants on one connection, past the point where Postgres
  // switches to a generic plan (5 executions): each tenant only ever sees its own rows,
  // and a value is only ever data.
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(
      (await titles(a.user.tenantId, 'none'))[0].map((r) => r.title),
      ['A2', tricky].sort(),
    );
    assert.deepEqual(
      (await titles(b.user.tenantId, 'none'))[0].map((r) => r.title),
      ['B1'],
    );
    assert.deepEqual(
      (await titles(a.user.tenantId, tricky))[0].map((r) => r.title),
      ['A2'],
    );
  }
  const statements = await preparedNow(a.user.tenantId);
  const listing = statements.filter((s) => s.statement.includes('"documents"'));
  assert.equal(listing.length, 1, 'prepared once, executed by name ever after');
  assert.match(listing[0]!.statement, /\$1/, 'values are not part of the prepared statement');
  assert.ok(!statements.some((s) => s.statement.includes('deallocate')), JSON.stringify(statements));

  // A failing message: Postgres keeps a PREPARE that ran before the failure and skips the
  // ones after it. Nothing is lost: the next call starts over and gives the same rows.
  const failing = db
    .selectFrom('documents')
    .select(sql<number>`1 / 0`.as('x'))
    .where('title', '=', 'A2');
  await assert.rejects(readAsTenant(db, a.user.tenantId, [db.selectFrom('users').select('id').where('email', '=', 'nobody'), failing]), /division by zero/);
  assert.deepEqual(
    (await titles(a.user.tenantId, 'none'))[0].map((r) => r.title),
    ['A2', tricky].sort(),
  );
  assert.deepEqual(
    (await titles(b.user.tenantId, 'none'))[0].map((r) => r.title),
    ['B1'],
  );
  const afterFailure = await preparedNow(a.user.tenantId);
  assert.ok(afterFailure.length <= 3, `started over: ${afterFailure.map((s) => s.statement).join(' | ')}`);

  // More distinct statements than a connection prepares: the rest go as plain SQL, same rows.
  for (let i = 0; i < PREPARED_PER_CONNECTION + 10; i++) {
    const [rows] = await readAsTenant(db, a.user.tenantId, [
      db
        .selectFrom('documents')
        .select(sql<number>`${sql.lit(i)}`.as('n'))
        .where('title', '=', 'A2'),
    ]);
    assert.deepEqual(rows, [{ n: i }]);
  }
  assert.ok((await preparedNow(a.user.tenantId)).length <= PREPARED_PER_CONNECTION, '(await preparedNow(a.user.tenantId)).length <= PREPARED_PER_CONNECTION');
  assert.deepEqual(
    (await titles(b.user.tenantId, 'none'))[0].map((r) => r.title),
    ['B1'],
  );

  // The server loses the statements, as behind a pooler in transaction mode: every read
  // still answers (sent again unprepared), and after a few misses the pool stops preparing.
  const warnings: string[] = [];
  const onWarning = (w: Error) => void (w.name === 'QuireDatabaseWarning' && warnings.push(w.message));
  process.on('warning', onWarning);
  t.after(() => void process.off('warning', onWarning));
  for (let i = 0; i < PREPARE_MISSES_BEFORE_OFF; i++) {
    await sql`deallocate all`.execute(db);
    assert.deepEqual(
      (await titles(a.user.tenantId, 'none'))[0].map((r) => r.title),
      ['A2', tricky].sort(),
      'answered after a miss',
    );
    assert.deepEqual(
      (await titles(b.user.tenantId, 'none'))[0].map((r) => r.title),
      ['B1'],
      'prepared again',
    );
  }
  await sql`deallocate all`.execute(db);
  for (let i = 0; i < 3; i++)
    assert.deepEqual(
      (await titles(a.user.tenantId, 'none'))[0].map((r) => r.title),
      ['A2', tricky].sort(),
    );
  assert.deepEqual(await preparedNow(a.user.tenantId), [], 'no longer prepares');
  await new Promise((r) => setImmediate(r));
  assert.equal(warnings.length, 1, 'one warning for the operator');
});

test('group commits of a few rows on server Postgres: prepared once per row count, and a commit whose statement the server lost lands exactly once', async (t) => {
  const { quire, api } = await startServer(t, { dialect: 'postgres', env: { DATABASE_POOL_MAX: '1' } });
  const db = quire.store.db;
  const store = new DocumentStore(db);
  const a = await api.signup('A');
  const b = await api.signup('B');
  const da = await api.createDocument(a, 'A1');
  const dbDoc = await api.createDocument(b, 'B1');
  const prepared = async () =>
    (await sql<{ statement: string; types: string }>`select statement, parameter_types::text as types from pg_prepared_statements order by name`.execute(db)).rows.filter((r) =>
      r.statement.includes('"document_updates"'),
    );
  const stored = async () =>
    (await sql<{ hex: string }>`select encode(data, 'hex') as hex from document_updates where document_id in (${da.id}, ${dbDoc.id}) order by seq`.execute(quire.store.owner)).rows.map((r) => r.hex);
  const item = (s: typeof a, documentId: string, bytes: number[]) => ({ tenantId: s.user.tenantId, documentId, data: Uint8Array.from(bytes), userId: s.user.id });
  const before = await stored();
  // Bytes that mean something in SQL text go through EXECUTE's literals unchanged.
  await store.appendBatch([item(a, da.id, [39, 92, 0, 255])]);
  await store.appendBatch([item(a, da.id, [1])]);
  await store.appendBatch([item(b, dbDoc.id, [2]), item(a, da.id, [3])]);
  await store.appendBatch([item(a, da.id, [4]), item(a, da.id, [5])]);
  const statements = await prepared();
  assert.equal(statements.length, 2, `one statement per row count: ${statements.map((s) => s.statement).join(' | ')}`);
  // The values are parameters of the statement (the catalog shows the message that
  // prepared it), typed as the columns they go to.
  assert.deepEqual(
    statements.map((s) => s.types),
    ['{uuid,uuid,bytea,uuid}', '{uuid,uuid,bytea,uuid,uuid,uuid,bytea,uuid}'],
  );
  // The server loses the statements (a pooler in transaction mode): the commit is sent
  // again unprepared, and its rows are stored once, not twice or never.
  await sql`deallocate all`.execute(db);
  await store.appendBatch([item(a, da.id, [6])]);
  // A commit the database refuses leaves nothing behind, and the next one prepares afresh.
  await assert.rejects(store.appendBatch([item(a, da.id, [7]), item(a, crypto.randomUUID(), [8])]), /foreign key/);
  await store.appendBatch([item(a, da.id, [9])]);
  assert.deepEqual((await stored()).slice(before.length), ['275c00ff', '01', '02', '03', '04', '05', '06', '09']);
  // Another tenant's commit on the same connection and statement stays that tenant's.
  const visible = await withTenant(db, b.user.tenantId, (tx) => tx.selectFrom('document_updates').select('document_id').execute());
  assert.ok(visible.length > 0 && visible.every((r) => r.document_id === dbDoc.id), 'visible.length > 0 && visible.every((r) => r.document_id === dbDoc.id)');
});
