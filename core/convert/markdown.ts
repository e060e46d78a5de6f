/**
 * Markdown (CommonMark with GitHub's tables, strikethrough and task lists) to and from a
 * document. Import renders with markdown-it and reads the HTML like an HTML import; export
 * writes Markdown from the document's JSON. What Markdown cannot carry: text alignment,
 * underline (written as `<u>`, which reads back), table cells that span, a table without a
 * header row (its first row becomes the header), several blocks in one table cell (joined
 * with line breaks), and attachment cards (a paragraph naming the file). On import, bare web
 * and email addresses in text become links, as GitHub shows them.
 */
import MarkdownIt from 'markdown-it';
import type { PMMark, PMNode } from '../content.js';
import { prepareForExport, type ExportHooks, type ImportHooks } from './common.js';
import { htmlToDoc } from './html.js';

const md = new MarkdownIt({ html: true, linkify: true, breaks: false });

export async function markdownToDoc(text: string, hooks: ImportHooks): Promise<PMNode> {
  return htmlToDoc(md.render(text), hooks);
}

/** Marks, outermost first, as Markdown nests them. */
const MARK_ORDER = ['link', 'bold', 'italic', 'strike', 'underline', 'code'];

function sameMark(a: PMMark, b: PMMark): boolean {
  return a.type === b.type && (a.type !== 'link' || a.attrs?.href === b.attrs?.href);
}

function open(m: PMMark): string {
  switch (m.type) {
    case 'bold':
      return '**';
    case 'italic':
      return '*';
    case 'strike':
      return '~~';
    case 'underline':
      return '<u>';
    case 'link':
      return '[';
    default:
      return '';
  }
}

function close(m: PMMark): string {
  switch (m.type) {
    case 'bold':
      return '**';
    case 'italic':
      return '*';
    case 'strike':
      return '~~';
    case 'underline':
      return '</u>';
    case 'link': {
      const href = String(m.attrs?.href ?? '');
      const title = typeof m.attrs?.title === 'string' && m.attrs.title ? ` "${m.attrs.title.replace(/"/g, '\\"')}"` : '';
      return `](${linkTarget(href)}${title})`;
    }
    default:
      return '';
  }
}

function linkTarget(href: string): string {
  return /[\s()<>]/.test(href) ? `<${href.replace(/[<>]/g, (c) => encodeURIComponent(c))}>` : href;
}

/**
 * Backslash-escapes what Markdown would read as syntax: emphasis, code, link and HTML marks
 * anywhere, an entity-like `&`, and block markers at the start of the text (headings,
 * quotes, list items).
 */
