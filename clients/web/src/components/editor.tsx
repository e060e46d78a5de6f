/**
 * The collaborative rich-text editor: Tiptap on the session's Y.Doc (the `default`
 * fragment the server reads), collaborators' carets with their names, and a small
 * formatting toolbar. Undo is Yjs-aware (the Collaboration extension's own).
 */
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import { EditorContent, useEditor, useEditorState, type Editor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useEffect } from 'react';
import type { DocumentSession } from '../../../sdk/index.js';

interface Props {
  session: DocumentSession;
  user: { name: string; color: string };
  editable: boolean;
  toolbar: boolean;
}

export function CollabEditor({ session, user, editable, toolbar }: Props) {
  const editor = useEditor(
    {
      editable,
      extensions: [StarterKit.configure({ undoRedo: false }), Collaboration.configure({ document: session.doc, field: 'default' }), CollaborationCaret.configure({ provider: session.provider, user })],
      editorProps: {
        attributes: { class: 'prose', 'aria-label': 'Document text', 'aria-multiline': 'true', role: 'textbox', 'data-testid': 'editor' },
      },
    },
    [session],
  );
  useEffect(() => {
    if (editor && editor.isEditable !== editable) editor.setEditable(editable);
  }, [editor, editable]);
  // A name learned after the editor opened (the profile loads after the document) is shown
  // on this user's caret for everyone.
  useEffect(() => {
    editor?.commands.updateUser({ name: user.name, color: user.color });
  }, [editor, user.name, user.color]);

  return (
    <div className="editor-wrap">
      {toolbar && editor && <Toolbar editor={editor} disabled={!editable} />}
      <EditorContent editor={editor} className="editor" />
    </div>
  );
}

function Toolbar({ editor, disabled }: { editor: Editor; disabled: boolean }) {
  const s = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      bold: e.isActive('bold'),
      italic: e.isActive('italic'),
      h1: e.isActive('heading', { level: 1 }),
      h2: e.isActive('heading', { level: 2 }),
      bullet: e.isActive('bulletList'),
      ordered: e.isActive('orderedList'),
      quote: e.isActive('blockquote'),
    }),
  });
  const btn = (label: string, key: string, pressed: boolean, run: () => void, shortcut?: string) => (
    <button type="button" aria-pressed={pressed} aria-label={label} title={shortcut ? `${label} (${shortcut})` : label} disabled={disabled} onClick={run} onMouseDown={(e) => e.preventDefault()}>
      {key}
    </button>
  );
  return (
    <div className="toolbar" role="toolbar" aria-label="Formatting">
      {btn('Bold', 'B', s.bold, () => editor.chain().focus().toggleBold().run(), 'Ctrl+B')}
      {btn('Italic', 'I', s.italic, () => editor.chain().focus().toggleItalic().run(), 'Ctrl+I')}
      {btn('Heading 1', 'H1', s.h1, () => editor.chain().focus().toggleHeading({ level: 1 }).run())}
      {btn('Heading 2', 'H2', s.h2, () => editor.chain().focus().toggleHeading({ level: 2 }).run())}
      {btn('Bulleted list', '•', s.bullet, () => editor.chain().focus().toggleBulletList().run())}
      {btn('Numbered list', '1.', s.ordered, () => editor.chain().focus().toggleOrderedList().run())}
      {btn('Quote', '“', s.quote, () => editor.chain().focus().toggleBlockquote().run())}
    </div>
  );
}
