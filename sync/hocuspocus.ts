/**
 * Hocuspocus with hook failures reported through Quire's log instead of the console.
 *
 * Hocuspocus runs each hook through `hooks()`, which prints `[hookName] message` with
 * `console.error` for every error a hook throws (once per extension after the failing one),
 * whatever the error is: a token refused at `onAuthenticate` printed `[onAuthenticate]
 * invalid_token`, a line outside the structured log. Here a refusal (`SyncRefusal`, logged
 * where it is decided) prints nothing, an extension's request to skip the remaining hooks
 * (`SkipFurtherHooksError`) neither, and any other error is logged once as a structured line.
 * Each error seen is marked as reported, so a console printout of the same error by
 * Hocuspocus' callers (`closing connection … because of exception`) is dropped by the
 * process' console bridge (lib/log.ts `routeProcessOutput`).
 */
import { Hocuspocus, type Configuration, type HookName, type HookPayloadByName } from '@hocuspocus/server';
import { markReported, type Logger } from '../lib/log.js';
import { SyncRefusal, type SyncContext } from './context.js';

type HookFn = (payload: unknown) => unknown;

export function createHocuspocus(configuration: Partial<Configuration>, log: Logger): Hocuspocus<SyncContext> {
  class QuireHocuspocus extends Hocuspocus<SyncContext> {
    /** Runs `name` on every extension in order, as Hocuspocus does; a failure stops the chain and is reported once. */
    override hooks<T extends HookName>(name: T, payload: HookPayloadByName<SyncContext>[T], callback: ((value: unknown) => unknown) | null = null): Promise<unknown> {
      let chain: Promise<unknown> = Promise.resolve();
      for (const extension of this.configuration.extensions) {
        const hooks = extension as unknown as Record<string, HookFn | undefined>;
        if (typeof hooks[name] !== 'function') continue;
        chain = chain.then(() => hooks[name]?.call(extension, payload));
        if (callback) chain = chain.then((value) => callback(value));
      }
      return chain.catch((error: unknown) => {
        report(log, name, payload, error);
        throw error;
      });
    }
  }
  return new QuireHocuspocus(configuration);
}

function report(log: Logger, hook: HookName, payload: unknown, error: unknown): void {
  markReported(error);
  if (error instanceof SyncRefusal) return;
  if ((error as Error | undefined)?.name === 'SkipFurtherHooksError') return;
  const doc = (payload as { documentName?: unknown } | undefined)?.documentName;
  log.error({ cat: 'sync', hook, doc: typeof doc === 'string' ? doc : undefined, err: error }, 'sync hook failed');
}
