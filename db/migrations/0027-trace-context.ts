/**
 * Trace context across the outbox (lib/tracing.ts).
 *
 * - `document_updates.trace_context`: the W3C `traceparent` of the span that received the
 *   update (a socket update, or the request behind a server-side write), written only while
 *   tracing is on; null otherwise and on every row written before.
 * - `document_events.trace_context`: on the `document.changed` a compaction writes, the
 *   newest folded row's context (a row folded before the relay read it keeps its trace).
 * - `quire_feed_changes` and `quire_feed_events` return it, so the relay continues that
 *   trace when it publishes (the context then travels in the message's `traceparent`
 *   header to the workers).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { ident } from './context.js';

const FN = 'quire_feed_changes(xid8, bigint, xid8, int)';
const EVENTS_FN = 'quire_feed_events(xid8, bigint, xid8, int)';

export function traceContext(ctx: MigrationContext) {
  const schema = sql.raw(ident(ctx.schema));
  const app = sql.raw(ident(ctx.appRole));

  async function feedChangesFunction(db: Kysely<unknown>, withTrace: boolean): Promise<void> {
    await sql.raw(`drop function if exists ${FN}`).execute(db);
    await sql`
      create function quire_feed_changes(p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
        returns table (txid xid8, seq bigint, tenant_id uuid, document_id uuid${withTrace ? sql`, trace_context text` : sql``})
        language sql stable security definer
        set search_path = ${schema}, pg_temp
        as $$ select u.txid, u.seq, u.tenant_id, u.document_id${withTrace ? sql`, u.trace_context` : sql``} from document_updates u
              where (u.txid, u.seq) > (p_txid, p_seq) and u.txid < p_to
              order by u.txid, u.seq limit p_limit $$`.execute(db);
    await sql.raw(`revoke all on function ${FN} from public`).execute(db);
    await sql`grant execute on function ${sql.raw(FN)} to ${app}`.execute(db);
  }

  async function feedEventsFunction(db: Kysely<unknown>, withTrace: boolean): Promise<void> {
    await sql.raw(`drop function if exists ${EVENTS_FN}`).execute(db);
    await sql`
      create function quire_feed_events(p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
        returns table (txid xid8, seq bigint, tenant_id uuid, document_id uuid, type text, subject_id uuid${withTrace ? sql`, trace_context text` : sql``})
        language sql stable security definer
        set search_path = ${schema}, pg_temp
        as $$ select e.txid, e.seq, e.tenant_id, e.document_id, e.type, e.subject_id${withTrace ? sql`, e.trace_context` : sql``} from document_events e
              where (e.txid, e.seq) > (p_txid, p_seq) and e.txid < p_to
              order by e.txid, e.seq limit p_limit $$`.execute(db);
    await sql.raw(`revoke all on function ${EVENTS_FN} from public`).execute(db);
    await sql`grant execute on function ${sql.raw(EVENTS_FN)} to ${app}`.execute(db);
  }

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_updates add column trace_context text`.execute(db);
      await sql`alter table document_events add column trace_context text`.execute(db);
      await feedChangesFunction(db, true);
      await feedEventsFunction(db, true);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await feedEventsFunction(db, false);
      await feedChangesFunction(db, false);
      await sql`alter table document_events drop column if exists trace_context`.execute(db);
      await sql`alter table document_updates drop column if exists trace_context`.execute(db);
    },
  };
}
