/**
 * Vacuuming the tables Quire churns, when nothing else does.
 *
 * The document log is append-and-fold: compaction deletes every row it folds into the
 * snapshot, and the indexer rewrites its rows on every change. Postgres reclaims those dead
 * rows with autovacuum. Without it they are never reclaimed, and every load of a busy
 * document walks them (measured: 10–14 ms added to loading a document whose 260k log rows
 * had been folded, bench/RESULTS.md scenario 3). Two deployments have no autovacuum:
 * the embedded database (PGlite runs one backend, without the autovacuum launcher), and a
 * Postgres configured with `autovacuum = off`. There Quire vacuums its own tables on a
 * timer, as the owner role, skipping any table another session holds locked.
 */
import { sql } from 'kysely';
import type { Store } from './store.js';

/** Tables with deletes or updates in normal operation (the rest only grow). */
const CHURNED_TABLES = [
  'document_updates',
  'document_snapshots',
  'documents',
  'search_documents',
  'index_state',
  'document_chunks',
  'document_classifications',
  'refresh_tokens',
  'feed_cursors',
] as const;

/** Why this store needs Quire to vacuum it; null when the database does it itself. */
export async function vacuumReason(store: Store): Promise<string | null> {
  if (store.kind === 'pglite') return 'the embedded database has no autovacuum';
  const { rows } = await sql<{ autovacuum: string }>`show autovacuum`.execute(store.owner);
  return rows[0]?.autovacuum === 'on' ? null : 'autovacuum is off on this Postgres';
}

/** Vacuums (and analyzes) the churned tables of the store's schema; returns their names. */
export async function vacuumChurnedTables(store: Store): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select t as name from unnest(${[...CHURNED_TABLES]}::text[]) as t where to_regclass(t) is not null`.execute(store.owner);
  const tables = rows.map((r) => r.name);
  if (tables.length === 0) return [];
  // VACUUM cannot run in a transaction block; kysely sends this as one plain statement.
  await sql`vacuum (analyze, skip_locked) ${sql.join(tables.map((t) => sql.id(t)))}`.execute(store.owner);
  return tables;
}

export interface VacuumTimer {
  /** Why the database needs it (null: it vacuums itself). */
  reason: string | null;
  /** Whether the timer runs (a reason, and an interval above 0). */
  running: boolean;
  stop(): Promise<void>;
}

/**
 * Starts vacuuming every `intervalMs` when the database does not (first run one interval
 * after start). `intervalMs` 0 disables it. Failures are reported and retried next time.
 */
export async function startVacuumTimer(store: Store, intervalMs: number, onRun: (r: { tables: string[]; ms: number } | { error: unknown }) => void): Promise<VacuumTimer> {
  const reason = await vacuumReason(store);
  if (!reason || intervalMs <= 0) return { reason, running: false, stop: async () => {} };
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    const t0 = performance.now();
    running = vacuumChurnedTables(store)
      .then(
        (tables) => onRun({ tables, ms: performance.now() - t0 }),
        (error: unknown) => onRun({ error }),
      )
      .finally(() => (running = null));
  }, intervalMs);
  timer.unref();
  return {
    reason,
    running: true,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
