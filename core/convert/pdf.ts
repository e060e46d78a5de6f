/**
 * A document as PDF (pdfkit): headings, paragraphs with bold, italic, strike, underline,
 * inline code and links, lists (bullets, numbers, checkboxes), quotes, code blocks, rules,
 * tables as simple grids, and embedded PNG and JPEG images.
 *
 * Fonts and their limit: text is set in Liberation Sans (SIL Open Font License), the
 * TrueType files that ship with pdfjs-dist, embedded as subsets. It covers Latin, Greek and
 * Cyrillic and common symbols, but not CJK scripts, emoji or most other scripts: a
 * character the font lacks is written as "?". Code is set in Courier, a standard PDF font
 * that covers only Windows-1252 (Latin-1 plus typographic quotes and dashes): other
 * characters in code become "?". Without the Liberation files the body text falls back to
 * Helvetica with the same Windows-1252 limit. GIF and WebP images are not embedded (pdfkit
 * reads PNG and JPEG only): their alt text is written instead; https images become links.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import { attachmentIdOfSrc } from '../../contract/document-schema.js';
import type { PMNode } from '../content.js';
import { fitSize, prepareForExport, textOf, type ExportHooks } from './common.js';

type Pdf = PDFKit.PDFDocument;

/** Windows-1252's characters above 0x7f that are not Latin-1 (pdfkit's standard fonts encode them). */
const CP1252_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const REPLACE: Record<string, string> = { '☐': '[ ]', '☑': '[x]', '☒': '[x]', '→': '->', '←': '<-', '≤': '<=', '≥': '>=', '✓': 'v', '\u2011': '-', '\u2212': '-' };

/** Text the standard fonts can write: characters outside Windows-1252 become "?". */
export function pdfSafe(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c === 9) out += '    ';
    else if ((c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) || CP1252_EXTRA.has(ch) || ch === '\n') out += ch;
    else out += REPLACE[ch] ?? '?';
  }
  return out;
}

interface Family {
  regular: string;
  bold: string;
  italic: string;
  boldItalic: string;
}
const HELVETICA: Family = { regular: 'Helvetica', bold: 'Helvetica-Bold', italic: 'Helvetica-Oblique', boldItalic: 'Helvetica-BoldOblique' };
const SANS: Family = { regular: 'Sans', bold: 'Sans-Bold', italic: 'Sans-Italic', boldItalic: 'Sans-BoldItalic' };
const SANS_FILES: Record<keyof Family, string> = {
  regular: 'LiberationSans-Regular.ttf',
  bold: 'LiberationSans-Bold.ttf',
  italic: 'LiberationSans-Italic.ttf',
  boldItalic: 'LiberationSans-BoldItalic.ttf',
};

let sansFonts: Record<keyof Family, Buffer> | null | undefined;
/** Liberation Sans from pdfjs-dist's standard fonts, read once; null when they are not there. */
function sans(): Record<keyof Family, Buffer> | null {
  if (sansFonts !== undefined) return sansFonts;
  try {
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts');
    sansFonts = Object.fromEntries(Object.entries(SANS_FILES).map(([k, f]) => [k, fs.readFileSync(path.join(dir, f))])) as Record<keyof Family, Buffer>;
  } catch {
    sansFonts = null;
  }
  return sansFonts;
}

/** Text a font can write: each character it lacks becomes "?" (a few common ones a look-alike). */
function safeFor(covers: ((codePoint: number) => boolean) | null): (s: string) => string {
  if (!covers) return pdfSafe;
  return (s) => {
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (ch === '\n') out += ch;
      else if (c === 9) out += '    ';
      else if (covers(c)) out += ch;
      else out += REPLACE[ch] ?? '?';
    }
    return out;
  };
}

const BODY = 11;
const HEADING_SIZES = [22, 18, 15, 13, 12, 11];
const LINK_COLOR = '#1a56db';
const TEXT_COLOR = '#111111';

interface Seg {
  text: string;
  font: string;
  underline: boolean;
  strike: boolean;
  link: string | null;
}

function fontFor(f: Family, bold: boolean, italic: boolean, code: boolean): string {
  if (code) return bold ? 'Courier-Bold' : 'Courier';
  if (bold && italic) return f.boldItalic;
  if (bold) return f.bold;
  if (italic) return f.italic;
  return f.regular;
}

function segments(nodes: PMNode[], f: Family, safe: (s: string) => string, base: { bold?: boolean } = {}): Seg[] {
  const out: Seg[] = [];
  for (const n of nodes) {
    if (n.type === 'hardBreak') {
      out.push({ text: '\n', font: f.regular, underline: false, strike: false, link: null });
      continue;
    }
    if (n.type !== 'text' || !n.text) continue;
    const has = (t: string): boolean => (n.marks ?? []).some((m) => m.type === t);
    const href = (n.marks ?? []).find((m) => m.type === 'link')?.attrs?.href;
    const link = typeof href === 'string' && /^(https?:|mailto:)/i.test(href) ? href : null;
    const code = has('code');
    out.push({ text: code ? pdfSafe(n.text) : safe(n.text), font: fontFor(f, !!base.bold || has('bold'), has('italic'), code), underline: has('underline') || !!link, strike: has('strike'), link });
  }
  return out;
}

