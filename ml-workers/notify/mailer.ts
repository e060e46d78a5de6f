/**
 * The mailer: sends notification email from the `notification_deliveries` outbox (channel
 * `email`), one message per person per run — a single notification, or a digest of every
 * one that arrived within the batch window (`EMAIL_BATCH_MS`).
 *
 * Every `pollMs` it asks the database who has email due (`quire_deliveries_due`, across
 * tenants, ids only) and, for each person, in one tenant transaction:
 *
 * 1. *Claims* all of their pending email deliveries — also those not due yet, which join
 *    the digest — with `FOR UPDATE SKIP LOCKED` (another instance's mailer takes other
 *    people), drops those that should no longer go out (`skipped`: the document is gone or
 *    they can no longer read it, the account is disabled, or email for that kind was turned
 *    off during the window — the same access rule as every read, `core/access.ts`, and the
 *    same preferences as the notifier), and marks the rest `sending` (attempts + 1). The
 *    transaction commits *before* the SMTP conversation starts.
 * 2. *Sends* one message (Message-ID derived from the delivery ids, so a receiver can
 *    de-duplicate too), with a one-click unsubscribe link (RFC 8058) signed for the kind,
 *    or for every kind in a digest.
 * 3. *Records* the outcome: `sent`; or, when the server did not take the message — it was
 *    unreachable, or refused with a 4xx — back to `pending` with a backoff (up to
 *    `maxAttempts`); or `failed` for a permanent refusal (5xx) or the last attempt.
 *
 * **At most once.** Between handing the message to the SMTP server and recording `sent`
 * there is a window in which the process can die (kill -9, a lost database, a power cut)
 * or the connection can drop before the server's final reply. A delivery in that window
 * may or may not have gone out, and sending it again could send it twice. We choose never
 * to send twice: a delivery found still `sending` after its lease (`leaseMs`, 10 minutes,
 * longer than any SMTP timeout below) is marked `unknown` and logged, never retried; a
 * connection lost after the message data went out is `unknown` at once. Only a failure
 * known to have happened before the server could have taken the message is retried. A
 * claimed delivery's `due_at` moves to the end of its lease, so the due list does not name
 * it again while its sender may still be talking to the server.
 */
import { PollLoop } from '../poll-loop.js';
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import MailComposer from 'nodemailer/lib/mail-composer';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { CommentAuthor, NotificationKind, NotificationPreferencePatch, PermissionLevel } from '../../contract/api.js';
import { atLeast, levelFor } from '../../core/access.js';
import { effectivePreferences, presentNotification } from '../../core/notifications.js';
import type { UnsubscribeClaims } from '../../core/unsubscribe-tokens.js';
import type { TenantRole } from '../../db/schema.js';
import { withTenant, type AppDb, type Tx } from '../../db/store.js';
import type { Logger } from '../../lib/log.js';
import { renderEmail, type EmailItem } from './email.js';

export interface MailerOptions {
  db: AppDb;
  log: Logger;
  /** The SMTP server, `smtp://` or `smtps://` with credentials and options (never logged). */
  smtpUrl: string;
  /** The From header and envelope sender. */
  from: string;
  /** The web app's origin: links in email are absolute. */
  publicUrl: string;
  /** Signs an unsubscribe link's token (the server's signing key; see core/unsubscribe-tokens.ts). */
  signUnsubscribe: (claims: UnsubscribeClaims) => Promise<string>;
  /** Period between looks for due email. @default 1_000 ms */
  pollMs?: number;
  /** People served per run. @default 50 */
  batch?: number;
  /** How long a claimed delivery may stay `sending` before it counts as `unknown`. @default 600_000 ms (longer than the SMTP timeouts) */
  leaseMs?: number;
  /** Notifications listed in one digest at most (more go in the next). @default 100 */
  maxPerEmail?: number;
  /** Attempts before a delivery the server keeps refusing for now is `failed`. @default 5 */
  maxAttempts?: number;
  /** The first retry's wait; doubled per attempt, at most an hour. @default 30_000 ms */
  retryBaseMs?: number;
  /** SMTP timeouts. @default connect 10 s, greeting 10 s, socket 60 s */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
  /** Registers `quire_email_messages_total` and `quire_email_deliveries_total{outcome}`. */
  registry?: Registry;
}

