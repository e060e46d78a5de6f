/**
 * Notifications and review workflows.
 *
 * The change feed carries what people are told about: `document_events` gains three types
 * with a `subject_id` (what the event is about, read by the notifier at handling time):
 * `document.commented` (a comment id), `document.shared` (the user the document was shared
 * with) and `document.review` (a `review_events` row). `quire_feed_events` returns the
 * subject too.
 *
 * - `notifications`: one per recipient, kind and feed event (`source` = `ev:<seq>`), so a
 *   redelivered event never notifies twice. `data` holds ids and short labels, never
 *   document content beyond a comment's excerpt the recipient may read.
 * - `notification_deliveries`: the email and Web Push side of a notification, one per
 *   channel (unique), a small outbox of its own: `pending` until its `due_at` (the digest
 *   window), `sending` while a sender holds it, then `sent` / `failed` / `skipped`. A
 *   delivery found `sending` after its sender died is never sent again (`unknown`), so no
 *   email goes out twice.
 * - Preferences: `users.notification_preferences` and `tenants.notification_defaults`,
 *   both `{kind: {channel: boolean}}` overrides.
 * - `push_subscriptions`: a browser's Web Push endpoint and keys, per user.
 * - `workflows` (admin-defined ordered steps, as JSON), `reviews` (a document's run of a
 *   workflow, with a snapshot of its steps), `review_tasks` (one per assignee and step),
 *   `review_events` (every request, decision, warning and escalation, for the history) and
 *   `review_timers` (a step's warning and escalation, due in the database: whichever
 *   instance's worker takes one first fires it, in the transaction that records it).
 *
 * The worker has no tenant; `SECURITY DEFINER` functions name due work across tenants
 * (ids only): `quire_deliveries_due(channel, now, limit)` and `quire_review_timers_due(now, limit)`.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, grantTables, ident } from './context.js';

const OLD_TYPES = ['document.created', 'document.changed', 'document.deleted', 'document.permissions'];
const NEW_TYPES = [...OLD_TYPES, 'document.commented', 'document.shared', 'document.review'];
const FNS = ['quire_deliveries_due(text, timestamptz, int)', 'quire_review_timers_due(timestamptz, int)'];

const typeCheck = (types: string[]) => sql.raw(`check (type in (${types.map((t) => `'${t}'`).join(', ')}))`);

export function notificationsReviews(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));

  async function feedEventsFunction(db: Kysely<unknown>, withSubject: boolean): Promise<void> {
    await sql`drop function if exists quire_feed_events(xid8, bigint, xid8, int)`.execute(db);
    await sql`
      create function quire_feed_events(p_txid xid8, p_seq bigint, p_to xid8, p_limit int)
        returns table (txid xid8, seq bigint, tenant_id uuid, document_id uuid, type text${withSubject ? sql`, subject_id uuid` : sql``})
        language sql stable security definer
        set search_path = ${schema}, pg_temp
        as $$ select e.txid, e.seq, e.tenant_id, e.document_id, e.type${withSubject ? sql`, e.subject_id` : sql``} from document_events e
              where (e.txid, e.seq) > (p_txid, p_seq) and e.txid < p_to
              order by e.txid, e.seq limit p_limit $$`.execute(db);
    await sql`revoke all on function quire_feed_events(xid8, bigint, xid8, int) from public`.execute(db);
    await sql`grant execute on function quire_feed_events(xid8, bigint, xid8, int) to ${app}`.execute(db);
  }

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_events add column subject_id uuid`.execute(db);
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(NEW_TYPES)}`.execute(db);
      await feedEventsFunction(db, true);

      await sql`alter table users add column notification_preferences jsonb not null default '{}'`.execute(db);
      await sql`alter table tenants add column notification_defaults jsonb not null default '{}'`.execute(db);

      await sql`
        create table notifications (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          kind text not null check (kind in ('mention', 'reply', 'share', 'review_assigned', 'review_decided', 'deadline')),
          document_id uuid,
          actor_id uuid references users(id) on delete set null,
          source text not null,
          data jsonb not null default '{}',
          created_at timestamptz not null default clock_timestamp(),
          read_at timestamptz,
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade,
          unique (tenant_id, user_id, source, kind)
        )`.execute(db);
      await sql`create index notifications_user_idx on notifications (tenant_id, user_id, created_at desc, id desc)`.execute(db);
      await sql`create index notifications_unread_idx on notifications (tenant_id, user_id) where read_at is null`.execute(db);
      await enableTenantRls(db, 'notifications');

      await sql`
        create table notification_deliveries (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          notification_id uuid not null references notifications(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          channel text not null check (channel in ('email', 'push')),
          status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'failed', 'skipped', 'unknown')),
          due_at timestamptz not null default clock_timestamp(),
          attempts integer not null default 0,
          claimed_at timestamptz,
          sent_at timestamptz,
          error text,
          created_at timestamptz not null default clock_timestamp(),
          unique (notification_id, channel)
        )`.execute(db);
      await sql`create index notification_deliveries_due_idx on notification_deliveries (channel, due_at) where status in ('pending', 'sending')`.execute(db);
      await sql`create index notification_deliveries_user_idx on notification_deliveries (tenant_id, user_id, channel) where status in ('pending', 'sending')`.execute(db);
      await enableTenantRls(db, 'notification_deliveries');

      await sql`
        create table push_subscriptions (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          user_id uuid not null references users(id) on delete cascade,
          endpoint text not null check (length(endpoint) between 1 and 2048),
          p256dh text not null check (length(p256dh) between 1 and 200),
          auth text not null check (length(auth) between 1 and 100),
          created_at timestamptz not null default clock_timestamp(),
          last_error text,
          unique (tenant_id, user_id, endpoint)
        )`.execute(db);
      await enableTenantRls(db, 'push_subscriptions');

      await sql`
        create table workflows (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          name text not null check (length(name) between 1 and 200),
          steps jsonb not null,
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default clock_timestamp(),
          updated_at timestamptz not null default clock_timestamp(),
          archived_at timestamptz,
          unique (tenant_id, id)
        )`.execute(db);
      await enableTenantRls(db, 'workflows');

      await sql`
        create table reviews (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          document_id uuid not null,
          workflow_id uuid,
          workflow_name text not null,
          steps jsonb not null,
          version_id uuid references document_versions(id) on delete set null,
          requested_by uuid references users(id) on delete set null,
          status text not null default 'in_review' check (status in ('in_review', 'approved', 'rejected', 'changes_requested', 'cancelled')),
          current_step integer not null default 0,
          step_started_at timestamptz not null default clock_timestamp(),
          step_due_at timestamptz,
          created_at timestamptz not null default clock_timestamp(),
          decided_at timestamptz,
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade,
          foreign key (tenant_id, workflow_id) references workflows (tenant_id, id) on delete set null (workflow_id),
          unique (tenant_id, id)
        )`.execute(db);
      await sql`create index reviews_document_idx on reviews (tenant_id, document_id, created_at desc)`.execute(db);
      // One review in progress per document, whatever the application does.
      await sql`create unique index reviews_one_in_progress on reviews (tenant_id, document_id) where status = 'in_review'`.execute(db);
      await enableTenantRls(db, 'reviews');

      await sql`
        create table review_tasks (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          review_id uuid not null,
          document_id uuid not null,
          step integer not null,
          assignee_id uuid not null references users(id) on delete cascade,
          status text not null default 'open' check (status in ('open', 'approved', 'rejected', 'changes_requested', 'closed')),
          comment text check (comment is null or length(comment) between 1 and 5000),
          due_at timestamptz,
          created_at timestamptz not null default clock_timestamp(),
          decided_at timestamptz,
          foreign key (tenant_id, review_id) references reviews (tenant_id, id) on delete cascade,
          unique (review_id, step, assignee_id)
        )`.execute(db);
      await sql`create index review_tasks_assignee_idx on review_tasks (tenant_id, assignee_id, status, created_at desc)`.execute(db);
      await enableTenantRls(db, 'review_tasks');

      await sql`
        create table review_events (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          review_id uuid not null,
          document_id uuid not null,
          step integer,
          type text not null check (type in ('requested', 'assigned', 'approved', 'rejected', 'changes_requested', 'step_completed', 'completed', 'warning', 'escalated', 'cancelled')),
          actor_id uuid references users(id) on delete set null,
          comment text,
          created_at timestamptz not null default clock_timestamp(),
          foreign key (tenant_id, review_id) references reviews (tenant_id, id) on delete cascade
        )`.execute(db);
      await sql`create index review_events_review_idx on review_events (tenant_id, review_id, created_at)`.execute(db);
      await sql`create index review_events_document_idx on review_events (tenant_id, document_id, created_at)`.execute(db);
      await enableTenantRls(db, 'review_events');

      await sql`
        create table review_timers (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null,
          review_id uuid not null,
          step integer not null,
          kind text not null check (kind in ('warning', 'escalation')),
          due_at timestamptz not null,
          fired_at timestamptz,
          foreign key (tenant_id, review_id) references reviews (tenant_id, id) on delete cascade,
          unique (review_id, step, kind)
        )`.execute(db);
      await sql`create index review_timers_due_idx on review_timers (due_at) where fired_at is null`.execute(db);
      await enableTenantRls(db, 'review_timers');

      await grantTables(db, ctx, ['notifications', 'notification_deliveries', 'push_subscriptions', 'workflows', 'reviews', 'review_tasks', 'review_events', 'review_timers']);

      await sql`
        create or replace function quire_deliveries_due(p_channel text, p_now timestamptz, p_limit int)
          returns table (tenant_id uuid, user_id uuid)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select d.tenant_id, d.user_id from notification_deliveries d
                where d.channel = p_channel and d.status in ('pending', 'sending') and d.due_at <= p_now
                group by d.tenant_id, d.user_id
                order by min(d.due_at) limit p_limit $$`.execute(db);
      await sql`
        create or replace function quire_review_timers_due(p_now timestamptz, p_limit int)
          returns table (tenant_id uuid, id uuid)
          language sql stable security definer
          set search_path = ${schema}, pg_temp
          as $$ select t.tenant_id, t.id from review_timers t
                where t.fired_at is null and t.due_at <= p_now
                order by t.due_at limit p_limit $$`.execute(db);
      for (const fn of FNS) {
        await sql.raw(`revoke all on function ${fn} from public`).execute(db);
        await sql`grant execute on function ${sql.raw(fn)} to ${app}`.execute(db);
      }
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const fn of FNS) await sql.raw(`drop function if exists ${fn}`).execute(db);
      for (const t of ['review_timers', 'review_events', 'review_tasks', 'reviews', 'workflows', 'push_subscriptions', 'notification_deliveries', 'notifications']) {
        await sql.raw(`drop table if exists ${t}`).execute(db);
      }
      await sql`alter table tenants drop column if exists notification_defaults`.execute(db);
      await sql`alter table users drop column if exists notification_preferences`.execute(db);
      await sql`delete from document_events where type in ('document.commented', 'document.shared', 'document.review')`.execute(db);
      await sql`alter table document_events drop constraint if exists document_events_type_check`.execute(db);
      await sql`alter table document_events add constraint document_events_type_check ${typeCheck(OLD_TYPES)}`.execute(db);
      await feedEventsFunction(db, false);
      await sql`alter table document_events drop column if exists subject_id`.execute(db);
    },
  };
}