class Writer {
  constructor(
    readonly pdf: Pdf,
    readonly images: Map<string, { bytes: Uint8Array; contentType: string }>,
    readonly family: Family,
    readonly safe: (s: string) => string,
  ) {}

  get bottom(): number {
    return this.pdf.page.height - this.pdf.page.margins.bottom;
  }

  /** Starts a new page when less than `h` points are left on this one. */
  room(h: number): void {
    if (this.pdf.y + h > this.bottom) this.pdf.addPage();
  }

  inline(nodes: PMNode[], x: number, width: number, size: number, opts: { bold?: boolean } = {}): void {
    const segs = segments(nodes, this.family, this.safe, opts);
    this.pdf.fontSize(size);
    this.room(size * 1.4);
    if (segs.length === 0) {
      this.pdf.font(this.family.regular).text(' ', x, this.pdf.y, { width });
      return;
    }
    segs.forEach((s, i) => {
      this.pdf.font(s.font).fillColor(s.link ? LINK_COLOR : TEXT_COLOR);
      const o: PDFKit.Mixins.TextOptions = { width, continued: i < segs.length - 1, underline: s.underline, strike: s.strike, ...(s.link ? { link: s.link } : { link: null }) };
      if (i === 0) this.pdf.text(s.text, x, this.pdf.y, o);
      else this.pdf.text(s.text, o);
    });
    this.pdf.fillColor(TEXT_COLOR);
  }

  blocks(nodes: PMNode[], x: number, width: number): void {
    for (const n of nodes) this.block(n, x, width);
  }

  block(n: PMNode, x: number, width: number): void {
    const pdf = this.pdf;
    switch (n.type) {
      case 'paragraph':
        this.inline(n.content ?? [], x, width, BODY);
        pdf.moveDown(0.5);
        break;
      case 'heading': {
        const level = Math.min(6, Math.max(1, Number(n.attrs?.level) || 1));
        pdf.moveDown(0.3);
        this.room(HEADING_SIZES[level - 1]! * 3);
        this.inline(n.content ?? [], x, width, HEADING_SIZES[level - 1]!, { bold: true });
        pdf.moveDown(0.4);
        break;
      }
      case 'bulletList':
      case 'orderedList':
      case 'taskList': {
        let num = typeof n.attrs?.start === 'number' ? n.attrs.start : 1;
        for (const item of n.content ?? []) {
          const marker = n.type === 'orderedList' ? `${num++}.` : n.type === 'taskList' ? (item.attrs?.checked ? '[x]' : '[ ]') : '•';
          pdf.fontSize(BODY);
          this.room(BODY * 1.4);
          const y = pdf.y;
          pdf.font(this.family.regular).fillColor(TEXT_COLOR).text(marker, x, y, { width: 22, lineBreak: false });
          pdf.y = y;
          const inner = item.content ?? [];
          inner.forEach((c, i) => {
            if (c.type === 'paragraph') {
              this.inline(c.content ?? [], x + 22, width - 22, BODY);
              if (i < inner.length - 1) pdf.moveDown(0.2);
            } else this.block(c, x + 22, width - 22);
          });
          pdf.moveDown(0.2);
        }
        pdf.moveDown(0.3);
        break;
      }
      case 'blockquote': {
        const page = pdf.page;
        const top = pdf.y;
        pdf.fillColor('#444444');
        this.blocks(n.content ?? [], x + 14, width - 14);
        if (pdf.page === page)
          pdf
            .save()
            .moveTo(x + 3, top)
            .lineTo(x + 3, pdf.y - 4)
            .lineWidth(2)
            .strokeColor('#bbbbbb')
            .stroke()
            .restore();
        pdf.fillColor(TEXT_COLOR);
        break;
      }
      case 'codeBlock': {
        const code = pdfSafe((n.content ?? []).map((c) => c.text ?? '').join(''));
        pdf.font('Courier').fontSize(9.5);
        const h = pdf.heightOfString(code || ' ', { width: width - 12 }) + 10;
        if (h < this.bottom - pdf.page.margins.top) this.room(h);
        const top = pdf.y;
        if (top + h <= this.bottom) pdf.save().rect(x, top, width, h).fill('#f2f2f2').restore();
        pdf.fillColor(TEXT_COLOR).text(code || ' ', x + 6, top + 5, { width: width - 12 });
        pdf.y = Math.max(pdf.y, top + h);
        pdf.moveDown(0.5);
        break;
      }
      case 'horizontalRule':
        this.room(12);
        pdf
          .save()
          .moveTo(x, pdf.y + 4)
          .lineTo(x + width, pdf.y + 4)
          .lineWidth(0.7)
          .strokeColor('#999999')
          .stroke()
          .restore();
        pdf.y += 12;
        break;
      case 'image':
        this.image(n, x, width);
        break;
      case 'table':
        this.table(n, x, width);
        break;
      default:
        if (n.content) this.blocks(n.content, x, width);
    }
  }

