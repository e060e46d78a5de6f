/**
 * Distributed tracing with OpenTelemetry: W3C trace context from an HTTP request or a socket
 * update through the commit, the relay, the bus and the worker to the index write.
 *
 * Off unless the standard variables name an OTLP exporter or endpoint (`TracingConfig`,
 * lib/config.ts). Off, the SDK is never loaded: only the API's no-op globals exist, and
 * every helper here checks {@link tracingOn} first, so hot paths build no spans, no
 * attributes and no carriers. On, {@link startTracing} registers a tracer provider with a
 * batch processor and an OTLP/HTTP exporter (protobuf or JSON), the AsyncLocalStorage
 * context manager and the W3C `traceparent`/`tracestate` propagator.
 *
 * Spans are made by hand at the points that mean something (there is no auto-instrumentation:
 * the edge is uWebSockets.js, not node:http). Context crosses the outbox as a `traceparent`
 * stored with the update's log row, and the bus as a `traceparent` message header.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Link, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { TracingConfig } from './config.js';
import type { Logger } from './log.js';

export { SpanKind, SpanStatusCode, context as traceContext, trace as traceApi, ROOT_CONTEXT };
export type { Attributes, Context, Link, Span, SpanContext };

/** Instrumentation scope of every span Quire makes. */
const SCOPE = 'quire';

type ExporterOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

let on = false;
let tracerInstance: Tracer | null = null;

/** Whether spans are recorded in this process. Off ⇒ callers skip every tracing step. */
export function tracingOn(): boolean {
  return on;
}

/** The tracer (only meaningful while {@link tracingOn}). */
export function tracer(): Tracer {
  tracerInstance ??= trace.getTracer(SCOPE);
  return tracerInstance;
}

interface SpanOptionsLite {
  kind?: SpanKind;
  /** Built only when the span is recorded. */
  attributes?: () => Attributes;
  links?: Link[];
  /** The parent; the active context when absent. */
  parent?: Context;
}

/** Marks a span failed with the error (message and type; no stack for expected refusals). */
export function failSpan(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** Starts a span (call only while {@link tracingOn}). */
export function startSpan(name: string, opts: SpanOptionsLite = {}): Span {
  const parent = opts.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, links: opts.links }, parent);
  if (opts.attributes && span.isRecording()) span.setAttributes(opts.attributes());
  return span;
}

/**
 * Runs `fn` inside a span of its own (the active span while it runs), ended when it settles
 * and marked failed when it throws. Off, `fn` runs as it is.
 */
export async function inSpan<T>(name: string, opts: SpanOptionsLite, fn: (span: Span | null) => Promise<T>): Promise<T> {
  if (!on) return fn(null);
  const parent = opts.parent ?? context.active();
  const span = startSpan(name, { ...opts, parent });
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    failSpan(span, e);
    throw e;
  } finally {
    span.end();
  }
}

/** Runs `fn` with `span` active (its children parented to it). */
export function withActiveSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** The context a carrier of W3C headers (`traceparent`, `tracestate`) names, over `base`. */
export function contextFromHeaders(headers: Readonly<Record<string, string | undefined>> | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!on || !headers) return base;
  return propagation.extract(base, headers);
}

/** The W3C headers that carry `ctx` (the active context by default): `traceparent` and maybe `tracestate`. */
export function headersFor(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  if (on) propagation.inject(ctx, carrier);
  return carrier;
}

/** The `traceparent` of a span (or the active one): what an outbox row keeps. */
export function traceparentOf(span?: Span | null): string | undefined {
  if (!on) return undefined;
  const ctx = span ? trace.setSpan(ROOT_CONTEXT, span) : context.active();
  return headersFor(ctx).traceparent;
}

/** The span context a stored or received `traceparent` names, or null when absent or malformed. */
export function spanContextOf(traceparent: string | null | undefined): SpanContext | null {
  if (!on || !traceparent) return null;
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent })) ?? null;
}

/** A link to the span a `traceparent` names (the connection a socket update arrived on). */
export function linkTo(traceparent: string | null | undefined): Link | null {
  const sc = spanContextOf(traceparent);
  return sc ? { context: sc } : null;
}

