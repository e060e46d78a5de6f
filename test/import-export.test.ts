/**
 * Import and export: a document holding every node and mark survives Markdown, HTML and Word
 * round trips (ProseMirror JSON compared after normalising only what a format cannot carry);
 * a Word file made with the `docx` package imports with its image as an attachment; PDF text
 * holds the document's words; the REST routes check rights (no read: 404; guests cannot
 * import), refuse bad input (garbage .docx 400 import_failed, unknown format 415, too large
 * 413), answer downloads with safe headers, and record exports in the audit log. In the web
 * app, Import… opens the new document (listed at once) and Export downloads it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { getSchema } from '@tiptap/core';
import { Node as PMNodeClass } from '@tiptap/pm/model';
import { Document, ExternalHyperlink, HeadingLevel, ImageRun, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { documentSchema } from '../contract/document-schema.js';
import type { PMNode } from '../core/content.js';
import { exportDocument, importDocument, type ExportFormat, type ImportFormat } from '../core/convert/index.js';
import { pdfSafe } from '../core/convert/pdf.js';
import type { Browser } from 'playwright-core';
import type { Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';

/** A 2×2 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');
const IMG = '0b0e5d3c-1111-4222-8333-944444444444';
const FILE = '1c1e5d3c-1111-4222-8333-944444444444';

type Json = PMNode;
const t = (text: string, ...marks: (string | { href: string })[]): Json => ({
  type: 'text',
  text,
  ...(marks.length ? { marks: marks.map((m) => (typeof m === 'string' ? { type: m } : { type: 'link', attrs: { href: m.href } })) } : {}),
});
const p = (...content: Json[]): Json => ({ type: 'paragraph', content });
const li = (...content: Json[]): Json => ({ type: 'listItem', content });

/** A document with every node and mark import and export handle. */
const FULL: PMNode = {
  type: 'doc',
  content: [
    { type: 'heading', attrs: { level: 1 }, content: [t('Quarterly plan')] },
    p(
      t('Plain, '),
      t('bold', 'bold'),
      t(' and '),
      t('italic', 'italic'),
      t(', '),
      t('both', 'bold', 'italic'),
      t(', '),
      t('struck', 'strike'),
      t(', '),
      t('underlined', 'underline'),
      t(', '),
      t('code()', 'code'),
      t(' and a '),
      t('link', { href: 'https://example.com/a?b=1' }),
      t('.'),
    ),
    p(t('Line one'), { type: 'hardBreak' }, t('line two with * and _ and [brackets] & <angles>')),
    p(t('# not a heading, a | b, &amp; as typed, wow! ~~no~~ > 2 \\ back')),
    p(t('1. not a list')),
    p(t('- not a bullet')),
    { type: 'heading', attrs: { level: 2 }, content: [t('Lists')] },
    { type: 'bulletList', content: [li(p(t('apples')), { type: 'bulletList', content: [li(p(t('green apples')))] }), li(p(t('pears')))] },
    { type: 'orderedList', attrs: { start: 1 }, content: [li(p(t('first step'))), li(p(t('second step')))] },
    {
      type: 'taskList',
      content: [
        { type: 'taskItem', attrs: { checked: true }, content: [p(t('done task'))] },
        { type: 'taskItem', attrs: { checked: false }, content: [p(t('open task'))] },
      ],
    },
    { type: 'blockquote', content: [p(t('A quoted line.'))] },
    { type: 'codeBlock', attrs: { language: 'js' }, content: [{ type: 'text', text: 'const a = 1;\n\nconsole.log(a * 2);' }] },
    {
      type: 'table',
      content: [
        {
          type: 'tableRow',
          content: [
            { type: 'tableHeader', content: [p(t('Name'))] },
            { type: 'tableHeader', content: [p(t('Quantity'))] },
          ],
        },
        {
          type: 'tableRow',
          content: [
            { type: 'tableCell', content: [p(t('bolts'))] },
            { type: 'tableCell', content: [p(t('twelve'))] },
          ],
        },
      ],
    },
    { type: 'image', attrs: { src: `attachment:${IMG}`, alt: 'a dot' } },
    { type: 'image', attrs: { src: 'https://example.com/picture.png', alt: 'remote picture' } },
    { type: 'fileAttachment', attrs: { id: FILE, name: 'budget.xlsx', size: 1024, contentType: 'application/vnd.ms-excel' } },
    { type: 'horizontalRule' },
    p(t('The end.')),
  ],
};

