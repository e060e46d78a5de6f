/**
 * HTML to and from a document. Import parses with happy-dom (no scripts, styles, frames or
 * downloads) and reads the DOM through the document schema, so only what a document can
 * hold survives: unknown tags become their text, scripts and handlers are dropped. Export
 * writes a standalone page: the schema's own HTML, images embedded as data URIs, a strict
 * Content-Security-Policy (no scripts, no requests but https images).
 */
import { DOMParser as PMDOMParser, DOMSerializer, Node as PMNodeClass } from '@tiptap/pm/model';
import { Window } from 'happy-dom';
import { ATTACHMENT_SRC_PREFIX } from '../../contract/document-schema.js';
import type { PMNode } from '../content.js';
import { ConvertError, parseDataUri, pmSchema, prepareForExport, type ExportHooks, type ImportHooks } from './common.js';

type HDocument = InstanceType<typeof Window>['document'];
interface DomLike {
  nodeType: number;
  textContent: string | null;
  childNodes: ArrayLike<DomLike>;
}

function newWindow(): Window {
  return new Window({
    settings: {
      disableJavaScriptEvaluation: true,
      disableJavaScriptFileLoading: true,
      disableCSSFileLoading: true,
      disableIframePageLoading: true,
      disableComputedStyleRendering: true,
      navigation: { disableMainFrameNavigation: true, disableChildFrameNavigation: true, disableChildPageNavigation: true, disableFallbackToSetURL: true },
    },
  });
}

function closeWindow(w: Window): void {
  void w.happyDOM.abort();
  void w.happyDOM.close();
}

/** A checkbox marker at the start of a list item's text: `[ ]`, `[x]`, ☐, ☑, ☒. */
const TASK_MARKER = /^\s*(\[( |x|X)\]|☐|☑|☒)\s?/;

function firstTextNode(el: DomLike): DomLike | null {
  for (const child of Array.from(el.childNodes)) {
    if (child.nodeType === 3) {
      if ((child.textContent ?? '').trim().length > 0) return child;
      continue;
    }
    if (child.nodeType === 1) {
      const found = firstTextNode(child);
      if (found) return found;
    }
  }
  return null;
}

/**
 * A bullet list whose every item starts with a checkbox (a `[ ]`/`[x]` or ☐/☒ marker, or an
 * `<input type=checkbox>`) is a task list: marked up the way the schema reads task lists.
 */
function markTaskLists(doc: HDocument): void {
  for (const ul of Array.from(doc.querySelectorAll('ul'))) {
    if (ul.getAttribute('data-type') === 'taskList') continue;
    const items = Array.from(ul.children).filter((c) => c.tagName === 'LI');
    if (items.length === 0 || items.length !== ul.children.length) continue;
    const states: boolean[] = [];
    for (const li of items) {
      const box = li.querySelector('input[type="checkbox"]');
      if (box && (box.parentElement === li || box.parentElement?.parentElement === li)) {
        states.push(box.hasAttribute('checked'));
        continue;
      }
      const t = firstTextNode(li);
      const m = t ? TASK_MARKER.exec(t.textContent ?? '') : null;
      if (!m) break;
      states.push(/x|☑|☒/i.test(m[1]!));
    }
    if (states.length !== items.length) continue;
    ul.setAttribute('data-type', 'taskList');
    items.forEach((li, i) => {
      li.setAttribute('data-type', 'taskItem');
      li.setAttribute('data-checked', String(states[i]));
      const box = li.querySelector('input[type="checkbox"]');
      if (box) box.remove();
      else {
        const t = firstTextNode(li);
        if (t) t.textContent = (t.textContent ?? '').replace(TASK_MARKER, '');
      }
    });
  }
}

/**
 * Images: a data URI (PNG, JPEG, GIF, WebP) is stored as an attachment of the new document;
 * an `https:` address is kept as it is (never fetched); any other address (`http:`, a file,
 * an attachment of some other document) is dropped. `attachment:` addresses the import
 * itself made (docx images) are kept.
 */
async function takeImages(doc: HDocument, hooks: ImportHooks, own: Set<string>): Promise<void> {
  let n = 0;
  for (const img of Array.from(doc.querySelectorAll('img'))) {
    const src = (img.getAttribute('src') ?? '').trim();
    const data = src.startsWith('data:') ? parseDataUri(src) : null;
    if (data) {
      n += 1;
      const ext = data.contentType.split('/')[1] ?? 'img';
      const id = await hooks.storeImage(data.bytes, data.contentType, `image-${n}.${ext === 'jpeg' ? 'jpg' : ext}`);
      own.add(id);
      img.setAttribute('src', `${ATTACHMENT_SRC_PREFIX}${id}`);
    } else if (/^https:\/\/[^\s]+$/i.test(src) || (src.startsWith(ATTACHMENT_SRC_PREFIX) && own.has(src.slice(ATTACHMENT_SRC_PREFIX.length)))) {
      continue;
    } else {
      img.remove();
    }
  }
}

