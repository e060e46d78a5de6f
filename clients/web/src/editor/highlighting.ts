/**
 * Code highlighting for code blocks. The app ships no grammars: a language's grammar
 * (highlight.js's "common" set, the languages lowlight's `common` holds) is fetched as its
 * own chunk the first time a code block in that language appears, and the blocks are
 * highlighted again once it has arrived. Until then the block shows as plain code.
 *
 * Highlighting is remembered by (language, text) in a bounded least-recently-used cache:
 * a remote change rebuilds the whole document, and without it every code block would be
 * highlighted again on every keystroke of another user.
 *
 * A block without a language is highlighted by auto-detection among AUTO_DETECT only,
 * not among every language that can be loaded: that small set is fetched (as one batch)
 * when such a block first appears, and because it is fixed, a block looks the same to
 * every reader whatever other languages their editor happens to have loaded.
 */
import { findChildren } from '@tiptap/core';
import CodeBlockLowlight from '@tiptap/extension-code-block-lowlight';
import type { Node as PMNode } from '@tiptap/pm/model';
import { Plugin, PluginKey } from '@tiptap/pm/state';
import { Decoration, DecorationSet } from '@tiptap/pm/view';
import type { LanguageFn } from 'highlight.js';
import { createLowlight } from 'lowlight';

type Lowlight = ReturnType<typeof createLowlight>;
type Root = ReturnType<Lowlight['highlight']>;

/** Each grammar is its own chunk, fetched on first use. */
const LOADERS = new Map<string, () => Promise<{ default: LanguageFn }>>([
  ['arduino', () => import('highlight.js/lib/languages/arduino')],
  ['bash', () => import('highlight.js/lib/languages/bash')],
  ['c', () => import('highlight.js/lib/languages/c')],
  ['cpp', () => import('highlight.js/lib/languages/cpp')],
  ['csharp', () => import('highlight.js/lib/languages/csharp')],
  ['css', () => import('highlight.js/lib/languages/css')],
  ['diff', () => import('highlight.js/lib/languages/diff')],
  ['go', () => import('highlight.js/lib/languages/go')],
  ['graphql', () => import('highlight.js/lib/languages/graphql')],
  ['ini', () => import('highlight.js/lib/languages/ini')],
  ['java', () => import('highlight.js/lib/languages/java')],
  ['javascript', () => import('highlight.js/lib/languages/javascript')],
  ['json', () => import('highlight.js/lib/languages/json')],
  ['kotlin', () => import('highlight.js/lib/languages/kotlin')],
  ['less', () => import('highlight.js/lib/languages/less')],
  ['lua', () => import('highlight.js/lib/languages/lua')],
  ['makefile', () => import('highlight.js/lib/languages/makefile')],
  ['markdown', () => import('highlight.js/lib/languages/markdown')],
  ['objectivec', () => import('highlight.js/lib/languages/objectivec')],
  ['perl', () => import('highlight.js/lib/languages/perl')],
  ['php', () => import('highlight.js/lib/languages/php')],
  ['php-template', () => import('highlight.js/lib/languages/php-template')],
  ['plaintext', () => import('highlight.js/lib/languages/plaintext')],
  ['python', () => import('highlight.js/lib/languages/python')],
  ['python-repl', () => import('highlight.js/lib/languages/python-repl')],
  ['r', () => import('highlight.js/lib/languages/r')],
  ['ruby', () => import('highlight.js/lib/languages/ruby')],
  ['rust', () => import('highlight.js/lib/languages/rust')],
  ['scss', () => import('highlight.js/lib/languages/scss')],
  ['shell', () => import('highlight.js/lib/languages/shell')],
  ['sql', () => import('highlight.js/lib/languages/sql')],
  ['swift', () => import('highlight.js/lib/languages/swift')],
  ['typescript', () => import('highlight.js/lib/languages/typescript')],
  ['vbnet', () => import('highlight.js/lib/languages/vbnet')],
  ['wasm', () => import('highlight.js/lib/languages/wasm')],
  ['xml', () => import('highlight.js/lib/languages/xml')],
  ['yaml', () => import('highlight.js/lib/languages/yaml')],
]);

