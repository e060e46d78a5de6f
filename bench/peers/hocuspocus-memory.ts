/** Peer: stock @hocuspocus/server, in memory, no persistence, no auth (the speed floor). */
import { Server } from '@hocuspocus/server';

const port = Number(process.argv[2] ?? 0);
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true });
await server.listen();
process.stdout.write(`READY ${server.address.port}\n`);
