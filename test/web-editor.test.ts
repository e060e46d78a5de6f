/**
 * The editor in real headless Chromium against a real server: the slash menu, the
 * selection and link bubble, tables, task lists, code blocks with highlighting, rules,
 * alignment and marks — each checked in a second user's editor (it is collaborative) and in
 * what the server stores — plus rich paste from Google Docs, Word and web pages (fixtures in
 * test/fixtures/paste), the empty-document placeholder and the title limit.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ApiClient, Session } from './helpers/api.js';
import { BROWSER_TEST, outputPath, signedInContext, useWebBrowser } from './helpers/browser.js';
import { startServer } from './helpers/server.js';
import { eventually } from './helpers/wait.js';

const WAIT = { timeout: 30_000 };
let browser: Browser;
useWebBrowser((b) => (browser = b));
const web = { env: { WEB_APP: 'true' } };

interface PMNode {
  type: string;
  attrs?: Record<string, unknown>;
  content?: PMNode[];
  text?: string;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}

const editor = (p: Page) => p.getByTestId('editor');

/** Every node of the stored document, depth first. */
function nodes(n: PMNode): PMNode[] {
  return [n, ...(n.content ?? []).flatMap(nodes)];
}

async function stored(api: ApiClient, id: string, owner: Session): Promise<PMNode> {
  const r = await api.get<PMNode>(`/api/v1/documents/${id}/content?format=json`, owner.accessToken);
  assert.equal(r.status, 200);
  return r.body;
}

/** Waits until the server's copy satisfies `check`. */
async function storedSatisfies(api: ApiClient, id: string, owner: Session, check: (doc: PMNode) => void): Promise<PMNode> {
  return eventually(
    async () => {
      const doc = await stored(api, id, owner);
      check(doc);
      return doc;
    },
    { timeoutMs: WAIT.timeout, intervalMs: 100, message: 'the server stores it' },
  );
}

async function openEditable(p: Page, url: string, id: string): Promise<void> {
  await p.goto(`${url}/d/${id}`);
  await p.locator('[data-testid=editor][contenteditable=true]').waitFor(WAIT);
  await p
    .getByTestId('save-status')
    .filter({ hasText: /^Saved$/ })
    .waitFor(WAIT);
}

async function paste(p: Page, html: string): Promise<void> {
  await p.evaluate((h) => {
    const data = new DataTransfer();
    data.setData('text/html', h);
    data.setData('text/plain', new DOMParser().parseFromString(h, 'text/html').body.textContent ?? '');
    document.querySelector('[data-testid=editor]')!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, html);
}

/** Runs `step`; when it fails, the error carries what the editor held then. */
async function showingEditor<T>(p: Page, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const html = await editor(p)
      .innerHTML({ timeout: 1000 })
      .catch(() => '(unavailable)');
    throw new Error(`${(e as Error).message}\nThe editor held: ${html}`, { cause: e });
  }
}

const fixture = (name: string) => fs.readFileSync(new URL(`./fixtures/paste/${name}`, import.meta.url), 'utf8');