/** The grammars' own aliases (what `registered` answers before a grammar is loaded). */
const ALIASES: Record<string, string[]> = {
  arduino: ['ino'],
  bash: ['sh', 'zsh'],
  c: ['h'],
  cpp: ['cc', 'c++', 'h++', 'hpp', 'hh', 'hxx', 'cxx'],
  csharp: ['cs', 'c#'],
  diff: ['patch'],
  go: ['golang'],
  graphql: ['gql'],
  ini: ['toml'],
  java: ['jsp'],
  javascript: ['js', 'jsx', 'mjs', 'cjs'],
  json: ['jsonc', 'json5'],
  kotlin: ['kt', 'kts'],
  lua: ['pluto'],
  makefile: ['mk', 'mak', 'make'],
  markdown: ['md', 'mkdown', 'mkd'],
  objectivec: ['mm', 'objc', 'obj-c', 'obj-c++', 'objective-c++'],
  perl: ['pl', 'pm'],
  plaintext: ['text', 'txt'],
  python: ['py', 'gyp', 'ipython'],
  'python-repl': ['pycon'],
  ruby: ['rb', 'gemspec', 'podspec', 'thor', 'irb'],
  rust: ['rs'],
  shell: ['console', 'shellsession'],
  typescript: ['ts', 'tsx', 'mts', 'cts'],
  vbnet: ['vb'],
  xml: ['html', 'xhtml', 'rss', 'atom', 'xjb', 'xsd', 'xsl', 'plist', 'wsf', 'svg'],
  yaml: ['yml'],
};

/**
 * Languages a grammar embeds (HTML's scripts and styles, JavaScript's JSX and tagged
 * templates, a shell session's commands, …): loaded with it so that embedded code is
 * highlighted too.
 */
const EMBEDS: Record<string, string[]> = {
  javascript: ['xml', 'css', 'graphql'],
  typescript: ['xml', 'css', 'graphql'],
  xml: ['css', 'javascript'],
  markdown: ['xml'],
  yaml: ['ruby'],
  shell: ['bash'],
  'python-repl': ['python'],
  'php-template': ['xml', 'php'],
};

/** The languages auto-detection chooses among, for a code block without a language. */
export const AUTO_DETECT = ['bash', 'css', 'go', 'java', 'javascript', 'json', 'python', 'rust', 'sql', 'typescript', 'xml', 'yaml'];

/** Remembered highlights: at most this many, holding at most this much code in all. */
const CACHE_ENTRIES = 400;
const CACHE_CHARS = 400_000;
/** After a failed fetch (offline, or a newer release replaced the chunk), try again after this long. */
const RETRY_MS = 30_000;

const NAMES = new Map<string, string>();
for (const name of LOADERS.keys()) NAMES.set(name, name);
for (const [name, aliases] of Object.entries(ALIASES)) for (const alias of aliases) NAMES.set(alias, name);

/** The grammar's name for a language or alias, if it is one that can be loaded. */
function grammarOf(language: string): string | undefined {
  return NAMES.get(language.toLowerCase());
}

/** A grammar with the grammars it embeds, and theirs. */
function withEmbeds(names: readonly string[]): string[] {
  const all = new Set<string>();
  const visit = (n: string) => {
    if (all.has(n)) return;
    all.add(n);
    for (const e of EMBEDS[n] ?? []) visit(e);
  };
  names.forEach(visit);
  return [...all];
}

function plain(value: string, language?: string): Root {
  return { type: 'root', children: value ? [{ type: 'text', value }] : [], data: { language, relevance: 0 } };
}

/** A least-recently-used map of highlights, bounded by entries and by the code they hold. */
class HighlightCache {
  private readonly map = new Map<string, { root: Root; chars: number }>();
  private chars = 0;

  get(key: string): Root | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.root;
  }

  set(key: string, root: Root, chars: number): void {
    if (chars > CACHE_CHARS / 4) return;
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.chars -= old.chars;
    }
    this.map.set(key, { root, chars });
    this.chars += chars;
    for (const [k, v] of this.map) {
      if (this.map.size <= CACHE_ENTRIES && this.chars <= CACHE_CHARS) break;
      this.map.delete(k);
      this.chars -= v.chars;
    }
  }

  clear(): void {
    this.map.clear();
    this.chars = 0;
  }
}