  image(n: PMNode, x: number, width: number): void {
    const pdf = this.pdf;
    const src = String(n.attrs?.src ?? '');
    const alt = typeof n.attrs?.alt === 'string' ? n.attrs.alt : '';
    const id = attachmentIdOfSrc(src);
    const img = id ? this.images.get(id) : undefined;
    if (img && (img.contentType === 'image/png' || img.contentType === 'image/jpeg')) {
      const size = fitSize(n, img.bytes, width);
      const maxH = this.bottom - pdf.page.margins.top;
      const scale = size.height > maxH ? maxH / size.height : 1;
      const w = size.width * scale;
      const h = size.height * scale;
      this.room(h);
      pdf.image(Buffer.from(img.bytes), x, pdf.y, { width: w, height: h });
      pdf.y += h + 6;
      return;
    }
    const text = /^https:\/\//i.test(src) ? [{ type: 'text', text: alt || src, marks: [{ type: 'link', attrs: { href: src } }] }] : alt ? [{ type: 'text', text: `[Image: ${alt}]` }] : [];
    if (text.length > 0) {
      this.inline(text, x, width, BODY);
      pdf.moveDown(0.5);
    }
  }

  table(n: PMNode, x: number, width: number): void {
    const pdf = this.pdf;
    const rows = n.content ?? [];
    const cols = Math.max(1, ...rows.map((r) => (r.content ?? []).length));
    const colW = width / cols;
    const pad = 4;
    for (const r of rows) {
      const cells = (r.content ?? []).map((c) => ({ text: this.safe((c.content ?? []).map(textOf).join('\n')), header: c.type === 'tableHeader' }));
      pdf.fontSize(10);
      const h = Math.max(
        pdf.currentLineHeight() + 2 * pad,
        ...cells.map((c) => pdf.font(c.header ? this.family.bold : this.family.regular).heightOfString(c.text || ' ', { width: colW - 2 * pad }) + 2 * pad),
      );
      this.room(h);
      const top = pdf.y;
      cells.forEach((c, i) => {
        const cx = x + i * colW;
        if (c.header) pdf.save().rect(cx, top, colW, h).fill('#eeeeee').restore();
        pdf.save().rect(cx, top, colW, h).lineWidth(0.6).strokeColor('#888888').stroke().restore();
        pdf
          .font(c.header ? this.family.bold : this.family.regular)
          .fillColor(TEXT_COLOR)
          .text(c.text, cx + pad, top + pad, { width: colW - 2 * pad, height: h });
      });
      pdf.y = top + h;
    }
    pdf.x = x;
    pdf.moveDown(0.7);
  }
}

/** The document as a PDF (A4). */
export async function docToPdf(doc: PMNode, title: string, hooks?: ExportHooks): Promise<Uint8Array> {
  const { doc: ready, images } = await prepareForExport(doc, hooks, { embed: false });
  const pdf = new PDFDocument({ size: 'A4', margin: 56, info: { Title: title, Creator: 'Quire' }, compress: true });
  const files = sans();
  let family = HELVETICA;
  let covers: ((codePoint: number) => boolean) | null = null;
  if (files) {
    for (const k of Object.keys(SANS) as (keyof Family)[]) pdf.registerFont(SANS[k], files[k]);
    family = SANS;
    // pdfkit keeps the parsed TrueType font (fontkit) of an embedded font; it says which characters it has.
    const font = (pdf.font(SANS.regular) as unknown as { _font?: { font?: { hasGlyphForCodePoint?: (c: number) => boolean } } })._font?.font;
    if (typeof font?.hasGlyphForCodePoint === 'function') covers = (c) => font.hasGlyphForCodePoint!(c);
    else family = HELVETICA;
  }
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pdf.on('data', (c: Buffer) => chunks.push(c));
    pdf.on('end', () => resolve());
    pdf.on('error', reject);
  });
  const w = new Writer(pdf, images, family, safeFor(family === SANS ? covers : null));
  const x = pdf.page.margins.left;
  const width = pdf.page.width - pdf.page.margins.left - pdf.page.margins.right;
  pdf.fillColor(TEXT_COLOR);
  w.blocks(ready.content ?? [], x, width);
  pdf.end();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}
