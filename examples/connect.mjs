// Connect a Yjs document to a running Quire and type into it.
// Usage: node examples/connect.mjs <baseUrl> <email> <password> [documentId]   (e.g. http://localhost:8080)
// Node 20 needs the `ws` package as the WebSocket implementation; browsers have one built in.
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';

const USAGE = `Usage: node examples/connect.mjs <baseUrl> <email> <password> [documentId]

Logs in to the Quire at <baseUrl> (e.g. http://localhost:8080), opens the document
<documentId> (or creates one), types "Hello, Quire!" into it over the WebSocket and reads
the text back over REST. Prints {"documentId": …, "text": …} as JSON.
`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args.length < 3 || args.length > 4) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const [base, email, password, existing] = args;

// 1. Log in for an access token (REST).
const session = await fetch(`${base}/api/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email, password }),
}).then((r) => r.json());
if (!session.accessToken) {
  process.stderr.write(`login failed: ${JSON.stringify(session)}\n`);
  process.exit(1);
}

// 2. Pick a document (or create one).
const documentId =
  existing ??
  (
    await fetch(`${base}/api/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.accessToken}` },
      body: JSON.stringify({ title: 'Hello from a provider' }),
    }).then((r) => r.json())
  ).id;

// 3. Connect: the document name is the document id, the token is the access token.
const doc = new Y.Doc();
const provider = new HocuspocusProvider({
  url: `${base.replace(/^http/, 'ws')}/sync`,
  name: documentId,
  document: doc,
  token: session.accessToken,
  WebSocketPolyfill: WebSocket,
});
await new Promise((resolve) => provider.on('synced', resolve));

// 4. Edit the Tiptap/ProseMirror fragment; the server acknowledges once it is stored.
const paragraph = new Y.XmlElement('paragraph');
paragraph.insert(0, [new Y.XmlText('Hello, Quire!')]);
doc.getXmlFragment('default').push([paragraph]);
await new Promise((resolve) => {
  const check = () => (provider.hasUnsyncedChanges ? setTimeout(check, 10) : resolve());
  check();
});

const text = await fetch(`${base}/api/v1/documents/${documentId}/content?format=text`, {
  headers: { authorization: `Bearer ${session.accessToken}` },
}).then((r) => r.text());
console.log(JSON.stringify({ documentId, text }));
provider.destroy();
