import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

test('two provider clients converge on a Y.XmlFragment edit, and REST sees it', async (t) => {
  const { api, url } = await startServer(t);
  const s = await api.signup();
  const doc = await api.createDocument(s, 'Live');
  const a = connect(t, url, doc.id, s.accessToken);
  const b = connect(t, url, doc.id, s.accessToken);
  await Promise.all([synced(a), synced(b)]);
  a.doc.transact(() => {
    const frag = a.doc.getXmlFragment('default');
    const h = new Y.XmlElement('heading');
    h.setAttribute('level', '1' as any);
    h.insert(0, [new Y.XmlText('Title')]);
    const p = new Y.XmlElement('paragraph');
    p.insert(0, [new Y.XmlText('Hello from A')]);
    frag.insert(0, [h, p]);
  });
  await acked(a);
  await eventually(() => assert.equal(b.doc.getXmlFragment('default').length, 2));
  assert.equal(b.doc.getXmlFragment('default').toString(), a.doc.getXmlFragment('default').toString());
  const text = await api.get(`/api/v1/documents/${doc.id}/content?format=text`, s.accessToken);
  assert.equal(text.status, 200);
  assert.equal(text.text, 'Title\nHello from A');
  const json = await api.get(`/api/v1/documents/${doc.id}/content?format=json`, s.accessToken);
  assert.deepEqual(json.body, {
    type: 'doc',
    content: [
      { type: 'heading', attrs: { level: '1' }, content: [{ type: 'text', text: 'Title' }] },
      { type: 'paragraph', content: [{ type: 'text', text: 'Hello from A' }] },
    ],
  });
  // B types; A sees it.
  paragraphText(b.doc).insert(0, '>> ');
  await acked(b);
  await eventually(() => assert.equal(a.doc.getXmlFragment('default').toString(), b.doc.getXmlFragment('default').toString()));
});

test('creating a document with text fills it; PUT content reaches live clients at once', async (t) => {
  const { api, url } = await startServer(t);
  const s = await api.signup();
  const created = await api.post('/api/v1/documents', { title: 'Seeded', text: 'line one\nline two' }, s.accessToken);
  assert.equal(created.status, 201);
  const id = created.body.id;
  assert.equal((await api.get(`/api/v1/documents/${id}/content`, s.accessToken)).text, 'line one\nline two');
  const c = connect(t, url, id, s.accessToken);
  await synced(c);
  await eventually(() => assert.equal(c.doc.getXmlFragment('default').length, 2));
  const put = await api.put(`/api/v1/documents/${id}/content`, { text: 'appended', mode: 'append' }, s.accessToken);
  assert.equal(put.status, 204);
  await eventually(() => assert.equal(c.doc.getXmlFragment('default').length, 3));
  const rep = await api.put(
    `/api/v1/documents/${id}/content`,
    { json: { type: 'doc', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'bold', marks: [{ type: 'bold' }] }] }] } },
    s.accessToken,
  );
  assert.equal(rep.status, 204);
  await eventually(() => assert.equal(c.doc.getXmlFragment('default').toString(), '<paragraph><bold>bold</bold></paragraph>'));
  const json = await api.get(`/api/v1/documents/${id}/content?format=json`, s.accessToken);
  assert.deepEqual(json.body.content, [{ type: 'paragraph', content: [{ type: 'text', text: 'bold', marks: [{ type: 'bold' }] }] }]);
  const yjs = await fetch(`${url}/api/v1/documents/${id}/content?format=yjs`, { headers: { authorization: `Bearer ${s.accessToken}` } });
  assert.equal(yjs.headers.get('content-type'), 'application/octet-stream');
  const fresh = new Y.Doc();
  Y.applyUpdate(fresh, new Uint8Array(await yjs.arrayBuffer()));
  assert.equal(fresh.getXmlFragment('default').toString(), '<paragraph><bold>bold</bold></paragraph>');
});
