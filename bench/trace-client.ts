/**
 * Load process for the trace scenario: replays a sequential trace through one provider at
 * full speed and reports edits/s until every update is acknowledged; or ("load" mode)
 * measures how long a fresh provider takes to be synced with the stored document.
 * Usage: trace-client.ts replay|load <wsUrl> <doc> <token|-> [trace] [warm-up doc]
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { loadTrace, type SequentialTrace } from '../test/helpers/traces.js';

const [mode, url, doc, token, traceName = 'automerge-paper', warmDoc] = process.argv.slice(2);
// "load" with a warm-up document: sync a small document first, so the measured load is a
// document that is not in memory on a server (and client) that is already running.
if (mode === 'load' && warmDoc) {
  const ws = new HocuspocusProviderWebsocket({ url: url!, WebSocketPolyfill: WebSocket as never });
  const p = new HocuspocusProvider({ websocketProvider: ws, name: warmDoc, document: new Y.Doc(), token: token === '-' ? 'bench' : token! });
  p.attach();
  await new Promise<void>((r) => p.on('synced', () => r()));
  p.destroy();
  ws.destroy();
}
// Timeline of a load, all in this process: the server's "authenticated" answer, then the
// first sync message (the server has loaded the stored document, integrated it and encoded
// SyncStep2), then synced (the client has applied it).
let authenticatedAt = NaN;
let firstSyncAt = NaN;
class TimedWebSocket extends WebSocket {
  constructor(address: string, protocols?: string | string[]) {
    super(address, protocols);
    this.on('message', (data: Buffer) => {
      if (Number.isNaN(authenticatedAt) || !Number.isNaN(firstSyncAt)) return;
      const d = decoding.createDecoder(new Uint8Array(data));
      decoding.readVarString(d); // document name
      if (decoding.readVarUint(d) === 0) firstSyncAt = performance.now(); // 0: a sync message
    });
  }
}
const socket = new HocuspocusProviderWebsocket({ url: url!, WebSocketPolyfill: TimedWebSocket as never });
const ydoc = new Y.Doc();
const t0 = performance.now();
const provider = new HocuspocusProvider({ websocketProvider: socket, name: doc!, document: ydoc, token: token === '-' ? 'bench' : token! });
provider.on('authenticated', () => (authenticatedAt = performance.now()));
provider.attach();
await new Promise<void>((r) => provider.on('synced', () => r()));
const syncedMs = performance.now() - t0;
const serverLoadMs = firstSyncAt - authenticatedAt;
const clientApplyMs = performance.now() - firstSyncAt;

function text(d: Y.Doc): Y.XmlText {
  const frag = d.getXmlFragment('default');
  if (frag.length === 0) {
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText()]);
    frag.insert(0, [p]);
  }
  return (frag.get(0) as Y.XmlElement).get(0) as Y.XmlText;
}

if (mode === 'load') {
  process.stdout.write(`${JSON.stringify({ syncedMs, serverLoadMs, clientApplyMs, chars: text(ydoc).length })}\n`);
} else {
  const trace = loadTrace<SequentialTrace>(traceName);
  const t = text(ydoc);
  const start = performance.now();
  for (const txn of trace.txns) {
    ydoc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del) t.delete(pos, del);
        if (ins) t.insert(pos, ins);
      }
    });
  }
  const applied = performance.now() - start;
  await new Promise<void>((r) => {
    const check = () => (provider.hasUnsyncedChanges ? setTimeout(check, 5) : r());
    check();
  });
  const total = performance.now() - start;
  const ok = t.toString() === trace.endContent;
  process.stdout.write(`${JSON.stringify({ edits: trace.txns.length, appliedMs: applied, ackedMs: total, editsPerS: trace.txns.length / (total / 1000), ok })}\n`);
}
provider.destroy();
socket.destroy();
process.exit(0);
