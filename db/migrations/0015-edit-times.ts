/**
 * Last edited: `documents.updated_at` follows content edits, not only renames.
 *
 * Edits are not written to `documents` on the write path (an update's commit stays one
 * INSERT into the log). The worker advances `updated_at` afterwards from the outbox,
 * coalesced: `quire_advance_edit_times` reads the next rows of one source after a cursor
 * (finished transactions only, like the relay) and sets each document's `updated_at` to
 * its newest edit's time, never backwards, in one UPDATE — so a document gets one write per
 * run however many updates it received.
 *
 * - `document_events.changed_at`: on the `document.changed` a compaction writes, the time
 *   of the newest log row it folded. Compaction may fold rows before the worker has read
 *   them; the event then carries their time. Other `document.changed` events (renames,
 *   relabelling) leave it null and are not edits.
 * - The function is `SECURITY DEFINER` (the worker has no tenant and row-level security
 *   would show it nothing) and takes times only from stored rows: the app role can make it
 *   re-read the log, never set a time of its choosing. Waiting for a row lock ends after
 *   250 ms (the run is retried), so a document row held by a command is never a deadlock
 *   the command could lose.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

const FN = 'quire_advance_edit_times(text, xid8, bigint, xid8, int)';

export function editTimes(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_events add column changed_at timestamptz`.execute(db);
      // One source per call ('changes': the log; 'events': compactions' document.changed),
      // rows after (p_txid, p_seq) of transactions below p_to, at most p_limit of them.
      // Answers the position of the last row read (null when none), how many were read, and
      // how many documents moved.
      await sql`
        create or replace function quire_advance_edit_times(p_source text, p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
          returns table (to_txid xid8, to_seq bigint, rows_read int, rows_written int)
          language plpgsql volatile security definer
          set search_path = ${schema}, pg_temp
          set lock_timeout = '250ms'
          as $$
          begin
            if p_source = 'changes' then
              return query
                with batch as materialized (
                  select u.txid, u.seq, u.document_id, u.created_at as at from document_updates u
                   where (u.txid, u.seq) > (p_txid, p_seq) and u.txid < p_to
                   order by u.txid, u.seq limit p_limit),
                newest as (select b.document_id, max(b.at) as at from batch b group by b.document_id),
                moved as (
                  update documents d set updated_at = n.at from newest n
                   where d.id = n.document_id and d.updated_at < n.at and d.deleted_at is null
                   returning d.id),
                last as (select b.txid, b.seq from batch b order by b.txid desc, b.seq desc limit 1)
                select (select l.txid from last l), (select l.seq from last l), (select count(*)::int from batch), (select count(*)::int from moved);
            elsif p_source = 'events' then
              return query
                with batch as materialized (
                  select e.txid, e.seq, e.document_id, e.changed_at as at from document_events e
                   where (e.txid, e.seq) > (p_txid, p_seq) and e.txid < p_to
                     and e.type = 'document.changed' and e.changed_at is not null
                   order by e.txid, e.seq limit p_limit),
                newest as (select b.document_id, max(b.at) as at from batch b group by b.document_id),
                moved as (
                  update documents d set updated_at = n.at from newest n
                   where d.id = n.document_id and d.updated_at < n.at and d.deleted_at is null
                   returning d.id),
                last as (select b.txid, b.seq from batch b order by b.txid desc, b.seq desc limit 1)
                select (select l.txid from last l), (select l.seq from last l), (select count(*)::int from batch), (select count(*)::int from moved);
            else
              raise exception 'unknown source %', p_source;
            end if;
          end $$`.execute(db);
      await sql.raw(`revoke all on function ${FN} from public`).execute(db);
      await sql`grant execute on function ${sql.raw(FN)} to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql.raw(`drop function if exists ${FN}`).execute(db);
      await sql`alter table document_events drop column if exists changed_at`.execute(db);
    },
  };
}