/** Attachment cards name attachments of another document: an import keeps their names as text. */
function dropAttachmentCards(doc: HDocument): void {
  for (const el of Array.from(doc.querySelectorAll('[data-attachment-id]'))) {
    const p = doc.createElement('p');
    p.textContent = el.getAttribute('data-name') ?? el.textContent ?? '';
    el.replaceWith(p);
  }
}

/**
 * Block images written inside paragraphs (Markdown's `![]()`, Word's inline pictures) leave
 * the paragraph when it holds nothing else, so no empty paragraphs appear around them; a code
 * block's closing newline (Markdown's fences end with one) is not part of its text.
 */
function tidyBlocks(doc: HDocument): void {
  for (const p of Array.from(doc.querySelectorAll('p'))) {
    const kids = Array.from(p.childNodes);
    const onlyImages = kids.some((k) => k.nodeName === 'IMG') && kids.every((k) => k.nodeName === 'IMG' || k.nodeName === 'BR' || (k.nodeType === 3 && !(k.textContent ?? '').trim()));
    if (onlyImages) p.replaceWith(...kids.filter((k) => k.nodeName === 'IMG'));
  }
  for (const pre of Array.from(doc.querySelectorAll('pre'))) {
    let last = pre.lastChild;
    while (last && last.nodeType === 1 && last.lastChild) last = last.lastChild;
    if (last && last.nodeType === 3 && (last.textContent ?? '').endsWith('\n')) last.textContent = (last.textContent ?? '').slice(0, -1);
  }
}

/**
 * Most elements an import reads (about a 200-page document): past it the DOM and the schema
 * parse take more memory and time than one request should.
 */
export const MAX_IMPORT_ELEMENTS = 30_000;

/** HTML to a document (ProseMirror JSON of the document schema). */
export async function htmlToDoc(html: string, hooks: ImportHooks, ownImages: Set<string> = new Set()): Promise<PMNode> {
  let elements = 0;
  for (let i = html.indexOf('<'); i >= 0; i = html.indexOf('<', i + 1)) {
    const c = html.charCodeAt(i + 1) | 0x20;
    if (c >= 0x61 && c <= 0x7a) elements += 1;
    if (elements > MAX_IMPORT_ELEMENTS)
      throw new ConvertError(`The file has more than ${MAX_IMPORT_ELEMENTS.toLocaleString('en')} elements (blocks, list items, cells, formatted runs): split it into smaller files`);
  }
  const w = newWindow();
  try {
    const dom = new w.DOMParser().parseFromString(`<!DOCTYPE html><html><body>${html}</body></html>`, 'text/html');
    if (!dom?.body) throw new ConvertError('The HTML could not be read');
    for (const el of Array.from(dom.querySelectorAll('script, style, template, iframe, object, embed, noscript, head'))) el.remove();
    dropAttachmentCards(dom);
    markTaskLists(dom);
    tidyBlocks(dom);
    await takeImages(dom, hooks, ownImages);
    const node = PMDOMParser.fromSchema(pmSchema()).parse(dom.body as unknown as globalThis.Node);
    return node.toJSON() as PMNode;
  } finally {
    closeWindow(w);
  }
}

/** A whole HTML file: its `<body>` (or all of it when it has none) and its `<title>`. */
export function bodyOf(html: string): { body: string; title: string | null } {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() ?? null;
  const body = /<body[^>]*>([\s\S]*)<\/body>/i.exec(html)?.[1] ?? html;
  return { body, title: title ? decodeEntities(title) : null };
}

function decodeEntities(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The schema's HTML of a document (a fragment, no page around it). */
export function docToHtmlFragment(doc: PMNode): string {
  const schema = pmSchema();
  const node = PMNodeClass.fromJSON(schema, doc);
  const w = newWindow();
  try {
    const wrap = w.document.createElement('div');
    DOMSerializer.fromSchema(schema).serializeFragment(node.content, { document: w.document as unknown as Document }, wrap as unknown as HTMLElement);
    return wrap.innerHTML;
  } finally {
    closeWindow(w);
  }
}

const PAGE_STYLE = `body{font:16px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
img{max-width:100%;height:auto}pre{background:#f4f4f5;padding:.75rem 1rem;overflow:auto;border-radius:6px}code{font-family:ui-monospace,Menlo,Consolas,monospace}
blockquote{border-left:3px solid #d4d4d8;margin-left:0;padding-left:1rem;color:#52525b}table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border:1px solid #d4d4d8;padding:.3rem .6rem;vertical-align:top;text-align:left}th{background:#f4f4f5}td>p,th>p,li>p{margin:.15rem 0}
ul[data-type=taskList]{list-style:none;padding-left:.25rem}ul[data-type=taskList] li{display:flex;gap:.5rem;align-items:baseline}ul[data-type=taskList] li>div>p{margin:.15rem 0}`;

/**
 * A standalone, safe page of the document: uploaded images embedded as data URIs, no script,
 * and a Content-Security-Policy that allows none and loads nothing but images.
 */
export async function docToHtmlPage(doc: PMNode, title: string, hooks?: ExportHooks): Promise<string> {
  const { doc: ready } = await prepareForExport(doc, hooks, { embed: true });
  const body = docToHtmlFragment(ready);
  const csp = "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'";
  return `<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<article>
${body}
</article>
</body>
</html>
`;
}
