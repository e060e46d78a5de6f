/**
 * The retention job of the worker role: every `RETENTION_INTERVAL_MS` (1 hour) it empties
 * the trash of documents deleted more than `TRASH_RETENTION_DAYS` ago
 * (commands/trash-purge.ts) and, when `HISTORY_RETENTION_DAYS` is set, removes automatic
 * versions older than that (core/history-retention.ts), then collects files nobody can
 * reach any more (core/file-retention.ts).
 *
 * Every worker runs it; both parts are safe with several at once (each purged document is
 * announced once; a document's versions change under its version lock). A run does bounded
 * work in short transactions; when a backlog remains the next run follows after a second
 * instead of an interval. A failed run is logged and tried again at the next interval.
 */
import { Counter, type Registry } from 'prom-client';
import { DocumentStore } from '../core/document-store.js';
import { expireVersions, type ExpireVersionsRun } from '../core/history-retention.js';
import { VersionStore } from '../core/history.js';
import type { AppDb } from '../db/store.js';
import type { Logger } from '../lib/log.js';
import type { BlobStore } from '../lib/storage/blob-store.js';
import { collectFiles, type CollectFilesRun } from '../core/file-retention.js';
import { purgeTrash } from './commands/trash-purge.js';

const DAY_MS = 86_400_000;
/** A document whose purge or expiry failed is left out of runs for this long (it is logged each time it fails). */
const FAILED_BACKOFF_MS = 6 * 3_600_000;

export interface RetentionOptions {
  db: AppDb;
  log: Logger;
  /** Deleted documents are purged this long after their deletion. */
  trashRetentionDays: number;
  /** Automatic versions older than this are removed; 0 keeps them. */
  historyRetentionDays: number;
  /** Period between runs; 0 = never run on a timer. */
  intervalMs: number;
  /** Registers `quire_trash_purged_total` and `quire_versions_expired_total`. */
  registry?: Registry;
  /** The file collector: where the bytes are, and when files go. */
  files?: { blobs: BlobStore; orphanDays: number; uploadExpiryHours: number };
  /** Limits of one run (tests make them small). */
  limits?: { trashDocuments?: number; trashBatch?: number; versionDocuments?: number; versionsPerDocument?: number; rewritesPerDocument?: number };
}

export interface RetentionRun {
  /** Documents deleted for good. */
  purged: string[];
  /** Version retention's run; null when it is off. */
  versions: ExpireVersionsRun | null;
  /** The file collector's run; null when it is off. */
  files: CollectFilesRun | null;
  /** A backlog remains. */
  more: boolean;
}

export class Retention {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = false;
  private readonly versions: VersionStore;
  private readonly docs: DocumentStore;
  /** Documents that failed, and until when they are left out. */
  private readonly failed = new Map<string, number>();
  private readonly purgedTotal?: Counter;
  private readonly expiredTotal?: Counter;

  constructor(private readonly opts: RetentionOptions) {
    this.docs = new DocumentStore(opts.db);
    this.versions = new VersionStore(opts.db, this.docs);
    if (opts.registry) {
      const registers = [opts.registry];
      this.purgedTotal = new Counter({ name: 'quire_trash_purged_total', help: 'Deleted documents purged for good after TRASH_RETENTION_DAYS', registers });
      this.expiredTotal = new Counter({ name: 'quire_versions_expired_total', help: 'Automatic versions removed after HISTORY_RETENTION_DAYS', registers });
    }
  }

  /** Runs on a timer; the first run comes within a minute (at a random point, so workers started together do not run together). */
  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.stopped = false;
    this.schedule(Math.random() * Math.min(this.opts.intervalMs, 60_000));
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const run = this.runOnce().then(
        (r) => this.schedule(r.more ? 1_000 : this.opts.intervalMs),
        (err: unknown) => {
          this.opts.log.warn({ cat: 'worker', err: err instanceof Error ? err.message : String(err) }, 'retention run failed; tried again at the next interval');
          this.schedule(this.opts.intervalMs);
        },
      );
      this.running = run;
    }, delay);
    this.timer.unref();
  }

  /** One run at `now` (tests pass another time). */
  async runOnce(now: Date = new Date()): Promise<RetentionRun> {
    const { db, log, limits = {} } = this.opts;
    for (const [id, until] of this.failed) if (until <= Date.now()) this.failed.delete(id);
    const avoid = new Set(this.failed.keys());
    const shouldStop = () => this.stopped;
    const fail = (ids: string[]) => ids.forEach((id) => this.failed.set(id, Date.now() + FAILED_BACKOFF_MS));
    const trash = await purgeTrash(db, {
      before: new Date(now.getTime() - this.opts.trashRetentionDays * DAY_MS),
      limit: limits.trashDocuments,
      batch: limits.trashBatch,
      avoid,
      shouldStop,
      log,
    });
    fail(trash.failed);
    this.purgedTotal?.inc(trash.purged.length);
    if (trash.purged.length > 0) log.info({ cat: 'worker', purged: trash.purged.length }, 'purged deleted documents past the trash retention');
    let versions: ExpireVersionsRun | null = null;
    if (this.opts.historyRetentionDays > 0 && !this.stopped) {
      versions = await expireVersions(db, this.versions, {
        before: new Date(now.getTime() - this.opts.historyRetentionDays * DAY_MS),
        maxDocuments: limits.versionDocuments,
        maxVersionsPerDocument: limits.versionsPerDocument,
        maxRewritesPerDocument: limits.rewritesPerDocument,
        avoid,
        shouldStop,
        log,
      });
      fail(versions.failed);
      this.expiredTotal?.inc(versions.removed);
      if (versions.removed > 0)
        log.info({ cat: 'worker', documents: versions.documents, removed: versions.removed, rewritten: versions.rewritten }, 'removed automatic versions past the history retention');
    }
    let files: CollectFilesRun | null = null;
    if (this.opts.files && !this.stopped) {
      const f = this.opts.files;
      files = await collectFiles(db, f.blobs, this.docs, this.versions, { now, orphanDays: f.orphanDays, uploadExpiryHours: f.uploadExpiryHours, shouldStop, log });
      if (files.removed.length > 0) log.info({ cat: 'worker', removed: files.removed.length }, 'removed files no document or version shows any more');
    }
    // Go on soon only while runs make progress (a backlog of failures waits for the interval).
    const progressed = trash.purged.length > 0 || (versions?.removed ?? 0) > 0 || (files?.removed.length ?? 0) > 0 || (files?.kept ?? 0) > 0;
    return { purged: trash.purged, versions, files, more: progressed && (trash.more || Boolean(versions?.more) || Boolean(files?.more)) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }
}
