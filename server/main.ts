/**
 * Process entry: `node dist/server/main.js --roles=api,sync,worker` (all roles by default).
 * Reads configuration once, starts the roles, and shuts down in order on SIGTERM/SIGINT.
 */
import { startQuire } from './app.js';
import { ConfigError, loadConfig } from '../lib/config.js';
import { createLogger } from '../lib/log.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  // Every request and socket handler turns its failures into an answer or a close code; a
  // promise that still rejects unobserved is a bug to log, not a reason to drop every
  // other user's connection. (An uncaught exception still ends the process: its state
  // may be half-changed, and the supervisor restarts it.)
  process.on('unhandledRejection', (err) => log.error({ cat: 'app', err }, 'unhandled promise rejection'));
  const quire = await startQuire({ config, log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ cat: 'shutdown', signal }, 'shutting down');
    quire.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ cat: 'shutdown', err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`Quire failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
