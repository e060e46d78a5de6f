/**
 * A named position in the log or outbox (`feed_cursors`), kept by a reader that walks it in
 * commit order: the relay, the last-edited worker. Created at the start on first use.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export type FeedCursor = { txid: string; seq: string };

/** The cursor `name`, created at the start if new (call inside the reader's transaction). */
export async function feedCursor(tx: Kysely<Database>, name: string): Promise<FeedCursor> {
  await sql`insert into feed_cursors (name, txid, seq) values (${name}, '0'::xid8, 0) on conflict (name) do nothing`.execute(tx);
  const r = await sql<FeedCursor>`select txid::text as txid, seq::text as seq from feed_cursors where name = ${name}`.execute(tx);
  return r.rows[0]!;
}