/** What became of an email delivery (the `outcome` label). */
type Outcome = 'sent' | 'skipped' | 'retry' | 'failed' | 'unknown';

/** What one run did. */
export interface MailerRun {
  /** Messages the SMTP server accepted. */
  sent: number;
  /** Deliveries dropped before sending (access, account, preference). */
  skipped: number;
  /** Deliveries that went back to pending, failed, or are now unknown. */
  notSent: number;
  /** The due list was full: more may be waiting. */
  more: boolean;
}

/** How an SMTP attempt ended. */
type SendOutcome =
  | { ok: true }
  /** `handedOver`: the message data went out, so the server may have taken it. */
  | { ok: false; permanent: boolean; handedOver: boolean; error: string };

interface Claimed {
  ids: string[];
  to: { name: string; address: string };
  workspace: string;
  items: (EmailItem & { deliveryId: string })[];
}

const MAX_ERROR_CHARS = 500;

export class Mailer {
  private readonly poller: PollLoop;
  private stopped = true;
  private readonly smtp: ReturnType<typeof parseConnectionUrl>;
  private readonly host: string;
  private readonly messages?: Counter;
  private readonly deliveries?: Counter<'outcome'>;

  constructor(private readonly opts: MailerOptions) {
    this.poller = new PollLoop({
      pollMs: opts.pollMs ?? 1_000,
      run: async () => (await this.runOnce()).more,
      onError: (err, retryInMs) => opts.log.warn({ cat: 'notify', err: err instanceof Error ? err.message : String(err), retryInMs }, 'looking for due email failed'),
    });
    this.smtp = parseConnectionUrl(opts.smtpUrl);
    this.host = new URL(opts.publicUrl).hostname || 'quire';
    if (opts.registry) {
      const registers = [opts.registry];
      this.messages = new Counter({ name: 'quire_email_messages_total', help: 'Notification emails the SMTP server accepted (a digest counts once)', registers });
      this.deliveries = new Counter({
        name: 'quire_email_deliveries_total',
        help: 'Email deliveries by outcome: sent, skipped (access, account or preference), retry (refused for now), failed, unknown (may have gone out; never resent)',
        labelNames: ['outcome'],
        registers,
      });
    }
  }

  private count(outcome: Outcome, n: number): void {
    if (n > 0) this.deliveries?.inc({ outcome }, n);
  }

  start(): void {
    this.stopped = false;
    this.poller.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.poller.stop();
  }

  /** Looks for due email in `inMs`: this process just wrote deliveries due then (see `PollLoop.wake`). */
  wake(inMs: number): void {
    this.poller.wake(inMs);
  }

  /** One run: every person with email due (up to `batch`), one message each. */
  async runOnce(): Promise<MailerRun> {
    const limit = this.opts.batch ?? 50;
    const due = (await sql<{ tenant_id: string; user_id: string }>`select tenant_id, user_id from quire_deliveries_due('email', now(), ${limit})`.execute(this.opts.db)).rows;
    const run: MailerRun = { sent: 0, skipped: 0, notSent: 0, more: due.length === limit };
    for (const d of due) {
      if (this.stopped) break;
      try {
        await this.deliverTo(d.tenant_id, d.user_id, run);
      } catch (err) {
        // One person's failure (a database error) leaves the others' email going. Theirs stays
        // pending when it came before the claim, or `sending` (later unknown) after the send.
        this.opts.log.warn({ cat: 'notify', tenant: d.tenant_id, user: d.user_id, err: err instanceof Error ? err.message : String(err) }, 'email for a person could not be handled');
      }
    }
    return run;
  }

