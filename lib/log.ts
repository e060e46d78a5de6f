/**
 * Structured JSON logs (pino). Every line carries a category (`cat`) and, where there
 * is one, a request or connection id. Secrets are redacted by path as a second line
 * of defence; code never logs tokens or passwords on purpose.
 */
import { format } from 'node:util';
import { pino, type Logger } from 'pino';
import { NO_TRACE_FIELDS, traceFields } from './tracing.js';

export type { Logger };

/** The fixed set of log categories. */
export type LogCategory = 'app' | 'http' | 'db' | 'auth' | 'sync' | 'feed' | 'worker' | 'ratelimit' | 'shutdown';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'quire' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A line written while a recorded span is active carries its `trace_id` and `span_id`
      // (lib/tracing.ts); with tracing off nothing is added and nothing is allocated.
      mixin: traceFields,
      mixinMergeStrategy: (line: object, fields: object) => (fields === NO_TRACE_FIELDS ? line : Object.assign(fields, line)),
      redact: {
        paths: [
          'password',
          '*.password',
          'token',
          '*.token',
          'accessToken',
          'refreshToken',
          '*.accessToken',
          '*.refreshToken',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** Errors Quire's own code has logged (or deliberately left unlogged); see {@link routeProcessOutput}. */
const reported = new WeakSet<object>();

/** Marks an error as logged already: a library's console printout of it is dropped. */
export function markReported(error: unknown): void {
  if (typeof error === 'object' && error !== null) reported.add(error);
}

const CONSOLE_LEVELS = { error: 'error', warn: 'warn', info: 'info', log: 'info', debug: 'debug', trace: 'debug' } as const;

/**
 * Makes everything a server process prints a structured log line. Libraries print with
 * `console.*` (Hocuspocus and its Redis extension do, on errors and limits) and Node prints
 * process warnings as plain text; from here on both go through `log` (`cat: 'app'`, with
 * `source: 'console'` or `'warning'`), at the level of the console method. A console call
 * that carries an error already reported by Quire's own code ({@link markReported}) is
 * dropped: that error has its line. Blank lines are dropped too.
 */
export function routeProcessOutput(log: Logger): void {
  for (const [method, level] of Object.entries(CONSOLE_LEVELS)) {
    console[method as keyof typeof CONSOLE_LEVELS] = (...args: unknown[]) => {
      if (args.some((a) => typeof a === 'object' && a !== null && reported.has(a))) return;
      const err = args.find((a): a is Error => a instanceof Error);
      const msg = format(...args.filter((a) => a !== err)).trim() || (err?.message ?? '');
      if (!msg && !err) return;
      log[level]({ cat: 'app', source: 'console', ...(err ? { err } : {}) }, msg);
    };
  }
  // Node's own listener prints warnings as text; one that logs takes its place.
  for (const listener of process.listeners('warning')) process.off('warning', listener);
  process.on('warning', (warning: Error & { code?: string }) => {
    log.warn({ cat: 'app', source: 'warning', warning: { name: warning.name, code: warning.code } }, warning.message);
  });
}
