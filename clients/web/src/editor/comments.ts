/**
 * Comments in the editor: open threads' text is highlighted (the thread in focus more
 * strongly), a click on a highlight names its thread, and a selection becomes a comment
 * anchor — two Yjs relative positions, so the anchor follows the text through everyone's
 * edits. Mod-Alt-M asks to comment on the selection.
 */
import { Extension, type Editor } from '@tiptap/core';
import { Plugin, PluginKey, type EditorState } from '@tiptap/pm/state';
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view';
import { absolutePositionToRelativePosition, relativePositionToAbsolutePosition, ySyncPluginKey } from '@tiptap/y-tiptap';
import * as Y from 'yjs';

/** An open thread's anchor, as the server keeps it (base64 relative positions). */
export interface HighlightThread {
  id: string;
  start: string;
  end: string;
  /** Resolved threads are not highlighted, but where their text is is still followed. */
  resolved: boolean;
}

interface HighlightState {
  threads: HighlightThread[];
  active: string | null;
  decorations: DecorationSet;
  /** Threads whose text is in the document, in the order of that text. */
  order: string[];
}

type Built = { decorations: DecorationSet; order: string[] };
type Meta = { threads?: HighlightThread[]; active?: string | null; built?: Built };

const key = new PluginKey<HighlightState>('commentHighlights');

function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

interface SyncState {
  doc: Y.Doc;
  type: Y.XmlFragment;
  binding: { mapping: Parameters<typeof absolutePositionToRelativePosition>[2] } | null;
}

function syncState(state: EditorState): SyncState | null {
  const s = ySyncPluginKey.getState(state) as SyncState | undefined;
  return s?.binding ? s : null;
}

/** Where a stored position falls in the editor now; null when its text is gone. */
function absolute(sync: SyncState, b64: string): number | null {
  try {
    return relativePositionToAbsolutePosition(sync.doc, sync.type, Y.decodeRelativePosition(fromBase64(b64)), sync.binding!.mapping);
  } catch {
    return null;
  }
}

/** Each open thread's range in the editor now (threads whose text is gone are left out). */
export function threadRanges(state: EditorState, threads: HighlightThread[]): Map<string, { from: number; to: number }> {
  const out = new Map<string, { from: number; to: number }>();
  const sync = syncState(state);
  if (!sync) return out;
  for (const t of threads) {
    const from = absolute(sync, t.start);
    const to = absolute(sync, t.end);
    if (from === null || to === null || to <= from || to > state.doc.content.size) continue;
    out.set(t.id, { from, to });
  }
  return out;
}

function build(state: EditorState, threads: HighlightThread[], active: string | null): Built {
  const decos: Decoration[] = [];
  const ranges = threadRanges(state, threads);
  const resolved = new Set(threads.filter((t) => t.resolved).map((t) => t.id));
  for (const [id, r] of ranges) {
    if (resolved.has(id)) continue;
    decos.push(Decoration.inline(r.from, r.to, { class: id === active ? 'comment-mark active' : 'comment-mark', 'data-thread': id }, { thread: id, inclusiveStart: false, inclusiveEnd: false }));
  }
  const order = [...ranges].sort((a, b) => a[1].from - b[1].from || a[1].to - b[1].to).map(([id]) => id);
  return { decorations: DecorationSet.create(state.doc, decos), order };
}

/** The selection as a comment anchor (relative positions) and the text it covers; null when it holds no text. */
export function selectionAnchor(editor: Editor): { start: string; end: string; quote: string } | null {
  const { state } = editor;
  const { from, to, empty } = state.selection;
  if (empty) return null;
  const quote = state.doc.textBetween(from, to, '\n');
  if (!quote.trim()) return null;
  const sync = syncState(state);
  if (!sync) return null;
  const start = absolutePositionToRelativePosition(from, sync.type, sync.binding!.mapping) as Y.RelativePosition;
  const end = absolutePositionToRelativePosition(to, sync.type, sync.binding!.mapping) as Y.RelativePosition;
  return { start: toBase64(Y.encodeRelativePosition(start)), end: toBase64(Y.encodeRelativePosition(end)), quote };
}