  private async deliverTo(tenantId: string, userId: string, run: MailerRun): Promise<void> {
    const claimed = await withTenant(this.opts.db, tenantId, (tx) => this.claim(tx, tenantId, userId, run));
    if (!claimed) return;
    const messageId = `<${crypto
      .createHash('sha256')
      .update([...claimed.ids].sort().join(','))
      .digest('hex')
      .slice(0, 40)}.notify@${this.host}>`;
    let raw: Buffer;
    try {
      raw = await this.compose(tenantId, userId, claimed, messageId);
    } catch (err) {
      // Nothing went out: the deliveries go back to pending like a refused send.
      await withTenant(this.opts.db, tenantId, (tx) =>
        this.record(tx, claimed.ids, { ok: false, permanent: false, handedOver: false, error: `composing: ${err instanceof Error ? err.message : String(err)}` }),
      );
      throw err;
    }
    const outcome = await this.send(claimed.to.address, raw);
    const outcomes = await withTenant(this.opts.db, tenantId, (tx) => this.record(tx, claimed.ids, outcome));
    for (const o of new Set(outcomes)) this.count(o, outcomes.filter((x) => x === o).length);
    const log = { cat: 'notify', tenant: tenantId, user: userId, deliveries: claimed.ids.length, messageId };
    if (outcome.ok) {
      run.sent++;
      this.messages?.inc();
      this.opts.log.debug(log, 'email sent');
    } else {
      run.notSent += claimed.ids.length;
      this.opts.log.warn({ ...log, outcomes: [...new Set(outcomes)], err: outcome.error }, 'email not sent');
    }
  }

  /** The message as it goes over the wire. */
  private async compose(tenantId: string, userId: string, claimed: Claimed, messageId: string): Promise<Buffer> {
    // A single notification's link turns off its kind; a digest's, every kind.
    const kind: NotificationKind | undefined = claimed.items.length === 1 ? claimed.items[0]!.kind : undefined;
    const token = await this.opts.signUnsubscribe({ tenantId, userId, ...(kind ? { kind } : {}) });
    const unsubscribeUrl = `${this.opts.publicUrl}/api/v1/unsubscribe?token=${encodeURIComponent(token)}`;
    const email = renderEmail({ items: claimed.items, publicUrl: this.opts.publicUrl, unsubscribeUrl, workspace: claimed.workspace });
    return new MailComposer({
      from: this.opts.from,
      to: claimed.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId,
      headers: {
        // One line: a receiver reads the URL between the angle brackets as is (RFC 2369, RFC 8058).
        'List-Unsubscribe': { prepared: true, value: `<${unsubscribeUrl}>` },
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
      },
    })
      .compile()
      .build();
  }

  /** Claims a person's pending email (step 1); null when there is nothing to send now. */
  private async claim(tx: Tx, tenantId: string, userId: string, run: MailerRun): Promise<Claimed | null> {
    const rows = await tx
      .selectFrom('notification_deliveries')
      .select(['id', 'notification_id', 'status', 'created_at'])
      .select(sql<boolean>`due_at <= now()`.as('due'))
      .select(sql<boolean>`claimed_at is not null and claimed_at <= now() - ${`${this.opts.leaseMs ?? 600_000} milliseconds`}::interval`.as('expired'))
      .where('user_id', '=', userId)
      .where('channel', '=', 'email')
      .where('status', 'in', ['pending', 'sending'])
      .forUpdate()
      .skipLocked()
      .execute();
    // A sender that claimed these died or lost its connection mid-send: they may have gone out.
    const lost = rows.filter((r) => r.status === 'sending' && r.expired).map((r) => r.id);
    if (lost.length > 0) {
      await tx.updateTable('notification_deliveries').set({ status: 'unknown', error: 'the sender stopped while sending; not sent again' }).where('id', 'in', lost).execute();
      run.notSent += lost.length;
      this.count('unknown', lost.length);
      this.opts.log.warn({ cat: 'notify', tenant: tenantId, user: userId, deliveries: lost }, 'email deliveries left sending by a stopped sender are marked unknown (never sent twice)');
    }
    const waiting = rows.filter((r) => r.status === 'pending').sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || (a.id < b.id ? -1 : 1));
    // Only when one of them is due: the others wait with it for the digest, not on their own.
    if (!waiting.some((r) => r.due)) return null;
    // A very long digest is split: the oldest go now, the rest (due as well) in the next run.
    const maxPerEmail = this.opts.maxPerEmail ?? 100;
    const pending = waiting.slice(0, maxPerEmail);
    if (waiting.length > maxPerEmail) run.more = true;

