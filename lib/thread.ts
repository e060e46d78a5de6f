/**
 * Starts a worker thread running the module `<basename>.ts|.js` next to `fromUrl`. Under tsx
 * (TypeScript source) Node 20 workers neither inherit the loader hooks nor honour
 * `--import tsx` in execArgv, so a tiny inline bootstrap loads the .ts file through tsx's API;
 * built code (`dist/`) loads the .js file directly.
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
