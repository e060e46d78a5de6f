/**
 * Ranking quality on the labelled set in test/fixtures/search-relevance: nDCG@10 and MRR
 * per search mode and backend, typo recall, and the similarity figures the semantic floor
 * was chosen from. Both profiles run in this process against the real services: embedded
 * (PGlite: Postgres full text + pgvector) and scaled (server Postgres, Meilisearch, Qdrant).
 *
 * Usage: npm run bench:relevance [-- --profiles=embedded,scaled]
 *
 * nDCG@10 uses graded gains (2^grade − 1, grades 1–3, log2 discount) against the ideal
 * order of the labelled documents; MRR is 1/rank of the first document graded 2 or 3.
 * Typo recall is the share of misspelled queries whose answer (grade 3) is in the top 10.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { startQuire, type Quire } from '../server/app.js';
import { SEMANTIC_MIN_SIMILARITY } from '../ml-workers/search/ranking.js';
import { TEST_MEILI_URL, TEST_QDRANT_URL } from '../test/helpers/env.js';
import { relevanceSet, type RelevanceQuery } from '../test/helpers/relevance-set.js';
import { dropSchema, dropStream, sharedPGlite, testConfig, testKeys, uniqueName, type StartServerOptions } from '../test/helpers/server.js';
import { arg, ROOT } from './lib.js';

const MODES = ['fulltext', 'semantic', 'hybrid'] as const;
type Mode = (typeof MODES)[number];
const PROFILES: Record<string, () => StartServerOptions> = {
  embedded: () => ({ dialect: 'pglite', env: { SEMANTIC_SEARCH: 'true' } }),
  scaled: () => ({ meili: true, env: { SEMANTIC_SEARCH: 'true', QDRANT_URL: TEST_QDRANT_URL, QDRANT_COLLECTION: uniqueName('br') } }),
};
const FLOORS = [0, 0.25, 0.3, 0.33, 0.35, 0.37, 0.4, 0.45];

const set = relevanceSet();
const chosen = arg('profiles', 'embedded,scaled').split(',');

function dcg(grades: number[]): number {
  return grades.slice(0, 10).reduce((sum, g, i) => sum + (2 ** g - 1) / Math.log2(i + 2), 0);
}
function ndcgAt10(ranked: string[], relevant: Record<string, number>): number {
  const ideal = dcg(Object.values(relevant).sort((a, b) => b - a));
  return ideal === 0 ? 0 : dcg(ranked.map((id) => relevant[id] ?? 0)) / ideal;
}
function reciprocalRank(ranked: string[], relevant: Record<string, number>): number {
  const i = ranked.findIndex((id) => (relevant[id] ?? 0) >= 2);
  return i < 0 ? 0 : 1 / (i + 1);
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const f3 = (x: number) => x.toFixed(3);

async function start(opts: StartServerOptions): Promise<{ quire: Quire; base: string; stop: () => Promise<void> }> {
  const schema = uniqueName('br');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quire-relevance-'));
  const config = testConfig(schema, opts, dataDir);
  const quire = await startQuire({ config, keys: (await testKeys()).keys, pglite: opts.dialect === 'pglite' ? await sharedPGlite() : undefined });
  return {
    quire,
    base: `http://127.0.0.1:${quire.port}`,
    stop: async () => {
      await quire.close();
      await dropSchema(quire.store.kind, schema);
      if (opts.nats) await dropStream(config.feed.stream);
      if (opts.meili) await fetch(`${TEST_MEILI_URL}/indexes/${config.search.meiliIndex}`, { method: 'DELETE' });
      if (opts.env?.QDRANT_COLLECTION) await fetch(`${TEST_QDRANT_URL}/collections/${opts.env.QDRANT_COLLECTION}`, { method: 'DELETE' });
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function call(base: string, method: string, p: string, token?: string, body?: unknown): Promise<any> {
  const r = await fetch(base + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await r.json();
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${JSON.stringify(json)}`);
  return json;
}

interface ProfileResult {
  profile: string;
  fulltext: string;
  vectors: string;
  modes: Record<Mode, { ndcg: number; mrr: number; byKind: Record<string, { ndcg: number; mrr: number }> }>;
  typoRecall: Record<Mode, number>;
  nonsenseHits: Record<Mode, number>;
  similarity: { nonsenseMax: number; answersMin: number; answersMedian: number; irrelevantP90: number; oneWordMax: number };
  floors: { floor: number; ndcg: number; mrr: number; nonsenseHits: number }[];
}

async function runProfile(profile: string): Promise<ProfileResult> {
  const opts = PROFILES[profile]!();
  const srv = await start(opts);
  try {
    const owner = await call(srv.base, 'POST', '/api/v1/auth/signup', undefined, { tenant: 'Relevance', email: `r${Date.now()}@bench.test`, password: 'benchmark password' });
    const token = owner.accessToken as string;
    const fixtureOf = new Map<string, string>();
    for (const d of set.documents) fixtureOf.set((await call(srv.base, 'POST', '/api/v1/documents', token, { title: d.title, text: d.text })).id, d.id);
    // Indexed: every document has its index state (written after its full-text entry, which follows its vectors).
    for (let i = 0; ; i++) {
      const r = await sql<{ n: number }>`select count(*)::int as n from index_state where tenant_id = ${owner.user.tenantId}`.execute(srv.quire.store.owner);
      if (r.rows[0]!.n >= set.documents.length) break;
      if (i > 3000) throw new Error('indexing did not finish in 5 minutes');
      await new Promise((res) => setTimeout(res, 100));
    }
    const ranked = async (q: string, mode: Mode) =>
      ((await call(srv.base, 'GET', `/api/v1/search?q=${encodeURIComponent(q)}&mode=${mode}&limit=10`, token)).hits as { documentId: string }[]).map((h) => fixtureOf.get(h.documentId)!);

    const modes = {} as ProfileResult['modes'];
    const typoRecall = {} as ProfileResult['typoRecall'];
    const nonsenseHits = {} as ProfileResult['nonsenseHits'];
    for (const mode of MODES) {
      const per: { q: RelevanceQuery; ndcg: number; mrr: number; list: string[] }[] = [];
      for (const q of set.queries) {
        const list = await ranked(q.q, mode);
        per.push({ q, ndcg: ndcgAt10(list, q.relevant), mrr: reciprocalRank(list, q.relevant), list });
      }
      const byKind: Record<string, { ndcg: number; mrr: number }> = {};
      for (const kind of ['exact', 'typo', 'semantic']) {
        const of = per.filter((p) => p.q.kind === kind);
        byKind[kind] = { ndcg: mean(of.map((p) => p.ndcg)), mrr: mean(of.map((p) => p.mrr)) };
      }
      modes[mode] = { ndcg: mean(per.map((p) => p.ndcg)), mrr: mean(per.map((p) => p.mrr)), byKind };
      const typos = per.filter((p) => p.q.kind === 'typo');
      typoRecall[mode] = mean(typos.map((p) => (Object.entries(p.q.relevant).some(([id, g]) => g === 3 && p.list.includes(id)) ? 1 : 0)));
      let hits = 0;
      for (const q of set.nonsense) hits += (await ranked(q, mode)).length;
      nonsenseHits[mode] = hits;
    }

    // The raw similarities (no floor), straight from the vector index, to choose the floor from.
    const embedder = await srv.quire.svc.semantic!.embedder();
    const raw = async (q: string) => {
      const [vector] = await embedder.embed([q]);
      const chunks = await srv.quire.svc.semantic!.vectors.search({ tenantId: owner.user.tenantId, userId: owner.user.id, tenantAdmin: true, vector: vector!, limit: 200 });
      const best = new Map<string, number>();
      for (const c of chunks) best.set(fixtureOf.get(c.documentId)!, Math.max(best.get(fixtureOf.get(c.documentId)!) ?? -1, c.score));
      return [...best.entries()].sort((a, b) => b[1] - a[1]);
    };
    const semanticQueries = set.queries.filter((q) => q.kind === 'semantic');
    const scored = await Promise.all(set.queries.map(async (q) => ({ q, sims: await raw(q.q) })));
    const nonsense = await Promise.all(set.nonsense.map(raw));
    const answers: number[] = [];
    const irrelevant: number[] = [];
    for (const { q, sims } of scored.filter((s) => s.q.kind === 'semantic')) {
      for (const [id, s] of sims) {
        if (q.relevant[id] === 3) answers.push(s);
        else if (!q.relevant[id]) irrelevant.push(s);
      }
    }
    answers.sort((a, b) => a - b);
    irrelevant.sort((a, b) => a - b);
    const oneWord = scored.filter((s) => !s.q.q.includes(' ')).flatMap((s) => s.sims.map(([, v]) => v));
    const floors = FLOORS.map((floor) => {
      const lists = scored.filter((s) => semanticQueries.includes(s.q)).map((s) => ({ q: s.q, list: s.sims.filter(([, v]) => v >= floor).map(([id]) => id) }));
      return {
        floor,
        ndcg: mean(lists.map((l) => ndcgAt10(l.list, l.q.relevant))),
        mrr: mean(lists.map((l) => reciprocalRank(l.list, l.q.relevant))),
        nonsenseHits: nonsense.reduce((n, sims) => n + Math.min(10, sims.filter(([, v]) => v >= floor).length), 0),
      };
    });
    return {
      profile,
      fulltext: srv.quire.svc.fulltext!.name,
      vectors: srv.quire.svc.semantic!.vectors.name,
      modes,
      typoRecall,
      nonsenseHits,
      similarity: {
        nonsenseMax: Math.max(...nonsense.flatMap((s) => s.map(([, v]) => v))),
        answersMin: answers[0]!,
        answersMedian: answers[Math.floor(answers.length / 2)]!,
        irrelevantP90: irrelevant[Math.floor(irrelevant.length * 0.9)]!,
        oneWordMax: Math.max(...oneWord),
      },
      floors,
    };
  } finally {
    await srv.stop();
  }
}

const results: ProfileResult[] = [];
for (const p of chosen) {
  process.stderr.write(`relevance: ${p}…\n`);
  results.push(await runProfile(p));
}

const lines: string[] = [];
lines.push(
  `Labelled set: ${set.documents.length} documents, ${set.queries.length} graded queries (${['exact', 'typo', 'semantic'].map((k) => `${set.queries.filter((q) => q.kind === k).length} ${k}`).join(', ')}), ${set.nonsense.length} nonsense queries; semantic floor ${SEMANTIC_MIN_SIMILARITY}.`,
);
lines.push('', '| profile (full text + vectors) | mode | nDCG@10 | MRR | nDCG@10 exact / typo / semantic queries | typo recall@10 | hits for nonsense |', '|---|---|---|---|---|---|---|');
for (const r of results) {
  for (const mode of MODES) {
    const m = r.modes[mode];
    lines.push(
      `| ${r.profile} (${r.fulltext} + ${r.vectors}) | ${mode} | ${f3(m.ndcg)} | ${f3(m.mrr)} | ${f3(m.byKind.exact!.ndcg)} / ${f3(m.byKind.typo!.ndcg)} / ${f3(m.byKind.semantic!.ndcg)} | ${f3(r.typoRecall[mode])} | ${r.nonsenseHits[mode]} |`,
    );
  }
}
lines.push('', 'Similarity (cosine of the best passage, no floor) and the floor sweep, semantic queries only:', '');
lines.push('| profile | nonsense max | answers min / median | irrelevant p90 | one-word queries max |', '|---|---|---|---|---|');
for (const r of results) {
  const s = r.similarity;
  lines.push(`| ${r.profile} | ${f3(s.nonsenseMax)} | ${f3(s.answersMin)} / ${f3(s.answersMedian)} | ${f3(s.irrelevantP90)} | ${f3(s.oneWordMax)} |`);
}
lines.push('', `| floor | ${results.map((r) => `${r.profile} nDCG@10 / MRR / nonsense hits`).join(' | ')} |`, `|---|${results.map(() => '---').join('|')}|`);
for (const [i, floor] of FLOORS.entries()) {
  lines.push(`| ${floor} | ${results.map((r) => `${f3(r.floors[i]!.ndcg)} / ${f3(r.floors[i]!.mrr)} / ${r.floors[i]!.nonsenseHits}`).join(' | ')} |`);
}
process.stdout.write(`${lines.join('\n')}\n`);
fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench/results/relevance.json'), JSON.stringify({ node: process.version, cores: os.cpus().length, floor: SEMANTIC_MIN_SIMILARITY, results }, null, 2));
process.exit(0);