/**
 * A lowlight instance whose grammars arrive on demand and whose results are remembered.
 * It answers the lowlight calls the code block extension makes: `listLanguages` and
 * `registered` report every language that can be loaded (so a block in one is highlighted
 * with it, not auto-detected, while its grammar is on the way), `highlight` and
 * `highlightAuto` give plain text until the grammars they need have arrived.
 */
export function createHighlighter() {
  const core = createLowlight();
  const cache = new HighlightCache();
  const loading = new Map<string, Promise<boolean>>();
  const listeners = new Set<() => void>();
  const languages = [...LOADERS.keys()];
  let notifyQueued = false;

  const notify = () => {
    if (notifyQueued) return;
    notifyQueued = true;
    queueMicrotask(() => {
      notifyQueued = false;
      listeners.forEach((l) => l());
    });
  };

  const loadOne = (name: string): Promise<boolean> => {
    let p = loading.get(name);
    if (!p) {
      const load = LOADERS.get(name);
      if (!load) return Promise.resolve(false);
      p = load().then(
        (m) => {
          core.register(name, m.default);
          return true;
        },
        () => {
          setTimeout(() => loading.delete(name), RETRY_MS);
          return false;
        },
      );
      loading.set(name, p);
    }
    return p;
  };

  /** Sets of grammars found registered (by their key), so later checks are a lookup. */
  const complete = new Set<string>();
  const embedded = new Map<string, string[]>();

  /** Whether all of `names` (and what they embed) are registered; starts fetching what is missing. */
  const ready = (names: readonly string[]): boolean => {
    const key = names.join(',');
    if (complete.has(key)) return true;
    let needed = embedded.get(key);
    if (!needed) embedded.set(key, (needed = withEmbeds(names)));
    const missing = needed.filter((n) => !core.registered(n));
    if (missing.length === 0) {
      complete.add(key);
      return true;
    }
    const fresh = missing.some((n) => !loading.has(n));
    if (fresh)
      void Promise.all(missing.map(loadOne)).then((ok) => {
        if (ok.some(Boolean)) notify();
      });
    return false;
  };

  const highlighter = {
    highlight(language: string, value: string, options?: Parameters<Lowlight['highlight']>[2]): Root {
      const name = grammarOf(language);
      if (name && !ready([name])) return plain(value, language);
      if (options) return core.highlight(language, value, options);
      const key = `${language}\u0000${value}`;
      let root = cache.get(key);
      if (!root) {
        root = core.highlight(language, value);
        cache.set(key, root, value.length);
      }
      return root;
    },
    highlightAuto(value: string, options?: Parameters<Lowlight['highlightAuto']>[1]): Root {
      if (options) return core.highlightAuto(value, options);
      if (!ready(AUTO_DETECT)) return plain(value);
      const key = `\u0000${value}`;
      let root = cache.get(key);
      if (!root) {
        root = core.highlightAuto(value, { subset: AUTO_DETECT });
        cache.set(key, root, value.length);
      }
      return root;
    },
    /** Every language that can be highlighted: loaded or loadable. */
    listLanguages(): string[] {
      return languages;
    },
    registered(language: string): boolean {
      return grammarOf(language) !== undefined || core.registered(language);
    },
    register(...args: Parameters<Lowlight['register']>): void {
      (core.register as (...a: unknown[]) => void)(...args);
      cache.clear();
      notify();
    },
    registerAlias(...args: Parameters<Lowlight['registerAlias']>): void {
      (core.registerAlias as (...a: unknown[]) => void)(...args);
      cache.clear();
      notify();
    },
    /** Calls `listener` (once per batch) when grammars have arrived; returns the unsubscribe. */
    onGrammars(listener: () => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Fetches grammars ahead of need; resolves when they are registered. */
    async preload(languages: readonly string[]): Promise<void> {
      const names = languages.map(grammarOf).filter((n): n is string => n !== undefined);
      await Promise.all(withEmbeds(names).map(loadOne));
    },
  };
  return highlighter;
}

export type Highlighter = ReturnType<typeof createHighlighter>;

/** One per page: grammars and remembered highlights are shared by every editor. */
export const highlighter = createHighlighter();

interface Token {
  length: number;
  className: string;
}

/** The highlight's text runs with their classes (computed once per remembered highlight). */
const tokensOf = new WeakMap<Root, Token[]>();
function tokens(root: Root): Token[] {
  let out = tokensOf.get(root);
  if (out) return out;
  out = [];
  const walk = (nodes: Root['children'], classes: string[]) => {
    for (const node of nodes) {
      if (node.type === 'text') out!.push({ length: node.value.length, className: classes.join(' ') });
      else if (node.type === 'element') {
        const own = node.properties.className;
        walk(node.children, Array.isArray(own) ? [...classes, ...own.map(String)] : classes);
      }
    }
  };
  walk(root.children, []);
  tokensOf.set(root, out);
  return out;
}

const highlightKey = new PluginKey<DecorationSet>('codeHighlighting');

function decorate(doc: PMNode, name: string, lowlight: Highlighter, defaultLanguage: string | null | undefined): DecorationSet {
  const decorations: Decoration[] = [];
  const languages = lowlight.listLanguages();
  for (const block of findChildren(doc, (node) => node.type.name === name)) {
    const language = (block.node.attrs.language as string | null | undefined) || defaultLanguage;
    const text = block.node.textContent;
    const root = language && (languages.includes(language) || lowlight.registered(language)) ? lowlight.highlight(language, text) : lowlight.highlightAuto(text);
    let from = block.pos + 1;
    for (const t of tokens(root)) {
      const to = from + t.length;
      if (t.className) decorations.push(Decoration.inline(from, to, { class: t.className }));
      from = to;
    }
  }
  return DecorationSet.create(doc, decorations);
}

/**
 * The code block's highlighting decorations. As the extension's own plugin: computed again
 * when a change touches a code block, the selection is in one or the number of blocks
 * changes — and, here, also when grammars arrive (a transaction with this plugin's meta).
 * A transaction that does not change the document keeps the decorations as they are.
 */
export function codeHighlightPlugin(name: string, lowlight: Highlighter, defaultLanguage: string | null | undefined): Plugin<DecorationSet> {
  return new Plugin<DecorationSet>({
    key: highlightKey,
    state: {
      init: (_, { doc }) => decorate(doc, name, lowlight, defaultLanguage),
      apply: (tr, set, oldState, newState) => {
        if (tr.getMeta(highlightKey)) return decorate(tr.doc, name, lowlight, defaultLanguage);
        if (!tr.docChanged) return set;
        const oldNodes = findChildren(oldState.doc, (node) => node.type.name === name);
        const newNodes = findChildren(newState.doc, (node) => node.type.name === name);
        const inBlock = oldState.selection.$head.parent.type.name === name || newState.selection.$head.parent.type.name === name;
        const touched = tr.steps.some((step) => {
          const { from, to } = step as unknown as { from?: number; to?: number };
          return from !== undefined && to !== undefined && oldNodes.some((node) => node.pos >= from && node.pos + node.node.nodeSize <= to);
        });
        if (inBlock || newNodes.length !== oldNodes.length || touched) return decorate(tr.doc, name, lowlight, defaultLanguage);
        return set.map(tr.mapping, tr.doc);
      },
    },
    props: {
      decorations: (state) => highlightKey.getState(state),
    },
    view: (view) => {
      const off = lowlight.onGrammars(() => {
        if (!view.isDestroyed) view.dispatch(view.state.tr.setMeta(highlightKey, true).setMeta('addToHistory', false));
      });
      return { destroy: off };
    },
  });
}

/** The stock extension's plugin, replaced by codeHighlightPlugin (same decorations, plus re-highlighting when grammars arrive). */
const STOCK_PLUGIN = /^lowlight\$\d*$/;

/**
 * Code blocks highlighted with `highlighter` (configure with `lowlight: highlighter`):
 * the lowlight code block extension, its highlighting plugin able to highlight again when
 * grammars arrive.
 */
export const HighlightedCodeBlock = CodeBlockLowlight.extend({
  addProseMirrorPlugins() {
    const inherited = this.parent?.() ?? [];
    const kept = inherited.filter((p) => !STOCK_PLUGIN.test((p as unknown as { key: string }).key));
    if (kept.length !== inherited.length - 1) throw new Error('The code block extension no longer has the highlighting plugin this one replaces');
    return [...kept, codeHighlightPlugin(this.name, this.options.lowlight as Highlighter, this.options.defaultLanguage)];
  },
});
