/**
 * Floor for the REST scenario: the least a server can do to answer the same two reads from
 * the same Postgres rows. uWebSockets.js and node-postgres as Quire uses them, one named
 * prepared statement per request (extended protocol: parsed and planned once per pooled
 * connection) whose timestamps Postgres already formats as ISO 8601 text, as Quire's list
 * does, and the rows serialized as JSON. No authentication, no tenant, no permission
 * check, no validation, no logging, no metrics: what is left is the machine's cost of an
 * HTTP request plus a database round trip, which no Postgres-backed endpoint avoids.
 *
 * Reads one tenant's rows (`BENCH_FLOOR_TENANT`) of a Quire schema (`BENCH_FLOOR_SCHEMA`)
 * as the database owner, by the same indexes Quire's queries use:
 *   GET /documents/:id  one document by id
 *   GET /documents      the tenant's 50 newest documents, with the next page's cursor
 */
import uWS from '@trufflesuite/uws-js-unofficial';
import pg from 'pg';

const port = Number(process.argv[2] ?? 0);
const url = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = process.env.BENCH_FLOOR_SCHEMA;
const tenant = process.env.BENCH_FLOOR_TENANT;
if (!schema || !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('BENCH_FLOOR_SCHEMA: a schema name');
if (!tenant) throw new Error('BENCH_FLOOR_TENANT: a tenant id');
const pool = new pg.Pool({ connectionString: url, max: 10 });

const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ${column}`;
const COLUMNS = `id, title, created_by, ${iso('created_at')}, ${iso('updated_at')}`;
const byId = `select ${COLUMNS} from "${schema}".documents where tenant_id = $1 and id = $2 and deleted_at is null`;
const newest = `select ${COLUMNS}, documents.created_at::text as ts from "${schema}".documents where tenant_id = $1 and deleted_at is null order by documents.created_at desc, id desc limit 51`;

interface Row {
  id: string;
  title: string;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  ts?: string;
}
const view = (r: Row) => ({ id: r.id, title: r.title, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at });

function answer(res: uWS.HttpResponse, work: () => Promise<[string, unknown]>): void {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  work().then(
    ([status, body]) => {
      if (!aborted) res.cork(() => res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
    },
    (e: Error) => {
      if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(e.message));
    },
  );
}

const app = uWS.App();
app.get('/documents/:id', (res, req) => {
  const id = req.getParameter(0);
  answer(res, async () => {
    const row = (await pool.query<Row>({ name: 'by_id', text: byId, values: [tenant, id] })).rows[0];
    return row ? ['200 OK', view(row)] : ['404 Not Found', { error: 'not found' }];
  });
});
app.get('/documents', (res) => {
  answer(res, async () => {
    const rows = (await pool.query<Row>({ name: 'newest', text: newest, values: [tenant] })).rows;
    const page = rows.slice(0, 50);
    const last = page[page.length - 1];
    const nextCursor = rows.length > 50 && last ? Buffer.from(JSON.stringify([last.ts, last.id])).toString('base64url') : null;
    return ['200 OK', { documents: page.map(view), nextCursor }];
  });
});
app.listen('127.0.0.1', port, (s) => {
  if (!s) throw new Error('pg-floor: cannot listen');
  process.stdout.write(`READY ${uWS.us_socket_local_port(s)}\n`);
});
process.on('SIGTERM', async () => {
  await pool.end();
  process.exit(0);
});
