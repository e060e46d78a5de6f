/**
 * The collaborative rich-text editor: Tiptap on the session's Y.Doc (the `default`
 * fragment the server reads), collaborators' carets with their names, a formatting
 * toolbar, the slash menu and the selection bubble. Undo is Yjs-aware (the Collaboration
 * extension's own), so it undoes only this user's changes.
 */
import { Extension, type Editor } from '@tiptap/core';
import { TextSelection } from '@tiptap/pm/state';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { Placeholder } from '@tiptap/extensions';
import { EditorContent, useEditor, useEditorState } from '@tiptap/react';
import { BetweenHorizontalEnd, BetweenHorizontalStart, BetweenVerticalEnd, BetweenVerticalStart, Link as LinkIcon, PanelTop, Rows3, Columns3, Trash2 } from 'lucide-react';
import { memo, useEffect, useRef, useState } from 'react';
import type { DocumentSession } from '../../../sdk/index.js';
import { ALIGNMENTS, BLOCKS, FORMATS, shortcutLabel, tip } from '../editor/blocks.js';
import { CommentBubble, SelectionBubble } from '../editor/bubble-menu.js';
import { contentExtensions } from '../editor/extensions.js';
import { FileUploads } from '../editor/files.js';
import { normalizePastedHTML } from '../editor/paste.js';
import { SlashCommand } from '../editor/slash-menu.js';
import { CommentHighlights, selectionAnchor, setActiveThread, setCommentThreads, type HighlightThread } from '../editor/comments.js';
import { useToast } from './toast.js';

interface Props {
  session: DocumentSession;
  /** How this user appears to others: the caret label and presence (`id` keeps their colour stable). */
  user: { name: string; color: string; id: string };
  editable: boolean;
  toolbar: boolean;
  /** The user may comment (a read-only editor then still offers "Comment" on a selection). */
  canComment: boolean;
  /** Open threads on the text, highlighted; `activeThread` more strongly. */
  threads: HighlightThread[];
  activeThread: string | null;
  /** Comment on this selection (from the bubble or Mod-Alt-M). */
  onComment: (anchor: { start: string; end: string; quote: string }) => void;
  /** A highlight was clicked. */
  onThreadClick: (id: string) => void;
  /** The threads whose text is in the document, in text order, whenever that changes. */
  onThreadOrder: (order: string[]) => void;
  /** The editor once made (null when it goes), for the comments panel to reveal a thread's text. */
  onEditor: (editor: Editor | null) => void;
}

/** Ctrl+K (link) and Alt+F10 (into the bubble) call back into React through these refs. */
const EditorKeys = Extension.create<{ onLink: { current: () => void }; onMenu: { current: () => void } }>({
  name: 'quireKeys',
  addKeyboardShortcuts() {
    return {
      'Mod-k': () => {
        this.options.onLink.current();
        return true;
      },
      'Alt-F10': () => {
        this.options.onMenu.current();
        return true;
      },
    };
  },
});