test('the slash menu and the table tools build a table that a collaborator sees and the server stores', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Plan' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: member.user.id, level: 'write' }, owner.accessToken);
  const [ca, cb] = await Promise.all([signedInContext(browser, owner), signedInContext(browser, member)]);
  t.after(() => Promise.all([ca.close(), cb.close()]));
  const [a, b] = await Promise.all([ca.newPage(), cb.newPage()]);
  await Promise.all([openEditable(a, url, doc.body.id), openEditable(b, url, doc.body.id)]);

  // An empty document invites writing.
  assert.match((await editor(a).locator('p').first().getAttribute('data-placeholder')) ?? '', /type \//);

  await editor(a).click();
  await a.keyboard.type('/tab');
  const menu = a.getByTestId('slash-menu');
  await menu.waitFor(WAIT);
  assert.deepEqual(await menu.getByRole('option').allTextContents(), ['Table']);
  await a.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden', ...WAIT });
  // Keyboard only: Down moves the choice, Enter inserts.
  await a.keyboard.press('End');
  await a.keyboard.press('Backspace');
  await a.keyboard.press('Backspace');
  await a.keyboard.press('Backspace');
  await a.keyboard.press('Backspace');
  await a.keyboard.type('/');
  await menu.waitFor(WAIT);
  await a.screenshot({ path: outputPath('editor-slash-menu.png') });
  await a.keyboard.type('grid');
  await a.keyboard.press('Enter');
  await editor(a).locator('table').waitFor(WAIT);
  await a.keyboard.type('Task');
  await a.keyboard.press('Tab');
  await a.keyboard.type('Due');
  await a.keyboard.press('Tab');
  const tools = a.getByRole('group', { name: 'Table' });
  await tools.getByRole('button', { name: 'Add row below' }).click();
  await tools.getByRole('button', { name: 'Delete column' }).click();
  await editor(a).locator('tr').nth(3).waitFor(WAIT);
  await a.screenshot({ path: outputPath('editor-table.png') });

  // The collaborator's editor has the same table: 4 rows (header + 3) of 2 columns.
  await eventually(async () => {
    const shape = await editor(b).evaluate((el) => [...el.querySelectorAll('tr')].map((tr) => tr.children.length));
    assert.deepEqual(shape, [2, 2, 2, 2]);
  });
  const saved = await storedSatisfies(api, doc.body.id, owner, (d) => {
    const rows = nodes(d).filter((n) => n.type === 'tableRow');
    assert.equal(rows.length, 4);
    assert.deepEqual(
      rows[0]!.content!.map((c) => c.type),
      ['tableHeader', 'tableHeader'],
    );
  });
  assert.deepEqual(
    nodes(saved)
      .filter((n) => n.type === 'tableHeader')
      .map((n) => nodes(n).find((x) => x.type === 'text')?.text),
    ['Task', 'Due'],
  );
});

