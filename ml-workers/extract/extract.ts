/**
 * Text of a file, for search: PDF (pdf.js, legacy build for Node: no eval, no font loading,
 * standard fonts and CMaps read from the package), Word .docx (mammoth's raw text), plain
 * text and Markdown (as UTF-8). Runs in the extraction process (extractor.ts), so a
 * slow or hostile file costs that process, never the worker.
 *
 * Limits ({@link ExtractLimits}): the first `maxPages` pages of a PDF and the first
 * `maxChars` characters of text are kept. Control characters are removed (search marks
 * matches with them), runs of blank lines fold into one.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { baseContentType, DEFAULT_EXTRACT_LIMITS, DOCX_TYPE, ExtractionError, PDF_TYPE, type Extracted, type ExtractLimits } from './formats.js';

/** Characters other than tab and newline below U+0020, DEL, and the UTF-16 specials search and Postgres refuse. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F\uFFFE\uFFFF]/g;

/** Text as search indexes it: newlines normalised, control characters gone, blank runs folded, cut at `maxChars`. */
export function cleanText(raw: string, maxChars: number): { text: string; truncated: boolean } {
  let text = raw
    .replace(/\r\n?/g, '\n')
    .replace(CONTROL, ' ')
    .replace(/[ \t\u00A0]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  let truncated = false;
  if (text.length > maxChars) {
    truncated = true;
    // Cut at the last whitespace before the limit (a word is not split) and never inside a surrogate pair.
    const space = text.lastIndexOf(' ', maxChars);
    const line = text.lastIndexOf('\n', maxChars);
    let end = Math.max(space, line);
    if (end < maxChars * 0.9) end = maxChars;
    if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end--;
    text = text.slice(0, end).trimEnd();
  }
  return { text, truncated };
}

/** The file's text. Throws {@link ExtractionError} for a file that cannot be read (malformed, encrypted, unsupported). */
export async function extractText(bytes: Uint8Array, contentType: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<Extracted> {
  const type = baseContentType(contentType);
  if (type === PDF_TYPE) return pdfText(bytes, limits);
  if (type === DOCX_TYPE) return docxText(bytes, limits);
  if (type === 'text/plain' || type === 'text/markdown' || type === 'text/x-markdown') {
    const decoded = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
    return { ...cleanText(decoded, limits.maxChars), pages: null };
  }
  throw new ExtractionError(`no text extraction for ${type || 'files without a type'}`);
}

/** The pdf.js package folder (standard fonts and CMaps are read from it, never fetched). */
function pdfjsAsset(folder: string): string {
  const build = fileURLToPath(import.meta.resolve('pdfjs-dist/legacy/build/pdf.mjs'));
  return path.join(path.dirname(build), '..', '..', folder) + path.sep;
}

interface PdfTextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
  width: number;
  height: number;
}

async function pdfText(bytes: Uint8Array, limits: ExtractLimits): Promise<Extracted> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = pdfjs.getDocument({
    // pdf.js takes the buffer over (detaches it): give it a copy, the caller's bytes stay usable.
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    cMapUrl: pdfjsAsset('cmaps'),
    cMapPacked: true,
    standardFontDataUrl: pdfjsAsset('standard_fonts'),
    verbosity: pdfjs.VerbosityLevel.ERRORS,
  });
  try {
    let doc;
    try {
      doc = await task.promise;
    } catch (e) {
      const name = (e as { name?: string }).name;
      if (name === 'PasswordException') throw new ExtractionError('the PDF is encrypted with a password', { cause: e });
      if (name === 'InvalidPDFException') throw new ExtractionError('not a readable PDF (invalid structure)', { cause: e });
      throw new ExtractionError(`not a readable PDF (${e instanceof Error ? e.message : String(e)})`.slice(0, 200), { cause: e });
    }
    const pages = doc.numPages;
    const parts: string[] = [];
    let length = 0;
    let truncated = pages > limits.maxPages;
    for (let n = 1; n <= Math.min(pages, limits.maxPages); n++) {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      parts.push(pageText(content.items as PdfTextItem[]));
      page.cleanup();
      length += parts[parts.length - 1]!.length + 2;
      if (length > limits.maxChars) {
        truncated = truncated || n < pages;
        break;
      }
    }
    const cleaned = cleanText(parts.join('\n\n'), limits.maxChars);
    return { text: cleaned.text, pages, truncated: truncated || cleaned.truncated };
  } finally {
    await task.destroy();
  }
}

/**
 * A page's text from pdf.js items: a new line where an item ends one (or the next starts
 * lower), a space where items on one line are apart, nothing where they touch.
 */
function pageText(items: PdfTextItem[]): string {
  let out = '';
  let prev: PdfTextItem | null = null;
  for (const item of items) {
    if (typeof item.str !== 'string') continue; // a marked-content boundary
    if (prev && !prev.hasEOL && out && !/\s$/.test(out) && !/^\s/.test(item.str)) {
      const [, , , , px = 0, py = 0] = prev.transform;
      const [, , , , x = 0, y = 0] = item.transform;
      const size = Math.max(1, Math.abs(item.height) || Math.abs(prev.height));
      if (Math.abs(y - py) > size * 0.5) out += '\n';
      else if (x - (px + prev.width) > size * 0.1) out += ' ';
    }
    out += item.str;
    if (item.hasEOL) out += '\n';
    if (item.str || item.hasEOL) prev = item;
  }
  return out;
}

async function docxText(bytes: Uint8Array, limits: ExtractLimits): Promise<Extracted> {
  const mammoth = (await import('mammoth')).default;
  let value: string;
  try {
    ({ value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }));
  } catch (e) {
    const why = e instanceof Error ? e.message.split(/[.:]/)[0] : String(e);
    throw new ExtractionError(`not a readable Word document (${why})`.slice(0, 200), { cause: e });
  }
  return { ...cleanText(value, limits.maxChars), pages: null };
}