/** Shows these threads' highlights (the editor follows every later edit itself). */
export function setCommentThreads(editor: Editor, threads: HighlightThread[]): void {
  if (!editor.isDestroyed) editor.view.dispatch(editor.state.tr.setMeta(key, { threads } satisfies Meta));
}

/** Marks one thread's highlight as the one in focus (null: none). */
export function setActiveThread(editor: Editor, active: string | null): void {
  if (!editor.isDestroyed) editor.view.dispatch(editor.state.tr.setMeta(key, { active } satisfies Meta));
}

/** Scrolls the thread's text into view; false when its text is not in the document. */
export function revealThread(editor: Editor, id: string): boolean {
  const st = key.getState(editor.state);
  const r = st && threadRanges(editor.state, st.threads).get(id);
  if (!r) return false;
  const dom = editor.view.domAtPos(r.from);
  const el = dom.node instanceof Element ? dom.node : dom.node.parentElement;
  el?.scrollIntoView({ block: 'center', behavior: 'smooth' });
  return true;
}

export interface CommentOptions {
  /** Mod-Alt-M: comment on the selection. */
  onCommentKey: { current: () => void };
  /** A click on highlighted text: the thread it belongs to. */
  onThreadClick: { current: (id: string) => void };
  /** The threads whose text is in the document, in text order, whenever that changes. */
  onOrder: { current: (order: string[]) => void };
}

export const CommentHighlights = Extension.create<CommentOptions>({
  name: 'commentHighlights',
  addKeyboardShortcuts() {
    return {
      'Mod-Alt-m': () => {
        this.options.onCommentKey.current();
        return true;
      },
    };
  },
  addProseMirrorPlugins() {
    const options = this.options;
    return [
      new Plugin<HighlightState>({
        key,
        state: {
          init: () => ({ threads: [], active: null, decorations: DecorationSet.empty, order: [] }),
          apply: (tr, prev, _old, state) => {
            const meta = tr.getMeta(key) as Meta | undefined;
            const threads = meta?.threads ?? prev.threads;
            const active = meta?.active !== undefined ? meta.active : prev.active;
            if (meta?.built) return { threads, active, ...meta.built };
            if (meta?.threads || meta?.active !== undefined) return { threads, active, ...build(state, threads, active) };
            return { ...prev, decorations: tr.docChanged ? prev.decorations.map(tr.mapping, tr.doc) : prev.decorations };
          },
        },
        props: {
          decorations: (state) => key.getState(state)?.decorations,
          handleClick: (view, pos) => {
            const st = key.getState(view.state);
            const hit = st?.decorations.find(pos, pos, (spec: { thread?: string }) => Boolean(spec.thread));
            const id = (hit?.[0]?.spec as { thread?: string } | undefined)?.thread;
            if (id) options.onThreadClick.current(id);
            return false;
          },
        },
        // Once the sync plugin has carried a change into the Y.Doc, the ranges are read again
        // from the relative positions (mapping alone cannot tell a deleted range's end).
        view: () => {
          let timer: ReturnType<typeof setTimeout> | null = null;
          const recompute = (view: EditorView) => {
            timer = null;
            if (view.isDestroyed) return;
            const st = key.getState(view.state);
            if (!st || st.threads.length === 0) return;
            view.dispatch(view.state.tr.setMeta(key, { built: build(view.state, st.threads, st.active) } satisfies Meta).setMeta('addToHistory', false));
          };
          return {
            update: (view, prevState) => {
              const order = key.getState(view.state)?.order;
              if (order && order !== key.getState(prevState)?.order) options.onOrder.current(order);
              if (view.state.doc.eq(prevState.doc)) return;
              if (timer) clearTimeout(timer);
              timer = setTimeout(() => recompute(view), 50);
            },
            destroy: () => {
              if (timer) clearTimeout(timer);
            },
          };
        },
      }),
    ];
  },
});