test('marks, links from the bubble, task lists, code with highlighting, a divider and alignment are collaborative and stored', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const member = await api.addUser(owner, 'member');
  const doc = await api.post('/api/v1/documents', { title: 'Notes' }, owner.accessToken);
  await api.put(`/api/v1/documents/${doc.body.id}/permissions`, { userId: member.user.id, level: 'read' }, owner.accessToken);
  const [ca, cb] = await Promise.all([signedInContext(browser, owner), signedInContext(browser, member)]);
  t.after(() => Promise.all([ca.close(), cb.close()]));
  const [a, b] = await Promise.all([ca.newPage(), cb.newPage()]);
  await openEditable(a, url, doc.body.id);
  await b.goto(`${url}/d/${doc.body.id}`);

  await editor(a).click();
  // Shortcuts for marks; the bubble shows for a selection.
  await a.keyboard.type('Read the guide');
  await a.keyboard.press('Shift+Home');
  const bubble = a.getByTestId('bubble-menu');
  await bubble.waitFor(WAIT);
  assert.equal(await bubble.getByRole('button', { name: 'Bold' }).getAttribute('title'), 'Bold (Ctrl+B)');
  await bubble.getByRole('button', { name: 'Underline' }).click();
  // Ctrl+K: the link field, a bare domain becomes https://, Enter applies.
  await a.keyboard.press('Control+k');
  const field = a.getByLabel('Link address');
  await field.waitFor(WAIT);
  await field.fill('javascript:alert(1)');
  await a.keyboard.press('Enter');
  await bubble.getByRole('alert').filter({ hasText: 'Links start with' }).waitFor(WAIT);
  await field.fill('example.com/guide');
  await a.keyboard.press('Enter');
  await editor(a).locator('a[href="https://example.com/guide"]').waitFor(WAIT);
  // With the caret in the link the bubble offers open, edit and remove.
  await a.keyboard.press('End');
  await a.keyboard.press('ArrowLeft');
  await bubble.getByRole('link', { name: /example\.com\/guide/ }).waitFor(WAIT);
  await a.screenshot({ path: outputPath('editor-link-bubble.png') });
  assert.equal(await bubble.getByRole('link').getAttribute('target'), '_blank');
  // Past the link's end the caret is out of it (links do not extend), and the bubble goes.
  await a.keyboard.press('Control+End');
  await bubble.getByRole('link').waitFor({ state: 'hidden', ...WAIT });
  await a.keyboard.press('Enter');
  // A new line may carry the underline on, as editors do; turn it off if so.
  const underline = a.getByRole('toolbar', { name: 'Formatting' }).getByRole('button', { name: 'Underline' });
  if ((await underline.getAttribute('aria-pressed')) === 'true') await a.keyboard.press('Control+u');
  await eventually(async () => assert.notEqual(await underline.getAttribute('aria-pressed'), 'true'));
  await a.keyboard.press('Control+Shift+s');
  await a.keyboard.type('old');
  await a.keyboard.press('Control+Shift+s');
  await a.keyboard.type(' and ');
  await a.keyboard.press('Control+e');
  await a.keyboard.type('npm test');
  await a.keyboard.press('Control+e');
  await a.keyboard.press('Enter');
  // Markdown shortcuts: a task list, a code block with a language, a divider.
  await a.keyboard.type('[ ] Ship it');
  await a.keyboard.press('Enter');
  await a.keyboard.type('Tell the team');
  await a.keyboard.press('Enter');
  await a.keyboard.press('Enter');
  await a.keyboard.type('```js ');
  await a.keyboard.type('const answer = 42; // the answer');
  await showingEditor(a, () => editor(a).locator('pre code .hljs-keyword').first().waitFor(WAIT));
  await a.keyboard.press('Enter');
  await a.keyboard.press('Enter');
  await a.keyboard.press('Enter');
  // Grammars are fetched when a block in their language first appears: Python's only now.
  const grammarsFetched = (p: Page) => p.evaluate(() => performance.getEntriesByType('resource').filter((r) => /\/assets\/python-[\w-]+\.js$/.test(new URL(r.name).pathname)).length);
  assert.equal(await grammarsFetched(a), 0, 'no Python grammar before a Python block');
  await a.keyboard.type('```python ');
  await a.keyboard.type('def answer(): return 42  # the answer');
  await showingEditor(a, () => editor(a).locator('pre code.language-python .hljs-keyword').first().waitFor(WAIT));
  await editor(a).locator('pre code.language-python .hljs-comment').waitFor(WAIT);
  assert.equal(await grammarsFetched(a), 1, 'the Python grammar, fetched once');
  await a.keyboard.press('Enter');
  await a.keyboard.press('Enter');
  await a.keyboard.press('Enter');
  await a.keyboard.type('---');
  await a.keyboard.type('Centered line');
  await a.keyboard.press('Control+Shift+e');
  await editor(a).locator('ul[data-type=taskList] input[type=checkbox]').first().check();
  await a.screenshot({ path: outputPath('editor-rich-blocks.png') });

  const saved = await storedSatisfies(api, doc.body.id, owner, (d) => {
    const all = nodes(d);
    assert.ok(
      all.find((n) => n.type === 'taskItem' && n.attrs?.checked === true),
      'a checked task',
    );
    assert.ok(
      all.find((n) => n.type === 'paragraph' && n.attrs?.textAlign === 'center' && nodes(n).some((x) => x.text === 'Centered line')),
      'a centred paragraph',
    );
  });
  const all = nodes(saved);
  const marked = (type: string) => all.filter((n) => n.marks?.some((m) => m.type === type)).map((n) => n.text);
  assert.deepEqual(marked('underline'), ['Read the guide']);
  assert.deepEqual(all.find((n) => n.marks?.some((m) => m.type === 'link'))?.marks?.find((m) => m.type === 'link')?.attrs?.href, 'https://example.com/guide');
  assert.deepEqual(marked('link'), ['Read the guide'], 'the link does not carry on past its end');
  assert.deepEqual(marked('strike'), ['old']);
  assert.deepEqual(marked('code'), ['npm test']);
  assert.deepEqual(
    all.filter((n) => n.type === 'taskItem').map((n) => [nodes(n).find((x) => x.type === 'text')?.text, n.attrs?.checked]),
    [
      ['Ship it', true],
      ['Tell the team', false],
    ],
  );
  const [code, python] = all.filter((n) => n.type === 'codeBlock');
  assert.equal(code?.attrs?.language, 'js');
  assert.equal(code?.content?.[0]?.text, 'const answer = 42; // the answer');
  assert.equal(python?.attrs?.language, 'python');
  assert.equal(python?.content?.[0]?.text, 'def answer(): return 42  # the answer');
  assert.ok(
    all.some((n) => n.type === 'horizontalRule'),
    'a divider',
  );

  // The reader sees all of it, highlighted, and gets no bubble or slash menu.
  await editor(b).locator('pre code.language-js .hljs-comment').waitFor(WAIT);
  await editor(b).locator('pre code.language-python .hljs-comment').waitFor(WAIT);
  await editor(b)
    .locator('pre')
    .last()
    .screenshot({ path: outputPath('editor-code-python.png') });
  await editor(b).locator('hr').waitFor(WAIT);
  await editor(b).locator('p[style*="text-align: center"]').waitFor(WAIT);
  await editor(b).locator('ul[data-type=taskList] li[data-checked=true]').waitFor(WAIT);
  assert.equal(await b.getByTestId('bubble-menu').count(), 0);
});