    const user = await tx.selectFrom('users').select(['id', 'email', 'display_name', 'role', 'disabled_at', 'notification_preferences']).where('id', '=', userId).executeTakeFirst();
    const tenant = await tx.selectFrom('tenants').select(['name', 'notification_defaults']).where('id', '=', tenantId).executeTakeFirstOrThrow();
    const notes = await tx
      .selectFrom('notifications')
      .selectAll()
      .where(
        'id',
        'in',
        pending.map((p) => p.notification_id),
      )
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const docIds = [...new Set(notes.map((n) => n.document_id).filter((d): d is string => d !== null))];
    const docs = new Map(
      docIds.length === 0 ? [] : (await tx.selectFrom('documents').select(['id', 'title', 'kind', 'link_access', 'deleted_at']).where('id', 'in', docIds).execute()).map((d) => [d.id, d]),
    );
    const grants = new Map(
      docIds.length === 0
        ? []
        : (await tx.selectFrom('document_permissions').select(['document_id', 'level']).where('user_id', '=', userId).where('document_id', 'in', docIds).execute()).map((g) => [
            g.document_id,
            g.level,
          ]),
    );
    const actorIds = [...new Set(notes.map((n) => n.actor_id).filter((a): a is string => a !== null))];
    const people = new Map<string, CommentAuthor>(
      actorIds.length === 0
        ? []
        : (await tx.selectFrom('users').select(['id', 'display_name', 'email']).where('id', 'in', actorIds).execute()).map((u) => [
            u.id,
            { id: u.id, name: u.display_name ?? u.email.split('@')[0] ?? u.email },
          ]),
    );
    const prefs = user ? effectivePreferences(tenant.notification_defaults as NotificationPreferencePatch, user.notification_preferences as NotificationPreferencePatch) : null;