/** Memoised: the document view re-renders on every save status; the editor need not. */
export const CollabEditor = memo(function CollabEditor({ session, user, editable, toolbar, canComment, threads, activeThread, onComment, onThreadClick, onThreadOrder, onEditor }: Props) {
  const toast = useToast();
  const [linkRequest, setLinkRequest] = useState(0);
  const [focusRequest, setFocusRequest] = useState(0);
  const onLink = useRef(() => setLinkRequest((n) => n + 1));
  const onMenu = useRef(() => setFocusRequest((n) => n + 1));
  const reportPaste = (dropped: string[]) => toast({ message: `Pasted without ${dropped.join(', ')}: the editor cannot hold ${dropped.length === 1 ? 'it' : 'them'}.` });
  const onPasteReport = useRef(reportPaste);
  onPasteReport.current = reportPaste;
  const onUploadError = useRef((message: string) => toast({ message, tone: 'error' }));
  onUploadError.current = (message: string) => toast({ message, tone: 'error' });
  const canCommentRef = useRef(canComment);
  canCommentRef.current = canComment;
  const onCommentRef = useRef(onComment);
  onCommentRef.current = onComment;
  const onThreadClickRef = useRef(onThreadClick);
  onThreadClickRef.current = onThreadClick;
  const onOrderRef = useRef(onThreadOrder);
  onOrderRef.current = onThreadOrder;
  const editorRef = useRef<Editor | null>(null);
  const commentOnSelection = useRef(() => {
    const e = editorRef.current;
    const anchor = e && canCommentRef.current ? selectionAnchor(e) : null;
    if (!e || !anchor) return;
    // The comment box takes over from the selection (its bubble goes; the box shows the quote).
    e.view.dispatch(e.state.tr.setSelection(TextSelection.create(e.state.doc, e.state.selection.to)));
    onCommentRef.current(anchor);
  });

  const editor = useEditor(
    {
      editable,
      extensions: [
        ...contentExtensions(),
        Placeholder.configure({
          showOnlyWhenEditable: false,
          placeholder: ({ editor: e, node }) =>
            !e.isEditable
              ? e.isEmpty
                ? 'This document is empty.'
                : ''
              : e.isEmpty
                ? 'Start writing, or type / to add a heading, list, table, image or code…'
                : node.type.name === 'heading'
                  ? 'Heading'
                  : '',
        }),
        SlashCommand,
        FileUploads.configure({ documentId: session.id, onError: onUploadError }),
        EditorKeys.configure({ onLink, onMenu }),
        Collaboration.configure({ document: session.doc, field: 'default' }),
        CollaborationCaret.configure({ provider: session.provider, user }),
        CommentHighlights.configure({ onCommentKey: commentOnSelection, onThreadClick: onThreadClickRef, onOrder: onOrderRef }),
      ],
      editorProps: {
        attributes: { class: 'prose', 'aria-label': 'Document text', 'aria-multiline': 'true', role: 'textbox', 'data-testid': 'editor' },
        transformPastedHTML: (html) => normalizePastedHTML(html, (r) => onPasteReport.current(r.dropped)),
      },
    },
    [session],
  );
  useEffect(() => {
    if (editor && editor.isEditable !== editable) editor.setEditable(editable);
  }, [editor, editable]);
  useEffect(() => {
    editorRef.current = editor;
    onEditor(editor);
    return () => onEditor(null);
  }, [editor, onEditor]);
  useEffect(() => {
    if (editor) setCommentThreads(editor, threads);
  }, [editor, threads]);
  useEffect(() => {
    if (editor) setActiveThread(editor, activeThread);
  }, [editor, activeThread]);
  // A name learned after the editor opened (the profile loads after the document) is shown
  // on this user's caret for everyone.
  useEffect(() => {
    editor?.commands.updateUser({ name: user.name, color: user.color, id: user.id });
  }, [editor, user.name, user.color, user.id]);

  return (
    <div className="editor-wrap">
      {toolbar && editor && <Toolbar editor={editor} disabled={!editable} onLink={() => onLink.current()} />}
      {editor && editable && <SelectionBubble editor={editor} linkRequest={linkRequest} focusRequest={focusRequest} onComment={canComment ? () => commentOnSelection.current() : null} />}
      {editor && !editable && canComment && <CommentBubble editor={editor} onComment={() => commentOnSelection.current()} />}
      <EditorContent editor={editor} className="editor" />
    </div>
  );
});

const TABLE_ACTIONS: { label: string; icon: typeof Rows3; run: (e: Editor) => void }[] = [
  { label: 'Add row above', icon: BetweenHorizontalStart, run: (e) => e.chain().focus().addRowBefore().run() },
  { label: 'Add row below', icon: BetweenHorizontalEnd, run: (e) => e.chain().focus().addRowAfter().run() },
  { label: 'Add column left', icon: BetweenVerticalStart, run: (e) => e.chain().focus().addColumnBefore().run() },
  { label: 'Add column right', icon: BetweenVerticalEnd, run: (e) => e.chain().focus().addColumnAfter().run() },
  { label: 'Delete row', icon: Rows3, run: (e) => e.chain().focus().deleteRow().run() },
  { label: 'Delete column', icon: Columns3, run: (e) => e.chain().focus().deleteColumn().run() },
];

