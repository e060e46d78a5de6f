/**
 * The selection bubble: formats for selected text, and the link bubble (insert, edit, open,
 * remove). Keyboard first: Ctrl+K opens the link field, Alt+F10 moves focus into the
 * bubble, Escape goes back to the text.
 */
import type { Editor } from '@tiptap/core';
import type { EditorState } from '@tiptap/pm/state';
import { useEditorState } from '@tiptap/react';
import { BubbleMenu } from '@tiptap/react/menus';
import { Check, ExternalLink, Link as LinkIcon, MessageSquarePlus, Pencil, Unlink, X } from 'lucide-react';
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { FORMATS, shortcutLabel, tip } from './blocks.js';

const BUBBLE_OPTIONS = { placement: 'top', offset: 8 } as const;

const SAFE_SCHEMES = /^(https?:|mailto:|tel:)/i;

/** What the user typed, as a link target: a bare domain gets `https://`; unsafe schemes are refused. */
export function linkTarget(input: string): { href: string } | { error: string } {
  const text = input.trim();
  if (!text) return { error: 'Enter a web address' };
  const href = SAFE_SCHEMES.test(text) ? text : /^[a-z][a-z0-9+.-]*:/i.test(text) ? null : /^[^\s/]+\.[^\s]+/.test(text) ? `https://${text}` : null;
  if (!href) return { error: 'Links start with https://, http://, mailto: or tel:' };
  try {
    new URL(href);
  } catch {
    return { error: 'That is not a web address' };
  }
  return { href };
}

interface Props {
  editor: Editor;
  /** Bumped by Ctrl+K: opens the link field. */
  linkRequest: number;
  /** Bumped by Alt+F10: focuses the bubble. */
  focusRequest: number;
  /** Comment on the selection; null when the user may not comment. */
  onComment: (() => void) | null;
}

const COMMENT_TIP = `Comment (${shortcutLabel('Mod-Alt-M')})`;

const hasText = (state: EditorState) => !state.selection.empty && state.doc.textBetween(state.selection.from, state.selection.to).trim().length > 0;

/** For a reader who may comment: the bubble over a selection holds only "Comment". */
export function CommentBubble({ editor, onComment }: { editor: Editor; onComment: () => void }) {
  const shouldShow = useCallback(({ editor: e, state }: { editor: Editor; state: EditorState }) => !e.isEditable && hasText(state), []);
  return (
    <BubbleMenu editor={editor} pluginKey="commentBubble" options={BUBBLE_OPTIONS} shouldShow={shouldShow}>
      <div className="menu bubble" role="toolbar" aria-label="Selection" data-testid="comment-bubble">
        <button type="button" className="bubble-comment" title={COMMENT_TIP} aria-keyshortcuts="Control+Alt+M" onMouseDown={(e) => e.preventDefault()} onClick={onComment}>
          <MessageSquarePlus size={16} aria-hidden /> Comment
        </button>
      </div>
    </BubbleMenu>
  );
}

