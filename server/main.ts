/**
 * Process entry: `node dist/server/main.js --roles=api,sync,worker` (all roles by default).
 * Reads configuration once, starts the roles, and shuts down in order on SIGTERM/SIGINT.
 * Everything the process prints is a JSON log line: console output of libraries and Node's
 * warnings go through the log too (`routeProcessOutput`), and so do a configuration that
 * does not parse and a start that fails (on stderr, before exiting with 2 or 1).
 */
import { startQuire } from './app.js';
import { ConfigError, loadConfig, type Config } from '../lib/config.js';
import { createLogger, routeProcessOutput, type Logger } from '../lib/log.js';

/** A logger on stderr for the reasons the process stops before or while starting. */
function stderrLogger(level: string): Logger {
  return createLogger(level, { write: (line: string) => process.stderr.write(line) });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      stderrLogger('info').fatal({ cat: 'app', problems: e.problems }, `Invalid configuration: ${e.problems.join('; ')}`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  routeProcessOutput(log);
  // Every request and socket handler turns its failures into an answer or a close code; a
  // promise that still rejects unobserved is a bug to log, not a reason to drop every
  // other user's connection. An uncaught exception still ends the process (its state may
  // be half-changed, and the supervisor restarts it), after its log line.
  process.on('unhandledRejection', (err) => log.error({ cat: 'app', err }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err, origin) => {
    stderrLogger(config.logLevel).fatal({ cat: 'app', err, origin }, 'uncaught exception; exiting');
    process.exit(1);
  });
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
  stderrLogger('info').fatal({ cat: 'app', err }, 'Quire failed to start');
  process.exit(1);
});