const schema = getSchema(documentSchema());
/** The schema's JSON (defaults filled in, marks in the schema's order). */
const canonical = (d: PMNode): PMNode => PMNodeClass.fromJSON(schema, d).toJSON() as PMNode;

function mapDoc(n: PMNode, fn: (n: PMNode) => PMNode): PMNode {
  const mapped = fn(n);
  return mapped.content ? { ...mapped, content: mapped.content.map((c) => mapDoc(c, fn)) } : mapped;
}

/**
 * What each format cannot carry, applied to the original before comparing:
 * - every format: an attachment card becomes a paragraph naming the file (the file's bytes stay in Quire);
 * - Word: a code block's language; an https image is not embedded (the export fetches nothing) and becomes a link.
 */
function expected(format: ImportFormat): PMNode {
  return mapDoc(FULL, (n) => {
    if (n.type === 'fileAttachment') return p(t('Attached file: '), t('budget.xlsx', 'bold'), t(' (1.0 KB)'));
    if (format === 'docx' && n.type === 'codeBlock') return { ...n, attrs: { ...n.attrs, language: null } };
    if (format === 'docx' && n.type === 'image' && String(n.attrs?.src).startsWith('https:')) return p(t('remote picture', { href: 'https://example.com/picture.png' }));
    return n;
  });
}

const loader = { loadImage: (id: string) => Promise.resolve(id === IMG ? { bytes: new Uint8Array(PNG), contentType: 'image/png' } : null) };

