/**
 * Attribution for scenario 5b: Meilisearch's own query time on the same corpus and the
 * same queries as bench/search-scale.ts, without Quire in the path (10,000 passages; with
 * Quire's filter, crop and highlight settings; without crop; without filter), each with
 * fetch's default `accept-encoding` (gzip, br) and with `identity` as Quire asks — the
 * compressed answers stall ~40 ms on a kept-alive connection (Nagle × delayed ACK) — next
 * to the engine's own `processingTimeMs`.
 * Usage: node --import tsx bench/meili-direct.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { Meilisearch } from 'meilisearch';
import { brownCorpusDir, chunkSentences, parseBrownDocument } from './datasets.js';
import { IDENTITY_ENCODING } from '../ml-workers/search/engine-http.js';
const files = fs.readdirSync(brownCorpusDir()).filter((f) => /^c[a-r]\d\d$/.test(f));
const passages: string[] = [];
const sentences: string[] = [];
for (const f of files) {
  const ss = parseBrownDocument(fs.readFileSync(path.join(brownCorpusDir(), f), 'utf8'));
  passages.push(...chunkSentences(ss, { minWords: 60, maxWords: 120 }));
  sentences.push(...ss.filter((s) => s.split(' ').length >= 8 && s.split(' ').length <= 25));
}
const m = new Meilisearch({ host: 'http://127.0.0.1:7700' });
const name = `direct-${Date.now()}`;
await m.createIndex(name, { primaryKey: 'id' }).waitTask();
const idx = m.index(name);
await idx.updateSettings({ filterableAttributes: ['tenantId', 'readers'], searchableAttributes: ['title', 'text'] }).waitTask();
const T = '11111111-1111-1111-1111-111111111111';
await idx
  .addDocuments(
    Array.from({ length: 10000 }, (_, i) => ({
      id: String(i),
      tenantId: T,
      title: passages[i % passages.length]!.split(' ').slice(0, 6).join(' '),
      text: passages[i % passages.length]!,
      readers: ['*admin'],
    })),
  )
  .waitTask({ timeout: 600000 });
for (const [encoding, client] of [
  ['gzip (fetch default)', m],
  ['identity', new Meilisearch({ host: 'http://127.0.0.1:7700', requestInit: { headers: IDENTITY_ENCODING } })],
] as const) {
  const search = client.index(name);
  for (const variant of ['full', 'nocrop', 'nofilter']) {
    const times: number[] = [];
    const engine: number[] = [];
    for (let q = 0; q < 60; q++) {
      const s = sentences[(q * 104729) % sentences.length]!;
      const words = s.split(' ').filter((w) => /^[a-z]{5,}$/i.test(w));
      const query = words.slice(0, 2).join(' ') || 'government';
      const t0 = performance.now();
      const res = await search.search(query, {
        ...(variant !== 'nofilter' ? { filter: `tenantId = "${T}" AND readers IN ["*admin"]` } : {}),
        limit: 20,
        ...(variant === 'full' || variant === 'nofilter' ? { attributesToCrop: ['text'], cropLength: 30, attributesToHighlight: ['text', 'title'] } : {}),
        showRankingScore: true,
      });
      if (q >= 10) {
        times.push(performance.now() - t0);
        engine.push(res.processingTimeMs);
      }
    }
    times.sort((a, b) => a - b);
    engine.sort((a, b) => a - b);
    console.log(encoding, variant, 'p50', times[25]!.toFixed(1), 'p95', times[47]!.toFixed(1), '| engine processingTimeMs p50', engine[25], 'p95', engine[47]);
  }
}
await m.deleteIndex(name).waitTask();
