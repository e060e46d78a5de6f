/** Quire as a child process (`server/main.ts`), for restarts, SIGTERM and SIGKILL tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ApiClient } from './api.js';
import { TEST_SECRETS_KEY } from './env.js';
import { eventually } from './wait.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface QuireProcess {
  child: ChildProcess;
  port: number;
  url: string;
  api: ApiClient;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

export function spawnQuire(env: Record<string, string>, port: number, args: string[] = []): QuireProcess {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), PASSWORD_SCRYPT_COST: '10', SECRETS_KEY: TEST_SECRETS_KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    port,
    url,
    api: new ApiClient(url),
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function ready(p: QuireProcess, timeoutMs = 60_000): Promise<void> {
  await eventually(
    async () => {
      if (p.child.exitCode !== null) throw new Error(`exited early: ${p.output()}`);
      const r = await p.api.get('/ready');
      if (r.status !== 200) throw new Error(`ready ${r.status}`);
    },
    { timeoutMs, message: 'server ready' },
  );
}