async function pdfText(bytes: Uint8Array): Promise<string> {
  const fonts = path.join(path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json')), 'standard_fonts') + path.sep;
  const pdf = await getDocument({ data: new Uint8Array(bytes), standardFontDataUrl: fonts, isEvalSupported: false }).promise;
  let text = '';
  for (let i = 1; i <= pdf.numPages; i++) {
    const page = await pdf.getPage(i);
    const c = await page.getTextContent();
    text += c.items.map((it) => ('str' in it ? it.str + (it.hasEOL ? '\n' : '') : '')).join('') + '\n';
  }
  await pdf.destroy();
  return text;
}

for (const format of ['markdown', 'html', 'docx'] as const) {
  test(`round trip through ${format}: the document's structure comes back`, async () => {
    const out = await exportDocument(format, FULL, 'Quarterly plan', loader);
    const stored: { bytes: Uint8Array; contentType: string }[] = [];
    const back = await importDocument(format, out.bytes, {
      storeImage: (bytes, contentType) => {
        stored.push({ bytes, contentType });
        return Promise.resolve(IMG);
      },
    });
    assert.equal(back.title, 'Quarterly plan', 'the first heading is the title');
    assert.equal(stored.length, 1, `one embedded image is stored (${format})`);
    assert.equal(stored[0]!.contentType, 'image/png');
    assert.deepEqual(Buffer.from(stored[0]!.bytes), PNG, 'the stored image has the exported bytes');
    assert.deepEqual(canonical(back.doc), canonical(expected(format)));
  });
}

test('HTML export is a standalone page: images embedded, no script, a strict policy', async () => {
  const evil: PMNode = { type: 'doc', content: [p(t('<script>alert(1)</script>'), t('x', { href: 'javascript:alert(1)' })), ...(FULL.content ?? [])] };
  const html = new TextDecoder().decode((await exportDocument('html', evil, 'A <b>title</b>', loader)).bytes);
  assert.ok(html.startsWith('<!DOCTYPE html>'), 'a whole page');
  assert.ok(html.includes(`data:image/png;base64,${PNG.toString('base64')}`), 'the uploaded image is embedded as a data URI');
  assert.ok(!html.includes('attachment:'), 'no attachment addresses are left');
  assert.ok(!/<script/i.test(html) && !html.includes('javascript:'), 'no script and no javascript: link');
  assert.ok(html.includes("default-src 'none'"), 'a Content-Security-Policy that allows nothing by default');
  assert.ok(html.includes('<title>A &lt;b&gt;title&lt;/b&gt;</title>'), 'the title is escaped');
});

test('import keeps only safe images: data URIs become attachments, https stays, other addresses go', async () => {
  const stored: string[] = [];
  const html = `<h2>Pics</h2><p><img src="data:image/png;base64,${PNG.toString('base64')}" alt="inline"></p>
    <img src="https://example.com/a.png"><img src="http://example.com/b.png"><img src="file:///etc/passwd">
    <img src="attachment:${IMG}"><div data-attachment-id="${FILE}" data-name="secret.pdf">secret.pdf</div><script>x()</script>`;
  const { doc, title } = await importDocument('html', new TextEncoder().encode(html), {
    storeImage: (_b, type, name) => {
      stored.push(`${type} ${name}`);
      return Promise.resolve('2b0e5d3c-1111-4222-8333-944444444444');
    },
  });
  assert.equal(title, 'Pics');
  assert.deepEqual(stored, ['image/png image-1.png']);
  const srcs = (doc.content ?? []).filter((n) => n.type === 'image').map((n) => n.attrs?.src);
  assert.deepEqual(srcs, ['attachment:2b0e5d3c-1111-4222-8333-944444444444', 'https://example.com/a.png'], 'another document’s attachment and non-https addresses are dropped');
  assert.ok(!JSON.stringify(doc).includes('fileAttachment'), 'attachment cards of other documents become text');
});

test('PDF export holds the document’s words; characters its fonts lack become "?"', async () => {
  const out = await exportDocument('pdf', FULL, 'Quarterly plan', loader);
  assert.equal(out.contentType, 'application/pdf');
  assert.equal(Buffer.from(out.bytes.subarray(0, 5)).toString(), '%PDF-');
  const text = await pdfText(out.bytes);
  for (const w of ['Quarterly plan', 'bold', 'italic', 'green apples', 'second step', 'done task', 'A quoted line.', 'console.log', 'Quantity', 'twelve', 'budget.xlsx', 'The end.'])
    assert.ok(text.includes(w), `the PDF's text has "${w}": ${text}`);
  // Liberation Sans has Latin, Greek and Cyrillic; CJK and emoji become "?"; code (Courier) keeps to Windows-1252.
  const intl = await exportDocument('pdf', { type: 'doc', content: [p(t('Café Ωmega Жук 日本 😀')), p(t('naïve Ωx', 'code'))] }, 'Ω', loader);
  const intlText = await pdfText(intl.bytes);
  assert.ok(intlText.includes('Café Ωmega Жук ?? ?'), `Greek and Cyrillic are written, CJK and emoji are not: ${intlText}`);
  assert.ok(intlText.includes('naïve ?x'), `code keeps to Windows-1252: ${intlText}`);
  assert.equal(pdfSafe('Café – “ok” 日本 😀'), 'Café – “ok” ?? ?');
});

async function importFile(
  api: { request: (m: string, p: string, o: object) => Promise<{ status: number; body: any; text: string }> },
  s: Session,
  query: string,
  body: Uint8Array | string,
  contentType: string,
) {
  return api.request('POST', `/api/v1/documents/import${query}`, { token: s.accessToken, body, headers: { 'content-type': contentType } });
}

test('REST: import Markdown, HTML and a Word file; export in four formats; rights, bad input and the audit log', async (t) => {
  const { api } = await startServer(t);
  const owner = await api.signup();
  const reader = await api.addUser(owner, 'member');
  const stranger = await api.addUser(owner, 'member');
  const guest = await api.addUser(owner, 'guest');

  // Markdown with an inline image: a new document titled by its first heading, the image an attachment.
  const md = `# Launch notes\n\nSome **bold** text.\n\n- [x] ship it\n- [ ] tell people\n\n![logo](data:image/png;base64,${PNG.toString('base64')})\n`;
  const r1 = await importFile(api, owner, '', md, 'text/markdown; charset=utf-8');
  assert.equal(r1.status, 201, r1.text);
  assert.equal(r1.body.title, 'Launch notes');
  assert.equal(r1.body.access, 'admin');
  const content = await api.get(`/api/v1/documents/${r1.body.id}/content?format=json`, owner.accessToken);
  assert.equal(content.status, 200, content.text);
  const nodes = content.body.content as PMNode[];
  assert.deepEqual(
    nodes.map((n) => n.type),
    ['heading', 'paragraph', 'taskList', 'image'],
  );
  const src = String(nodes[3]!.attrs?.src);
  assert.match(src, /^attachment:[0-9a-f-]{36}$/);
  const atts = await api.get(`/api/v1/documents/${r1.body.id}/attachments`, owner.accessToken);
  assert.equal(atts.status, 200, atts.text);
  const listed = (atts.body.attachments ?? atts.body.items ?? atts.body) as { id: string; name: string }[];
  assert.deepEqual(
    listed.map((a) => a.id),
    [src.slice('attachment:'.length)],
    'the image is an attachment of the new document',
  );

  // HTML, titled by ?title=; a .docx made with the docx package, titled by ?name= (no heading).
  const r2 = await importFile(api, owner, '?format=html&title=From%20HTML', '<p>Hello <em>there</em></p>', 'application/octet-stream');
  assert.equal(r2.status, 201, r2.text);
  assert.equal(r2.body.title, 'From HTML');
  const folder = await api.post('/api/v1/collections', { name: 'Imports' }, owner.accessToken);
  assert.equal(folder.status, 201, folder.text);
  const r2b = await importFile(api, owner, `?format=html&collectionId=${folder.body.id}`, '<h3>Filed</h3>', 'text/html');
  assert.equal(r2b.status, 201, r2b.text);
  assert.deepEqual([r2b.body.title, r2b.body.collectionId], ['Filed', folder.body.id], 'imported into the collection');
  const word = new Document({
    sections: [
      {
        children: [
          new Paragraph({ children: [new TextRun({ text: 'Minutes of the ' }), new TextRun({ text: 'board', bold: true }), new TextRun({ text: ' meeting', italics: true })] }),
          new Paragraph({ heading: HeadingLevel.HEADING_2, children: [new TextRun('Attendees')] }),
          new Paragraph({ bullet: { level: 0 }, children: [new TextRun('Ada')] }),
          new Paragraph({ bullet: { level: 0 }, children: [new TextRun('Grace')] }),
          new Paragraph({ children: [new ExternalHyperlink({ link: 'https://example.org/minutes', children: [new TextRun({ text: 'the archive', style: 'Hyperlink' })] })] }),
          new Table({
            rows: [
              new TableRow({ children: [new TableCell({ children: [new Paragraph('Item')] }), new TableCell({ children: [new Paragraph('Owner')] })] }),
              new TableRow({ children: [new TableCell({ children: [new Paragraph('Budget')] }), new TableCell({ children: [new Paragraph('Ada')] })] }),
            ],
          }),
          new Paragraph({ children: [new ImageRun({ type: 'png', data: PNG, transformation: { width: 20, height: 20 }, altText: { name: 'chart', description: 'a chart', title: 'chart' } })] }),
        ],
      },
    ],
  });
  const docx = new Uint8Array(await Packer.toBuffer(word));
  const r3 = await importFile(api, owner, '?name=Board%20minutes.docx', docx, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
  assert.equal(r3.status, 201, r3.text);
  assert.equal(r3.body.title, 'Attendees', 'the first heading names it');
  const wordJson = (await api.get(`/api/v1/documents/${r3.body.id}/content?format=json`, owner.accessToken)).body as PMNode;
  assert.deepEqual(
    (wordJson.content ?? []).map((n) => n.type),
    ['paragraph', 'heading', 'bulletList', 'paragraph', 'table', 'image'],
  );
  assert.deepEqual(wordJson.content?.[0]?.content?.[1]?.marks, [{ type: 'bold' }]);
  assert.match(String(wordJson.content?.[5]?.attrs?.src), /^attachment:/);
  assert.equal(wordJson.content?.[5]?.attrs?.alt, 'a chart');
  const r3b = await importFile(
    api,
    owner,
    '?name=Notes.docx',
    await Packer.toBuffer(new Document({ sections: [{ children: [new Paragraph('no heading here')] }] })).then((b) => new Uint8Array(b)),
    'application/octet-stream',
  );
  assert.equal(r3b.status, 201, r3b.text);
  assert.equal(r3b.body.title, 'Notes', 'without a heading the file name names it');

  // Export in every format, with download headers.
  const id = r1.body.id as string;
  const exports: Record<ExportFormat, [string, string]> = {
    markdown: ['text/markdown; charset=utf-8', 'Launch notes.md'],
    html: ['text/html; charset=utf-8', 'Launch notes.html'],
    docx: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'Launch notes.docx'],
    pdf: ['application/pdf', 'Launch notes.pdf'],
  };
  const files: Partial<Record<ExportFormat, Uint8Array>> = {};
  for (const [format, [type, name]] of Object.entries(exports) as [ExportFormat, [string, string]][]) {
    const res = await fetch(`${api.base}/api/v1/documents/${id}/export?format=${format}`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    assert.equal(res.status, 200, `${format}: ${res.status}`);
    assert.equal(res.headers.get('content-type'), type);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`);
    files[format] = new Uint8Array(await res.arrayBuffer());
  }
  const html = new TextDecoder().decode(files.html);
  assert.ok(html.includes(`data:image/png;base64,${PNG.toString('base64')}`), 'the HTML export embeds the uploaded image');
  assert.ok(new TextDecoder().decode(files.markdown).includes('- [x] ship it'), 'the Markdown export has the task list');
  assert.ok((await pdfText(files.pdf!)).includes('Launch notes'), 'the PDF has the heading');
  const again = await importDocument('docx', files.docx!, { storeImage: () => Promise.resolve(IMG) });
  assert.deepEqual(
    (again.doc.content ?? []).map((n) => n.type),
    ['heading', 'paragraph', 'taskList', 'image'],
    'the Word export reads back',
  );

  // Rights: a reader exports; someone without access gets 404, like every document route; guests cannot import.
  assert.equal((await api.put(`/api/v1/documents/${id}/permissions`, { userId: reader.user.id, level: 'read' }, owner.accessToken)).status, 200);
  assert.equal((await api.get(`/api/v1/documents/${id}/export?format=markdown`, reader.accessToken)).status, 200);
  const denied = await api.get(`/api/v1/documents/${id}/export?format=markdown`, stranger.accessToken);
  assert.deepEqual([denied.status, denied.body?.error?.code], [404, 'document_not_found']);
  const byGuest = await importFile(api, guest, '', '# Hi', 'text/markdown');
  assert.deepEqual([byGuest.status, byGuest.body?.error?.code], [400, 'guest_cannot_create']);
  assert.equal((await api.request('POST', '/api/v1/documents/import', { body: '# Hi', headers: { 'content-type': 'text/markdown' } })).status, 401);

  // Bad input.
  const garbage = await importFile(api, owner, '?format=docx', 'this is not a zip', 'application/octet-stream');
  assert.deepEqual([garbage.status, garbage.body?.error?.code], [400, 'import_failed']);
  const zipJunk = await importFile(api, owner, '', new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(200).fill(7)]), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
  assert.deepEqual([zipJunk.status, zipJunk.body?.error?.code], [400, 'import_failed']);
  const crowded = await importFile(api, owner, '?format=html', '<p>x</p>'.repeat(30_001), 'text/html');
  assert.deepEqual([crowded.status, crowded.body?.error?.code], [400, 'import_failed'], 'more elements than an import reads');
  assert.match(crowded.body.error.message, /more than 30,000 elements/);
  const pdfIn = await importFile(api, owner, '?format=pdf', '%PDF-1.4', 'application/pdf');
  assert.deepEqual([pdfIn.status, pdfIn.body?.error?.code], [415, 'unsupported_media_type']);
  const unnamed = await importFile(api, owner, '', 'xx', 'image/png');
  assert.deepEqual([unnamed.status, unnamed.body?.error?.code], [415, 'unsupported_media_type']);
  const badExport = await api.get(`/api/v1/documents/${id}/export?format=rtf`, owner.accessToken);
  assert.equal(badExport.status, 400, badExport.text);
  const huge = await importFile(api, owner, '?format=markdown', new Uint8Array(20 * 1024 * 1024 + 1).fill(0x61), 'text/markdown');
  assert.deepEqual([huge.status, huge.body?.error?.code], [413, 'payload_too_large']);

  // The audit log records imports and every export.
  const log = await api.get('/api/v1/audit?action=document.export', owner.accessToken);
  assert.equal(log.status, 200, log.text);
  const formats = (log.body.entries as { detail: { format: string } | null }[]).map((e) => e.detail?.format).sort();
  assert.deepEqual(formats, ['docx', 'html', 'markdown', 'markdown', 'pdf'], 'one entry per export, the reader’s too');
  const imports = await api.get('/api/v1/audit?action=document.import', owner.accessToken);
  assert.equal(imports.body.entries.length, 5, 'one entry per import');
});

let browser: Browser;
useWebBrowser((b) => (browser = b));

test('web app: Import… opens the new document and lists it; Export downloads Markdown and PDF', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, { env: { WEB_APP: 'true' } });
  const owner = await api.signup();
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const page = await ctx.newPage();
  await page.goto(url);
  const file = path.join(os.tmpdir(), `trip-notes-${Date.now()}.md`);
  writeFileSync(file, '# Trip notes\n\nPack **boots**.\n\n- [ ] tickets\n- [x] map\n\n| a | b |\n|---|---|\n| 1 | 2 |\n');
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Import…' }).click();
  await (await chooser).setFiles(file);
  await page.waitForURL(/\/d\//, { timeout: 30_000 });
  await page.getByTestId('editor').getByText('tickets', { exact: true }).waitFor({ timeout: 30_000 });
  await page.getByRole('list', { name: 'All documents' }).getByText('Trip notes').waitFor({ timeout: 30_000 });
  await page.screenshot({ path: outputPath('import-export-imported.png') });

  const markdown = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export' }).click();
  await page.getByRole('menuitem', { name: 'Export as Markdown (.md)' }).click();
  const md = await markdown;
  assert.equal(md.suggestedFilename(), 'Trip notes.md');
  const text = readFileSync(await md.path(), 'utf8');
  assert.ok(text.includes('- [x] map') && text.includes('**boots**'), `the download is the document as Markdown: ${text}`);
  const pdf = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export' }).click();
  await page.getByRole('menuitem', { name: 'Export as PDF (.pdf)' }).click();
  assert.equal((await pdf).suggestedFilename(), 'Trip notes.pdf');
});
