/**
 * A document opened through its public read-only link (`/p/<token>`): no sign-in, the
 * content as it is now, nothing editable and nothing of the workspace beyond its name.
 */
import { EditorContent, useEditor } from '@tiptap/react';
import { useEffect, useState } from 'react';
import type { PublicDocument } from '../../../sdk/index.js';
import { client, describeError } from '../api.js';
import { contentExtensions } from '../editor/extensions.js';

export function PublicView({ token }: { token: string }) {
  const [doc, setDoc] = useState<PublicDocument | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void client.getPublicDocument(token).then((r) => {
      if (r.ok) setDoc(r.value);
      else setError(r.error.status === 404 ? 'This link does not work any more: it was turned off or replaced, or the document was deleted.' : describeError(r.error));
    });
  }, [token]);
  useEffect(() => {
    if (doc) document.title = `${doc.title} · ${doc.workspace}`;
  }, [doc]);
  return (
    <div className="public-page">
      <header className="public-header">
        <span className="brand">Quire</span>
        {doc && <span className="muted">Shared publicly by {doc.workspace} · read only</span>}
      </header>
      <main id="main" className="public-main">
        {error ? (
          <div className="empty" role="alert" data-testid="public-error">
            <h1>Link not available</h1>
            <p className="muted">{error}</p>
          </div>
        ) : doc ? (
          <PublicDocumentBody doc={doc} token={token} />
        ) : (
          <p className="muted">Loading…</p>
        )}
      </main>
    </div>
  );
}

function PublicDocumentBody({ doc, token }: { doc: PublicDocument; token: string }) {
  const editor = useEditor(
    {
      editable: false,
      extensions: contentExtensions({ publicToken: token }),
      content: doc.json,
      editorProps: { attributes: { class: 'prose', 'aria-label': 'Document text', 'data-testid': 'public-document' } },
    },
    [doc, token],
  );
  return (
    <article className="document">
      <h1 className="doc-title">{doc.title}</h1>
      <p className="muted small-print">Updated {new Date(doc.updatedAt).toLocaleString()}</p>
      <EditorContent editor={editor} className="editor" />
    </article>
  );
}
