/**
 * The HTTP edge on uWebSockets.js: a small router over uWS routes, request ids, bounded
 * JSON bodies (413 past the limit), CORS, JSON errors, metrics by route pattern, and a
 * drain on shutdown. WebSocket routes are attached to `app` by the sync tier.
 */
import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import uWS from '@trufflesuite/uws-js-unofficial';
import type { HttpRequest as UwsRequest, HttpResponse as UwsResponse, TemplatedApp, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import { badRequest, isAppError, payloadTooLarge, type ServerErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { clientAddress, type TrustProxy } from './client-ip.js';
import type { Metrics } from '../metrics.js';
import { contextFromHeaders, SpanKind, SpanStatusCode, startSpan, tracingOn, withActiveSpan } from '../tracing.js';

export type Method = 'get' | 'head' | 'post' | 'put' | 'patch' | 'del';

interface RouteOptions {
  route: string;
  paramNames: string[];
  maxBodyBytes: number;
  secretPath: boolean;
  streamBody: boolean;
}

export interface Req {
  id: string;
  method: string;
  path: string;
  /** The route pattern that matched, e.g. `/api/v1/documents/:id`. */
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  ip: string;
  body: Buffer | null;
  /**
   * On a route registered with `streamBody`: the request body as it arrives (`body` is
   * null), with backpressure: the socket is paused while the reader lags. It ends early,
   * without an error, when the client goes away; `aborted` tells which.
   */
  bodyStream?: ReadableStream<Uint8Array>;
  /** On a `streamBody` route: whether the client went away before the answer. */
  aborted?: () => boolean;
  log: Logger;
}

export interface Res {
  status: number;
  json?: unknown;
  text?: string;
  bytes?: Uint8Array;
  headers?: Record<string, string>;
  /** Answer a HEAD request: send these headers and this content-length, no body. */
  headOnlyLength?: number;
  /**
   * Keep the response open as a stream of Server-Sent Events (status 200): called once the
   * headers are out; returns what to do when the stream ends (the client left, the server
   * closes it, or it fell too far behind).
   */
  eventStream?: (sink: EventStreamSink) => () => void;
  /**
   * A body streamed from `body` with backpressure (a file download): `length` bytes are
   * sent with a Content-Length; a source that fails midway cuts the connection, so the
   * client sees a short body rather than a wrong one.
   */
  stream?: { body: Readable; length: number };
}

/** The open end of a Server-Sent Events response. */
export interface EventStreamSink {
  /** Writes one event; false when the stream is closed (nothing was written). */
  send(event: string, data: unknown): boolean;
  /** Ends the stream from our side. */
  close(): void;
  readonly closed: boolean;
}

/** How often an open event stream gets a comment line, so proxies and clients keep it open. */
const EVENT_STREAM_PING_MS = 25_000;

export type Handler = (req: Req) => Promise<Res> | Res;
/** Runs before every routed handler (rate limits); throw an AppError to refuse. */
export type BeforeHook = (req: Req) => Promise<void>;

export interface EdgeOptions {
  log: Logger;
  metrics: Metrics;
  corsOrigins: string[];
  trustProxy: TrustProxy;
  /** Largest accepted request body in bytes. @default 1_048_576 */
  maxBodyBytes: number;
  before?: BeforeHook;
}

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete']);

interface AnswerContext {
  method: string;
  url: string;
  route: string;
  started: bigint;
  id: string;
  origin: string;
  aborted: () => boolean;
  log: () => Logger;
  closeConnection: boolean;
  /** Runs `fn` when the client goes away (now, if it already has). */
  onAbort: (fn: () => void) => void;
}

/** `decodeURIComponent`, or null for a malformed escape (`%E0%A4%A`), which it throws on. */
function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

export function errorBody(code: ServerErrorCode, message: string, details?: unknown): { error: { code: ServerErrorCode; message: string; details?: unknown } } {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** A registered route: its method, its uWS pattern and what the caller documented with it. */
export interface RegisteredRoute<Doc> {
  method: Method;
  pattern: string;
  doc?: Doc;
}

/**
 * `Doc` is what a route registration may carry as its documentation (the server's OpenAPI
 * description of the operation); the edge only keeps it for `routes()`.
 */
export class HttpEdge<Doc = unknown> {
  readonly app: TemplatedApp = uWS.App();
  private listenSocket: us_listen_socket | null = null;
  private inflight = 0;
  private readonly registered: RegisteredRoute<Doc>[] = [];
  private drained: (() => void) | null = null;
  private closing = false;
  /** Open event streams, closed on shutdown; pinged while any is open. */
  private readonly streams = new Set<EventStreamSink>();
  private pinger: NodeJS.Timeout | null = null;

  constructor(private readonly opts: EdgeOptions) {
    this.app.options('/*', (res, req) => {
      const origin = req.getHeader('origin');
      const reqHeaders = req.getHeader('access-control-request-headers');
      res.cork(() => {
        res.writeStatus('204 No Content');
        if (this.corsAllowed(origin)) {
          res.writeHeader('access-control-allow-origin', origin);
          res.writeHeader('vary', 'Origin');
          res.writeHeader('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
          res.writeHeader('access-control-allow-headers', reqHeaders || 'authorization, content-type, x-request-id');
          res.writeHeader('access-control-max-age', '600');
        }
        res.endWithoutBody();
      });
    });
  }

  /** Every route registered so far (method, uWS pattern, documentation), for tests and docs. */
  routes(): readonly Readonly<RegisteredRoute<Doc>>[] {
    return this.registered;
  }

  /** Requests accepted and not yet answered. */
  get inflightCount(): number {
    return this.inflight;
  }

  get port(): number {
    return this.listenSocket ? uWS.us_socket_local_port(this.listenSocket) : -1;
  }

  /**
   * Registers a route. `pattern` uses uWS syntax (`/api/v1/documents/:id`). `maxBodyBytes`
   * overrides the edge's body limit for this route alone (a bulk upload). `secretPath`: the
   * path carries a secret (a public link's token), so log lines show the route pattern
   * instead of the path. `doc` describes the operation (kept for `routes()`).
   */
  route(method: Method, pattern: string, handler: Handler, opts: { maxBodyBytes?: number; secretPath?: boolean; streamBody?: boolean; doc?: Doc } = {}): this {
    this.registered.push(opts.doc === undefined ? { method, pattern } : { method, pattern, doc: opts.doc });
    const names = pattern
      .split('/')
      .filter((s) => s.startsWith(':'))
      .map((s) => s.slice(1));
    const route: RouteOptions = {
      route: pattern,
      paramNames: names,
      maxBodyBytes: opts.maxBodyBytes ?? this.opts.maxBodyBytes,
      secretPath: opts.secretPath ?? false,
      streamBody: opts.streamBody ?? false,
    };
    this.app[method === 'head' ? 'head' : method](pattern, (res, req) => this.guard(res, req, route, handler));
    return this;
  }

  /** Catch-all for anything no route matched (registered last); `route` labels it in metrics. */
  fallback(handler: Handler, route = 'unmatched'): this {
    this.app.any('/*', (res, req) => this.guard(res, req, { route, paramNames: [], maxBodyBytes: this.opts.maxBodyBytes, secretPath: false, streamBody: false }, handler));
    return this;
  }

  private corsAllowed(origin: string): boolean {
    return origin !== '' && (this.opts.corsOrigins.includes(origin) || this.opts.corsOrigins.includes('*'));
  }

  /** The client address: the socket peer, or the entry our trusted proxies added to X-Forwarded-For. */
  clientIp(res: UwsResponse, req: UwsRequest): string {
    const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
    if (this.opts.trustProxy.kind === 'none') return peer;
    return clientAddress(this.opts.trustProxy, peer, req.getHeader('x-forwarded-for'));
  }

  /**
   * The last line of defence: an exception that escapes a uWS callback would end the
   * process, so whatever `dispatch` did not turn into an answer becomes a 500 here (or, if
   * the response is already gone, a log line).
   */
  private guard(res: UwsResponse, uReq: UwsRequest, opts: RouteOptions, handler: Handler): void {
    try {
      this.dispatch(res, uReq, opts, handler);
    } catch (err) {
      this.opts.log.error({ cat: 'http', err, route: opts.route }, 'request handler threw outside its error path');
      try {
        res.cork(() => {
          res.writeStatus('500 Internal Server Error');
          res.writeHeader('content-type', 'application/json; charset=utf-8');
          res.end(JSON.stringify(errorBody('internal_error', 'Something went wrong on our side')), true);
        });
      } catch (e) {
        // The response was already answered or aborted: nothing left to tell the client.
        this.opts.log.debug({ cat: 'http', err: e }, 'could not answer after a handler error');
      }
    }
  }

  private dispatch(res: UwsResponse, uReq: UwsRequest, opts: RouteOptions, handler: Handler): void {
    const { route, paramNames, maxBodyBytes, secretPath } = opts;
    const started = process.hrtime.bigint();
    const method = uReq.getMethod();
    const path = uReq.getUrl();
    // What log lines show: the path, or the route's pattern when the path holds a secret.
    const url = secretPath ? route : path;
    const query = new URLSearchParams(uReq.getQuery() ?? '');
    const headers: Record<string, string> = {};
    uReq.forEach((k, v) => {
      headers[k] = v;
    });
    const params: Record<string, string> = {};
    let badParam: string | null = null;
    paramNames.forEach((n, i) => {
      const raw = uReq.getParameter(i) ?? '';
      const decoded = safeDecode(raw);
      if (decoded === null) badParam = n;
      else params[n] = decoded;
    });
    const incomingId = headers['x-request-id'];
    const id = incomingId && REQUEST_ID_RE.test(incomingId) ? incomingId : crypto.randomUUID();
    const ip = this.clientIp(res, uReq);
    // The request's logger is made on first use: most requests log nothing at the usual
    // level, and a pino child per request was 2 % of the API process on the hottest read.
    const root = this.opts.log;
    let child: Logger | null = null;
    const log = (): Logger => (child ??= root.child({ cat: 'http', reqId: id }));
    let aborted = false;
    const abortListeners: (() => void)[] = [];
    res.onAborted(() => {
      aborted = true;
      for (const fn of abortListeners.splice(0)) fn();
    });
    const onAbort = (fn: () => void) => {
      if (aborted) fn();
      else abortListeners.push(fn);
    };
    this.inflight++;
    // Tracing on: a server span per request, continuing the caller's W3C trace context
    // (`traceparent`); its handler runs with the span active. Named by the route pattern,
    // which never holds a secret.
    const span = tracingOn()
      ? startSpan(`${method.toUpperCase()} ${route}`, {
          kind: SpanKind.SERVER,
          parent: contextFromHeaders(headers),
          attributes: () => ({ 'http.request.method': method.toUpperCase(), 'http.route': route, 'url.path': url, 'quire.request_id': id }),
        })
      : null;

    let finished = false;
    const finish = (r: Res, closeConnection = false) => {
      if (finished) return;
      finished = true;
      try {
        this.answer(res, r, { method, url, route, started, id, origin: headers['origin'] ?? '', aborted: () => aborted, log, closeConnection, onAbort });
      } catch (err) {
        log().error({ err, method, url, route }, 'could not send the response');
      } finally {
        this.inflight--;
        if (this.inflight === 0 && this.drained) this.drained();
        if (span) {
          span.setAttribute('http.response.status_code', r.status);
          if (r.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          span.end();
        }
      }
    };
    const fail = (e: unknown, closeConnection = false) => {
      if (isAppError(e)) {
        finish({ status: e.status, json: errorBody(e.code, e.message, e.details), headers: e.headers }, closeConnection);
      } else {
        log().error({ err: e, method, url, route }, 'unhandled error');
        finish({ status: 500, json: errorBody('internal_error', 'Something went wrong on our side', { requestId: id }) });
      }
    };

    if (badParam !== null) {
      fail(badRequest('invalid_path', `The path segment for ${badParam} is not valid percent-encoded UTF-8`));
      return;
    }
    if (this.closing) {
      finish({ status: 503, json: errorBody('shutting_down', 'The server is shutting down'), headers: { connection: 'close' } }, true);
      return;
    }

    const run = (body: Buffer | null, bodyStream?: ReadableStream<Uint8Array>) => {
      if (span) withActiveSpan(span, () => handle(body, bodyStream));
      else handle(body, bodyStream);
    };
    const handle = (body: Buffer | null, bodyStream?: ReadableStream<Uint8Array>) => {
      const req: Req = {
        id,
        method,
        path,
        route,
        params,
        query,
        headers,
        ip,
        body,
        ...(bodyStream ? { bodyStream, aborted: () => aborted } : {}),
        get log() {
          return log();
        },
      };
      (async () => {
        if (this.opts.before) await this.opts.before(req);
        return handler(req);
      })().then(
        (r) => finish(r),
        (e) => fail(e),
      );
    };

    if (!BODY_METHODS.has(method)) {
      run(null);
      return;
    }
    const limit = maxBodyBytes;
    const declared = Number(headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      // Answer at once and close: the rest of the body is never read.
      fail(payloadTooLarge(limit), true);
      return;
    }
    if (opts.streamBody) {
      run(null, this.bodyStream(res, limit, onAbort, fail));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    res.onData((chunk, isLast) => {
      if (done) return;
      try {
        size += chunk.byteLength;
        if (size > limit) {
          done = true;
          fail(payloadTooLarge(limit), true);
          return;
        }
        chunks.push(Buffer.from(chunk.slice(0)));
        if (isLast) {
          done = true;
          run(size === 0 ? null : Buffer.concat(chunks, size));
        }
      } catch (e) {
        done = true;
        fail(e, true);
      }
    });
  }

  /**
   * The request body as a stream, read as the handler pulls it: uWS delivers chunks as they
   * arrive and the socket is paused while more than a few are waiting. Past `limit` bytes
   * the request is answered 413 and closed.
   */
  private bodyStream(res: UwsResponse, limit: number, onAbort: (fn: () => void) => void, fail: (e: unknown, closeConnection?: boolean) => void): ReadableStream<Uint8Array> {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let paused = false;
    let ended = false;
    let size = 0;
    const end = () => {
      if (ended) return;
      ended = true;
      try {
        controller.close();
      } catch {
        // The reader cancelled it already.
      }
    };
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => {
          if (paused && !ended) {
            paused = false;
            res.resume();
          }
        },
        cancel: () => {
          ended = true;
        },
      },
      { highWaterMark: 8 },
    );
    // A client that goes away ends the body where it stopped: what arrived is kept (a resumable upload resumes from there).
    onAbort(end);
    res.onData((chunk, isLast) => {
      if (ended) return;
      try {
        size += chunk.byteLength;
        if (size > limit) {
          ended = true;
          controller.error(payloadTooLarge(limit));
          fail(payloadTooLarge(limit), true);
          return;
        }
        controller.enqueue(new Uint8Array(chunk.slice(0)));
        if (isLast) end();
        else if ((controller.desiredSize ?? 1) <= 0) {
          paused = true;
          res.pause();
        }
      } catch (e) {
        ended = true;
        fail(e, true);
      }
    });
    return stream;
  }

  /** Records the answer's metrics and log line, and writes it unless the client went away. */
  private answer(res: UwsResponse, r: Res, at: AnswerContext): void {
    let status = r.status;
    let body: string | Uint8Array | undefined;
    let type: string | undefined;
    let extra = r.headers ?? {};
    try {
      if (r.json !== undefined) {
        body = JSON.stringify(r.json);
        type = 'application/json; charset=utf-8';
      } else if (r.text !== undefined) {
        body = r.text;
        type = 'text/plain; charset=utf-8';
      } else if (r.bytes !== undefined) {
        body = r.bytes;
        type = 'application/octet-stream';
      }
    } catch (err) {
      at.log().error({ err, method: at.method, url: at.url, route: at.route }, 'response could not be serialised');
      status = 500;
      body = JSON.stringify(errorBody('internal_error', 'Something went wrong on our side', { requestId: at.id }));
      type = 'application/json; charset=utf-8';
      extra = {};
    }
    const labels = { method: at.method, route: at.route, status: String(status) };
    this.opts.metrics.httpRequests.inc(labels);
    this.opts.metrics.httpDuration.observe(labels, Number(process.hrtime.bigint() - at.started) / 1e9);
    if (status >= 500) at.log().error({ method: at.method, url: at.url, route: at.route, status }, 'request failed');
    else if (this.opts.log.isLevelEnabled('debug')) at.log().debug({ method: at.method, url: at.url, route: at.route, status }, 'request');
    if (at.aborted()) return;
    res.cork(() => {
      res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
      res.writeHeader('x-request-id', at.id);
      res.writeHeader('x-content-type-options', 'nosniff');
      if (this.corsAllowed(at.origin)) {
        res.writeHeader('access-control-allow-origin', at.origin);
        res.writeHeader('access-control-expose-headers', 'x-request-id, retry-after');
        res.writeHeader('vary', 'Origin');
      }
      if (r.eventStream && status === 200) {
        res.writeHeader('content-type', 'text/event-stream; charset=utf-8');
        res.writeHeader('cache-control', 'no-store');
        res.writeHeader('x-accel-buffering', 'no');
        for (const [k, v] of Object.entries(extra)) res.writeHeader(k, v);
        res.write(': open\n\n');
        return;
      }
      if (type && !Object.keys(extra).some((k) => k.toLowerCase() === 'content-type')) res.writeHeader('content-type', type);
      for (const [k, v] of Object.entries(extra)) res.writeHeader(k, v);
      if (r.stream && status === r.status) {
        if (r.stream.length === 0) res.endWithoutBody(0, at.closeConnection);
        return;
      }
      if (r.headOnlyLength !== undefined && status === r.status) res.endWithoutBody(r.headOnlyLength, at.closeConnection);
      else if (body === undefined) res.endWithoutBody(0, at.closeConnection);
      else res.end(body, at.closeConnection);
    });
    if (r.eventStream && status === 200) this.openStream(res, r.eventStream, at);
    if (r.stream) {
      if (status === r.status && r.stream.length > 0) this.pipeOut(res, r.stream, at);
      else r.stream.body.destroy();
    }
  }

  /**
   * Sends a stream of `length` bytes with backpressure: the source pauses while uWS holds
   * unsent bytes and resumes when the socket drains. A source that fails or ends short cuts
   * the connection, so the client never takes a short body for a whole one.
   */
  private pipeOut(res: UwsResponse, src: { body: Readable; length: number }, at: AnswerContext): void {
    let done = false;
    const finish = (cut: boolean) => {
      if (done) return;
      done = true;
      src.body.destroy();
      if (cut && !at.aborted()) {
        try {
          res.close();
        } catch {
          // Already gone.
        }
      }
    };
    at.onAbort(() => finish(false));
    const send = (chunk: Uint8Array): boolean => {
      const before = res.getWriteOffset();
      let ok = false;
      let responded = false;
      res.cork(() => {
        [ok, responded] = res.tryEnd(chunk, src.length);
      });
      if (responded) {
        finish(false);
        return true;
      }
      if (!ok) {
        src.body.pause();
        res.onWritable((offset) => {
          if (done) return true;
          const [ok2, responded2] = res.tryEnd(chunk.subarray(offset - before), src.length);
          if (responded2) finish(false);
          else if (ok2) src.body.resume();
          return ok2;
        });
      }
      return ok;
    };
    src.body.on('data', (c: Buffer | string) => {
      if (done) return;
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      // uWS takes an ArrayBuffer view; copy out of Node's pooled buffers.
      send(new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    });
    src.body.on('end', () => finish(true));
    src.body.on('error', (err) => {
      at.log().warn({ err, route: at.route }, 'a streamed response failed midway; the connection is cut');
      finish(true);
    });
  }

  /**
   * Holds an event stream open. A client that stops reading is dropped rather than
   * buffered for: an event that finds the previous one still unsent closes the stream (the
   * client reconnects and reads what it missed through the REST API).
   */
  private openStream(res: UwsResponse, start: (sink: EventStreamSink) => () => void, at: AnswerContext): void {
    let closed = false;
    let backedUp = false;
    let cleanup: (() => void) | null = null;
    const end = (fromClient: boolean) => {
      if (closed) return;
      closed = true;
      this.streams.delete(sink);
      if (this.streams.size === 0 && this.pinger) {
        clearInterval(this.pinger);
        this.pinger = null;
      }
      if (!fromClient) {
        try {
          res.cork(() => res.end());
        } catch {
          // Already gone.
        }
      }
      try {
        cleanup?.();
      } catch (err) {
        at.log().warn({ err, route: at.route }, 'event stream cleanup failed');
      }
    };
    const write = (chunk: string): boolean => {
      if (closed) return false;
      if (backedUp) {
        end(false);
        return false;
      }
      let ok = true;
      res.cork(() => {
        ok = res.write(chunk);
      });
      if (!ok) {
        backedUp = true;
        res.onWritable(() => {
          backedUp = false;
          return true;
        });
      }
      return true;
    };
    const sink: EventStreamSink & { ping(): void } = {
      send: (event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
      ping: () => void write(': ping\n\n'),
      close: () => end(false),
      get closed() {
        return closed;
      },
    };
    this.streams.add(sink);
    this.pinger ??= setInterval(() => {
      for (const s of this.streams) (s as typeof sink).ping();
    }, EVENT_STREAM_PING_MS).unref();
    at.onAbort(() => end(true));
    try {
      cleanup = start(sink);
    } catch (err) {
      at.log().error({ err, route: at.route }, 'event stream failed to start');
      end(false);
    }
    if (closed) cleanup?.();
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.app.listen(host, port, (s) => {
        if (!s) reject(new Error(`Could not listen on ${host}:${port}`));
        else {
          this.listenSocket = s;
          resolve();
        }
      });
    });
    return this.port;
  }

  /** Stops accepting connections, answers new requests with 503, waits for in-flight ones. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    for (const s of [...this.streams]) s.close();
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    if (this.inflight === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
