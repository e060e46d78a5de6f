/** Extraction speed, for the benchmark: milliseconds per MB of file, through the extraction process as the indexer uses it. */
import { Extractor } from './extractor.js';

export interface ExtractionTiming {
  bytes: number;
  chars: number;
  pages: number | null;
  /** Median of the runs, in ms. */
  ms: number;
  /** `ms` per 1,000,000 bytes of file. */
  msPerMb: number;
}

/**
 * Extracts `bytes` `runs` times (after one warm-up run that starts the process and loads
 * the parser) and reports the median time per MB of file.
 */
export async function measureExtraction(bytes: Uint8Array, contentType: string, runs = 3): Promise<ExtractionTiming> {
  const extractor = new Extractor();
  try {
    const warm = await extractor.extract(bytes, contentType);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await extractor.extract(bytes, contentType);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(times.length / 2)]!;
    return { bytes: bytes.byteLength, chars: warm.text.length, pages: warm.pages, ms: Math.round(ms), msPerMb: Math.round((ms / bytes.byteLength) * 1_000_000) };
  } finally {
    await extractor.close();
  }
}
