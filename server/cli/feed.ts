/**
 * `quire feed replay|lag`: the change feed from the operator's side (docs/ARCHITECTURE.md,
 * "Change feed").
 *
 * - `replay --from=<ISO time | outbox seq>` sends the outbox's events again from that point
 *   (a time: rows written since; a number: that `document_events` row and everything after
 *   it, with the update log from its transaction on), so consumers handle them again.
 *   Consumers are idempotent: the indexer skips what its index already covers (it catches
 *   up documents whose index state was lost), the notifier writes a notification once per
 *   recipient and source. With NATS the events are published here, with message ids of
 *   their own (`<id>:replay:<run>`), so JetStream's de-duplication window does not drop
 *   them; with the in-process bus the relay's cursors are moved back (under the relay's
 *   lock) and the relay sends them again when it next runs.
 * - `lag` shows how far behind the feed is: outbox rows the relay has not published, each
 *   consumer's backlog (JetStream consumer lanes; the in-process bus keeps its queues in
 *   the worker, see `quire_feed_consumer_pending` on its /metrics), and the oldest change
 *   the search index has not caught up with.
 */
import crypto from 'node:crypto';
import { sql, type QueryExecutorProvider } from 'kysely';
import { z } from 'zod';

import { encodeEvent, INDEXED_EVENT_TYPES, messageIdFor, subjectFor, type FeedEvent } from '../../contract/feed.js';
import { toEvent, type Row } from '../../ml-workers/relay.js';
import type { Config } from '../../lib/config.js';
import { withOperatorStore } from '../operator-store.js';
import { flag, UsageError, type CliContext, type CliGroup } from './command.js';

type Cursor = { txid: string; seq: string };
type Source = 'changes' | 'events';
const SOURCES: Source[] = ['changes', 'events'];
/** Rows read per page while replaying. */
const PAGE = 5_000;

const From = z.union([
  z
    .string()
    .regex(/^\d{1,18}$/)
    .transform((s) => ({ seq: s })),
  z.iso.datetime({ offset: true }).transform((s) => ({ at: new Date(s) })),
  z.iso.date().transform((s) => ({ at: new Date(`${s}T00:00:00Z`) })),
]);

/** Serialises with the relay of this schema (it takes the same lock for each poll). */
const relayLock = (db: QueryExecutorProvider) => sql`select pg_advisory_xact_lock(hashtextextended('quire:relay:' || current_schema(), 0))`.execute(db);

/** Where each source's replay starts (exclusive), or null when nothing is at or after the point. */
async function startingPoints(db: QueryExecutorProvider, from: { seq: string } | { at: Date }): Promise<Record<Source, Cursor | null> | string> {
  if ('seq' in from) {
    const row = (await sql<{ txid: string }>`select txid::text as txid from document_events where seq = ${from.seq}::bigint`.execute(db)).rows[0];
    if (!row) return `no outbox row ${from.seq} (document_events.seq)`;
    return { events: { txid: row.txid, seq: String(BigInt(from.seq) - 1n) }, changes: { txid: row.txid, seq: '0' } };
  }
  const first = async (table: 'document_updates' | 'document_events') =>
    (await sql<{ txid: string | null }>`select min(txid)::text as txid from ${sql.table(table)} where created_at >= ${from.at}`.execute(db)).rows[0]?.txid ?? null;
  const [changes, events] = [await first('document_updates'), await first('document_events')];
  return { changes: changes ? { txid: changes, seq: '0' } : null, events: events ? { txid: events, seq: '0' } : null };
}

async function rowsAfter(db: QueryExecutorProvider, source: Source, after: Cursor, horizon: string): Promise<Row[]> {
  const fn = source === 'changes' ? sql`quire_feed_changes` : sql`quire_feed_events`;
  return (
    await sql<Row>`select txid::text as txid, seq::text as seq, tenant_id, document_id${source === 'events' ? sql`, type, subject_id` : sql``}
      from ${fn}(${after.txid}::xid8, ${after.seq}::bigint, ${horizon}::xid8, ${PAGE})`.execute(db)
  ).rows;
}

