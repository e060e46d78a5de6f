/**
 * Classifiers a workspace can live with:
 *
 * - Training jobs are claimed with a lease (`lease_owner`, `lease_expires_at`, `attempts`):
 *   the worker renews it while it trains, and a job whose lease ran out (its worker died) is
 *   claimed again by another. `quire_claim_training` replaces the skip-locked claim of 0005.
 * - A version is trained in two stages: `quick` (hashed n-grams, usable in seconds) and
 *   `final` (every candidate, the best on validation kept); `candidates` reports them all.
 * - Registry: `pinned` marks an active version chosen by hand (automatic promotion leaves it
 *   alone), `activated_at` orders past activations for a rollback; versions can be deleted.
 * - `source`: a version trains from the examples of its request or from the workspace's
 *   labelled documents (`document_labels`, one label per document and classifier name).
 * - `ml_settings`: the workspace's default classifier for document labels.
 * - `document_classifications.shown_label`: the label people see after the text and
 *   confidence floors and the hysteresis (null: none shown, `reason` says why).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './context.js';
import { enableTenantRls, ident } from './context.js';

export function classifierRegistry(ctx: MigrationContext) {
  const app = sql.raw(ident(ctx.appRole));
  const schema = sql.raw(ident(ctx.schema));
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`
        alter table classifiers
          add column stage text not null default 'final' check (stage in ('quick', 'final')),
          add column source text not null default 'examples' check (source in ('examples', 'documents')),
          add column example_count int not null default 0,
          add column candidates jsonb,
          add column selected text,
          add column pinned boolean not null default false,
          add column activated_at timestamptz,
          add column lease_owner text,
          add column lease_expires_at timestamptz,
          add column attempts int not null default 0`.execute(db);
      await sql`update classifiers set example_count = jsonb_array_length(examples), activated_at = case when active then updated_at end`.execute(db);
      await sql`create index classifiers_lease_idx on classifiers (lease_expires_at) where lease_expires_at is not null`.execute(db);
      await sql`grant delete on classifiers to ${app}`.execute(db);

      await sql`drop function if exists quire_claim_training()`.execute(db);
      // Claims the oldest queued job, or a job whose lease expired, of any tenant; ids only.
      await sql`
        create or replace function quire_claim_training(p_owner text, p_lease_seconds int)
          returns table (id uuid, tenant_id uuid, attempts int)
          language sql volatile security definer
          set search_path = ${schema}, pg_temp
          as $$ update classifiers c
                   set status = case when c.status = 'queued' then 'training' else c.status end,
                       lease_owner = p_owner,
                       lease_expires_at = now() + make_interval(secs => p_lease_seconds),
                       attempts = c.attempts + 1,
                       updated_at = now()
                where c.id = (select q.id from classifiers q
                               where q.status = 'queued' or q.lease_expires_at < now()
                               order by q.created_at limit 1 for update skip locked)
                returning c.id, c.tenant_id, c.attempts $$`.execute(db);
      await sql`revoke all on function quire_claim_training(text, int) from public`.execute(db);
      await sql`grant execute on function quire_claim_training(text, int) to ${app}`.execute(db);

      await sql`
        create table document_labels (
          document_id uuid not null,
          tenant_id uuid not null,
          classifier text not null check (length(classifier) between 1 and 100),
          label text not null check (length(label) between 1 and 100),
          labelled_by uuid references users(id) on delete set null,
          updated_at timestamptz not null default now(),
          primary key (document_id, classifier),
          foreign key (tenant_id, document_id) references documents (tenant_id, id) on delete cascade
        )`.execute(db);
      await sql`create index document_labels_classifier_idx on document_labels (tenant_id, classifier)`.execute(db);
      await enableTenantRls(db, 'document_labels');
      await sql`grant select, insert, update, delete on document_labels to ${app}`.execute(db);

      await sql`
        create table ml_settings (
          tenant_id uuid primary key references tenants(id) on delete cascade,
          default_classifier text check (length(default_classifier) between 1 and 100),
          updated_at timestamptz not null default now()
        )`.execute(db);
      await enableTenantRls(db, 'ml_settings');
      await sql`grant select, insert, update, delete on ml_settings to ${app}`.execute(db);

      await sql`
        alter table document_classifications
          add column shown_label text,
          add column reason text check (reason in ('too_little_text', 'low_confidence'))`.execute(db);
      await sql`update document_classifications set shown_label = label`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await sql`alter table document_classifications drop column if exists shown_label, drop column if exists reason`.execute(db);
      await sql`drop table if exists ml_settings`.execute(db);
      await sql`drop table if exists document_labels`.execute(db);
      await sql`drop function if exists quire_claim_training(text, int)`.execute(db);
      await sql`
        alter table classifiers
          drop column stage, drop column source, drop column example_count, drop column candidates, drop column selected,
          drop column pinned, drop column activated_at, drop column lease_owner, drop column lease_expires_at, drop column attempts`.execute(db);
    },
  };
}