function Toolbar({ editor, disabled, onLink }: { editor: Editor; disabled: boolean; onLink: () => void }) {
  const s = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      blocks: Object.fromEntries(BLOCKS.map((b) => [b.id, b.isActive?.(e) ?? false])),
      formats: Object.fromEntries(FORMATS.map((f) => [f.id, f.isActive(e)])),
      align: Object.fromEntries(ALIGNMENTS.map((a) => [a.id, a.isActive(e)])),
      link: e.isActive('link'),
      table: e.isActive('table'),
    }),
  });
  const btn = (key: string, label: string, title: string, icon: React.ReactNode, pressed: boolean | undefined, run: () => void) => (
    <button key={key} type="button" className="icon-button" aria-pressed={pressed} aria-label={label} title={title} disabled={disabled} onClick={run} onMouseDown={(e) => e.preventDefault()}>
      {icon}
    </button>
  );
  const shown = BLOCKS.filter((b) => b.id !== 'paragraph');
  // One tab stop for the whole toolbar; arrow keys, Home and End move between its buttons.
  const bar = useRef<HTMLDivElement>(null);
  const [current, setCurrent] = useState(0);
  useEffect(() => {
    const buttons = [...(bar.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    buttons.forEach((b, i) => (b.tabIndex = i === Math.min(current, buttons.length - 1) ? 0 : -1));
  });
  const onKeyDown = (e: React.KeyboardEvent) => {
    const buttons = [...(bar.current?.querySelectorAll<HTMLButtonElement>('button') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    const to = e.key === 'ArrowRight' ? at + 1 : e.key === 'ArrowLeft' ? at - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    const next = (to + buttons.length) % buttons.length;
    setCurrent(next);
    buttons[next]?.focus();
  };
  return (
    <div
      ref={bar}
      className="toolbar"
      role="toolbar"
      aria-label="Formatting"
      onKeyDown={onKeyDown}
      onFocus={(e) => {
        const i = [...(bar.current?.querySelectorAll('button') ?? [])].findIndex((b) => Object.is(b, e.target));
        if (i >= 0) setCurrent(i);
      }}
    >
      <div className="toolbar-group">{FORMATS.map((f) => btn(f.id, f.label, tip(f), <f.icon size={18} aria-hidden />, s.formats[f.id], () => f.run(editor)))}</div>
      <div className="toolbar-group">{btn('link', s.link ? 'Edit link' : 'Add link', `Link (${shortcutLabel('Mod-K')})`, <LinkIcon size={18} aria-hidden />, s.link, onLink)}</div>
      <div className="toolbar-group">
        {shown.map((b) => btn(b.id, b.label, tip(b), <b.icon size={18} aria-hidden />, b.id === 'rule' || b.id === 'table' ? undefined : s.blocks[b.id], () => b.run(editor)))}
      </div>
      <div className="toolbar-group">{ALIGNMENTS.map((a) => btn(a.id, a.label, tip(a), <a.icon size={18} aria-hidden />, s.align[a.id], () => a.run(editor)))}</div>
      {s.table && (
        <div className="toolbar-group table-tools" role="group" aria-label="Table">
          {TABLE_ACTIONS.map((a) => btn(a.label, a.label, a.label, <a.icon size={18} aria-hidden />, undefined, () => a.run(editor)))}
          {btn('header', 'Turn header row on or off', 'Header row on/off', <PanelTop size={18} aria-hidden />, undefined, () => editor.chain().focus().toggleHeaderRow().run())}
          {btn('delete-table', 'Delete table', 'Delete table', <Trash2 size={18} aria-hidden />, undefined, () => editor.chain().focus().deleteTable().run())}
        </div>
      )}
    </div>
  );
}
