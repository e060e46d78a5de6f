/**
 * Structured JSON logs (pino). Every line carries a category (`cat`) and, where there
 * is one, a request or connection id. Secrets are redacted by path as a second line
 * of defence; code never logs tokens or passwords on purpose.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** The fixed set of log categories. */
export type LogCategory = 'app' | 'http' | 'db' | 'auth' | 'sync' | 'feed' | 'worker' | 'ratelimit' | 'shutdown';

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'quire' },
      timestamp: pino.stdTimeFunctions.isoTime,
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
