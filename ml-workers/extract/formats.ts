/**
 * Which files the workers extract text from for search (PDF, Word .docx, plain text and
 * Markdown; the upload path marks them 'pending' with core/file-types.ts `extractable`),
 * and the limits of extraction.
 */

export const PDF_TYPE = 'application/pdf';
export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The media type without parameters, lower case: `Text/Plain; charset=utf-8` → `text/plain`. */
export function baseContentType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/** Files larger than this are not extracted (their status becomes 'failed'). @default 100 MiB */
export const EXTRACT_MAX_BYTES = 100 * 1024 * 1024;
/** Pages of a PDF read; later pages are left out of search. @default 2000 */
export const EXTRACT_MAX_PAGES = 2000;
/** Characters of text kept per file (about 2 MB of text); the rest is left out of search. @default 2,000,000 */
export const EXTRACT_MAX_CHARS = 2_000_000;
/** Time one file may take in the extraction process before it is stopped and marked 'failed'. @default 120 s */
export const EXTRACT_TIMEOUT_MS = 120_000;
/** Heap of the extraction process (a file that needs more ends 'failed'; the worker is unaffected). @default 512 MiB */
export const EXTRACT_MAX_HEAP_MB = 512;

export interface ExtractLimits {
  maxPages: number;
  maxChars: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxPages: EXTRACT_MAX_PAGES, maxChars: EXTRACT_MAX_CHARS };

/** What extraction found in one file. */
export interface Extracted {
  text: string;
  /** Pages of a PDF (all of them, including pages beyond the limit); null for other formats. */
  pages: number | null;
  /** Whether the text was cut at a limit (pages or characters). */
  truncated: boolean;
}

/** A file whose text cannot be extracted (malformed, encrypted, too large, too slow): its status becomes 'failed'. */
export class ExtractionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ExtractionError';
  }
}
