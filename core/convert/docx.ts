/**
 * Word (.docx) to and from a document. Import converts with mammoth (images stored through
 * the import hook; linked files outside the .docx are never read) and reads its HTML like an
 * HTML import; Quire's own styles map back: "Code Block" paragraphs to code blocks, "Code
 * Char" runs to inline code, "Quote" paragraphs to quotes, "Horizontal Rule" to a rule, and a
 * bullet list whose items all start with ☐/☒ to a task list. Export writes Word's headings,
 * numbered and bulleted lists, hyperlinks, tables (header rows repeat) and embedded images.
 *
 * What a round trip through Word does not keep: text alignment, a code block's language, an
 * ordered list's first number, cell spans, blocks other than paragraphs inside a quote (they
 * become quote paragraphs), several paragraphs in one list item (the later ones leave the
 * list), https images (Word files carry images, and the export does not fetch: they become
 * links), and WebP images (Word cannot show them: their alt text stays).
 */
import { AlignmentType, Document, ExternalHyperlink, HeadingLevel, ImageRun, LevelFormat, Packer, Paragraph, Table, TableCell, TableRow, TextRun, WidthType, type ParagraphChild } from 'docx';
import mammoth from 'mammoth';
import { attachmentIdOfSrc } from '../../contract/document-schema.js';
import type { PMNode } from '../content.js';
import { ConvertError, fitSize, IMAGE_TYPES, prepareForExport, sniffImageType, textOf, type ExportHooks, type ImportHooks } from './common.js';
import { htmlToDoc } from './html.js';

const STYLE_MAP = [
  "p[style-name='Code Block'] => pre:separator('\\n')",
  "r[style-name='Code Char'] => code",
  "p[style-name='Quote'] => blockquote > p:fresh",
  "p[style-name='Intense Quote'] => blockquote > p:fresh",
  "p[style-name='Horizontal Rule'] => hr",
  'u => u',
  'strike => s',
];

/** Largest sum of uncompressed part sizes a .docx may declare (a guard against zip bombs). */
export const MAX_DOCX_UNPACKED_BYTES = 200 * 1024 * 1024;

/** Reads the zip's central directory and refuses archives that unpack to more than the limit. */
function checkZip(bytes: Uint8Array): void {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 22 || b.readUInt32LE(0) !== 0x04034b50) throw new ConvertError('The file is not a Word document (.docx is a zip archive)');
  let eocd = -1;
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65_535); i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ConvertError('The Word document is damaged (no zip directory)');
  const entries = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  let total = 0;
  for (let i = 0; i < entries; i++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) throw new ConvertError('The Word document is damaged (zip directory)');
    total += b.readUInt32LE(p + 24);
    if (total > MAX_DOCX_UNPACKED_BYTES) throw new ConvertError('The Word document unpacks to more than 200 MB');
    p += 46 + b.readUInt16LE(p + 28) + b.readUInt16LE(p + 30) + b.readUInt16LE(p + 32);
  }
}

