/** The indexer re-embeds only chunks whose text changed, and skips events it already covered. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { Indexer } from '../ml-workers/indexer.js';
import { PgVectorIndex } from '../ml-workers/search/pgvector.js';
import { PostgresFullText } from '../ml-workers/search/postgres-fulltext.js';
import { DocumentStore } from '../core/document-store.js';
import { startServer } from './helpers/server.js';

const para = (topic: string) => Array.from({ length: 90 }, (_, i) => `${topic}${i % 7 === 0 ? '.' : ''}`).join(' ');

test('only changed chunks are re-embedded; covered events are skipped', async (t) => {
  const { api, quire } = await startServer(t, { dialect: 'pglite', roles: ['api', 'sync'] });
  const real = await createUseEmbedder();
  t.after(() => real.destroy());
  const embedded: string[] = [];
  const counting: Embedder = {
    model: real.model,
    dimensions: real.dimensions,
    embed: async (texts) => {
      embedded.push(...texts);
      return real.embed(texts);
    },
    destroy: async () => undefined,
  };
  const db = quire.store.db;
  const indexer = new Indexer({
    db,
    store: new DocumentStore(db),
    fulltext: new PostgresFullText(db),
    log: quire.log,
    semantic: { embedder: counting, vectors: new PgVectorIndex(db) },
  });
  const s = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'Notes', text: [para('alpha'), para('beta'), para('gamma')].join('\n') }, s.accessToken);
  const ev = (txid: string) => ({ type: 'document.changed' as const, tenantId: s.user.tenantId, documentId: doc.body.id, txid, seq: '1', at: new Date().toISOString() });

  assert.equal(await indexer.handle(ev('1')), 'indexed');
  const first = embedded.length;
  assert.ok(first >= 3, `every chunk embedded once (${first})`);
  // An event below the horizon the index already covers is skipped.
  assert.equal(await indexer.handle(ev('1')), 'skipped');
  assert.equal(embedded.length, first);

  await api.put(`/api/v1/documents/${doc.body.id}/content`, { text: para('delta'), mode: 'append' }, s.accessToken);
  assert.equal(await indexer.handle(ev('18446744073709551615')), 'indexed');
  assert.deepEqual(
    embedded.slice(first).map((x) => x.split(' ')[0]),
    ['delta.'],
    'only the new chunk was embedded',
  );
  const vectors = await new PgVectorIndex(db).existing(s.user.tenantId, doc.body.id);
  assert.equal(vectors.size, first + 1);
});
