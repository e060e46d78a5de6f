/**
 * What the converters share: the document schema, the image hooks, image sizes, data URIs
 * and the walk over ProseMirror JSON.
 */
import { getSchema } from '@tiptap/core';
import type { Schema } from '@tiptap/pm/model';
import { attachmentIdOfSrc, documentSchema } from '../../contract/document-schema.js';
import type { PMNode } from '../content.js';

/** Import stores each embedded image as an attachment of the new document and returns its id. */
export interface ImportHooks {
  storeImage(bytes: Uint8Array, contentType: string, name: string): Promise<string>;
}

/** Export reads the bytes of an uploaded image (`attachment:<id>`); null when it is gone. */
export interface ExportHooks {
  loadImage(attachmentId: string): Promise<{ bytes: Uint8Array; contentType: string } | null>;
}

/** A file that cannot be converted (not the format it claims, damaged, or empty). */
export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

let schema: Schema | null = null;
/** The ProseMirror schema of a document (built once). */
export function pmSchema(): Schema {
  schema ??= getSchema(documentSchema());
  return schema;
}

/** Image types an import stores and an export embeds. SVG is left out: it can carry scripts. */
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** The bytes and type of a `data:image/...;base64,` address, or null. */
export function parseDataUri(src: string): { bytes: Uint8Array; contentType: string } | null {
  const m = /^data:([a-z0-9.+/-]+)((?:;[a-z0-9-]+=[^;,]*)*);base64,([A-Za-z0-9+/=\s]*)$/i.exec(src);
  if (!m) return null;
  const contentType = m[1]!.toLowerCase() === 'image/jpg' ? 'image/jpeg' : m[1]!.toLowerCase();
  if (!IMAGE_TYPES.has(contentType)) return null;
  const bytes = new Uint8Array(Buffer.from(m[3]!.replace(/\s+/g, ''), 'base64'));
  return bytes.length > 0 ? { bytes, contentType } : null;
}

export function dataUri(bytes: Uint8Array, contentType: string): string {
  return `data:${contentType};base64,${Buffer.from(bytes).toString('base64')}`;
}

/** The image type its first bytes show (PNG, JPEG, GIF, WebP), whatever it was labelled. */
export function sniffImageType(b: Uint8Array): string | null {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return 'image/gif';
  if (b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...b.subarray(8, 12)) === 'WEBP') return 'image/webp';
  return null;
}

/** Width and height in pixels of a PNG, JPEG or GIF, or null. */
export function imageSize(b: Uint8Array): { width: number; height: number } | null {
  const type = sniffImageType(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (type === 'image/png' && b.length >= 24) return { width: dv.getUint32(16), height: dv.getUint32(20) };
  if (type === 'image/gif' && b.length >= 10) return { width: dv.getUint16(6, true), height: dv.getUint16(8, true) };
  if (type === 'image/jpeg') {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1]!;
      const len = dv.getUint16(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: dv.getUint16(i + 7), height: dv.getUint16(i + 5) };
      i += 2 + len;
    }
  }
  return null;
}

