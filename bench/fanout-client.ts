/**
 * Load generator for the fan-out scenario (a separate process from every server): one
 * writer at `hz` and `n` readers on one document; latency is measured writer → reader in
 * this one process, so there is no clock skew.
 * Usage: fanout-client.ts <hocuspocus|y-websocket> <wsUrl[,wsUrl…]> <doc[,doc…]> <token|-> <n> <hz> <seconds>
 * With several URLs (instances of one deployment), each document's writer connects to the
 * first and its readers are spread over all of them in turn.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

const [protocol, url, doc, token, nArg, hzArg, secondsArg] = process.argv.slice(2);
const n = Number(nArg);
const hz = Number(hzArg);
const seconds = Number(secondsArg);

interface Client {
  doc: Y.Doc;
  synced: Promise<void>;
  destroy(): void;
}

const urls = url!.split(',');
let connected = 0;

function client(name: string, at = urls[connected++ % urls.length]!): Client {
  const ydoc = new Y.Doc();
  if (protocol === 'y-websocket') {
    const p = new WebsocketProvider(at, name, ydoc, { WebSocketPolyfill: WebSocket as never, disableBc: true, params: token === '-' ? {} : { token: token! } });
    return { doc: ydoc, synced: new Promise((r) => p.once('sync', () => r())), destroy: () => p.destroy() };
  }
  const socket = new HocuspocusProviderWebsocket({ url: at, WebSocketPolyfill: WebSocket as never });
  const p = new HocuspocusProvider({ websocketProvider: socket, name, document: ydoc, token: token === '-' ? 'bench' : token! });
  p.attach();
  return {
    doc: ydoc,
    synced: new Promise((r) => p.on('synced', () => r())),
    destroy: () => {
      p.destroy();
      socket.destroy();
    },
  };
}

// One writer and n readers per document; `doc` may list several documents (comma-separated).
const docs = doc!.split(',');
const groups = docs.map((name) => {
  const writer = client(name, urls[0]);
  connected = 1;
  return { writer, readers: Array.from({ length: n }, () => client(name)) };
});
const all = groups.flatMap((g) => [g.writer, ...g.readers]);
for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map((c) => c.synced));

const samples: number[] = [];
let measuring = false;
for (const g of groups) {
  for (const r of g.readers) {
    r.doc.getMap('bench').observe((e) => {
      if (!measuring || !e.keysChanged.has('tick')) return;
      const v = r.doc.getMap('bench').get('tick') as { t: number };
      samples.push(performance.now() - v.t);
    });
  }
}
// Writers tick at `hz`, spread evenly over the period so documents do not fire in lockstep.
const timers: NodeJS.Timeout[] = [];
groups.forEach((g, k) => {
  const wmap = g.writer.doc.getMap('bench');
  let i = 0;
  setTimeout(() => timers.push(setInterval(() => wmap.set('tick', { i: i++, t: performance.now() }), 1000 / hz)), ((1000 / hz) * k) / groups.length);
});
await new Promise((r) => setTimeout(r, 1000)); // warm-up
measuring = true;
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
for (const t of timers) clearInterval(t);
await new Promise((r) => setTimeout(r, 300));
samples.sort((a, b) => a - b);
const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
process.stdout.write(`${JSON.stringify({ samples: samples.length, expected: Math.round(seconds * hz * n * docs.length), p50: q(0.5), p99: q(0.99), max: samples[samples.length - 1] ?? NaN })}\n`);
for (const c of all) c.destroy();
process.exit(0);