/** One `document.changed` per document in a page, as the relay sends them. */
function coalesced(rows: Row[]): FeedEvent[] {
  const byDoc = new Map<string, Row>();
  for (const r of rows) byDoc.set(r.document_id, r);
  return [...byDoc.values()].map((r) => toEvent(r, 'document.changed'));
}

async function publishReplay(ctx: CliContext, db: QueryExecutorProvider, points: Record<Source, Cursor | null>): Promise<number> {
  const { config } = ctx;
  const { NatsBus } = await import('../../ml-workers/bus/nats.js');
  const bus = await NatsBus.connect({ url: config.feed.natsUrl!, stream: config.feed.stream, prefix: config.feed.subjectPrefix });
  const run = crypto.randomBytes(4).toString('hex');
  let sent = 0;
  try {
    const horizon = (await sql<{ h: string }>`select pg_snapshot_xmin(pg_current_snapshot())::text as h`.execute(db)).rows[0]!.h;
    for (const source of SOURCES) {
      let after = points[source];
      while (after) {
        const rows = await rowsAfter(db, source, after, horizon);
        const events = source === 'changes' ? coalesced(rows) : rows.map((r) => toEvent(r, r.type!));
        // In order: a consumer must not see a document deleted before it was created.
        for (const e of events) await bus.publish(subjectFor(config.feed.subjectPrefix, e), encodeEvent(e), `${messageIdFor(e)}:replay:${run}`);
        sent += events.length;
        const last = rows[rows.length - 1];
        after = rows.length === PAGE && last ? { txid: last.txid, seq: last.seq } : null;
      }
    }
  } finally {
    await bus.close();
  }
  return sent;
}

async function replay(ctx: CliContext): Promise<number> {
  const raw = flag(ctx, 'from', true);
  const parsed = From.safeParse(raw);
  if (!parsed.success) throw new UsageError(`--from must be an ISO 8601 time (2026-12-05T10:00:00Z) or an outbox row number: ${JSON.stringify(raw)}`);
  const from = parsed.data;
  return withOperatorStore(ctx.config, 'feed', async (store) => {
    const points = await startingPoints(store.owner, from);
    if (typeof points === 'string') {
      ctx.err(points);
      return 1;
    }
    if (!points.changes && !points.events) {
      ctx.out('nothing to replay: no outbox rows at or after that point');
      return 0;
    }
    if (ctx.config.feed.natsUrl) {
      const sent = await publishReplay(ctx, store.owner, points);
      ctx.out(`replayed ${sent} events to ${ctx.config.feed.stream}; consumers handle them again as they arrive`);
      return 0;
    }
    // In-process bus: move the relay's cursors back (never forward), under its lock.
    const moved = await store.owner.transaction().execute(async (tx) => {
      await relayLock(tx);
      const names: string[] = [];
      for (const source of SOURCES) {
        const p = points[source];
        if (!p) continue;
        const r = await sql`update feed_cursors set txid = ${p.txid}::xid8, seq = ${p.seq}::bigint, updated_at = now()
          where name = ${source} and (txid, seq) > (${p.txid}::xid8, ${p.seq}::bigint)`.execute(tx);
        if (Number(r.numAffectedRows ?? 0) > 0) names.push(source);
      }
      return names;
    });
    ctx.out(
      moved.length
        ? `the relay's cursors (${moved.join(', ')}) moved back: a worker sends the events again on its next poll (events it sent in the last two minutes fall in the bus' de-duplication window)`
        : 'the relay has not passed that point yet: nothing to move',
    );
    return 0;
  });
}

interface RelayLag {
  source: Source;
  cursor: Cursor | null;
  cursorAt: Date | null;
  pending: number;
  oldest: Date | null;
}

