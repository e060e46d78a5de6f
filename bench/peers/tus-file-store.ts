/** Peer: stock tus-node-server (@tus/server with @tus/file-store) on Node's http, no auth, no database (the upload floor). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const port = Number(process.argv[2] ?? 0);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tus-peer-'));
const server = new Server({ path: '/files', datastore: new FileStore({ directory: dir }), relativeLocation: true });
const http = server.listen(port, '127.0.0.1', () => {
  const address = http.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : port}\n`);
});
const stop = () => {
  http.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
