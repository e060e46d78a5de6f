/**
 * The document schema: what a Quire document can hold, as Tiptap extensions (schema only,
 * no editing aids or views). The editor, the public page, version previews, import and
 * export all build on this one list, so a node one of them writes is a node the others read.
 *
 * Files in documents:
 * - `image` (block): `src` is `attachment:<attachment id>` for an uploaded image (its bytes
 *   come from `GET /api/v1/attachments/:id/content`) or an `https:` address; `alt`, `title`.
 * - `fileAttachment` (block, atom): an attachment card, `id` (the attachment), `name`,
 *   `size` (bytes) and `contentType`.
 */
import { mergeAttributes, Node, type AnyExtension, type Extensions } from '@tiptap/core';
import Image from '@tiptap/extension-image';
import Link from '@tiptap/extension-link';
import { TaskItem, TaskList } from '@tiptap/extension-list';
import { TableKit } from '@tiptap/extension-table';
import TextAlign from '@tiptap/extension-text-align';
import StarterKit from '@tiptap/starter-kit';

/** How an image node names an uploaded image: `attachment:<uuid>`. */
export const ATTACHMENT_SRC_PREFIX = 'attachment:';

/** The attachment an image's `src` names, or null for any other address. */
export function attachmentIdOfSrc(src: unknown): string | null {
  if (typeof src !== 'string' || !src.startsWith(ATTACHMENT_SRC_PREFIX)) return null;
  const id = src.slice(ATTACHMENT_SRC_PREFIX.length).toLowerCase();
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) ? id : null;
}

function numberOrNull(v: string | null): number | null {
  if (v === null || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** An attachment card: a file of the document, shown with its name, size and type. */
export const FileAttachment = Node.create({
  name: 'fileAttachment',
  group: 'block',
  atom: true,
  selectable: true,
  draggable: true,
  addAttributes() {
    return {
      id: { default: null, parseHTML: (el) => el.getAttribute('data-attachment-id'), renderHTML: (a) => ({ 'data-attachment-id': a.id as string | null }) },
      name: { default: 'file', parseHTML: (el) => el.getAttribute('data-name') ?? el.textContent ?? 'file', renderHTML: (a) => ({ 'data-name': a.name as string }) },
      size: {
        default: null,
        parseHTML: (el) => numberOrNull(el.getAttribute('data-size')),
        renderHTML: (a) => (typeof a.size === 'number' ? { 'data-size': String(a.size) } : {}),
      },
      contentType: {
        default: 'application/octet-stream',
        parseHTML: (el) => el.getAttribute('data-content-type') ?? 'application/octet-stream',
        renderHTML: (a) => ({ 'data-content-type': a.contentType as string }),
      },
    };
  },
  parseHTML() {
    return [{ tag: 'div[data-attachment-id]' }];
  },
  renderHTML({ node, HTMLAttributes }) {
    return ['div', mergeAttributes({ class: 'file-attachment' }, HTMLAttributes), String(node.attrs.name)];
  },
});

export interface SchemaOverrides {
  /** The code block (the web app's has syntax highlighting; same node, same attributes). */
  codeBlock?: AnyExtension;
  /** The image node with a view (same name and attributes). */
  image?: AnyExtension;
  /** The attachment card with a view (same name and attributes). */
  fileAttachment?: AnyExtension;
}

/** The document schema's extensions; `overrides` swap in versions with views. */
export function documentSchema(overrides: SchemaOverrides = {}): Extensions {
  return [
    StarterKit.configure({ undoRedo: false, link: false, ...(overrides.codeBlock ? { codeBlock: false } : {}) }),
    ...(overrides.codeBlock ? [overrides.codeBlock] : []),
    // Typing at a link's end, or pressing Enter there, does not carry the link on.
    Link.extend({ inclusive: () => false }).configure({
      openOnClick: false,
      autolink: true,
      linkOnPaste: true,
      defaultProtocol: 'https',
      HTMLAttributes: { rel: 'noopener noreferrer nofollow', target: '_blank' },
    }),
    TableKit.configure({ table: { resizable: false } }),
    TaskList,
    TaskItem.configure({ nested: true }),
    TextAlign.configure({ types: ['heading', 'paragraph'] }),
    overrides.image ?? Image.configure({ inline: false, allowBase64: false }),
    overrides.fileAttachment ?? FileAttachment,
  ];
}
