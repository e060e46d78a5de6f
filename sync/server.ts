/**
 * The sync tier: one Hocuspocus core with Quire's extensions, in order, and its
 * WebSocket route `/sync` on the uWebSockets.js edge (same port as REST).
 *
 * Extensions (Redis first by its own priority):
 *   Redis fan-out (scaled profile) → Metrics → Limits → Authentication → Persistence → History → Revocation
 */
import crypto from 'node:crypto';
import type { Hocuspocus, Extension } from '@hocuspocus/server';
import { DurableFanout, type Durability } from './extensions/durable-fanout.js';
import type { HttpResponse, HttpRequest, us_socket_context_t, WebSocket, WebSocketBehavior } from '@trufflesuite/uws-js-unofficial';
import type { Redis } from 'ioredis';
import type { Store } from '../db/store.js';
import type { AccessEvents } from '../lib/access-events.js';
import type { TokenService } from '../core/tokens.js';
import type { SyncLimits } from '../lib/config.js';
import type { HttpEdge } from '../lib/http/edge.js';
import type { Logger } from '../lib/log.js';
import type { Metrics } from '../lib/metrics.js';
import { ContentService } from './content-service.js';
import { CLOSE } from './context.js';
import { DocumentStore } from '../core/document-store.js';
import { GroupCommitter } from './group-commit.js';
import { createHocuspocus } from './hocuspocus.js';
import { Authentication } from './extensions/authentication.js';
import { AwarenessLimits } from './extensions/awareness-limits.js';
import { Limits } from './extensions/limits.js';
import { InboundBudget, WorkBudget, type ByteBucket } from './inbound-budget.js';
import { DEFAULT_INBOUND_SCHEDULER, InboundScheduler } from './inbound-scheduler.js';
import { SyncMetrics } from './extensions/metrics.js';
import { Persistence } from './extensions/persistence.js';
import { History } from './extensions/history.js';
import { recordSeen } from '../core/seen.js';
import { VersionStore } from '../core/history.js';
import { Revocation } from './extensions/revocation.js';
import { UwsSocket, type SocketData } from './uws-socket.js';
import { parseUpgrade, TOKEN_PROTOCOL_PREFIX, Y_WEBSOCKET_PATH, YWebsocketSession, type YWebsocketTarget } from './y-websocket.js';
import { tracingOn } from '../lib/tracing.js';

export interface SyncServerOptions {
  store: Store;
  tokens: TokenService;
  accessEvents: AccessEvents;
  metrics: Metrics;
  log: Logger;
  limits: SyncLimits;
  redis: Redis | null;
  redisUrl?: string;
  redisPrefix: string;
  /** Bound on each fan-out Redis command. @default 1 s */
  redisCommandTimeoutMs?: number;
}

interface ClientHandle {
  handleMessage(data: Uint8Array): void;
  handleClose(event?: { code: number; reason: string }): void;
}

type SyncSocketData = SocketData & {
  url: string;
  client?: ClientHandle;
  authTimer?: NodeJS.Timeout;
  budget?: ByteBucket;
  traceparent?: string;
  /** y-websocket sockets: the document and token of the upgrade (the token is dropped once sent to the core). */
  target?: YWebsocketTarget;
  /** y-websocket sockets: the protocol translation in front of the uWS socket. */
  session?: YWebsocketSession;
};

/**
 * The request headers Hocuspocus' hooks see: none. Hocuspocus keeps each socket's upgrade
 * request (and the hook payloads made from it) for the socket's lifetime, and no hook of
 * Quire's reads a header — the token comes in the auth message, the client's address from
 * the edge — so one empty instance serves every socket instead of a copy of ~10 headers each.
 */
const NO_HEADERS = new Headers();

function redisExtension(url: string, prefix: string, commandTimeoutMs: number, durability: Durability, log: Logger): DurableFanout {
  const u = new URL(url);
  return new DurableFanout(
    {
      host: u.hostname,
      port: Number(u.port || 6379),
      options: {
        username: u.username ? decodeURIComponent(u.username) : undefined,
        password: u.password ? decodeURIComponent(u.password) : undefined,
        db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
        tls: u.protocol === 'rediss:' ? {} : undefined,
        // A stalled Redis fails the command instead of holding a document's load (redis-fanout.ts).
        commandTimeout: commandTimeoutMs,
      },
      prefix: `${prefix}hp`,
      identifier: `quire-${crypto.randomUUID()}`,
      // Stores are no-ops here (every update is already in the log), so the lock is short.
      lockTimeout: 5_000,
    },
    durability,
    log,
  );
}

