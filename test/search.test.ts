/**
 * Edit → searchable, end to end through the change feed, for each search backend:
 * Postgres full-text on the in-process bus, and Meilisearch on NATS JetStream. Nobody
 * ever finds a document they may not read.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { acked, connect, paragraphText, synced } from './helpers/provider.js';
import { startServer, type StartServerOptions } from './helpers/server.js';
import { eventually as eventuallyDefault } from './helpers/wait.js';

// Indexing is asynchronous (relay → bus → worker → index); allow for a cold NATS consumer.
const eventually = <T>(fn: () => Promise<T> | T) => eventuallyDefault(fn, { timeoutMs: 30_000 });

const BACKENDS: Record<string, StartServerOptions> = {
  'postgres full-text, in-process bus': {},
  'meilisearch, NATS JetStream': { nats: true, meili: true },
};

for (const [name, opts] of Object.entries(BACKENDS)) {
  describe(`search: ${name}`, () => {
    test('a live edit is found; access is enforced before and after sharing and revoking', async (t) => {
      const { api, url } = await startServer(t, opts);
      const owner = await api.signup('Acme');
      const member = await api.addUser(owner, 'member');
      const stranger = await api.signup('Other Co');
      const doc = await api.createDocument(owner, 'Zoo notes');
      const c = connect(t, url, doc.id, owner.accessToken);
      await synced(c);
      paragraphText(c.doc).insert(0, 'The quick brown fox jumps over the lazy dog near the aardvark enclosure');
      await acked(c);

      const find = (s: { accessToken: string }, q: string) => api.get(`/api/v1/search?q=${encodeURIComponent(q)}&mode=fulltext`, s.accessToken);
      const hit = await eventually(async () => {
        const r = await find(owner, 'aardvark');
        assert.equal(r.status, 200);
        assert.equal(r.body.hits.length, 1, JSON.stringify(r.body));
        return r.body.hits[0];
      });
      assert.equal(hit.documentId, doc.id);
      assert.equal(hit.title, 'Zoo notes');
      assert.match(hit.snippet, /<mark>aardvark<\/mark>/);
      assert.equal(typeof hit.score, 'number');

      // Not shared: the member and the other tenant see nothing, with any query.
      for (const who of [member, stranger]) {
        assert.deepEqual((await find(who, 'aardvark')).body.hits, []);
        assert.deepEqual((await find(who, 'Zoo')).body.hits, []);
      }
      await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
      await eventually(async () => assert.equal((await find(member, 'aardvark')).body.hits.length, 1));
      await api.put(`/api/v1/documents/${doc.id}/permissions`, { userId: member.user.id, level: 'none' }, owner.accessToken);
      await eventually(async () => assert.deepEqual((await find(member, 'aardvark')).body.hits, []));
      assert.deepEqual((await find(stranger, 'aardvark')).body.hits, []);

      // Renames and deletes follow.
      await api.patch(`/api/v1/documents/${doc.id}`, { title: 'Menagerie log' }, owner.accessToken);
      await eventually(async () => assert.equal((await find(owner, 'menagerie')).body.hits[0]?.title, 'Menagerie log'));
      await api.del(`/api/v1/documents/${doc.id}`, owner.accessToken);
      await eventually(async () => assert.deepEqual((await find(owner, 'aardvark')).body.hits, []));
    });

    test('bad search input is a clear 400', async (t) => {
      const { api } = await startServer(t, opts);
      const s = await api.signup();
      assert.equal((await api.get('/api/v1/search', s.accessToken)).status, 400);
      assert.equal((await api.get(`/api/v1/search?q=${'x'.repeat(501)}`, s.accessToken)).status, 400);
      assert.equal((await api.get('/api/v1/search?q=a&limit=0', s.accessToken)).status, 400);
      assert.equal((await api.get('/api/v1/search?q=a&mode=magic', s.accessToken)).status, 400);
      assert.equal((await api.get('/api/v1/search?q=a')).status, 401);
    });
  });
}

for (const [name, opts] of Object.entries(BACKENDS)) {
  test(`search is typo-tolerant: ${name}`, async (t) => {
    const { api } = await startServer(t, opts);
    const s = await api.signup();
    const scaling = await api.post('/api/v1/documents', { title: 'Autoscaling the API on Kubernetes', text: 'The horizontal pod autoscaler targets 65 percent CPU.' }, s.accessToken);
    const report = await api.post('/api/v1/documents', { title: 'Quarterly', text: 'Revenue grew in the pharmaceutical segment' }, s.accessToken);
    const first = async (q: string) => {
      const r = await api.get(`/api/v1/search?q=${encodeURIComponent(q)}`, s.accessToken);
      assert.equal(r.status, 200, r.text);
      return r.body.hits[0];
    };
    await eventually(async () => {
      assert.equal((await first('kubernets autoscalng'))?.documentId, scaling.body.id);
      assert.equal((await first('quartely revnue'))?.documentId, report.body.id);
    });
    const hit = await first('pharmacuetical');
    assert.equal(hit?.documentId, report.body.id);
    assert.deepEqual(hit.match, { kind: 'typo', fields: ['text'], terms: ['pharmaceutical'] });
    assert.match(hit.snippet, /<mark>pharmaceutical<\/mark>/);
    assert.equal((await first('pharmaceutical')).match.kind, 'exact');
  });
}
