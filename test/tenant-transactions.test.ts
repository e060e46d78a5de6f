/**
 * Conformance suite of the tenant-transaction seam (`db/tenant-transactions.ts`): the same
 * assertions against every implementation — the standard Kysely transactions on embedded
 * PGlite and on server Postgres, and the one-trip fast path on server Postgres (what
 * `openStore` picks there). A new implementation joins the list below.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { OneTripTransactions } from '../db/one-trip.js';
import type { Database } from '../db/schema.js';
import { withTenant, type AppDb } from '../db/store.js';
import { StandardTransactions, type TenantTransactions } from '../db/tenant-transactions.js';
import { startServer, type TestServer } from './helpers/server.js';

interface Implementation {
  name: string;
  dialect: 'postgres' | 'pglite';
  /** The implementation under test for the server's application database. */
  make: (db: AppDb) => TenantTransactions;
  /** Whether it is what openStore gives this dialect. */
  isDefault: boolean;
}

const IMPLEMENTATIONS: Implementation[] = [
  { name: 'standard on pglite', dialect: 'pglite', make: (db) => db.tenants, isDefault: true },
  { name: 'standard on postgres', dialect: 'postgres', make: (db) => new StandardTransactions(db), isDefault: false },
  { name: 'one-trip on postgres', dialect: 'postgres', make: (db) => db.tenants, isDefault: true },
];

async function twoTenants(t: TestContext, dialect: Implementation['dialect']) {
  const server: TestServer = await startServer(t, { dialect });
  const a = await server.api.signup('A');
  const b = await server.api.signup('B');
  const docA = await server.api.createDocument(a, 'Alpha');
  const docB = await server.api.createDocument(b, 'Beta');
  return { db: server.quire.store.db, a: a.user.tenantId, b: b.user.tenantId, docA: docA.id, docB: docB.id };
}

const titles = (tx: Kysely<Database>) => tx.selectFrom('documents').select('title').orderBy('title').execute();

for (const impl of IMPLEMENTATIONS) {
  describe(`tenant transactions: ${impl.name}`, () => {
    test('openStore picks the expected implementation', async (t) => {
      const { db } = await twoTenants(t, impl.dialect);
      const expected = impl.dialect === 'postgres' ? OneTripTransactions : StandardTransactions;
      assert.ok(db.tenants instanceof expected, 'db.tenants instanceof expected');
      assert.equal(impl.make(db) === db.tenants, impl.isDefault);
    });

    test('withTenant: a tenant sees and changes only its own rows; a failure rolls everything back', async (t) => {
      const { db, a, b, docB } = await twoTenants(t, impl.dialect);
      const tx = impl.make(db);
      assert.deepEqual(await tx.withTenant(a, titles), [{ title: 'Alpha' }]);
      assert.deepEqual(await tx.withTenant(b, titles), [{ title: 'Beta' }]);
      const touched = await tx.withTenant(a, (t2) => t2.updateTable('documents').set({ title: 'Stolen' }).where('id', '=', docB).executeTakeFirst());
      assert.equal(Number(touched.numUpdatedRows), 0, "another tenant's row is not writable");
      await assert.rejects(
        tx.withTenant(b, async (t2) => {
          await t2.updateTable('documents').set({ title: 'Changed' }).where('id', '=', docB).execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await tx.withTenant(b, titles), [{ title: 'Beta' }], 'rolled back');
      // The setting is transaction-local: nothing is visible outside a tenant transaction.
      assert.equal((await sql<{ n: string }>`select count(*)::text as n from documents`.execute(db)).rows[0]!.n, '0');
    });

    test('withTenant: the isolation level asked for, and only a UUID as tenant id', async (t) => {
      const { db, a } = await twoTenants(t, impl.dialect);
      const tx = impl.make(db);
      const level = await tx.withTenant(a, async (t2) => (await sql<{ l: string }>`select current_setting('transaction_isolation') as l`.execute(t2)).rows[0]!.l, 'serializable');
      assert.equal(level, 'serializable');
      await assert.rejects(
        tx.withTenant(`${a}'; drop table documents; --`, async () => 1),
        /not a UUID/,
      );
      await assert.rejects(tx.inOneTrip([{ tenantId: 'x', queries: [db.selectFrom('documents').select('id')] }]), /not a UUID/);
    });

    test('inOneTrip: groups of several tenants, rows in order, each under its own tenant; all or nothing', async (t) => {
      const { db, a, b, docA } = await twoTenants(t, impl.dialect);
      const tx = impl.make(db);
      assert.deepEqual(await tx.inOneTrip([]), []);
      for (const prepare of [false, true, true]) {
        const rows = await tx.inOneTrip(
          [
            { tenantId: a, queries: [db.selectFrom('documents').select('title'), db.selectNoFrom(sql<number>`${41}::int + 1`.as('n'))] },
            { tenantId: b, queries: [db.selectFrom('documents').select('title')] },
          ],
          { prepare },
        );
        assert.deepEqual(rows, [[{ title: 'Alpha' }], [{ n: 42 }], [{ title: 'Beta' }]], `prepare: ${prepare}`);
      }
      // A failing statement in the second group undoes the first group's write.
      await assert.rejects(
        tx.inOneTrip([
          { tenantId: a, queries: [db.updateTable('documents').set({ title: 'Half' }).where('id', '=', docA)] },
          { tenantId: b, queries: [db.selectNoFrom(sql`1 / 0`.as('x'))] },
        ]),
        /division by zero/,
      );
      assert.deepEqual(await tx.withTenant(a, titles), [{ title: 'Alpha' }]);
    });
  });
}

test('only the database openStore made reaches withTenant: a Kysely of its own does not type-check', () => {
  const plain = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ max: 1 }) }) });
  // @ts-expect-error a Kysely not made by openStore has no tenant transactions
  const refused = () => withTenant(plain, '00000000-0000-0000-0000-000000000000', async () => 1);
  assert.equal(typeof refused, 'function');
  void plain.destroy();
});
