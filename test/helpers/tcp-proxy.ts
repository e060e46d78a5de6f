/**
 * A TCP proxy on loopback in front of a real service (Postgres, Redis, NATS), for fault
 * tests: the service itself is never stopped, only this test's link to it is broken.
 *
 * - `pause()`: a stall. Open links stop moving bytes in both directions (nothing is read,
 *   so the kernel buffers fill and writers block) and new connections are accepted but
 *   not connected upstream until `resume()`.
 * - `reset()`: every open link is closed with a TCP RST on both sides (a failover, a
 *   pooler restart, a NAT timeout); new connections work as before.
 * - `blackhole()`: like `pause()`, and bytes that arrive meanwhile are thrown away, as a
 *   dead network path would; `resume()` ends it (links that saw dropped bytes are reset).
 */
import net from 'node:net';
import type { TestContext } from 'node:test';

interface Link {
  client: net.Socket;
  upstream: net.Socket | null;
  tainted: boolean;
}

export interface TcpProxy {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  /** Rewrites a service URL (postgres://, redis://, nats://) to go through the proxy. */
  url(serviceUrl: string): string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Links open now. */
  readonly open: number;
  /** Local ports of the proxy's upstream connections (Postgres' `client_port` of its backends). */
  upstreamPorts(): number[];
  pause(): void;
  blackhole(): void;
  resume(): void;
  reset(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(t: TestContext | null, target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let mode: 'open' | 'paused' | 'blackhole' = 'open';
  let accepted = 0;

  const connectUpstream = (link: Link) => {
    const up = net.connect(target.port, target.host);
    link.upstream = up;
    up.setNoDelay(true);
    link.client.pipe(up);
    up.pipe(link.client);
    const end = () => kill(link, false);
    up.on('error', end);
    up.on('close', end);
  };

  const kill = (link: Link, rst: boolean) => {
    if (!links.delete(link)) return;
    for (const s of [link.client, link.upstream]) {
      if (!s || s.destroyed) continue;
      if (rst) s.resetAndDestroy();
      else s.destroy();
    }
  };

  const server = net.createServer((client) => {
    accepted++;
    client.setNoDelay(true);
    const link: Link = { client, upstream: null, tainted: false };
    links.add(link);
    client.on('error', () => kill(link, false));
    client.on('close', () => kill(link, false));
    if (mode === 'open') connectUpstream(link);
    else stall(link);
  });

  const stall = (link: Link) => {
    for (const s of [link.client, link.upstream]) {
      if (!s) continue;
      s.unpipe();
      s.pause();
      if (mode === 'blackhole') {
        // Read and discard: the peer's writes succeed, nothing arrives.
        s.on('data', () => (link.tainted = true));
        s.resume();
      }
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const proxy: TcpProxy = {
    host: `127.0.0.1:${port}`,
    port,
    url(serviceUrl: string) {
      const u = new URL(serviceUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return links.size;
    },
    upstreamPorts() {
      return [...links].map((l) => l.upstream?.localPort).filter((p): p is number => typeof p === 'number');
    },
    pause() {
      mode = 'paused';
      for (const l of links) stall(l);
    },
    blackhole() {
      mode = 'blackhole';
      for (const l of links) stall(l);
    },
    resume() {
      const wasBlackhole = mode === 'blackhole';
      mode = 'open';
      for (const l of [...links]) {
        if (wasBlackhole && (l.tainted || l.upstream)) {
          // Bytes were lost in the middle of a stream: the link cannot be trusted again.
          kill(l, true);
          continue;
        }
        if (!l.upstream) connectUpstream(l);
        else {
          l.client.pipe(l.upstream);
          l.upstream.pipe(l.client);
        }
      }
    },
    reset() {
      for (const l of [...links]) kill(l, true);
    },
    async close() {
      for (const l of [...links]) kill(l, false);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  t?.after(() => proxy.close());
  return proxy;
}

/** host/port of a service URL (for the proxy's target). */
export function targetOf(serviceUrl: string): { host: string; port: number } {
  const u = new URL(serviceUrl);
  const defaults: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'nats:': 4222 };
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || defaults[u.protocol] || 0) };
}
