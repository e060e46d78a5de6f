/**
 * The document schema's extensions as the web app shows them (contract/document-schema.ts,
 * with the highlighted code block). The collaborative editor adds editing aids to these;
 * the public read-only page and version previews use them as they are.
 */
import type { Extensions } from '@tiptap/core';
import { documentSchema } from '../../../../contract/document-schema.js';
import { fileNodes } from './files.js';
import { HighlightedCodeBlock, highlighter } from './highlighting.js';

/** `publicToken`: shown without sign-in on that public link's page (files are read through the link; see files.ts). */
export function contentExtensions(opts: { publicToken?: string } = {}): Extensions {
  return documentSchema({
    // Grammars arrive on demand (see highlighting.ts); highlights are remembered.
    codeBlock: HighlightedCodeBlock.configure({ lowlight: highlighter, HTMLAttributes: { spellcheck: 'false' } }),
    // Images and attachment cards with their views (uploaded bytes fetched with the user's token).
    ...fileNodes(opts.publicToken ? { publicToken: opts.publicToken } : 'app'),
  });
}
