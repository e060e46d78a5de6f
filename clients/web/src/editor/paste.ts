/**
 * Pasted HTML, reshaped so the editor keeps its structure: Google Docs and GitHub
 * checklists become task lists, Word's paragraph-style lists become real lists, and
 * content the editor cannot hold (images, video, embeds, form fields) is removed and
 * counted, so the user is told what was left out instead of losing it silently.
 */

/**
 * Elements the editor cannot hold, by what the user would call them. Images copied from a
 * Quire document (`attachment:` addresses) are kept; images of other pages would be fetched
 * from their sites, so they are left out (paste or drop the image file itself instead).
 */
const UNSUPPORTED: [selector: string, noun: string][] = [
  ['img:not([src^="attachment:"]), picture', 'image'],
  ['video', 'video'],
  ['audio', 'audio clip'],
  ['iframe, embed, object', 'embedded item'],
  ['canvas, svg', 'drawing'],
  ['math', 'equation'],
  ['input, select, textarea, button', 'form field'],
];

export interface PasteReport {
  /** What was left out, e.g. `["2 images", "1 video"]`. */
  dropped: string[];
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function taskItem(doc: Document, li: Element, checked: boolean): void {
  li.setAttribute('data-type', 'taskItem');
  li.setAttribute('data-checked', String(checked));
  li.parentElement?.setAttribute('data-type', 'taskList');
  // The task item keeps its content in paragraphs; inline text alone would be dropped.
  if (!li.querySelector(':scope > p')) {
    const p = doc.createElement('p');
    for (const child of [...li.childNodes]) if (!(child instanceof Element && /^(UL|OL)$/.test(child.tagName))) p.appendChild(child);
    li.insertBefore(p, li.firstChild);
  }
}

/** Checklists: Google Docs (`li[role=checkbox]`), GitHub and most web pages (`li > input[type=checkbox]`). */
function checklists(doc: Document): void {
  for (const li of doc.querySelectorAll('li[role=checkbox]')) taskItem(doc, li, li.getAttribute('aria-checked') === 'true');
  for (const box of doc.querySelectorAll('li > input[type=checkbox], li > p > input[type=checkbox]')) {
    const li = box.closest('li')!;
    const checked = box.hasAttribute('checked');
    box.remove();
    taskItem(doc, li, checked);
  }
}

/**
 * Word writes lists as paragraphs (`class="MsoListParagraph…"`, `style="mso-list:l0 level1 lfo1"`)
 * with the bullet or number as text in a span marked `mso-list:Ignore`.
 */
function wordLists(doc: Document): void {
  const isItem = (el: Element | null): el is HTMLElement => !!el && el.tagName === 'P' && /mso-list:\s*l\d+\s+level\d+/i.test(el.getAttribute('style') ?? '');
  for (const first of [...doc.querySelectorAll('p')]) {
    if (!isItem(first) || isItem(first.previousElementSibling)) continue;
    const run: HTMLElement[] = [];
    for (let el: Element | null = first; isItem(el); el = el.nextElementSibling) run.push(el);
    const stack: { list: HTMLElement; level: number }[] = [];
    const root = first;
    let rootList: HTMLElement | null = null;
    for (const p of run) {
      const level = Number(/level(\d+)/i.exec(p.getAttribute('style') ?? '')?.[1] ?? 1);
      const marker = p.querySelector('span[style*="mso-list:Ignore" i]')?.textContent?.trim() ?? '';
      const ordered = /^[\dA-Za-z]{1,4}[.)]$/.test(marker);
      p.querySelectorAll('span[style*="mso-list:Ignore" i]').forEach((s) => s.remove());
      while (stack.length && stack[stack.length - 1]!.level > level) stack.pop();
      let top = stack[stack.length - 1];
      if (!top || top.level < level) {
        const list = doc.createElement(ordered ? 'ol' : 'ul');
        if (top) (top.list.lastElementChild ?? top.list).appendChild(list);
        else rootList = list;
        top = { list, level };
        stack.push(top);
      }
      const li = doc.createElement('li');
      const para = doc.createElement('p');
      para.innerHTML = p.innerHTML;
      li.appendChild(para);
      top.list.appendChild(li);
    }
    if (rootList) root.before(rootList);
    run.forEach((p) => p.remove());
  }
}

/** Code pasted from web pages and IDEs: `<pre>` without `<code>` keeps its text as a code block. */
function codeBlocks(doc: Document): void {
  for (const pre of doc.querySelectorAll('pre')) {
    if (pre.querySelector('code')) continue;
    const code = doc.createElement('code');
    code.textContent = pre.textContent;
    pre.replaceChildren(code);
  }
}

function dropUnsupported(doc: Document): string[] {
  const dropped: string[] = [];
  for (const [selector, noun] of UNSUPPORTED) {
    const found = [...doc.body.querySelectorAll(selector)];
    if (found.length === 0) continue;
    found.forEach((el) => el.remove());
    dropped.push(plural(found.length, noun));
  }
  return dropped;
}

/** Reshapes pasted HTML for the editor; `report` hears what had to be left out. */
export function normalizePastedHTML(html: string, report?: (r: PasteReport) => void): string {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  checklists(doc);
  wordLists(doc);
  codeBlocks(doc);
  const dropped = dropUnsupported(doc);
  if (dropped.length) report?.({ dropped });
  return doc.body.innerHTML;
}