async function relayLag(db: QueryExecutorProvider): Promise<RelayLag[]> {
  const out: RelayLag[] = [];
  for (const source of SOURCES) {
    const c = (await sql<Cursor & { updated_at: Date }>`select txid::text as txid, seq::text as seq, updated_at from feed_cursors where name = ${source}`.execute(db)).rows[0];
    const table = source === 'changes' ? sql.table('document_updates') : sql.table('document_events');
    const after = c ?? { txid: '0', seq: '0' };
    const r = (
      await sql<{ n: string; oldest: Date | null }>`select count(*)::text as n, min(created_at) as oldest from ${table}
        where (txid, seq) > (${after.txid}::xid8, ${after.seq}::bigint)`.execute(db)
    ).rows[0]!;
    out.push({ source, cursor: c ? { txid: c.txid, seq: c.seq } : null, cursorAt: c?.updated_at ?? null, pending: Number(r.n), oldest: r.oldest });
  }
  return out;
}

/** The oldest committed change (edit or indexed event) of a live document that no full-text index state covers yet. */
async function oldestUnindexed(db: QueryExecutorProvider): Promise<{ at: Date | null; documents: number }> {
  const types = sql.join(INDEXED_EVENT_TYPES.map((t) => sql`${t}`));
  const r = (
    await sql<{ at: Date | null; documents: string }>`
      with changes as (
        select u.document_id, u.txid, u.created_at from document_updates u
        union all
        select e.document_id, e.txid, e.created_at from document_events e where e.type in (${types})
      ),
      behind as (
        select c.document_id, c.created_at from changes c
        join documents d on d.id = c.document_id and d.deleted_at is null
        where c.txid < pg_snapshot_xmin(pg_current_snapshot())
          and not exists (select 1 from index_state s where s.document_id = c.document_id and s.index_name like 'fulltext:%' and s.horizon > c.txid)
      )
      select min(created_at) as at, count(distinct document_id)::text as documents from behind`.execute(db)
  ).rows[0]!;
  return { at: r.at, documents: Number(r.documents) };
}

const age = (d: Date | null) => (d ? `${Math.max(0, Math.round((Date.now() - d.getTime()) / 1000))} s` : '-');

async function consumerLag(ctx: CliContext, config: Config): Promise<void> {
  if (!config.feed.natsUrl) {
    ctx.out('consumers: in-process bus (queues live in the worker process: quire_feed_consumer_pending on its /metrics)');
    return;
  }
  const { NatsBus } = await import('../../ml-workers/bus/nats.js');
  const bus = await NatsBus.connect({ url: config.feed.natsUrl, stream: config.feed.stream, prefix: config.feed.subjectPrefix });
  try {
    for (const durable of ['indexer', 'notifier']) {
      const lanes = await bus.backlog(durable);
      const sum = (k: 'undelivered' | 'ackPending' | 'redelivered') => lanes.reduce((n, l) => n + l[k], 0);
      ctx.out(
        `consumer ${durable}: ${sum('undelivered')} undelivered, ${sum('ackPending')} delivered and not yet acknowledged, ${sum('redelivered')} redelivered, over ${lanes.length} workspace lanes`,
      );
    }
  } finally {
    await bus.close();
  }
}

async function lag(ctx: CliContext): Promise<number> {
  return withOperatorStore(ctx.config, 'feed', async (store) => {
    for (const r of await relayLag(store.owner)) {
      const at = r.cursor ? `cursor ${r.cursor.txid}/${r.cursor.seq}, moved ${age(r.cursorAt)} ago` : 'no cursor yet (the relay has not run)';
      ctx.out(`relay ${r.source}: ${r.pending} rows not yet published (oldest ${age(r.oldest)} old); ${at}`);
    }
    await consumerLag(ctx, ctx.config);
    const idx = await oldestUnindexed(store.owner);
    ctx.out(idx.at ? `search index: ${idx.documents} documents behind; the oldest change not indexed is ${age(idx.at)} old` : 'search index: up to date');
    return 0;
  });
}

export const group: CliGroup = {
  summary: 'the change feed (outbox → bus → consumers)',
  commands: {
    replay: { usage: '--from=<ISO time | outbox row>  send the outbox events from that point again', run: replay },
    lag: { usage: ' unpublished outbox rows, consumer backlogs, oldest change not yet indexed', run: lag },
  },
};
