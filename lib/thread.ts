/**
 * Worker threads. `startModuleWorker` starts one running the module `<basename>.ts|.js`
 * next to `fromUrl`. Under tsx (TypeScript source) Node 20 workers neither inherit the
 * loader hooks nor honour `--import tsx` in execArgv, so a tiny inline bootstrap loads the
 * .ts file through tsx's API;
 * built code (`dist/`) loads the .js file directly. `serializeError`/`deserializeError`
 * carry an error across the thread boundary.
 */
import { Worker } from 'node:worker_threads';

export function startModuleWorker(fromUrl: string, basename: string): Worker {
  if (new URL(fromUrl).pathname.endsWith('.ts')) {
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL(`./${basename}.ts`, fromUrl).href;
    const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(fromUrl)}));`;
    return new Worker(bootstrap, { eval: true, execArgv: [] });
  }
  return new Worker(new URL(`./${basename}.js`, fromUrl), { execArgv: [] });
}

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

/** Flattens an unknown thrown value for `postMessage`. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds an `Error` (a `TypeError`/`RangeError` keeps its class) from {@link serializeError}. */
export function deserializeError(error: SerializedError): Error {
  const result = error.name === 'TypeError' ? new TypeError(error.message) : error.name === 'RangeError' ? new RangeError(error.message) : new Error(error.message);
  if (result.name !== error.name) result.name = error.name;
  if (error.stack !== undefined) result.stack = error.stack;
  return result;
}
