/**
 * Load generator for the scale-out scenario (a process of its own). Two modes:
 *
 * - `throughput <wsUrl[,…]> <doc,doc,…> <token> <seconds>`: one writer per document, the
 *   writers spread over the instances in turn; each writes its next update as soon as the
 *   previous one is acknowledged (durable), so the total is what the deployment commits
 *   per second. Prints {acked, perSecond}.
 * - `hold <wsUrl[,…]> <doc> <token> <sockets>`: `sockets` sessions of one document spread
 *   over the instances, opened 200 at a time (as clients arrive, not all in one instant),
 *   then one write that every session must receive. Prints {held, connectSeconds,
 *   allSeeMs, p50, p99}.
 * - `failover <wsUrl> <doc> <token> <clients> <pid> [signal]`: `clients` sessions through one address
 *   (a load balancer); once all are synced it sends process `pid` `signal` (SIGKILL: a crash;
 *   SIGTERM: a drain, as in a rolling restart) and measures,
 *   for each session that lost its socket, the time until it is synced again, then the time
 *   for a new write to reach every session. Prints {held, lost, p50, p99, max, allSeeMs}.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';

class QuietWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

interface Session {
  provider: HocuspocusProvider;
  doc: Y.Doc;
  synced: Promise<void>;
  destroy(): void;
}

function open(url: string, name: string, token: string): Session {
  const doc = new Y.Doc();
  const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: QuietWebSocket as never, delay: 100, minDelay: 100, maxDelay: 2000, maxAttempts: 0 });
  const provider = new HocuspocusProvider({ websocketProvider: socket, name, document: doc, token });
  provider.attach();
  return {
    provider,
    doc,
    synced: new Promise((r) => provider.on('synced', () => r())),
    destroy: () => {
      provider.destroy();
      socket.destroy();
    },
  };
}

const q = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;
const [mode, ...rest] = process.argv.slice(2);

if (mode === 'throughput') {
  const [urlList, docList, token, secondsArg] = rest as [string, string, string, string];
  const urls = urlList.split(',');
  const sessions = docList.split(',').map((d, k) => open(urls[k % urls.length]!, d, token));
  for (let i = 0; i < sessions.length; i += 100) await Promise.all(sessions.slice(i, i + 100).map((s) => s.synced));
  let acked = 0;
  let running = true;
  let counting = false;
  for (const s of sessions) {
    const map = s.doc.getMap('bench');
    let i = 0;
    const write = () => running && map.set('v', i++);
    s.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
      if (number !== 0) return;
      if (counting) acked++;
      setImmediate(write);
    });
    write();
  }
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, Number(secondsArg) * 1000));
  counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  process.stdout.write(`${JSON.stringify({ acked, perSecond: acked / elapsed })}\n`);
  for (const s of sessions) s.destroy();
  process.exit(0);
} else if (mode === 'hold') {
  const [urlList, name, token, socketsArg] = rest as [string, string, string, string];
  const urls = urlList.split(',');
  const sessions: Session[] = [];
  const t0 = performance.now();
  for (let i = 0; i < Number(socketsArg); i += 200) {
    const wave = Array.from({ length: Math.min(200, Number(socketsArg) - i) }, (_, k) => open(urls[(i + k) % urls.length]!, name, token));
    sessions.push(...wave);
    await Promise.all(wave.map((s) => s.synced));
  }
  const connectSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const seen: number[] = [];
  const all = Promise.all(
    sessions.slice(1).map(
      (s) =>
        new Promise<void>((resolve) => {
          const m = s.doc.getMap('bench');
          m.observe(() => {
            if (m.get('hello') !== t1) return;
            seen.push(performance.now() - t1);
            resolve();
          });
        }),
    ),
  );
  sessions[0]!.doc.getMap('bench').set('hello', t1);
  await all.catch(() => undefined);
  const allSeeMs = performance.now() - t1;
  seen.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ held: sessions.length, connectSeconds, allSeeMs, p50: q(seen, 0.5), p99: q(seen, 0.99) })}\n`);
  for (const s of sessions) s.destroy();
  process.exit(0);
} else if (mode === 'failover') {
  const [url, name, token, clientsArg, pidArg, signal = 'SIGKILL'] = rest as [string, string, string, string, string, string?];
  const sessions = Array.from({ length: Number(clientsArg) }, () => open(url, name, token));
  for (let i = 0; i < sessions.length; i += 100) await Promise.all(sessions.slice(i, i + 100).map((s) => s.synced));
  const recovered: number[] = [];
  let lost = 0;
  let killedAt = 0;
  const back = sessions.map(
    (s) =>
      new Promise<void>((resolve) => {
        let down = false;
        s.provider.on('status', ({ status }: { status: string }) => {
          if (status !== 'connected' && !down && killedAt) {
            down = true;
            lost++;
          }
        });
        s.provider.on('synced', ({ state }: { state: boolean }) => {
          if (!down || !state) return;
          recovered.push(performance.now() - killedAt);
          down = false;
          resolve();
        });
        // Sessions on the surviving instances never go down: they count as back at once.
        setTimeout(() => !down && resolve(), 3000);
      }),
  );
  killedAt = performance.now();
  process.kill(Number(pidArg), signal as NodeJS.Signals);
  await Promise.all(back);
  const t1 = performance.now();
  sessions[0]!.doc.getMap('bench').set('after', t1);
  await Promise.all(
    sessions.map(
      (s) =>
        new Promise<void>((resolve) => {
          const m = s.doc.getMap('bench');
          if (m.get('after') === t1) return resolve();
          m.observe(() => m.get('after') === t1 && resolve());
        }),
    ),
  );
  const allSeeMs = performance.now() - t1;
  recovered.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ held: sessions.length, lost, p50: q(recovered, 0.5), p99: q(recovered, 0.99), max: recovered.at(-1) ?? NaN, allSeeMs })}\n`);
  for (const s of sessions) s.destroy();
  process.exit(0);
} else {
  process.stderr.write('usage: scale-client.ts throughput|failover …\n');
  process.exit(2);
}
