/**
 * Outgoing webhooks (docs/WEBHOOKS.md; the workers are in ml-workers/webhooks/).
 *
 * - `webhook_endpoints`: an HTTPS URL a workspace's owners and admins registered, the
 *   events it wants, and its signing secrets sealed with the secrets box (additional data
 *   `webhook-secret:<tenant>:<endpoint>`): the current one, and during a rotation the
 *   previous one until `previous_secret_expires_at` (both sign meanwhile). Its health:
 *   `consecutive_failures` and `failing_since` (the first failed attempt since the last
 *   success); `disabled_reason = 'failing'` when the worker turned it off after failing
 *   for `FAILING_DISABLE_DAYS` (ml-workers/webhooks/deliverer.ts).
 * - `webhook_deliveries`: one row per event and endpoint, unique on `(endpoint_id,
 *   event_id)` — the event id is the idempotency id receivers see (`webhook-id`), so an
 *   event the feed hands over twice is enqueued once. `payload` is the exact body sent on
 *   every attempt (and on replay). A worker claims due rows with a lease
 *   (`lease_until`, `claim_token`): only the claim that holds the token records the
 *   outcome, and a claim whose worker died is taken again once the lease ran out.
 * - `quire_webhook_claim(lease_ms, limit, per_tenant)`: claims due deliveries across
 *   tenants (security definer; one claimer at a time per schema), at most `per_tenant` in
 *   flight per workspace and half of that per endpoint, counting leases held by every
 *   worker; tenants, and a tenant's endpoints, taken in turn.
 * - `quire_webhook_backlog()`, `quire_webhook_prune(before, limit)`: the pending count
 *   (a metric) and removal of finished rows older than the log's retention.
 * - The change feed gains `document.classified` (the labels shown on a document changed).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

const OLD_TYPES = ['document.created', 'document.changed', 'document.deleted', 'document.permissions', 'document.commented', 'document.shared', 'document.review', 'document.attachment'];
const NEW_TYPES = [...OLD_TYPES, 'document.classified'];
const typeCheck = (types: string[]) => sql.raw(`check (type in (${types.map((t) => `'${t}'`).join(', ')}))`);
const FNS = ['quire_webhook_claim(int, int, int)', 'quire_webhook_backlog()', 'quire_webhook_prune(timestamptz, int)'];

export function webhooks(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table webhook_endpoints (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          url text not null check (char_length(url) between 8 and 2048),
          description text not null default '' check (char_length(description) <= 500),
          events text[] not null check (cardinality(events) between 1 and 16),
          enabled boolean not null default true,
          disabled_reason text check (disabled_reason in ('failing')),
          secret_sealed text not null,
          previous_secret_sealed text,
          previous_secret_expires_at timestamptz,
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          consecutive_failures int not null default 0,
          failing_since timestamptz,
          last_success_at timestamptz,
          last_failure_at timestamptz
        )`.execute(db);
      await sql`create index webhook_endpoints_tenant_idx on webhook_endpoints (tenant_id, created_at)`.execute(db);
      await sql`
        create table webhook_deliveries (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          endpoint_id uuid not null references webhook_endpoints(id) on delete cascade,
          event_id text not null check (char_length(event_id) between 1 and 200),
          event_type text not null,
          payload text not null,
          status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
          attempts int not null default 0,
          next_attempt_at timestamptz not null default now(),
          lease_until timestamptz,
          claim_token uuid,
          last_status int,
          last_error text,
          last_duration_ms int,
          last_attempt_at timestamptz,
          created_at timestamptz not null default now(),
          delivered_at timestamptz,
          unique (endpoint_id, event_id)
        )`.execute(db);
      await sql`create index webhook_deliveries_due_idx on webhook_deliveries (tenant_id, next_attempt_at) where status = 'pending'`.execute(db);
      await sql`create index webhook_deliveries_leased_idx on webhook_deliveries (tenant_id) where status = 'pending' and lease_until is not null`.execute(db);
      await sql`create index webhook_deliveries_endpoint_due_idx on webhook_deliveries (endpoint_id, next_attempt_at) where status = 'pending'`.execute(db);
      await sql`create index webhook_deliveries_endpoint_leased_idx on webhook_deliveries (endpoint_id) where status = 'pending' and lease_until is not null`.execute(db);
      await sql`create index webhook_deliveries_log_idx on webhook_deliveries (endpoint_id, created_at desc, id desc)`.execute(db);
      await sql`create index webhook_deliveries_age_idx on webhook_deliveries (created_at) where status <> 'pending'`.execute(db);
      await enableTenantRls(db, 'webhook_endpoints');
      await enableTenantRls(db, 'webhook_deliveries');
      await grantTables(db, ctx, ['webhook_endpoints', 'webhook_deliveries']);
      await sql`
        create function quire_webhook_claim(p_lease_ms int, p_limit int, p_per_tenant int)
          returns table (id uuid, tenant_id uuid, endpoint_id uuid, event_id text, event_type text, payload text, attempts int,
                         created_at timestamptz, claim_token uuid, url text, secret_sealed text, previous_secret_sealed text,
                         previous_secret_expires_at timestamptz)
          language plpgsql volatile security definer
          set search_path = ${schema}, pg_temp
          as $$
          #variable_conflict use_column
          begin
            -- One claimer at a time: the per-workspace cap counts every worker's leases exactly.
            perform pg_advisory_xact_lock(hashtextextended('quire:webhook-claim:' || current_schema(), 0));
            return query
            -- Workspaces with pending rows, one index probe each (a loose scan: the backlog of
            -- deliveries waiting out their retries is never read), then their due rows.
            with recursive pending(tenant_id) as (
              (select d.tenant_id from webhook_deliveries d where d.status = 'pending' order by d.tenant_id limit 1)
              union all
              select (select d.tenant_id from webhook_deliveries d
                       where d.status = 'pending' and d.tenant_id > p.tenant_id order by d.tenant_id limit 1)
                from pending p where p.tenant_id is not null
            ), due as (
              select p.tenant_id from pending p
               where p.tenant_id is not null
                 and exists (select 1 from webhook_deliveries d
                              where d.tenant_id = p.tenant_id and d.status = 'pending' and d.next_attempt_at <= clock_timestamp())
            ), room as (
              select t.tenant_id, p_per_tenant - (
                       select count(*) from webhook_deliveries b
                        where b.tenant_id = t.tenant_id and b.status = 'pending' and b.lease_until > clock_timestamp()) as n
                from due t
            ), endpoints as (
              -- One endpoint holds at most half its workspace's slots: a hanging endpoint
              -- leaves room for the workspace's other endpoints.
              select e.id as endpoint_id, e.tenant_id, r.n as tenant_room,
                     greatest(1, (p_per_tenant + 1) / 2) - (
                       select count(*) from webhook_deliveries b
                        where b.endpoint_id = e.id and b.status = 'pending' and b.lease_until > clock_timestamp()) as endpoint_room
                from room r
                join webhook_endpoints e on e.tenant_id = r.tenant_id and e.enabled
               where r.n > 0
            ), locked as (
              select x.endpoint_id, x.tenant_id, x.tenant_room, x.endpoint_room, c.id, c.next_attempt_at
                from endpoints x
               cross join lateral (
                 select d.id, d.next_attempt_at from webhook_deliveries d
                  where d.endpoint_id = x.endpoint_id and d.status = 'pending' and d.next_attempt_at <= clock_timestamp()
                    and (d.lease_until is null or d.lease_until <= clock_timestamp())
                  order by d.next_attempt_at, d.id
                  limit p_per_tenant
                  for update of d skip locked) c
               where x.endpoint_room > 0
            ), by_endpoint as (
              select l.*, row_number() over (partition by l.endpoint_id order by l.next_attempt_at, l.id) as erank from locked l
            ), by_tenant as (
              -- The workspace's endpoints in turn, each within its own room.
              select b.*, row_number() over (partition by b.tenant_id order by b.erank, b.next_attempt_at, b.id) as trank
                from by_endpoint b where b.erank <= b.endpoint_room
            ), chosen as (
              select t.id from by_tenant t where t.trank <= t.tenant_room order by t.trank, t.next_attempt_at limit p_limit
            )
            update webhook_deliveries w
               set lease_until = clock_timestamp() + make_interval(secs => p_lease_ms / 1000.0),
                   claim_token = gen_random_uuid(),
                   attempts = w.attempts + 1
              from chosen, webhook_endpoints e
             where w.id = chosen.id and e.id = w.endpoint_id
            returning w.id, w.tenant_id, w.endpoint_id, w.event_id, w.event_type, w.payload, w.attempts, w.created_at, w.claim_token,
                      e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at;
          end $$`.execute(db);
      await sql`
        create function quire_webhook_backlog() returns bigint
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select count(*) from webhook_deliveries where status = 'pending' $$`.execute(db);
      await sql`
        create function quire_webhook_prune(p_before timestamptz, p_limit int) returns int
          language sql volatile security definer
          set search_path = ${schema}, pg_temp
          as $$ with gone as (
                  delete from webhook_deliveries where id in (
                    select id from webhook_deliveries where status <> 'pending' and created_at < p_before order by created_at limit p_limit)
                  returning 1)
                select count(*)::int from gone $$`.execute(db);
      for (const fn of FNS) {
        await sql`revoke all on function ${sql.raw(fn)} from public`.execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(NEW_TYPES)}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const fn of FNS) await sql`drop function if exists ${sql.raw(fn)}`.execute(db);
      await sql`delete from document_events where type = 'document.classified'`.execute(db);
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(OLD_TYPES)}`.execute(db);
      await sql`drop table if exists webhook_deliveries`.execute(db);
      await sql`drop table if exists webhook_endpoints`.execute(db);
    },
  };
}
