/**
 * Group commit of the sync tier's appends: an update is acknowledged only once the batch
 * holding it has committed. Appends queue while commits are in flight and go together in
 * the next batch, in two lanes so that megabytes from one document never stand between
 * another document's keystroke and its commit.
 *
 * Tracing on: each batch is a `sync.commit` span, a child of its first update's span and
 * linked to every update it carries (a commit serves several traces).
 */
import type { AppendItem, DocumentStore } from '../core/document-store.js';
import { contextFromHeaders, failSpan, linkTo, SpanKind, startSpan, tracingOn, withActiveSpan, type Link } from '../lib/tracing.js';

const RETRY_DELAYS_MS = [50, 250, 1_000];

/**
 * Bytes of updates one batch takes before workspaces start taking turns. Typing commits
 * are a few hundred bytes; this only shapes batches when someone sends megabytes.
 * @default 512 KiB
 */
const BATCH_MAX_BYTES = 512 * 1024;

/**
 * A document with at most this many bytes queued commits in the light lane; beyond, in the
 * heavy lane. Typing, formatting and ordinary pastes are far below; a frame flood is far
 * above (a 600 KB batch took 100–330 ms under a flood, and light appends that waited
 * behind such batches were acknowledged after up to a second).
 * @default 64 KiB
 */
export const LIGHT_DOCUMENT_BYTES = 64 * 1024;

/** Constraint and data errors will not go away by retrying (e.g. the document was deleted). */
function isPermanent(e: unknown): boolean {
  const code = (e as { code?: string }).code ?? '';
  return code.startsWith('23') || code.startsWith('22') || code === '42501';
}

interface Pending {
  item: AppendItem;
  resolve: () => void;
  reject: (e: unknown) => void;
  /** Settles with the append's commit, whatever its outcome. */
  settled: Promise<unknown>;
}

type Lane = 'light' | 'heavy';

const noop = () => undefined;

/**
 * Resolves after the current event-loop turn's immediates. An append arrives from
 * Hocuspocus' `beforeSync`, before the update is applied; Hocuspocus then broadcasts it to
 * the document's readers from an immediate it schedules after that. Starting the commit
 * (compiling the INSERT, the write to the database socket) only after that broadcast keeps
 * it off the readers' latency, and appends from one turn's burst of socket reads share the
 * commit. An immediate queued from inside an immediate runs in the next turn's check
 * phase, after the current turn's: hence two.
 */
