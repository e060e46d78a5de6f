/**
 * Repairs a document whose log holds rows that cannot be applied.
 *
 *   npm run repair -- <documentId> [<documentId> …]
 *
 * Uses the server's configuration (`DATABASE_URL`, `DATABASE_SCHEMA`, `DATA_DIR` for the
 * embedded database, …). For each document it compacts the whole log chunk by chunk: rows
 * that cannot be applied move to `document_quarantine` (bytes intact), the rest fold into
 * the snapshot. Then it loads the document to confirm nothing is skipped any more and
 * prints a JSON report per document. Exit status 1 when a document is unknown or still
 * does not load cleanly. Safe while servers run: compaction takes the document's lock,
 * and the embedded database is one process, so stop `npm start` before repairing it.
 */
import { fileURLToPath } from 'node:url';
import { sql, type Kysely } from 'kysely';

import { openStore, type AppDb } from '../db/store.js';
import { loadConfig } from '../lib/config.js';
import { DocumentStore, type BadRow } from '../core/document-store.js';

export interface RepairReport {
  documentId: string;
  /** Null when no such document exists. */
  tenantId: string | null;
  folded: number;
  quarantined: BadRow[];
  /** Rows the confirming load still had to skip (should be none). */
  stillSkipped: BadRow[];
  /** Rows left in the log (appended while the repair ran). */
  remaining: number;
  ok: boolean;
}

/** Attempts to take the document's compaction lock before giving up (a server may be compacting it). */
const LOCK_ATTEMPTS = 50;
const LOCK_RETRY_MS = 200;

/**
 * Quarantines a document's unloadable log rows and compacts it. `owner` finds the document's
 * tenant (the owner role is not subject to row-level security); everything else runs as the
 * application role under that tenant.
 */
export async function repairDocument(db: AppDb, owner: Kysely<unknown>, documentId: string): Promise<RepairReport> {
  const found = await sql<{ tenant_id: string }>`select tenant_id from documents where id = ${documentId}`.execute(owner);
  const tenantId = found.rows[0]?.tenant_id ?? null;
  const report: RepairReport = { documentId, tenantId, folded: 0, quarantined: [], stillSkipped: [], remaining: 0, ok: false };
  if (!tenantId) return report;
  const store = new DocumentStore(db);
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    const res = await store.compactAll(tenantId, documentId);
    if (res) {
      report.folded += res.folded;
      report.quarantined.push(...res.quarantined);
      report.remaining = res.remaining;
      if (res.remaining === 0) break;
    }
    await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
  }
  const { doc, skipped } = await store.loadInto(tenantId, documentId);
  doc.destroy();
  report.stillSkipped = skipped;
  report.ok = skipped.length === 0;
  return report;
}

async function main(ids: string[]): Promise<number> {
  if (ids.length === 0) {
    process.stderr.write('usage: npm run repair -- <documentId> [<documentId> …]\n');
    return 2;
  }
  const config = loadConfig(process.env, []);
  const store = await openStore({
    url: config.database.url,
    appUrl: config.database.appUrl,
    schema: config.database.schema,
    appRole: config.database.appRole,
    dataDir: config.dataDir,
  });
  let status = 0;
  try {
    for (const id of ids) {
      const report = await repairDocument(store.db, store.owner, id);
      process.stdout.write(`${JSON.stringify(report)}\n`);
      if (!report.ok) status = 1;
    }
  } finally {
    await store.destroy();
  }
  return status;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`repair failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