export class SyncServer {
  readonly hocuspocus: Hocuspocus;
  readonly persistence: Persistence;
  readonly documents: DocumentStore;
  readonly content: ContentService;
  readonly history: History;
  private readonly revocation: Revocation;
  private readonly syncMetrics: SyncMetrics;
  private readonly sockets = new Set<UwsSocket>();
  private readonly perIp = new Map<string, number>();
  private readonly budget: InboundBudget;
  /** Frames on their way from the sockets to Hocuspocus, in turns (see InboundScheduler). */
  private readonly inbound: InboundScheduler<UwsSocket>;
  private readonly clients = new WeakMap<UwsSocket, SyncSocketData>();
  private closing = false;

  constructor(private readonly opts: SyncServerOptions) {
    const { limits, log } = opts;
    this.documents = new DocumentStore(opts.store.db);
    this.syncMetrics = new SyncMetrics(opts.metrics, () => this.sockets.size);
    const work = new WorkBudget({ tenantBurstMs: limits.tenantWorkBurstMs, tenantMsPerSecond: limits.tenantWorkMsPerSecond });
    const committer = new GroupCommitter(this.documents, (size, seconds, ok) => this.syncMetrics.onBatch(size, seconds, ok));
    this.persistence = new Persistence({
      store: this.documents,
      committer,
      log,
      maxDocumentBytes: limits.maxDocumentBytes,
      compactAfterUpdates: limits.compactAfterUpdates,
      compactDebounceMs: limits.compactDebounceMs,
      onAppend: (bytes) => this.syncMetrics.onAppend(bytes),
      onAck: (seconds) => this.syncMetrics.ackSeconds.observe(seconds),
      chargeWork: (tenantId, ms) => work.charge(tenantId, ms),
      canWork: (tenantId) => work.available(tenantId),
    });
    this.history = new History({
      versions: new VersionStore(opts.store.db, this.documents),
      persistence: this.persistence,
      log,
      intervalMs: limits.historyCheckpointIntervalMs,
      recordSeen: (tenantId, documentId, userId, versionId) => recordSeen(opts.store.db, tenantId, documentId, userId, versionId),
    });
    this.revocation = new Revocation({
      db: opts.store.db,
      events: opts.accessEvents,
      log,
      redis: opts.redis,
      channel: `${opts.redisPrefix}access`,
      recheckMs: limits.accessRecheckMs,
    });
    const connectionLimits = new Limits({
      maxConnectionsPerDocument: limits.maxConnectionsPerDocument,
      maxConnectionsPerUserDocument: limits.maxConnectionsPerUserDocument,
      maxDocumentsPerSocket: limits.maxDocumentsPerSocket,
    });
    this.budget = new InboundBudget({
      socketBurstBytes: limits.socketBurstBytes,
      socketBytesPerSecond: limits.socketBytesPerSecond,
      tenantBurstBytes: limits.tenantBurstBytes,
      tenantBytesPerSecond: limits.tenantBytesPerSecond,
    });
    this.inbound = new InboundScheduler<UwsSocket>((socket, frame) => this.deliver(socket, frame), {
      ...DEFAULT_INBOUND_SCHEDULER,
      // A workspace's burst is processed at the rate its byte budget refills.
      workspaceBytesPerSecond: limits.tenantBytesPerSecond,
    });
    const extensions: Extension[] = [
      this.syncMetrics,
      connectionLimits,
      new Authentication({ tokens: opts.tokens, db: opts.store.db, log, admit: (a) => connectionLimits.admit(a) }),
      new AwarenessLimits({ maxClientsPerDocument: limits.maxConnectionsPerDocument }),
      this.persistence,
      this.history,
      this.revocation,
    ];
    if (opts.redisUrl) {
      const fanout = redisExtension(opts.redisUrl, opts.redisPrefix, opts.redisCommandTimeoutMs ?? 1_000, this.persistence, log);
      this.syncMetrics.fanout = () => fanout.counts;
      extensions.unshift(fanout);
    }
    // Hook failures go to the log, not the console (see hocuspocus.ts).
    this.hocuspocus = createHocuspocus(
      {
        name: `quire-${process.pid}`,
        quiet: true,
        timeout: limits.idleTimeoutMs,
        maxUnauthenticatedQueueSize: limits.maxUnauthBytes,
        maxUnauthenticatedQueueMessages: limits.maxUnauthMessages,
        maxPendingDocuments: limits.maxPendingDocuments,
        extensions,
      },
      log,
    );
    this.content = new ContentService(this.hocuspocus, this.persistence, this.documents, this.history, new VersionStore(opts.store.db, this.documents));
  }

  async start(): Promise<void> {
    await this.revocation.start();
  }

  get socketCount(): number {
    return this.sockets.size;
  }

