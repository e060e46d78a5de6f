/**
 * What a file is, from its first bytes, and how it may be served.
 *
 * Only raster images whose bytes were checked (PNG, JPEG, GIF, WebP) are shown inline;
 * everything else, SVG and HTML included, is served as a download under a sandboxing CSP
 * (server/routes/attachments.ts), so a file can never run script in the app's origin.
 */

/** Image types shown inline, by the signature their bytes must carry. */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type InlineImageType = (typeof INLINE_IMAGE_TYPES)[number];

/** The inline image type `head` (a file's first bytes, 12 are enough) is, or null. */
export function sniffImage(head: Uint8Array): InlineImageType | null {
  const b = head;
  const at = (i: number, bytes: number[]) => bytes.every((v, k) => b[i + k] === v);
  if (b.length >= 8 && at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (b.length >= 3 && at(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (b.length >= 6 && (at(0, [0x47, 0x49, 0x46, 0x38, 0x37, 0x61]) || at(0, [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))) return 'image/gif';
  if (b.length >= 12 && at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) return 'image/webp';
  return null;
}

/** Whether `head` starts like a PDF (`%PDF-`). */
export function looksLikePdf(head: Uint8Array): boolean {
  return head.length >= 5 && Buffer.from(head.subarray(0, 5)).toString('latin1') === '%PDF-';
}

const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A declared type reduced to `type/subtype` in lower case (parameters dropped), or `application/octet-stream`. */
export function normaliseType(declared: string | null | undefined): string {
  const t = (declared ?? '').split(';')[0]!.trim().toLowerCase();
  return MIME_RE.test(t) ? t : 'application/octet-stream';
}

export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** Types whose text the workers extract for search. */
export function extractable(type: string): boolean {
  return type === 'application/pdf' || type === DOCX_TYPE || type === 'text/plain' || type === 'text/markdown';
}

export type Classified = { ok: true; kind: 'image' | 'file'; contentType: string } | { ok: false; reason: string };

/**
 * What a finished upload is: an inline image when its bytes are one of the inline types;
 * refused when it was declared as one of those and its bytes are not (or are another);
 * otherwise a file of its declared type.
 */
export function classify(declared: string, head: Uint8Array): Classified {
  const type = normaliseType(declared);
  const sniffed = sniffImage(head);
  if ((INLINE_IMAGE_TYPES as readonly string[]).includes(type)) {
    if (sniffed !== type) return { ok: false, reason: sniffed ? `The file was sent as ${type} but is ${sniffed}` : `The file was sent as ${type} but is not one` };
    return { ok: true, kind: 'image', contentType: type };
  }
  if (sniffed && (type === 'application/octet-stream' || type.startsWith('image/'))) return { ok: true, kind: 'image', contentType: sniffed };
  if (type === 'application/pdf' && !looksLikePdf(head)) return { ok: false, reason: 'The file was sent as application/pdf but is not a PDF' };
  return { ok: true, kind: 'file', contentType: type };
}

/** A file name safe to store and show: no path, no control characters, at most 255 characters. */
export function cleanFileName(name: string | null | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 255);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}