/** Fits a size into `maxWidth`, keeping the aspect ratio; the node's own width/height win when set. */
export function fitSize(node: PMNode, bytes: Uint8Array, maxWidth: number): { width: number; height: number } {
  const natural = imageSize(bytes) ?? { width: maxWidth, height: Math.round(maxWidth * 0.75) };
  const w = Number(node.attrs?.width) > 0 ? Number(node.attrs?.width) : natural.width;
  const h = Number(node.attrs?.height) > 0 ? Number(node.attrs?.height) : Math.round((w * natural.height) / Math.max(1, natural.width));
  const scale = w > maxWidth ? maxWidth / w : 1;
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/** Plain text of a node and its descendants (hard breaks as spaces). */
export function textOf(n: PMNode): string {
  if (n.type === 'text') return n.text ?? '';
  if (n.type === 'hardBreak') return ' ';
  return (n.content ?? []).map(textOf).join('');
}

/** The document's title as its files suggest it: the first heading's text. */
export function firstHeading(doc: PMNode): string | null {
  const h = (doc.content ?? []).find((n) => n.type === 'heading' && textOf(n).trim().length > 0);
  return h ? textOf(h).trim() : null;
}

/** A human size: 12 B, 3.4 KB, 5.6 MB. */
export function humanSize(size: unknown): string | null {
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) return null;
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * An attachment card as an export writes it: a paragraph "Attached file: <name> (<size>)".
 * The file itself is not in the export (a card names it; its bytes stay in Quire).
 */
export function attachmentCardParagraph(n: PMNode): PMNode {
  const name = typeof n.attrs?.name === 'string' && n.attrs.name ? n.attrs.name : 'file';
  const size = humanSize(n.attrs?.size);
  const content: PMNode[] = [
    { type: 'text', text: 'Attached file: ' },
    { type: 'text', text: name, marks: [{ type: 'bold' }] },
  ];
  if (size) content.push({ type: 'text', text: ` (${size})` });
  return { type: 'paragraph', content };
}

/** Replaces every node `fn` maps (depth first, children before parents). */
export async function mapNodes(n: PMNode, fn: (n: PMNode) => Promise<PMNode | null> | PMNode | null): Promise<PMNode | null> {
  const content = n.content ? (await Promise.all(n.content.map((c) => mapNodes(c, fn)))).filter((c): c is PMNode => c !== null) : undefined;
  return fn(content ? { ...n, content } : { ...n });
}

/** Every image an export can embed, by attachment id: its bytes and type (the others stay addresses). */
export async function loadImages(doc: PMNode, hooks: ExportHooks | undefined): Promise<Map<string, { bytes: Uint8Array; contentType: string }>> {
  const out = new Map<string, { bytes: Uint8Array; contentType: string }>();
  const ids = new Set<string>();
  const walk = (n: PMNode): void => {
    if (n.type === 'image') {
      const id = attachmentIdOfSrc(n.attrs?.src);
      if (id) ids.add(id);
    }
    for (const c of n.content ?? []) walk(c);
  };
  walk(doc);
  for (const id of ids) {
    const img = hooks ? await hooks.loadImage(id) : null;
    if (!img) continue;
    const type = sniffImageType(img.bytes);
    if (type) out.set(id, { bytes: img.bytes, contentType: type });
  }
  return out;
}

/**
 * The document as an export writes it: attachment cards become paragraphs naming the file,
 * and uploaded images become data URIs (an image whose bytes are gone becomes its alt text).
 */
export async function prepareForExport(
  doc: PMNode,
  hooks: ExportHooks | undefined,
  opts: { embed: boolean },
): Promise<{ doc: PMNode; images: Map<string, { bytes: Uint8Array; contentType: string }> }> {
  const images = await loadImages(doc, hooks);
  const out = await mapNodes(doc, (n) => {
    if (n.type === 'fileAttachment') return attachmentCardParagraph(n);
    if (n.type === 'image') {
      const src = n.attrs?.src;
      const id = attachmentIdOfSrc(src);
      if (id) {
        const img = images.get(id);
        if (!img) return altParagraph(n);
        return opts.embed ? { ...n, attrs: { ...n.attrs, src: dataUri(img.bytes, img.contentType) } } : n;
      }
      if (typeof src !== 'string' || !/^https:\/\//i.test(src)) return altParagraph(n);
    }
    return n;
  });
  return { doc: out ?? { type: 'doc', content: [] }, images };
}

function altParagraph(n: PMNode): PMNode | null {
  const alt = typeof n.attrs?.alt === 'string' ? n.attrs.alt.trim() : '';
  return alt ? { type: 'paragraph', content: [{ type: 'text', text: `[Image: ${alt}]` }] } : null;
}