  /** Documents loaded in this instance (unloaded when their last connection closes). */
  get documentsInMemory(): number {
    return this.hocuspocus.getDocumentsCount();
  }

  /** Hands a frame whose turn came to Hocuspocus; a socket closed meanwhile gets nothing more processed. */
  private deliver(socket: UwsSocket, frame: Uint8Array): void {
    const data = this.clients.get(socket);
    if (!data || socket.readyState !== 1) return;
    try {
      socket.noteIncoming(frame);
      data.client?.handleMessage(frame);
    } catch (err) {
      this.opts.log.warn({ cat: 'sync', err: (err as Error).message, ip: data.ip }, 'malformed message; closing socket');
      socket.close(CLOSE.invalidMessage.code, CLOSE.invalidMessage.reason);
    }
  }

  /**
   * Mounts the sockets on the edge: `/sync` (the Hocuspocus protocol, several documents per
   * socket) and `/yjs/<documentId>` (the y-websocket protocol, one document per socket; see
   * `y-websocket.ts`). Both run on the same core with the same limits, checked at upgrade:
   * total and per-IP sockets.
   */
  attach(edge: HttpEdge): void {
    edge.app.ws<SyncSocketData>('/sync', this.behavior(edge, 'hocuspocus'));
    edge.app.ws<SyncSocketData>(`${Y_WEBSOCKET_PATH}/*`, this.behavior(edge, 'y-websocket'));
  }

