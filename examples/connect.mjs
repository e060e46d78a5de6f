// Connect a Yjs document to a running Quire and type into it.
// Usage: node examples/connect.mjs <http://localhost:8080> <email> <password> [documentId]
// Node 20 needs the `ws` package as the WebSocket implementation; browsers have one built in.
import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import * as Y from 'yjs';

const [base = 'http://localhost:8080', email, password, existing] = process.argv.slice(2);

// 1. Log in for an access token (REST).
const session = await fetch(`${base}/api/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email, password }),
}).then((r) => r.json());
if (!session.accessToken) throw new Error(`login failed: ${JSON.stringify(session)}`);

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
