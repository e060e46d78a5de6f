/**
 * Peer: stock @hocuspocus/server with @hocuspocus/extension-database on the same Postgres
 * (the usual durable setup: debounced stores, not durable before ack).
 */
import { Database } from '@hocuspocus/extension-database';
import { Server } from '@hocuspocus/server';
import pg from 'pg';

const port = Number(process.argv[2] ?? 0);
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const table = process.env.BENCH_HP_TABLE ?? `bench_hp_${process.pid}`;
const pool = new pg.Pool({ connectionString: url, max: 4 });
await pool.query(`create table if not exists ${table} (name text primary key, data bytea not null)`);
const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: false,
  extensions: [
    new Database({
      fetch: async ({ documentName }) => (await pool.query(`select data from ${table} where name = $1`, [documentName])).rows[0]?.data ?? null,
      store: async ({ documentName, state }) => {
        await pool.query(`insert into ${table} (name, data) values ($1, $2) on conflict (name) do update set data = excluded.data`, [documentName, state]);
      },
    }),
  ],
});
await server.listen();
process.stdout.write(`READY ${server.address.port}\n`);
process.on('SIGTERM', async () => {
  await server.destroy();
  if (process.env.BENCH_HP_KEEP !== '1') await pool.query(`drop table if exists ${table}`);
  await pool.end();
  process.exit(0);
});