    const deliveryOf = new Map(pending.map((p) => [p.notification_id, p.id]));
    const skipped = new Map<string, string>();
    const items: Claimed['items'] = [];
    for (const p of pending) {
      if (!notes.some((n) => n.id === p.notification_id)) skipped.set(p.id, 'the notification is gone');
    }
    for (const n of notes) {
      const deliveryId = deliveryOf.get(n.id)!;
      const doc = n.document_id ? docs.get(n.document_id) : undefined;
      let why: string | null = null;
      if (!user || user.disabled_at) why = 'the account is disabled';
      else if (!prefs![n.kind].email) why = 'email for this kind is off';
      else if (n.document_id && (!doc || doc.deleted_at)) why = 'the document is gone';
      else if (doc && !atLeast(levelFor(user.role as TenantRole, { kind: doc.kind, linkAccess: doc.link_access }, (grants.get(doc.id) ?? null) as PermissionLevel | null), 'read')) {
        why = 'the recipient can no longer read the document';
      }
      if (why) {
        skipped.set(deliveryId, why);
        continue;
      }
      const shown = presentNotification(n, { titles: new Map(doc ? [[doc.id, doc.title]] : []), people });
      const excerpt = typeof n.data?.['excerpt'] === 'string' && n.data['excerpt'] ? (n.data['excerpt'] as string) : undefined;
      items.push({ deliveryId, kind: n.kind, text: shown.text, url: `${this.opts.publicUrl}${shown.link}`, createdAt: n.created_at, ...(excerpt ? { excerpt } : {}) });
    }
    for (const [id, why] of skipped) {
      await tx.updateTable('notification_deliveries').set({ status: 'skipped', error: why }).where('id', '=', id).execute();
    }
    run.skipped += skipped.size;
    this.count('skipped', skipped.size);
    if (items.length === 0 || !user) return null;
    const ids = items.map((i) => i.deliveryId);
    await tx
      .updateTable('notification_deliveries')
      .set({
        status: 'sending',
        claimed_at: sql<Date>`now()`,
        attempts: sql<number>`attempts + 1`,
        due_at: sql<Date>`now() + ${`${this.opts.leaseMs ?? 600_000} milliseconds`}::interval`,
        error: null,
      })
      .where('id', 'in', ids)
      .execute();
    const name = user.display_name ?? user.email.split('@')[0] ?? user.email;
    return { ids, to: { name, address: user.email }, workspace: tenant.name, items };
  }

  /** Records how a send ended (step 3). Only rows still `sending` are touched. */
  private async record(tx: Tx, ids: string[], outcome: SendOutcome): Promise<Outcome[]> {
    const q = tx.updateTable('notification_deliveries').where('id', 'in', ids).where('status', '=', 'sending');
    const error = outcome.ok ? null : outcome.error.slice(0, MAX_ERROR_CHARS);
    let rows: { status: string }[];
    if (outcome.ok) {
      rows = await q
        .set({ status: 'sent', sent_at: sql<Date>`now()`, error: null })
        .returning('status')
        .execute();
    } else if (outcome.handedOver) {
      rows = await q
        .set({ status: 'unknown', error: `the connection ended after the message was sent: ${error}` })
        .returning('status')
        .execute();
    } else if (outcome.permanent) {
      rows = await q.set({ status: 'failed', error }).returning('status').execute();
    } else {
      const max = this.opts.maxAttempts ?? 5;
      const base = this.opts.retryBaseMs ?? 30_000;
      rows = await q
        .set({
          status: sql<'pending' | 'failed'>`case when attempts < ${max} then 'pending' else 'failed' end`,
          due_at: sql<Date>`now() + least(3600000, ${base}::bigint * power(2, greatest(attempts - 1, 0))::bigint) * interval '1 millisecond'`,
          error,
        })
        .returning('status')
        .execute();
    }
    return rows.map((r) => (r.status === 'pending' ? 'retry' : (r.status as Outcome)));
  }

  /**
   * One SMTP conversation. The message is a stream the connection reads only once the
   * server has accepted the envelope and `DATA`, so a failure before that point is known
   * not to have delivered anything (safe to retry), and one after it may have (`handedOver`).
   */
  private send(to: string, raw: Buffer): Promise<SendOutcome> {
    const t = this.opts.timeouts ?? {};
    const { auth, ...options } = this.smtp;
    const conn = new SMTPConnection({
      ...options,
      connectionTimeout: t.connectionMs ?? 10_000,
      greetingTimeout: t.greetingMs ?? 10_000,
      socketTimeout: t.socketMs ?? 60_000,
    });
    let handedOver = false;
    const message = new Readable({
      read() {
        handedOver = true;
        this.push(raw);
        this.push(null);
      },
    });
    const envelope = { from: addressOf(this.opts.from), to: [to] };
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const done = (outcome: SendOutcome) => {
        if (settled) return;
        settled = true;
        if (outcome.ok) conn.quit();
        else conn.close();
        resolve(outcome);
      };
      const failed = (err: unknown) => done(classify(err, handedOver));
      // Kept for the connection's whole life: an error event after the outcome must not go unheard.
      conn.on('error', failed);
      conn.on('end', () => failed(new Error('the SMTP server closed the connection')));
      conn.connect(() => {
        const sendIt = () =>
          conn.send(envelope, message, (err) => {
            if (err) failed(err);
            else done({ ok: true });
          });
        if (auth) {
          conn.login({ credentials: { user: auth.user, pass: auth.pass } }, (err) => {
            if (err) failed(err);
            else sendIt();
          });
        } else sendIt();
      });
    });
  }
}

/** The bare address of a From header (`Quire <quire@example.com>` → `quire@example.com`). */
function addressOf(from: string): string {
  return /<([^<>]+)>\s*$/.exec(from)?.[1]?.trim() ?? from.trim();
}

/**
 * An SMTP failure as retry / permanent / maybe delivered. A reply code is the server's
 * answer (5xx: it will never take it; 4xx: not now); no reply code is the connection or a
 * timeout, which is only known harmless before the message data went out.
 */
function classify(err: unknown, handedOver: boolean): SendOutcome {
  const e = err as { message?: string; responseCode?: number; code?: string };
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  const error = `${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).replace(/\s+/g, ' ')}`;
  if (code !== null && code >= 500) return { ok: false, permanent: true, handedOver: false, error };
  if (code !== null && code >= 400) return { ok: false, permanent: false, handedOver: false, error };
  return { ok: false, permanent: false, handedOver, error };
}