export function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/**
 * Group commit without a fixed wait: while a commit is in flight, appends queue up; when it
 * returns, what queued commits as the next batch. A single writer pays one commit per
 * update; many writers share commits.
 *
 * Two batches can be in flight, one per lane: the light lane takes the documents with at
 * most `LIGHT_DOCUMENT_BYTES` queued, the heavy lane the others, workspaces taking turns.
 * A document is in at most one batch at a time, so each document's appends commit in
 * order (and a document's latest commit settling means all its earlier ones have).
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  /** Documents with a batch in flight; their later appends wait for it. */
  private readonly committing = new Set<string>();
  private readonly lanes: Record<Lane, Promise<void> | null> = { light: null, heavy: null };
  /** Appends in a batch in flight. */
  private readonly inFlight = new Set<Pending>();
  private scheduled = false;

  constructor(
    private readonly store: DocumentStore,
    private readonly onBatch?: (size: number, seconds: number, ok: boolean) => void,
  ) {}

  append(item: AppendItem): Promise<void> {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const commit = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.queue.push({ item, resolve, reject, settled: commit.then(noop, noop) });
    if (!this.scheduled) {
      this.scheduled = true;
      void afterThisTurn().then(() => {
        this.scheduled = false;
        this.pump();
      });
    }
    return commit;
  }

  /**
   * Takes back an append whose commit has not started (the update turned out unusable after
   * it was queued: `Persistence.beforeSync` appends before it applies, so the fan-out's
   * durability wait covers the update). Its promise rejects with `reason`. A batch starts
   * only after the turn its first append arrived in, so an append withdrawn in the same
   * turn is always still queued; false if it was not found.
   */
  withdraw(data: Uint8Array, reason: unknown): boolean {
    const i = this.queue.findIndex((p) => p.item.data === data);
    if (i < 0) return false;
    const [p] = this.queue.splice(i, 1);
    p!.reject(reason);
    return true;
  }

  /** Starts a batch in each idle lane that has work. */
  private pump(): void {
    if (this.scheduled) return;
    for (const lane of ['light', 'heavy'] as const) {
      if (this.lanes[lane]) continue;
      const batch = this.takeBatch(lane);
      if (batch.length === 0) continue;
      for (const p of batch) {
        this.committing.add(p.item.documentId);
        this.inFlight.add(p);
      }
      this.lanes[lane] = this.commit(batch).then(() => {
        for (const p of batch) {
          this.committing.delete(p.item.documentId);
          this.inFlight.delete(p);
        }
        this.lanes[lane] = null;
        this.pump();
      });
    }
  }

  /**
   * The next batch of a lane, from documents not in a batch already. Light: every light
   * document's appends, oldest document first, up to `BATCH_MAX_BYTES`. Heavy: workspaces
   * take turns (each its oldest appends first) up to `BATCH_MAX_BYTES`, at least one append.
   * A workspace's appends to one document keep their order.
   */
  private takeBatch(lane: Lane): Pending[] {
    const queuedBytes = new Map<string, number>();
    for (const p of this.queue) {
      if (this.committing.has(p.item.documentId)) continue;
      queuedBytes.set(p.item.documentId, (queuedBytes.get(p.item.documentId) ?? 0) + p.item.data.byteLength);
    }
    const inLane = (p: Pending) => {
      const bytes = queuedBytes.get(p.item.documentId);
      return bytes !== undefined && bytes <= LIGHT_DOCUMENT_BYTES === (lane === 'light');
    };
    const taken = new Set<Pending>();
    let bytes = 0;
    if (lane === 'light') {
      // Whole documents (each has at most LIGHT_DOCUMENT_BYTES queued), oldest first, while under the cap.
      const documents = new Set<string>();
      for (const p of this.queue) {
        if (!inLane(p)) continue;
        if (!documents.has(p.item.documentId)) {
          if (bytes >= BATCH_MAX_BYTES) continue;
          documents.add(p.item.documentId);
        }
        taken.add(p);
        bytes += p.item.data.byteLength;
      }
    } else {
      const byTenant = new Map<string, Pending[]>();
      for (const p of this.queue) {
        if (!inLane(p)) continue;
        const list = byTenant.get(p.item.tenantId);
        if (list) list.push(p);
        else byTenant.set(p.item.tenantId, [p]);
      }
      const lists = [...byTenant.values()];
      const count = lists.reduce((n, l) => n + l.length, 0);
      for (let round = 0; bytes < BATCH_MAX_BYTES && taken.size < count; round++) {
        for (const list of lists) {
          const p = list[round];
          if (!p) continue;
          taken.add(p);
          bytes += p.item.data.byteLength;
        }
      }
    }
    if (taken.size > 0) this.queue = this.queue.filter((p) => !taken.has(p));
    return [...taken];
  }

  private async commit(batch: Pending[]): Promise<void> {
    const t0 = process.hrtime.bigint();
    const span = tracingOn() ? commitSpan(batch) : null;
    try {
      const write = () => this.withRetries(() => this.store.appendBatch(batch.map((p) => p.item)));
      await (span ? withActiveSpan(span, write) : write());
      span?.end();
      this.onBatch?.(batch.length, Number(process.hrtime.bigint() - t0) / 1e9, true);
      for (const p of batch) p.resolve();
    } catch (e) {
      if (span) {
        failSpan(span, e);
        span.end();
      }
      this.onBatch?.(batch.length, Number(process.hrtime.bigint() - t0) / 1e9, false);
      for (const p of batch) p.reject(e);
    }
  }

  /** Transient failures (a dropped connection, a failover) get a few quick retries. */
  private async withRetries(fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= RETRY_DELAYS_MS.length || isPermanent(e)) throw e;
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
  }

  /** Resolves when everything appended so far has been committed (or failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.inFlight, ...this.queue].map((p) => p.settled));
  }
}

/** The span of one batch: under its first traced update, linked to all of them. */
function commitSpan(batch: Pending[]): ReturnType<typeof startSpan> {
  const links: Link[] = [];
  let first: string | undefined;
  let bytes = 0;
  for (const p of batch) {
    bytes += p.item.data.byteLength;
    const link = linkTo(p.item.traceparent);
    if (!link) continue;
    first ??= p.item.traceparent;
    links.push(link);
  }
  return startSpan('sync.commit', {
    kind: SpanKind.INTERNAL,
    parent: contextFromHeaders(first ? { traceparent: first } : undefined),
    links,
    attributes: () => ({ 'quire.commit.updates': batch.length, 'quire.commit.bytes': bytes }),
  });
}
