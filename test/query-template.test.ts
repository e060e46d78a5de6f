/**
 * Query templates (db/template.ts): built and compiled once, bound to new values on every
 * use — the same rows as the query built afresh, on both dialects and every path a bound
 * query takes (executed directly, prepared in one trip, or written out as literals).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { inOneTrip, readAsTenant, withTenant, type Tx } from '../db/store.js';
import { queryTemplate } from '../db/template.js';
import { DIALECTS, startServer } from './helpers/server.js';

const titled = queryTemplate((db, p: { title: string; after: string; rows: number }) =>
  db
    .selectFrom('documents')
    .select(['title', sql<string>`${'constant'}`.as('c')])
    .where('title', '!=', p.title)
    .where(sql<boolean>`title > ${p.after}`)
    .orderBy('title')
    .limit(p.rows),
);

for (const dialect of DIALECTS) {
  test(`a query template binds its values on every use and gives the rows the built query gives (${dialect})`, async (t) => {
    const { quire, api } = await startServer(t, { dialect });
    const db = quire.store.db;
    const a = await api.signup('A');
    const b = await api.signup('B');
    const tricky = `it's $1 \\ '); drop table documents; --`;
    for (const title of ['A1', 'A2', 'A3', tricky]) await api.createDocument(a, title);
    await api.createDocument(b, 'B1');
    const built = (tx: Tx, title: string, after: string, rows: number) =>
      tx
        .selectFrom('documents')
        .select(['title', sql<string>`${'constant'}`.as('c')])
        .where('title', '!=', title)
        .where(sql<boolean>`title > ${after}`)
        .orderBy('title')
        .limit(rows)
        .execute();
    const cases: [string, string, number][] = [
      ['A2', '', 10],
      ['none', 'A1', 2],
      [tricky, '', 10],
      ['A1', tricky, 10],
    ];
    for (const [title, after, rows] of cases) {
      const expected = await withTenant(db, a.user.tenantId, (tx) => built(tx, title, after, rows));
      assert.ok(expected.length > 0 || after === tricky, 'expected.length > 0 || after === tricky');
      // Executed directly, in a transaction.
      assert.deepEqual(await withTenant(db, a.user.tenantId, (tx) => titled({ title, after, rows }).execute(tx)), expected);
      // In one trip (prepared statements on server Postgres), twice: prepared, then reused.
      for (let i = 0; i < 2; i++) assert.deepEqual((await readAsTenant(db, a.user.tenantId, [titled({ title, after, rows })]))[0], expected);
      // In one trip with the values written out as literals.
      assert.deepEqual((await inOneTrip(db, [{ tenantId: a.user.tenantId, queries: [titled({ title, after, rows })] }]))[0], expected);
    }
    // Bound twice, each keeps its own values; another tenant's rows stay invisible.
    const first = titled({ title: 'A1', after: '', rows: 10 });
    const second = titled({ title: 'A2', after: '', rows: 1 });
    const [r1, r2] = await readAsTenant(db, a.user.tenantId, [first, second]);
    assert.deepEqual(
      r1.map((r) => r.title),
      ['A2', 'A3', tricky].sort(),
    );
    assert.deepEqual(
      r2.map((r) => r.title),
      ['A1'],
    );
    assert.deepEqual((await readAsTenant(db, b.user.tenantId, [first]))[0], [{ title: 'B1', c: 'constant' }]);
    // A value left out is an error, not a null.
    assert.throws(() => titled({ title: 'A1', after: '' } as never), /no value for rows/);
  });
}
