/**
 * Tenant classifiers: each training request is a versioned row holding its labelled
 * examples; a worker claims it (`quire_claim_training`, skip-locked across instances),
 * trains on embeddings, evaluates on a held-out split and promotes it only when it beats
 * the active version of the same name.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function classifiers(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        create table classifiers (
          id uuid primary key default gen_random_uuid(),
          tenant_id uuid not null references tenants(id) on delete cascade,
          name text not null check (length(name) between 1 and 100),
          version int not null,
          status text not null check (status in ('queued', 'training', 'ready', 'rejected', 'failed')),
          active boolean not null default false,
          labels text[] not null default '{}',
          examples jsonb not null,
          metrics jsonb,
          model jsonb,
          error text,
          created_by uuid references users(id) on delete set null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          unique (tenant_id, name, version)
        )`.execute(db);
      await sql`create index classifiers_queue_idx on classifiers (created_at) where status = 'queued'`.execute(db);
      await sql`create unique index classifiers_active_idx on classifiers (tenant_id, name) where active`.execute(db);
      await enableTenantRls(db, 'classifiers');
      await sql`grant select, insert, update on classifiers to ${app}`.execute(db);
      // Claims the oldest queued job of any tenant; ids only.
      await sql`
        create or replace function quire_claim_training() returns table (id uuid, tenant_id uuid)
          language sql volatile security definer
          set search_path = ${schema}, pg_temp
          as $$ update classifiers c set status = 'training', updated_at = now()
                where c.id = (select q.id from classifiers q where q.status = 'queued' order by q.created_at limit 1 for update skip locked)
                returning c.id, c.tenant_id $$`.execute(db);
      await sql`revoke all on function quire_claim_training() from public`.execute(db);
      await sql`grant execute on function quire_claim_training() to ${app}`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`drop function if exists quire_claim_training()`.execute(db);
      await sql`drop table if exists classifiers`.execute(db);
    },
  };
}