/** Returned to pino when there is nothing to add (recognised, never mutated: see lib/log.ts). */
export const NO_TRACE_FIELDS: Readonly<Record<string, string>> = Object.freeze({});

/** `trace_id` and `span_id` of the active recording span, for log lines. */
export function traceFields(): Record<string, string> {
  if (!on) return NO_TRACE_FIELDS;
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return NO_TRACE_FIELDS;
  const sc = span.spanContext();
  return { trace_id: sc.traceId, span_id: sc.spanId };
}

export interface TracingHandle {
  /** Exports what is queued, then stops the provider (a step of the ordered shutdown). */
  shutdown(): Promise<void>;
}

interface Running {
  refs: number;
  shutdown: () => Promise<void>;
}
let running: Running | null = null;

/** Errors the SDK reports (an unreachable collector) are logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Starts the SDK when `config.enabled`; null otherwise (nothing is loaded). Processes that
 * run several instances (tests) share one provider: the first start configures it, the
 * last shutdown stops it and puts the no-op globals back.
 */
export async function startTracing(config: TracingConfig, log: Logger): Promise<TracingHandle | null> {
  if (!config.enabled) return null;
  if (!running) {
    const [{ NodeTracerProvider }, base, { resourceFromAttributes, defaultResource }, core, { AsyncLocalStorageContextManager }, semconv] = await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/semantic-conventions'),
    ]);
    const exporterOptions: ExporterOptions = {
      url: config.url,
      headers: config.headers,
      timeoutMillis: config.timeoutMs,
      // The exporter's enum has these two string values.
      compression: config.compression as unknown as ExporterOptions['compression'],
    };
    const exporter =
      config.protocol === 'http/json'
        ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(exporterOptions)
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(exporterOptions);
    const ratio = new base.TraceIdRatioBasedSampler(config.samplerRatio);
    const sampler = {
      always_on: new base.AlwaysOnSampler(),
      always_off: new base.AlwaysOffSampler(),
      traceidratio: ratio,
      parentbased_always_on: new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
      parentbased_always_off: new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
      parentbased_traceidratio: new base.ParentBasedSampler({ root: ratio }),
    }[config.sampler];
    const resource = defaultResource().merge(resourceFromAttributes({ ...config.resourceAttributes, [semconv.ATTR_SERVICE_NAME]: config.serviceName }));
    const processor = new base.BatchSpanProcessor(exporter, {
      scheduledDelayMillis: config.batch.scheduleDelayMs,
      exportTimeoutMillis: config.batch.exportTimeoutMs,
      maxQueueSize: config.batch.maxQueueSize,
      maxExportBatchSize: Math.min(config.batch.maxExportBatchSize, config.batch.maxQueueSize),
    });
    const provider = new NodeTracerProvider({ resource, sampler, spanProcessors: [processor] });
    let lastError = 0;
    core.setGlobalErrorHandler((err) => {
      const now = Date.now();
      if (now - lastError < ERROR_LOG_INTERVAL_MS) return;
      lastError = now;
      // The exporter's errors name the endpoint and status, never its headers.
      log.warn({ cat: 'app', source: 'tracing', err: err instanceof Error ? err.message : String(err) }, 'span export failed');
    });
    provider.register({ contextManager: new AsyncLocalStorageContextManager(), propagator: new core.W3CTraceContextPropagator() });
    tracerInstance = null;
    on = true;
    const r: Running = {
      refs: 0,
      shutdown: async () => {
        on = false;
        tracerInstance = null;
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          context.disable();
          propagation.disable();
        }
      },
    };
    running = r;
    log.info(
      { cat: 'app', tracing: { url: shownUrl(config.url), protocol: config.protocol, service: config.serviceName, sampler: config.sampler, ratio: config.samplerRatio } },
      'tracing on: spans are exported over OTLP',
    );
  }
  const r = running;
  r.refs++;
  let stopped = false;
  return {
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      if (--r.refs > 0) return;
      if (running === r) running = null;
      await r.shutdown();
    },
  };
}

/** The endpoint as logged: no user name or password, no query. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}