export async function docxToDoc(bytes: Uint8Array, hooks: ImportHooks): Promise<PMNode> {
  checkZip(bytes);
  const own = new Set<string>();
  let n = 0;
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      {
        styleMap: STYLE_MAP,
        ignoreEmptyParagraphs: false,
        externalFileAccess: false,
        convertImage: mammoth.images.imgElement(async (image) => {
          const data = new Uint8Array(await image.readAsBuffer());
          const type = sniffImageType(data);
          if (!type || !IMAGE_TYPES.has(type)) return { src: '' };
          n += 1;
          const ext = type === 'image/jpeg' ? 'jpg' : type.split('/')[1]!;
          const id = await hooks.storeImage(data, type, `image-${n}.${ext}`);
          own.add(id);
          return { src: `attachment:${id}` };
        }),
      },
    );
    html = result.value;
  } catch (e) {
    if (e instanceof ConvertError) throw e;
    throw new ConvertError(`The Word document could not be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return htmlToDoc(html, hooks, own);
}

interface Ctx {
  images: Map<string, { bytes: Uint8Array; contentType: string }>;
  nextInstance: number;
}

const CONTENT_WIDTH_PX = 600;
const CONTENT_WIDTH_TWIPS = 9_000;

const ALIGN: Record<string, (typeof AlignmentType)[keyof typeof AlignmentType]> = {
  left: AlignmentType.LEFT,
  center: AlignmentType.CENTER,
  right: AlignmentType.RIGHT,
  justify: AlignmentType.JUSTIFIED,
};
const HEADINGS = [HeadingLevel.HEADING_1, HeadingLevel.HEADING_2, HeadingLevel.HEADING_3, HeadingLevel.HEADING_4, HeadingLevel.HEADING_5, HeadingLevel.HEADING_6];

function runs(nodes: PMNode[], extra: { code?: boolean } = {}): ParagraphChild[] {
  const out: ParagraphChild[] = [];
  let link: { href: string; children: TextRun[] } | null = null;
  const flush = (): void => {
    if (link) out.push(new ExternalHyperlink({ link: link.href, children: link.children }));
    link = null;
  };
  for (const n of nodes) {
    if (n.type === 'hardBreak') {
      flush();
      out.push(new TextRun({ text: '', break: 1 }));
      continue;
    }
    if (n.type !== 'text') continue;
    const has = (t: string): boolean => (n.marks ?? []).some((m) => m.type === t);
    const href = (n.marks ?? []).find((m) => m.type === 'link')?.attrs?.href;
    const code = extra.code || has('code');
    const run = new TextRun({
      text: n.text ?? '',
      bold: has('bold') || undefined,
      italics: has('italic') || undefined,
      strike: has('strike') || undefined,
      underline: has('underline') ? {} : undefined,
      style: code ? 'CodeChar' : typeof href === 'string' ? 'Hyperlink' : undefined,
    });
    if (typeof href === 'string' && href) {
      if (!link || link.href !== href) {
        flush();
        link = { href, children: [] };
      }
      link.children.push(run);
    } else {
      flush();
      out.push(run);
    }
  }
  flush();
  return out;
}

function alignment(n: PMNode): (typeof AlignmentType)[keyof typeof AlignmentType] | undefined {
  return typeof n.attrs?.textAlign === 'string' ? ALIGN[n.attrs.textAlign] : undefined;
}

function imageParagraph(n: PMNode, ctx: Ctx): Paragraph | null {
  const src = String(n.attrs?.src ?? '');
  const alt = typeof n.attrs?.alt === 'string' ? n.attrs.alt : '';
  const id = attachmentIdOfSrc(src);
  const img = id ? ctx.images.get(id) : undefined;
  const type = img?.contentType === 'image/png' ? 'png' : img?.contentType === 'image/jpeg' ? 'jpg' : img?.contentType === 'image/gif' ? 'gif' : null;
  if (img && type) {
    const size = fitSize(n, img.bytes, CONTENT_WIDTH_PX);
    const title = typeof n.attrs?.title === 'string' ? n.attrs.title : '';
    return new Paragraph({ children: [new ImageRun({ type, data: img.bytes, transformation: size, altText: { name: alt || 'image', description: alt, title } })] });
  }
  if (/^https:\/\//i.test(src)) return new Paragraph({ children: [new ExternalHyperlink({ link: src, children: [new TextRun({ text: alt || src, style: 'Hyperlink' })] })] });
  return alt ? new Paragraph({ children: [new TextRun({ text: `[Image: ${alt}]` })] }) : null;
}

function listParagraphs(list: PMNode, ctx: Ctx, level: number): (Paragraph | Table)[] {
  const out: (Paragraph | Table)[] = [];
  const reference = list.type === 'orderedList' ? 'ordered' : 'bullets';
  const instance = ctx.nextInstance++;
  for (const item of list.content ?? []) {
    let first = true;
    for (const child of item.content ?? []) {
      if (child.type === 'bulletList' || child.type === 'orderedList' || child.type === 'taskList') {
        out.push(...listParagraphs(child, ctx, Math.min(8, level + 1)));
        continue;
      }
      if (first && (child.type === 'paragraph' || child.type === 'heading')) {
        const marker = list.type === 'taskList' ? [new TextRun({ text: item.attrs?.checked ? '☒ ' : '☐ ' })] : [];
        out.push(new Paragraph({ numbering: { reference, level, instance }, children: [...marker, ...runs(child.content ?? [])] }));
        first = false;
        continue;
      }
      first = false;
      out.push(...blocksToDocx([child], ctx, { indent: level + 1 }));
    }
  }
  return out;
}

function tableToDocx(n: PMNode, ctx: Ctx): Table | null {
  const rows = n.content ?? [];
  const cols = Math.max(1, ...rows.map((r) => (r.content ?? []).reduce((s, c) => s + (Number(c.attrs?.colspan) || 1), 0)));
  if (rows.length === 0) return null;
  const colWidth = Math.floor(CONTENT_WIDTH_TWIPS / cols);
  return new Table({
    width: { size: CONTENT_WIDTH_TWIPS, type: WidthType.DXA },
    columnWidths: Array.from({ length: cols }, () => colWidth),
    rows: rows.map(
      (r) =>
        new TableRow({
          // Left out rather than false: `<w:tblHeader w:val="off"/>` reads as a header row in some readers.
          tableHeader: (r.content ?? []).length > 0 && (r.content ?? []).every((c) => c.type === 'tableHeader') ? true : undefined,
          children: (r.content ?? []).map((c) => {
            const children = blocksToDocx(c.content ?? [], ctx, {});
            return new TableCell({
              columnSpan: Number(c.attrs?.colspan) > 1 ? Number(c.attrs?.colspan) : undefined,
              rowSpan: Number(c.attrs?.rowspan) > 1 ? Number(c.attrs?.rowspan) : undefined,
              children: children.length > 0 ? children : [new Paragraph({})],
            });
          }),
        }),
    ),
  });
}

function blocksToDocx(nodes: PMNode[], ctx: Ctx, opts: { indent?: number; quote?: boolean }): (Paragraph | Table)[] {
  const out: (Paragraph | Table)[] = [];
  const indent = opts.indent ? { left: 720 * opts.indent } : undefined;
  for (const n of nodes) {
    switch (n.type) {
      case 'paragraph':
        out.push(new Paragraph({ style: opts.quote ? 'Quote' : undefined, alignment: alignment(n), indent, children: runs(n.content ?? []) }));
        break;
      case 'heading': {
        const level = Math.min(6, Math.max(1, Number(n.attrs?.level) || 1));
        out.push(new Paragraph({ heading: HEADINGS[level - 1], alignment: alignment(n), children: runs(n.content ?? []) }));
        break;
      }
      case 'blockquote':
        for (const child of n.content ?? []) {
          if (child.type === 'paragraph' || child.type === 'blockquote') out.push(...blocksToDocx([child], ctx, { ...opts, quote: true }));
          else out.push(new Paragraph({ style: 'Quote', children: [new TextRun({ text: textOf(child) })] }));
        }
        break;
      case 'bulletList':
      case 'orderedList':
      case 'taskList':
        out.push(...listParagraphs(n, ctx, 0));
        break;
      case 'codeBlock': {
        const code = (n.content ?? []).map((c) => c.text ?? '').join('');
        for (const line of code.split('\n')) out.push(new Paragraph({ style: 'CodeBlock', indent, children: line ? [new TextRun({ text: line })] : [] }));
        break;
      }
      case 'horizontalRule':
        out.push(new Paragraph({ style: 'HorizontalRule', thematicBreak: true, children: [] }));
        break;
      case 'image': {
        const p = imageParagraph(n, ctx);
        if (p) out.push(p);
        break;
      }
      case 'table': {
        const t = tableToDocx(n, ctx);
        if (t) out.push(t);
        break;
      }
      default:
        if (n.content) out.push(...blocksToDocx(n.content, ctx, opts));
    }
  }
  return out;
}

const BULLETS = ['•', '◦', '▪'];

/** The document as a Word file; uploaded images embedded (PNG, JPEG, GIF). */
export async function docToDocx(doc: PMNode, title: string, hooks?: ExportHooks): Promise<Uint8Array> {
  const { doc: ready, images } = await prepareForExport(doc, hooks, { embed: false });
  const ctx: Ctx = { images, nextInstance: 1 };
  const children = blocksToDocx(ready.content ?? [], ctx, {});
  const levels = (ordered: boolean) =>
    Array.from({ length: 9 }, (_, level) => ({
      level,
      format: ordered ? LevelFormat.DECIMAL : LevelFormat.BULLET,
      text: ordered ? `%${level + 1}.` : BULLETS[level % BULLETS.length]!,
      alignment: AlignmentType.LEFT,
      style: { paragraph: { indent: { left: 720 * (level + 1), hanging: 360 } } },
    }));
  const file = new Document({
    title,
    creator: 'Quire',
    styles: {
      paragraphStyles: [
        { id: 'CodeBlock', name: 'Code Block', basedOn: 'Normal', run: { font: 'Courier New', size: 20 }, paragraph: { spacing: { before: 0, after: 0 } } },
        { id: 'Quote', name: 'Quote', basedOn: 'Normal', run: { italics: true, color: '555555' }, paragraph: { indent: { left: 720 } } },
        { id: 'HorizontalRule', name: 'Horizontal Rule', basedOn: 'Normal' },
      ],
      characterStyles: [{ id: 'CodeChar', name: 'Code Char', run: { font: 'Courier New' } }],
    },
    numbering: {
      config: [
        { reference: 'bullets', levels: levels(false) },
        { reference: 'ordered', levels: levels(true) },
      ],
    },
    sections: [{ children: children.length > 0 ? children : [new Paragraph({})] }],
  });
  return new Uint8Array(await Packer.toBuffer(file));
}