export function SelectionBubble({ editor, linkRequest, focusRequest, onComment }: Props) {
  const [editingLink, setEditing] = useState(false);
  // The bubble's visibility test reads this; a transaction makes the bubble re-check it.
  const editingRef = useRef(false);
  const setEditingLink = (on: boolean) => {
    editingRef.current = on;
    setEditing(on);
    if (!editor.isDestroyed) editor.view.dispatch(editor.state.tr.setMeta('linkField', on));
  };
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const s = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      href: e.isActive('link') ? String(e.getAttributes('link').href ?? '') : null,
      active: Object.fromEntries(FORMATS.map((f) => [f.id, f.isActive(e)])),
      empty: e.state.selection.empty,
    }),
  });

  const openLinkField = () => {
    setUrl(s.href ?? '');
    setError(null);
    setEditingLink(true);
  };
  useEffect(() => {
    if (linkRequest > 0 && editor.isEditable) openLinkField();
    // Only a new request opens the field.
  }, [linkRequest]);
  useEffect(() => {
    if (focusRequest > 0) box.current?.querySelector<HTMLElement>('button, input, a')?.focus();
  }, [focusRequest]);
  useEffect(() => {
    if (editingLink) field.current?.focus();
  }, [editingLink]);
  // Moving the caret elsewhere closes an unfinished link field.
  useEffect(() => {
    const close = () => {
      if (editingRef.current) setEditingLink(false);
    };
    editor.on('selectionUpdate', close);
    return () => void editor.off('selectionUpdate', close);
  }, [editor]);

  const back = () => {
    setEditingLink(false);
    editor.commands.focus();
  };
  const apply = () => {
    const t = linkTarget(url);
    if ('error' in t) {
      setError(t.error);
      return;
    }
    const chain = editor.chain().focus().extendMarkRange('link');
    // With nothing selected, the address itself becomes the link's text.
    if (editor.state.selection.empty && !s.href) chain.insertContent({ type: 'text', text: t.href, marks: [{ type: 'link', attrs: { href: t.href } }] }).run();
    else chain.setLink({ href: t.href }).run();
    setEditingLink(false);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      back();
    }
  };
  const btn = (label: string, title: string, icon: React.ReactNode, run: () => void, pressed?: boolean) => (
    <button type="button" className="icon-button" aria-label={label} title={title} aria-pressed={pressed} onMouseDown={(e) => e.preventDefault()} onClick={run}>
      {icon}
    </button>
  );

  // Stable across renders: a new function or options object makes the bubble re-register,
  // one more editor transaction per keystroke.
  const shouldShow = useCallback(
    ({ editor: e, state }: { editor: Editor; state: EditorState }) => e.isEditable && !e.isActive('codeBlock') && (editingRef.current || e.isActive('link') || hasText(state)),
    [],
  );
  return (
    <BubbleMenu editor={editor} options={BUBBLE_OPTIONS} shouldShow={shouldShow}>
      <div ref={box} className="menu bubble" role="toolbar" aria-label="Text formatting" data-testid="bubble-menu" onKeyDown={onKeyDown}>
        {editingLink ? (
          <form
            className="link-form"
            onSubmit={(e) => {
              e.preventDefault();
              apply();
            }}
          >
            <label className="visually-hidden" htmlFor="link-url">
              Link address
            </label>
            <input
              id="link-url"
              ref={field}
              type="text"
              inputMode="url"
              placeholder="Paste or type a link"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? 'link-error' : undefined}
            />
            <button type="submit" className="icon-button" aria-label="Apply link" title="Apply (Enter)">
              <Check size={16} aria-hidden />
            </button>
            <button type="button" className="icon-button" aria-label="Cancel" title="Cancel (Esc)" onClick={back}>
              <X size={16} aria-hidden />
            </button>
            {error && (
              <span id="link-error" className="field-error" role="alert">
                {error}
              </span>
            )}
          </form>
        ) : (
          <>
            {s.href !== null && s.empty ? (
              <>
                <a className="link-preview" href={s.href} target="_blank" rel="noopener noreferrer" title={`Open ${s.href} in a new tab`}>
                  <ExternalLink size={14} aria-hidden /> <span>{s.href}</span>
                </a>
                {btn('Edit link', `Edit link (${shortcutLabel('Mod-K')})`, <Pencil size={16} aria-hidden />, openLinkField)}
                {btn('Remove link', 'Remove link', <Unlink size={16} aria-hidden />, () => editor.chain().focus().extendMarkRange('link').unsetLink().run())}
              </>
            ) : (
              <>
                {FORMATS.map((f) => btn(f.label, tip(f), <f.icon size={16} aria-hidden />, () => f.run(editor), Boolean(s.active[f.id])))}
                <span className="menu-sep" aria-hidden />
                {btn(
                  s.href !== null ? 'Edit link' : 'Add link',
                  `${s.href !== null ? 'Edit' : 'Add'} link (${shortcutLabel('Mod-K')})`,
                  <LinkIcon size={16} aria-hidden />,
                  openLinkField,
                  s.href !== null,
                )}
                {s.href !== null && btn('Remove link', 'Remove link', <Unlink size={16} aria-hidden />, () => editor.chain().focus().extendMarkRange('link').unsetLink().run())}
                {onComment && !s.empty && (
                  <>
                    <span className="menu-sep" aria-hidden />
                    {btn('Comment', COMMENT_TIP, <MessageSquarePlus size={16} aria-hidden />, onComment)}
                  </>
                )}
              </>
            )}
          </>
        )}
      </div>
    </BubbleMenu>
  );
}
