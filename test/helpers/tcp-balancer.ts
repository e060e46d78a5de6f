/**
 * A round-robin TCP load balancer on loopback, as a Kubernetes Service or an L4 load
 * balancer spreads connections over instances: each new connection goes to the next
 * backend; a backend that refuses it (stopped, or no longer listening while it drains) is
 * skipped for that connection. Open connections are spliced and never moved.
 */
import net from 'node:net';
import type { TestContext } from 'node:test';

export interface TcpBalancer {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Connections each backend took, by backend port. */
  readonly taken: Map<number, number>;
  close(): Promise<void>;
}

export async function startTcpBalancer(t: TestContext | null, backendPorts: number[], host = '127.0.0.1'): Promise<TcpBalancer> {
  const taken = new Map<number, number>(backendPorts.map((p) => [p, 0]));
  const open = new Set<net.Socket>();
  let next = 0;

  /** Tries each backend once, from the next in turn (`start`), until one accepts. */
  const route = (client: net.Socket, start: number, tried: number) => {
    if (tried >= backendPorts.length) {
      client.destroy();
      return;
    }
    const port = backendPorts[(start + tried) % backendPorts.length]!;
    const up = net.connect(port, host);
    const refused = () => {
      up.destroy();
      route(client, start, tried + 1);
    };
    up.once('error', refused);
    up.once('connect', () => {
      up.off('error', refused);
      taken.set(port, (taken.get(port) ?? 0) + 1);
      open.add(up);
      up.setNoDelay(true);
      client.pipe(up);
      up.pipe(client);
      const end = () => {
        open.delete(up);
        client.destroy();
        up.destroy();
      };
      up.on('error', end);
      up.on('close', end);
      client.on('error', end);
      client.on('close', end);
    });
  };

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    // Bytes that arrive before the backend answers wait in the socket (pipe() resumes it).
    client.pause();
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    route(client, next++, 0);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as net.AddressInfo).port;
  const balancer: TcpBalancer = {
    port,
    url: `http://${host}:${port}`,
    taken,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
  t?.after(() => balancer.close());
  return balancer;
}
