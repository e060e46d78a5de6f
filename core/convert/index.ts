/**
 * Import and export of documents: Markdown, HTML and Word files to a document's ProseMirror
 * JSON (the document schema, contract/document-schema.ts), and a document to Markdown, HTML,
 * Word and PDF. Images go through hooks, so this folder never touches storage: an import
 * hands each embedded image to `storeImage` and writes `attachment:<id>`, an export asks
 * `loadImage` for the bytes of each `attachment:` image.
 */
import type { PMNode } from '../content.js';
import { ConvertError, firstHeading, type ExportHooks, type ImportHooks } from './common.js';
import { docToDocx, docxToDoc } from './docx.js';
import { bodyOf, docToHtmlPage, htmlToDoc } from './html.js';
import { docToMarkdown, markdownToDoc } from './markdown.js';
import { docToPdf } from './pdf.js';

export { ConvertError, type ExportHooks, type ImportHooks } from './common.js';

export const IMPORT_FORMATS = ['markdown', 'html', 'docx'] as const;
export const EXPORT_FORMATS = ['markdown', 'html', 'docx', 'pdf'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The format a Content-Type names, or null (`text/plain` is read as Markdown). */
export function importFormatOfType(contentType: string | undefined): ImportFormat | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'text/markdown' || type === 'text/x-markdown' || type === 'text/plain') return 'markdown';
  if (type === 'text/html' || type === 'application/xhtml+xml') return 'html';
  if (type === DOCX_TYPE) return 'docx';
  return null;
}

/** The format a file name's extension names, or null. */
export function importFormatOfName(name: string | undefined): ImportFormat | null {
  const ext = /\.([a-z0-9]+)$/i.exec(name ?? '')?.[1]?.toLowerCase();
  if (ext === 'md' || ext === 'markdown' || ext === 'txt') return 'markdown';
  if (ext === 'html' || ext === 'htm') return 'html';
  if (ext === 'docx') return 'docx';
  return null;
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw new ConvertError('The file is not UTF-8 text');
  }
}

/** Reads a file into a document; `title` is its first heading (or an HTML file's `<title>`). */
export async function importDocument(format: ImportFormat, bytes: Uint8Array, hooks: ImportHooks): Promise<{ doc: PMNode; title: string | null }> {
  if (bytes.length === 0) throw new ConvertError('The file is empty');
  let doc: PMNode;
  let pageTitle: string | null = null;
  if (format === 'docx') doc = await docxToDoc(bytes, hooks);
  else if (format === 'html') {
    const { body, title } = bodyOf(utf8(bytes));
    pageTitle = title;
    doc = await htmlToDoc(body, hooks);
  } else doc = await markdownToDoc(utf8(bytes), hooks);
  return { doc, title: firstHeading(doc) ?? pageTitle };
}

export const EXPORT_TYPES: Record<ExportFormat, { contentType: string; extension: string }> = {
  markdown: { contentType: 'text/markdown; charset=utf-8', extension: 'md' },
  html: { contentType: 'text/html; charset=utf-8', extension: 'html' },
  docx: { contentType: DOCX_TYPE, extension: 'docx' },
  pdf: { contentType: 'application/pdf', extension: 'pdf' },
};

/** Writes a document in `format`. */
export async function exportDocument(format: ExportFormat, doc: PMNode, title: string, hooks?: ExportHooks): Promise<{ bytes: Uint8Array; contentType: string; extension: string }> {
  let bytes: Uint8Array;
  if (format === 'markdown') bytes = new TextEncoder().encode(await docToMarkdown(doc, hooks));
  else if (format === 'html') bytes = new TextEncoder().encode(await docToHtmlPage(doc, title, hooks));
  else if (format === 'docx') bytes = await docToDocx(doc, title, hooks);
  else bytes = await docToPdf(doc, title, hooks);
  return { bytes, ...EXPORT_TYPES[format] };
}