function escapeText(s: string): string {
  return s
    .replace(/[\\`*_[\]<~]/g, (c) => `\\${c}`)
    .replace(/&(?=#?[a-z0-9]+;)/gi, '\\&')
    .replace(/^(\s*)([#>+=-])/, '$1\\$2')
    .replace(/^(\s*)(\d+)([.)])/, '$1$2\\$3');
}

function codeSpan(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') || (s.startsWith(' ') && s.endsWith(' ') && s.trim()) ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** Inline content: marks opened and closed as runs, whitespace kept outside emphasis. */
function inline(nodes: PMNode[]): string {
  let out = '';
  let active: PMMark[] = [];
  const sorted = (marks: PMMark[] | undefined): PMMark[] => [...(marks ?? [])].sort((a, b) => MARK_ORDER.indexOf(a.type) - MARK_ORDER.indexOf(b.type));
  const closeTo = (keep: number): void => {
    while (active.length > keep) out += close(active.pop()!);
  };
  for (const n of nodes) {
    if (n.type === 'hardBreak') {
      out += '\\\n';
      continue;
    }
    if (n.type !== 'text') continue;
    const marks = sorted(n.marks);
    let keep = 0;
    while (keep < active.length && keep < marks.length && sameMark(active[keep]!, marks[keep]!)) keep += 1;
    const text = n.text ?? '';
    const isCode = marks.some((m) => m.type === 'code');
    const lead = isCode ? '' : (/^\s+/.exec(text)?.[0] ?? '');
    const trail = isCode ? '' : (/\s+$/.exec(text.slice(lead.length))?.[0] ?? '');
    const core = text.slice(lead.length, text.length - trail.length);
    closeTo(keep);
    out += lead;
    if (!core) {
      out += trail;
      continue;
    }
    for (const m of marks.slice(keep)) {
      out += open(m);
      active.push(m);
    }
    out += isCode ? codeSpan(core) : escapeText(core);
    if (isCode) active = active.filter((m) => m.type !== 'code');
    if (trail) {
      closeTo(0);
      out += trail;
    }
  }
  closeTo(0);
  return out;
}

function prefixLines(lines: string[], first: string, rest: string): string[] {
  return lines.map((l, i) => (i === 0 ? first : l.length ? rest : '') + l);
}

function blocks(nodes: PMNode[], tight = false): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    const lines = block(n);
    if (lines.length === 0) continue;
    if (out.length > 0 && !tight) out.push('');
    out.push(...lines);
  }
  return out;
}

function listItems(n: PMNode): string[] {
  const out: string[] = [];
  let num = typeof n.attrs?.start === 'number' ? n.attrs.start : 1;
  for (const item of n.content ?? []) {
    let marker = '- ';
    if (n.type === 'orderedList') marker = `${num++}. `;
    if (n.type === 'taskList') marker = item.attrs?.checked ? '- [x] ' : '- [ ] ';
    const inner = blocks(item.content ?? []);
    if (inner.length === 0) inner.push('');
    out.push(...prefixLines(inner, marker, ' '.repeat(n.type === 'orderedList' ? marker.length : 2)));
  }
  return out;
}

function cellText(cell: PMNode): string {
  const parts = (cell.content ?? []).map((b) => (b.type === 'paragraph' || b.type === 'heading' ? inline(b.content ?? []) : blocks([b]).join(' ')));
  return parts
    .join('<br>')
    .replace(/\\\n/g, '<br>')
    .replace(/\n/g, ' ')
    .replace(/(?<!\\)\|/g, '\\|');
}

function table(n: PMNode): string[] {
  const rows = (n.content ?? []).map((r) => (r.content ?? []).map(cellText));
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((r) => r.length));
  const line = (r: string[]): string => `| ${Array.from({ length: width }, (_, i) => r[i] ?? '').join(' | ')} |`;
  return [line(rows[0]!), `|${' --- |'.repeat(width)}`, ...rows.slice(1).map(line)];
}

function block(n: PMNode): string[] {
  switch (n.type) {
    case 'paragraph': {
      // An empty paragraph has no Markdown of its own: it is left out.
      const text = inline(n.content ?? []);
      return text ? text.split('\n') : [];
    }
    case 'heading': {
      const level = Math.min(6, Math.max(1, Number(n.attrs?.level) || 1));
      return [`${'#'.repeat(level)} ${inline(n.content ?? []).replace(/\\\n/g, ' ')}`];
    }
    case 'blockquote':
      return blocks(n.content ?? []).map((l) => (l ? `> ${l}` : '>'));
    case 'bulletList':
    case 'orderedList':
    case 'taskList':
      return listItems(n);
    case 'codeBlock': {
      const code = (n.content ?? []).map((c) => c.text ?? '').join('');
      const longest = Math.max(2, ...(code.match(/^`{3,}/gm) ?? []).map((r) => r.length));
      const fence = '`'.repeat(longest + 1);
      const lang = typeof n.attrs?.language === 'string' ? n.attrs.language : '';
      return [`${fence}${lang}`, ...code.split('\n'), fence];
    }
    case 'horizontalRule':
      return ['---'];
    case 'image': {
      const alt = String(n.attrs?.alt ?? '').replace(/[[\]\\]/g, (c) => `\\${c}`);
      const title = typeof n.attrs?.title === 'string' && n.attrs.title ? ` "${n.attrs.title.replace(/"/g, '\\"')}"` : '';
      return [`![${alt}](${linkTarget(String(n.attrs?.src ?? ''))}${title})`];
    }
    case 'table':
      return table(n);
    default:
      return n.content ? blocks(n.content) : [];
  }
}

/** The document as Markdown; uploaded images embedded as data URIs so the file stands alone. */
export async function docToMarkdown(doc: PMNode, hooks?: ExportHooks): Promise<string> {
  const { doc: ready } = await prepareForExport(doc, hooks, { embed: true });
  return `${blocks(ready.content ?? []).join('\n')}\n`;
}