  private behavior(edge: HttpEdge, protocol: 'hocuspocus' | 'y-websocket'): WebSocketBehavior<SyncSocketData> {
    const { limits, log } = this.opts;
    return {
      maxPayloadLength: limits.maxFrameBytes,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      maxBackpressure: 64 * 1024 * 1024,
      // A reader that cannot keep up is closed (it reconnects and resyncs) rather than silently skipped.
      closeOnBackpressureLimit: 1,
      upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
        try {
          const key = req.getHeader('sec-websocket-key');
          let subprotocol = req.getHeader('sec-websocket-protocol');
          const extensions = req.getHeader('sec-websocket-extensions');
          const ip = edge.clientIp(res, req);
          const refuse = (status: string, reason: string, message = reason) => {
            this.syncMetrics.refusedSockets.inc({ reason });
            res.cork(() =>
              res
                .writeStatus(status)
                .writeHeader('content-type', 'application/json')
                .end(JSON.stringify({ error: { code: reason, message } }), true),
            );
          };
          let url = req.getUrl() + (req.getQuery() ? `?${req.getQuery()}` : '');
          let target: YWebsocketTarget | undefined;
          if (protocol === 'y-websocket') {
            const parsed = parseUpgrade(req.getUrl(), req.getQuery() ?? '', subprotocol);
            if ('error' in parsed) {
              return parsed.error === 'unknown_path'
                ? refuse('404 Not Found', 'not_found', `Connect to ${Y_WEBSOCKET_PATH}/<documentId>`)
                : refuse('401 Unauthorized', 'missing_token', `Send an access token or API key as the "token" query parameter or as the "${TOKEN_PROTOCOL_PREFIX}<token>" subprotocol`);
            }
            target = parsed;
            subprotocol = parsed.protocol;
            // The token stays out of what the core keeps of the request.
            url = req.getUrl();
          }
          if (this.closing) return refuse('503 Service Unavailable', 'shutting_down');
          if (this.sockets.size >= limits.maxConnections) return refuse('503 Service Unavailable', 'too_many_connections');
          if ((this.perIp.get(ip) ?? 0) >= limits.maxConnectionsPerIp) return refuse('429 Too Many Requests', 'too_many_connections_from_ip');
          this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
          // Tracing on: the upgrade's trace context, which each update's span links to.
          // A W3C traceparent is 55 characters; anything far longer is not kept on the socket.
          const header = tracingOn() ? req.getHeader('traceparent') : '';
          const traceparent = header && header.length <= 256 ? header : undefined;
          const data: SyncSocketData = { ip, url };
          if (traceparent) data.traceparent = traceparent;
          if (target) data.target = target;
          res.upgrade<SyncSocketData>(data, key, subprotocol, extensions, context);
        } catch (err) {
          log.error({ cat: 'sync', err }, 'socket upgrade failed');
          try {
            res.cork(() => res.writeStatus('500 Internal Server Error').end('', true));
          } catch (e) {
            log.debug({ cat: 'sync', err: e }, 'could not answer a failed upgrade');
          }
        }
      },
      open: (ws: WebSocket<SyncSocketData>) => {
        try {
          const data = ws.getUserData();
          const onPersistFailure = (s: UwsSocket, err: unknown) => {
            log.error({ cat: 'sync', err }, 'update commit failed; closing the socket so the client resends');
            s.close(CLOSE.persistFailed.code, CLOSE.persistFailed.reason);
          };
          if (data.target) data.session = new YWebsocketSession(ws, data.target.documentId);
          const socket = new UwsSocket(data.session ?? ws, onPersistFailure);
          data.socket = socket;
          if (data.traceparent) socket.upgradeTraceparent = data.traceparent;
          data.budget = this.budget.socketBucket();
          this.clients.set(socket, data);
          this.sockets.add(socket);
          // Hocuspocus keeps the upgrade request for the socket's lifetime and reads only its
          // url and headers: a plain object costs a fraction of a WHATWG Request (no body
          // stream, no AbortSignal) on every one of thousands of idle sockets. The url stays
          // a path: Hocuspocus parses one without a scheme into query parameters alone, where
          // an absolute one would keep a whole URL object in every hook payload.
          const request = { url: data.url, headers: NO_HEADERS } as unknown as Request;
          data.client = this.hocuspocus.handleConnection(socket, request, { ip: data.ip, socket });
          // A y-websocket client sends no authentication message: its upgrade's token is the first frame.
          if (data.session && data.target) {
            this.inbound.push(socket, `ip:${data.ip}`, data.session.authenticate(data.target.token));
            delete data.target;
          }
          data.authTimer = setTimeout(() => {
            if (socket.authenticatedDocuments === 0) {
              this.syncMetrics.refusedSockets.inc({ reason: 'auth_timeout' });
              socket.close(CLOSE.authTimeout.code, CLOSE.authTimeout.reason);
            }
          }, limits.authTimeoutMs);
        } catch (err) {
          // A socket that could not be set up is closed; the client reconnects.
          log.error({ cat: 'sync', err }, 'socket setup failed; closing it');
          ws.end(CLOSE.persistFailed.code, CLOSE.persistFailed.reason);
        }
      },
      message: (ws: WebSocket<SyncSocketData>, message: ArrayBuffer) => {
        const data = ws.getUserData();
        if (data.budget && data.socket) {
          const verdict = this.budget.charge(data.budget, data.socket.tenantId, message.byteLength);
          if (verdict !== 'ok') {
            this.syncMetrics.refusedSockets.inc({ reason: `inbound_budget_${verdict}` });
            log.warn({ cat: 'sync', ip: data.ip, tenant: data.socket.tenantId, budget: verdict }, 'inbound byte budget spent; closing socket');
            data.socket.close(CLOSE.sendingTooFast.code, `${CLOSE.sendingTooFast.reason}: ${verdict} budget`);
            return;
          }
        }
        if (!data.socket) return;
        let frame: Uint8Array | null;
        if (data.session) {
          // Translated into a new buffer (uWS reuses this one after the callback).
          frame = data.session.inbound(new Uint8Array(message));
          if (!frame) {
            data.socket.close(CLOSE.invalidMessage.code, CLOSE.invalidMessage.reason);
            return;
          }
        } else {
          // uWS reuses the buffer after this callback; the frame may wait for its turn.
          frame = new Uint8Array(message.slice(0));
        }
        this.inbound.push(data.socket, data.socket.tenantId ?? `ip:${data.ip}`, frame);
      },
      close: (ws: WebSocket<SyncSocketData>, code: number, message: ArrayBuffer) => {
        const data = ws.getUserData();
        if (data.authTimer) clearTimeout(data.authTimer);
        const socket = data.socket;
        if (socket) {
          socket.markClosed();
          this.sockets.delete(socket);
          this.inbound.forget(socket);
        }
        const n = (this.perIp.get(data.ip) ?? 1) - 1;
        if (n <= 0) this.perIp.delete(data.ip);
        else this.perIp.set(data.ip, n);
        try {
          data.client?.handleClose({ code, reason: Buffer.from(message).toString() });
        } catch (err) {
          log.warn({ cat: 'sync', err }, 'error while closing a connection');
        }
      },
    };
  }

  /**
   * Shutdown: refuse new sockets, close open ones (clients reconnect elsewhere), wait for
   * every queued append and compaction, then let extensions release their resources.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const s of [...this.sockets]) s.close(CLOSE.shuttingDown.code, CLOSE.shuttingDown.reason);
    // Let documents unload (fan-out housekeeping, compaction on unload) before flushing.
    const deadline = Date.now() + 5_000;
    while (this.hocuspocus.getDocumentsCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await this.persistence.flush();
    await this.history.flush();
    await this.hocuspocus.hooks('onDestroy', { instance: this.hocuspocus });
  }
}
