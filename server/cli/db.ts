/**
 * `quire db migrate`: brings the configured database up to the latest migration and exits,
 * without starting a server (a Kubernetes Job or a release step runs it before the new
 * version's processes start). Servers still migrate on start, under the same migration
 * lock, so a deployment without this step works too; with it, their start finds nothing
 * left to do.
 */
import { sql } from 'kysely';
import { openStore } from '../../db/store.js';
import { ident } from '../../db/migrations/context.js';
import type { CliGroup } from './command.js';

export const group: CliGroup = {
  summary: 'the relational database (Postgres at DATABASE_URL, or the embedded one in DATA_DIR)',
  commands: {
    migrate: {
      usage: ' run the pending migrations, then exit',
      run: async (ctx) => {
        const { database, dataDir } = ctx.config;
        const where = database.url ? `Postgres schema ${database.schema}` : `the embedded database in ${dataDir}, schema ${database.schema}`;
        ctx.err(`migrating ${where} …`);
        const store = await openStore({
          url: database.url,
          appUrl: database.appUrl,
          schema: database.schema,
          appRole: database.appRole,
          poolMax: 1,
          dataDir,
          migrate: true,
          connections: {
            applicationName: `${database.applicationName}-migrate`.slice(0, 63),
            connectTimeoutMs: database.connectTimeoutMs,
            statementTimeoutMs: database.statementTimeoutMs,
            queryTimeoutMs: database.queryTimeoutMs,
          },
        });
        try {
          const rows = (await sql<{ name: string }>`select name from ${sql.raw(ident(database.schema))}.kysely_migration order by name`.execute(store.owner)).rows;
          const latest = rows.at(-1)?.name ?? '(none)';
          ctx.out(`${where} is at migration ${latest} (${rows.length} applied)`);
          return 0;
        } finally {
          await store.destroy();
        }
      },
    },
  },
};