test('rich paste keeps tables, lists, task lists, links and code from Google Docs, Word and web pages, and says what it left out', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const ctx = await signedInContext(browser, owner);
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  const cases = [
    {
      file: 'google-docs.html',
      check: (all: PMNode[]) => {
        assert.ok(
          all.some((n) => n.type === 'heading' && nodes(n).some((x) => x.text === 'Launch plan')),
          "all.some((n) => n.type === 'heading' && nodes(n).some((x) => x.text === 'Launch plan'))",
        );
        assert.ok(
          all.some((n) => n.text === 'Owner:' && n.marks?.some((m) => m.type === 'bold')),
          'bold kept',
        );
        assert.ok(!all.some((n) => n.text === ' Dana, see ' && n.marks?.some((m) => m.type === 'bold')), 'the docs wrapper does not make everything bold');
        assert.ok(
          all.some((n) => n.text === 'the roadmap' && n.marks?.some((m) => m.type === 'link' && m.attrs?.href === 'https://example.com/roadmap')),
          'link kept',
        );
        assert.equal(all.filter((n) => n.type === 'bulletList').length, 1);
        assert.deepEqual(
          all.filter((n) => n.type === 'taskItem').map((n) => n.attrs?.checked),
          [true, false],
        );
        assert.equal(all.filter((n) => n.type === 'tableRow').length, 2);
      },
      dropped: 'Pasted without 1 image',
    },
    {
      file: 'word.html',
      check: (all: PMNode[]) => {
        assert.ok(
          all.some((n) => n.type === 'heading' && nodes(n).some((x) => x.text === 'Quarterly review')),
          "all.some((n) => n.type === 'heading' && nodes(n).some((x) => x.text === 'Quarterly review'))",
        );
        const bullets = all.filter((n) => n.type === 'bulletList');
        assert.equal(bullets.length, 2, 'a bulleted list with a nested one');
        assert.ok(
          nodes(bullets[0]!).some((n) => n.text === 'Revenue up 12%'),
          "nodes(bullets[0]!).some((n) => n.text === 'Revenue up 12%')",
        );
        assert.ok(
          nodes(bullets[1]!).some((n) => n.text === 'Mostly in Europe'),
          "nodes(bullets[1]!).some((n) => n.text === 'Mostly in Europe')",
        );
        assert.ok(!all.some((n) => n.text?.includes('·')), 'no bullet characters left as text');
        const ordered = all.find((n) => n.type === 'orderedList');
        assert.deepEqual(
          nodes(ordered!)
            .filter((n) => n.type === 'text')
            .map((n) => n.text),
          ['Approve the budget', 'Hire two engineers'],
        );
        assert.ok(
          all.some((n) => n.text === 'Q3 report' && n.marks?.some((m) => m.type === 'link')),
          "all.some((n) => n.text === 'Q3 report' && n.marks?.some((m) => m.type === 'link'))",
        );
        assert.equal(all.filter((n) => n.type === 'tableRow').length, 2);
      },
      dropped: 'Pasted without 1 image',
    },
    {
      file: 'web-page.html',
      check: (all: PMNode[]) => {
        assert.deepEqual(
          all
            .filter((n) => n.type === 'taskItem')
            .map((n) => [
              nodes(n)
                .find((x) => x.type === 'text')
                ?.text?.trim(),
              n.attrs?.checked,
            ]),
          [
            ['Install Node.js 20', true],
            ['Run the tests', false],
          ],
        );
        const code = all.find((n) => n.type === 'codeBlock');
        assert.equal(code?.attrs?.language, 'bash');
        assert.equal(code?.content?.[0]?.text, 'npm install\nnpm test');
        assert.deepEqual(
          all.filter((n) => n.type === 'tableHeader').map((n) => nodes(n).find((x) => x.type === 'text')?.text),
          ['Command', 'What it does'],
        );
        assert.ok(
          all.some((n) => n.text === 'npm start' && n.marks?.some((m) => m.type === 'code')),
          "all.some((n) => n.text === 'npm start' && n.marks?.some((m) => m.type === 'code'))",
        );
        assert.ok(
          all.some((n) => n.type === 'orderedList'),
          "all.some((n) => n.type === 'orderedList')",
        );
      },
      dropped: 'Pasted without 1 image, 1 embedded item',
    },
  ];
  for (const c of cases) {
    const doc = await api.post('/api/v1/documents', { title: c.file }, owner.accessToken);
    await openEditable(p, url, doc.body.id);
    await editor(p).click();
    await paste(p, fixture(c.file));
    await p.getByTestId('toasts').filter({ hasText: c.dropped }).waitFor(WAIT);
    if (c.file === 'word.html') await p.screenshot({ path: outputPath('editor-paste-word.png') });
    const saved = await storedSatisfies(api, doc.body.id, owner, (d) =>
      assert.ok(
        nodes(d).some((n) => n.type === 'tableRow'),
        'the table arrived',
      ),
    );
    try {
      c.check(nodes(saved));
    } catch (e) {
      throw new Error(`${c.file}: ${(e as Error).message}\n${JSON.stringify(saved)}`, { cause: e });
    }
  }
});

test('a long title wraps and says where the limit is', BROWSER_TEST, async (t) => {
  const { url, api } = await startServer(t, web);
  const owner = await api.signup();
  const doc = await api.post('/api/v1/documents', { title: 'Short' }, owner.accessToken);
  const ctx = await signedInContext(browser, owner, { viewport: { width: 1100, height: 800 } });
  t.after(() => ctx.close());
  const p = await ctx.newPage();
  await openEditable(p, url, doc.body.id);
  const title = p.getByLabel('Title', { exact: true });
  await title.fill('A very long title that keeps going '.repeat(15).slice(0, 500));
  await p.getByText('500 of 500 characters: titles cannot be longer').waitFor(WAIT);
  const box = await title.boundingBox();
  assert.ok(box && box.height > 60, `the title wraps onto several lines (height ${box?.height})`);
  await p.screenshot({ path: outputPath('editor-long-title.png') });
  await title.press('Enter');
  await eventually(async () => assert.equal((await api.get(`/api/v1/documents/${doc.body.id}`, owner.accessToken)).body.title.length, 500));
});
