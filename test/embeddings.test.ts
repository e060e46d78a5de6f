import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Embedder } from '../ml-workers/embeddings/embedder.js';
import { loadUseVocabulary } from '../ml-workers/embeddings/use-assets.js';
import { createUseEmbedder } from '../ml-workers/embeddings/use-embedder.js';
import { UseTokenizer, normaliseText } from '../ml-workers/embeddings/use-tokenizer.js';

const run = promisify(execFile);

function dot(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function assertUnit(v: Float32Array | undefined): Float32Array {
  assert.ok(v instanceof Float32Array, 'v instanceof Float32Array');
  assert.equal(v.length, 512);
  assert.ok(v.every(Number.isFinite), 'finite components');
  assert.ok(Math.abs(Math.sqrt(dot(v, v)) - 1) < 1e-5, `unit length, got ${Math.sqrt(dot(v, v))}`);
  return v;
}

const FINANCE = 'The central bank raised interest rates again to fight inflation, and bond yields climbed as investors sold government debt. ';
const CAT = 'My cat spends the afternoon asleep on the sofa, then chases a toy mouse around the kitchen before dinner. ';
/** 875 words: about 100 on monetary policy, then cats. */
const LONG = FINANCE.repeat(6) + CAT.repeat(40);

describe('USE tokenizer', () => {
  let tokenizer: UseTokenizer;
  before(async () => {
    tokenizer = new UseTokenizer(await loadUseVocabulary());
  });

  test('ids match the reference tfjs-models tokenizer', () => {
    // Expected ids produced by the tensorflow/tfjs-models universal-sentence-encoder tokenizer.
    const cases: [string, number[]][] = [
      ['The stock market fell sharply today', [34, 801, 617, 3262, 5344, 56, 784]],
      ['Shares dropped on Wall Street', [3731, 112, 4050, 25, 5030, 2108]],
      ['My cat sleeps on the sofa', [404, 1163, 1652, 7, 25, 9, 63, 1298]],
    ];
    for (const [text, ids] of cases) assert.deepEqual(Array.from(tokenizer.encode(text)), ids, text);
  });

  test('whitespace is collapsed, empty text has no tokens, unknown runs merge', () => {
    assert.deepEqual(tokenizer.encode('  Shares\n\tdropped   on\r\nWall\u00a0Street '), tokenizer.encode('Shares dropped on Wall Street'));
    assert.equal(normaliseText(' a \n\n b\t'), 'a b');
    assert.equal(tokenizer.encode('').length, 0);
    assert.equal(tokenizer.encode(' \n\t ').length, 0);
    const unknown = Array.from(tokenizer.encode('\u{1F600}\u{1F601}\u{1F602}'));
    assert.equal(unknown.filter((id) => id === 0).length, 1, `one merged unknown id in ${unknown}`);
  });

  test('a 5,000-word text tokenizes (linear time) into in-range ids', () => {
    const words = (FINANCE + CAT).split(' ');
    const text = Array.from({ length: 5000 }, (_, i) => words[i % words.length]).join(' ');
    const ids = tokenizer.encode(text);
    assert.ok(ids.length > 5000, `${ids.length} tokens`);
    assert.ok(
      ids.every((id) => id >= 0 && id < 8000),
      'ids.every((id) => id >= 0 && id < 8000)',
    );
  });
});

describe('USE-lite embedder', () => {
  let embedder: Embedder;
  before(async () => {
    embedder = await createUseEmbedder();
  });
  after(async () => {
    await embedder.destroy();
  });

  test('512-d, L2-normalised vectors, one per text in order', async () => {
    assert.match(embedder.model, /^use-lite-512@energetic-ai-\d+\.\d+\.\d+$/);
    assert.equal(embedder.dimensions, 512);
    const texts = ['Hello world.', 'A second, different sentence about trains.', 'Hello world.'];
    const vectors = await embedder.embed(texts);
    assert.equal(vectors.length, 3);
    vectors.forEach(assertUnit);
    assert.ok(maxAbsDiff(vectors[0] as Float32Array, vectors[2] as Float32Array) < 1e-6, 'maxAbsDiff(vectors[0] as Float32Array, vectors[2] as Float32Array) < 1e-6');
    assert.ok(dot(vectors[0] as Float32Array, vectors[1] as Float32Array) < 0.9, 'dot(vectors[0] as Float32Array, vectors[1] as Float32Array) < 0.9');
    assert.deepEqual(await embedder.embed([]), []);
  });

  test('deterministic across calls and batch compositions', async () => {
    const text = 'Deterministic embeddings make caching and deduplication possible.';
    const [alone] = await embedder.embed([text]);
    const [again] = await embedder.embed([text]);
    const batched = await embedder.embed(['Something else entirely, and longer than the other one.', text, 'Short.']);
    assert.deepEqual(again, alone);
    assert.ok(maxAbsDiff(assertUnit(alone), assertUnit(batched[1])) < 1e-5, 'maxAbsDiff(assertUnit(alone), assertUnit(batched[1])) < 1e-5');
  });

  test('semantic sanity: related sentences are closer than unrelated ones', async () => {
    const [market, shares, cat] = await embedder.embed(['The stock market fell sharply today', 'Shares dropped on Wall Street', 'My cat sleeps on the sofa']);
    const related = dot(assertUnit(market), assertUnit(shares));
    const unrelated = dot(market as Float32Array, assertUnit(cat));
    assert.ok(related > unrelated + 0.3, `related ${related.toFixed(3)} vs unrelated ${unrelated.toFixed(3)}`);

    const pairs: [string, string][] = [
      ['How do I reset my password?', 'I forgot my login credentials and need to change them.'],
      ['The weather will be rainy tomorrow.', 'Expect showers and wet conditions tomorrow.'],
      ['She adopted a puppy from the shelter.', 'A young dog was taken home by her from the animal rescue.'],
      ['The meeting has been moved to Thursday afternoon.', 'We rescheduled the call for Thursday after lunch.'],
      ['This restaurant serves excellent pasta.', 'The Italian food at this place is delicious.'],
    ];
    const left = await embedder.embed(pairs.map((p) => p[0]));
    const right = await embedder.embed(pairs.map((p) => p[1]));
    pairs.forEach((pair, i) => {
      const own = dot(left[i] as Float32Array, right[i] as Float32Array);
      const best = Math.max(...right.filter((_, j) => j !== i).map((v) => dot(left[i] as Float32Array, v)));
      assert.ok(own > best + 0.1, `"${pair[0]}": paraphrase ${own.toFixed(3)} vs best unrelated ${best.toFixed(3)}`);
    });
  });

  test('long texts are windowed and pooled, not truncated', async () => {
    assert.ok(LONG.split(' ').length > 500, "LONG.split(' ').length > 500");
    const first100 = LONG.split(' ').slice(0, 100).join(' ');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const [long, head, cat] = await embedder.embed([LONG, first100, CAT]);
    clearInterval(timer);
    assertUnit(long);
    // Truncation to the first 128 tokens would make `long` ≈ `head`; pooling makes it mostly cats.
    assert.ok(dot(long as Float32Array, assertUnit(head)) < 0.8, `long vs first 100 words: ${dot(long as Float32Array, head as Float32Array)}`);
    assert.ok(dot(long as Float32Array, assertUnit(cat)) > 0.7, 'dot(long as Float32Array, assertUnit(cat)) > 0.7');
    assert.ok(ticks > 0, 'the main event loop ran while the worker embedded');
  });

  test('empty and whitespace-only texts give the same finite unit vector', async () => {
    const [empty, blank, word] = await embedder.embed(['', ' \n\t ', 'word']);
    assertUnit(empty);
    assertUnit(blank);
    assertUnit(word);
    assert.ok(maxAbsDiff(empty as Float32Array, blank as Float32Array) < 1e-6, 'maxAbsDiff(empty as Float32Array, blank as Float32Array) < 1e-6');
  });

  test('an invalid request is rejected alone; the others are answered in order', async () => {
    const order: string[] = [];
    const track = <T>(name: string, p: Promise<T>): Promise<T> =>
      p.then(
        (v) => (order.push(name), v),
        (e: unknown) => {
          order.push(name);
          throw e;
        },
      );
    const first = track('first', embedder.embed(['first request']));
    const bad = track('bad', embedder.embed(['fine', 42 as unknown as string]));
    const last = track('last', embedder.embed(['last request']));
    await assert.rejects(bad, TypeError);
    assert.equal((await first).length, 1);
    assert.equal((await last).length, 1);
    assert.deepEqual(order, ['first', 'bad', 'last']);
    await assert.rejects(embedder.embed('not an array' as unknown as string[]), TypeError);
  });
});

test('two threads: same vectors, answers in request order', async () => {
  const texts = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is about ${i % 2 === 0 ? 'weather' : 'football'}.`);
  const one = await createUseEmbedder({ threads: 1 });
  const two = await createUseEmbedder({ threads: 2 });
  try {
    const expected = await one.embed([...texts, LONG]);
    const order: number[] = [];
    // A long request first, then many small ones: the second worker answers small ones sooner,
    // but they must still be delivered after the long one.
    const requests = [[LONG], ...texts.map((t) => [t])].map((batch, i) =>
      two.embed(batch).then((v) => {
        order.push(i);
        return v;
      }),
    );
    const results = await Promise.all(requests);
    assert.deepEqual(
      order,
      results.map((_, i) => i),
    );
    assert.ok(maxAbsDiff(results[0]?.[0] as Float32Array, expected[40] as Float32Array) < 1e-5, 'maxAbsDiff(results[0]?.[0] as Float32Array, expected[40] as Float32Array) < 1e-5');
    texts.forEach((_, i) =>
      assert.ok(maxAbsDiff(results[i + 1]?.[0] as Float32Array, expected[i] as Float32Array) < 1e-5, 'maxAbsDiff(results[i + 1]?.[0] as Float32Array, expected[i] as Float32Array) < 1e-5'),
    );
  } finally {
    await Promise.all([one.destroy(), two.destroy()]);
  }
  await assert.rejects(two.embed(['after destroy']), /destroyed/);
  await two.destroy(); // idempotent
});

test('the process exits after destroy(), and even without it', async () => {
  const module = new URL('../ml-workers/embeddings/use-embedder.ts', import.meta.url).href;
  for (const destroy of [true, false]) {
    const script = `
      import { createUseEmbedder } from ${JSON.stringify(module)};
      const embedder = await createUseEmbedder();
      const [v] = await embedder.embed(['exit check']);
      ${destroy ? 'await embedder.destroy();' : ''}
      console.log('embedded', v.length);
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      timeout: 60_000,
      cwd: new URL('..', import.meta.url),
    });
    assert.match(stdout, /embedded 512/);
  }
});

test('invalid thread counts are refused', async () => {
  await assert.rejects(createUseEmbedder({ threads: 0 }), RangeError);
  await assert.rejects(createUseEmbedder({ threads: 1.5 }), RangeError);
});
