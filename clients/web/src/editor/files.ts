/**
 * Images and files in documents, as the web app shows and adds them.
 *
 * - The `image` node's view loads an uploaded image (`attachment:<id>`) with the user's token
 *   and shows it from an object URL; a neutral box of the image's size stands in while it
 *   loads, and "Image unavailable" when it cannot be had. The service worker keeps the bytes
 *   (they never change), so an image seen once shows again offline.
 * - The `fileAttachment` node's view is a card: icon, name, size, type and a Download button.
 * - Pasting, dropping or picking files uploads them with tus (resumable: an upload cut by a
 *   network drop goes on from where it stopped once the connection is back). Only the
 *   uploader sees the upload's placeholder, with its progress and a Cancel button; the node
 *   is put into the document when the upload is done, so colleagues see the finished image
 *   or card appear.
 * - On the public page (no sign-in) images and cards read their bytes through the public
 *   link (`/api/v1/public/<token>/attachments/<id>`), which answers only for the linked
 *   document's files and only while the link works.
 */
import { Extension, type Editor, type NodeViewRenderer } from '@tiptap/core';
import Image from '@tiptap/extension-image';
import type { Node as PMNode, NodeType } from '@tiptap/pm/model';
import { NodeSelection, Plugin, PluginKey, type EditorState } from '@tiptap/pm/state';
import { insertPoint } from '@tiptap/pm/transform';
import { Decoration, DecorationSet, type EditorView } from '@tiptap/pm/view';
import { ImagePlus } from 'lucide-react';
import { Upload, type DetailedError } from 'tus-js-client';
import { attachmentIdOfSrc, ATTACHMENT_SRC_PREFIX, FileAttachment } from '../../../../contract/document-schema.js';
import { humanSize } from '../../../../contract/sizes.js';
import { client } from '../api.js';
import type { Block } from './blocks.js';

/** The Cache Storage cache the service worker keeps attachments' bytes in (public/sw.js). */
export const ATTACHMENT_CACHE = 'quire-attachments';
/** Image types shown inline; any other file becomes a card. */
export const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const CHUNK_SIZE = 5 * 1024 * 1024;

export const contentPath = (id: string) => `/api/v1/attachments/${id}/content`;
/** A file of the document a public link opens, for anyone holding the link. */
export const publicContentPath = (token: string, id: string) => `/api/v1/public/${encodeURIComponent(token)}/attachments/${id}`;

// ---------------------------------------------------------------------------------------
// Small helpers

const KNOWN_TYPES: Record<string, string> = {
  'application/pdf': 'PDF document',
  'application/msword': 'Word document',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word document',
  'application/vnd.ms-excel': 'Excel spreadsheet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel spreadsheet',
  'application/vnd.ms-powerpoint': 'PowerPoint presentation',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PowerPoint presentation',
  'application/vnd.oasis.opendocument.text': 'OpenDocument text',
  'application/vnd.oasis.opendocument.spreadsheet': 'OpenDocument spreadsheet',
  'application/zip': 'ZIP archive',
  'application/x-zip-compressed': 'ZIP archive',
  'application/gzip': 'Gzip archive',
  'application/x-tar': 'Tar archive',
  'application/json': 'JSON file',
  'text/plain': 'Text file',
  'text/csv': 'CSV file',
  'text/markdown': 'Markdown file',
  'text/html': 'HTML file',
  'image/svg+xml': 'SVG image',
};

/** What a person would call a file of this type: "PDF document", "PNG image", "XYZ file". */
export function typeLabel(contentType: string | null | undefined, name: string): string {
  const ct = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const ext = /\.([a-z0-9]{1,8})$/i.exec(name)?.[1]?.toUpperCase();
  if (KNOWN_TYPES[ct]) return KNOWN_TYPES[ct];
  if (ct.startsWith('image/')) return `${ext ?? ct.slice(6).toUpperCase()} image`;
  if (ct.startsWith('video/')) return ext ? `${ext} video` : 'Video';
  if (ct.startsWith('audio/')) return ext ? `${ext} audio` : 'Audio';
  if (ct.startsWith('text/')) return ext ? `${ext} file` : 'Text file';
  return ext ? `${ext} file` : 'File';
}

// Icons (the app's icon set, lucide), as SVG for views that are not React.
const SVG_OPEN =
  '<svg xmlns="http://www.w3.org/2000/svg" width="SIZE" height="SIZE" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">';
const PAGE = '<path d="M6 22a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h8a2.4 2.4 0 0 1 1.704.706l3.588 3.588A2.4 2.4 0 0 1 20 8v12a2 2 0 0 1-2 2z"/><path d="M14 2v5a1 1 0 0 0 1 1h5"/>';
const ICONS = {
  file: PAGE,
  text: `${PAGE}<path d="M10 9H8"/><path d="M16 13H8"/><path d="M16 17H8"/>`,
  sheet: `${PAGE}<path d="M8 13h2"/><path d="M14 13h2"/><path d="M8 17h2"/><path d="M14 17h2"/>`,
  archive:
    '<path d="M13.659 22H18a2 2 0 0 0 2-2V8a2.4 2.4 0 0 0-.706-1.706l-3.588-3.588A2.4 2.4 0 0 0 14 2H6a2 2 0 0 0-2 2v11.5"/><path d="M14 2v5a1 1 0 0 0 1 1h5"/><path d="M8 12v-1"/><path d="M8 18v-2"/><path d="M8 7V6"/><circle cx="8" cy="20" r="2"/>',
  image: '<rect width="18" height="18" x="3" y="3" rx="2" ry="2"/><circle cx="9" cy="9" r="2"/><path d="m21 15-3.086-3.086a2 2 0 0 0-2.828 0L6 21"/>',
  imageOff:
    '<line x1="2" x2="22" y1="2" y2="22"/><path d="M10.41 10.41a2 2 0 1 1-2.83-2.83"/><line x1="13.5" x2="6" y1="13.5" y2="21"/><line x1="18" x2="21" y1="12" y2="15"/><path d="M3.59 3.59A1.99 1.99 0 0 0 3 5v14a2 2 0 0 0 2 2h14c.55 0 1.052-.22 1.41-.59"/><path d="M21 15V5a2 2 0 0 0-2-2H9"/>',
  download: '<path d="M12 15V3"/><path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m7 10 5 5 5-5"/>',
  x: '<path d="M18 6 6 18"/><path d="m6 6 12 12"/>',
};
type IconName = keyof typeof ICONS;

function icon(name: IconName, size = 20): string {
  return `${SVG_OPEN.replaceAll('SIZE', String(size))}${ICONS[name]}</svg>`;
}

function fileIcon(contentType: string, name: string): IconName {
  const label = typeLabel(contentType, name);
  if (/archive/i.test(label)) return 'archive';
  if (/spreadsheet|CSV/i.test(label)) return 'sheet';
  if (/image/i.test(label)) return 'image';
  if (/document|text|markdown|JSON|HTML/i.test(label)) return 'text';
  return 'file';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// ---------------------------------------------------------------------------------------
// Attachment bytes: fetched with the user's token, shared as object URLs

/** The Authorization header for the API, or none when no token can be had (offline, signed out). */
async function authHeaders(): Promise<Record<string, string>> {
  const t = await client.accessToken().catch(() => null);
  return t?.ok ? { Authorization: `Bearer ${t.value}` } : {};
}

class LoadError extends Error {
  constructor(readonly status: number) {
    super(`attachment: HTTP ${status}`);
  }
}

async function fetchAttachment(id: string): Promise<Blob> {
  const res = await fetch(contentPath(id), { headers: await authHeaders() });
  if (!res.ok) throw new LoadError(res.status);
  return res.blob();
}

interface UrlEntry {
  url: Promise<string>;
  users: number;
  timer?: ReturnType<typeof setTimeout>;
}
/** Object URLs of attachments being shown, shared by their views, revoked when none shows them. */
const objectUrls = new Map<string, UrlEntry>();

function acquireUrl(id: string): Promise<string> {
  let entry = objectUrls.get(id);
  if (!entry) {
    const made: UrlEntry = { url: fetchAttachment(id).then((b) => URL.createObjectURL(b)), users: 0 };
    made.url.catch(() => {
      if (objectUrls.get(id) === made) objectUrls.delete(id);
    });
    objectUrls.set(id, made);
    entry = made;
  }
  entry.users++;
  clearTimeout(entry.timer);
  return entry.url;
}

function releaseUrl(id: string): void {
  const entry = objectUrls.get(id);
  if (!entry) return;
  entry.users = Math.max(0, entry.users - 1);
  if (entry.users > 0) return;
  clearTimeout(entry.timer);
  // A view is often remade at once (a remote change, undo): keep the URL a moment.
  entry.timer = setTimeout(() => {
    if (entry.users > 0 || objectUrls.get(id) !== entry) return;
    objectUrls.delete(id);
    void entry.url.then(URL.revokeObjectURL, () => undefined);
  }, 15_000);
}

/** The uploader already holds the bytes: shown at once, and kept for offline use. */
function seedAttachment(id: string, file: Blob): void {
  const entry: UrlEntry = { url: Promise.resolve(URL.createObjectURL(file)), users: 1 };
  objectUrls.set(id, entry);
  releaseUrl(id);
  if (typeof caches !== 'undefined') {
    const headers = { 'Content-Type': file.type || 'application/octet-stream', 'Content-Length': String(file.size) };
    void caches
      .open(ATTACHMENT_CACHE)
      .then((c) => c.put(new URL(contentPath(id), location.origin).href, new Response(file, { headers })))
      .catch(() => undefined);
  }
}

// Attachments kept on this device belong to the person signed in: they go when that person
// signs out (or another signs in), also when that happened while the app was closed.
const CACHE_OWNER_KEY = 'quire.attachments.owner';
function forgetCachedAttachments(): void {
  for (const [id, entry] of objectUrls) {
    objectUrls.delete(id);
    void entry.url.then(URL.revokeObjectURL, () => undefined);
  }
  if (typeof caches !== 'undefined') void caches.delete(ATTACHMENT_CACHE).catch(() => undefined);
}
function ownCache(userId: string | null): void {
  try {
    if ((localStorage.getItem(CACHE_OWNER_KEY) ?? null) === userId) return;
    forgetCachedAttachments();
    if (userId) localStorage.setItem(CACHE_OWNER_KEY, userId);
    else localStorage.removeItem(CACHE_OWNER_KEY);
  } catch {
    // No storage (a private window that refuses it): nothing is kept either.
  }
}
if (typeof localStorage !== 'undefined') {
  ownCache(client.user?.id ?? null);
  client.onSession((user) => ownCache(user?.id ?? null));
}

// ---------------------------------------------------------------------------------------
// Views

/** `app`: signed in (bytes fetched with the user's token); otherwise the public page of `publicToken`. */
type Mode = 'app' | { publicToken: string };

function imageView(mode: Mode): NodeViewRenderer {
  return ({ node, editor, getPos }) => {
    const dom = el('figure', { class: 'doc-image' });
    const stage = el('div', { class: 'doc-image-stage' });
    dom.append(stage);
    const attachmentId = attachmentIdOfSrc(node.attrs.src);
    const src = typeof node.attrs.src === 'string' ? node.attrs.src : '';
    let alt = typeof node.attrs.alt === 'string' ? node.attrs.alt : '';
    const width = Number(node.attrs.width) || 0;
    const height = Number(node.attrs.height) || 0;
    let live = true;
    let held = false;

    const box = (kind: 'loading' | 'failed'): HTMLElement => {
      const b = el('div', { class: `doc-image-box ${kind}` });
      if (width > 0 && height > 0) {
        b.style.aspectRatio = `${width} / ${height}`;
        b.style.width = `min(100%, ${width}px)`;
      }
      return b;
    };
    const show = (child: HTMLElement, state: string) => {
      dom.dataset.state = state;
      stage.replaceChildren(child);
    };
    const showImage = (url: string) => {
      const img = el('img', { alt, draggable: 'false' });
      if (node.attrs.title) img.title = String(node.attrs.title);
      if (width > 0 && height > 0) {
        img.width = width;
        img.height = height;
      }
      img.onerror = () => live && showError(navigator.onLine ? 'It could not be shown.' : 'Connect to the internet to load it.');
      img.src = url;
      // Swap the placeholder only once the picture can be painted (no blank flash).
      void img
        .decode()
        .catch(() => undefined)
        .then(() => live && img.naturalWidth > 0 && show(img, 'ready'));
    };
    const showError = (detail: string) => {
      const b = box('failed');
      b.setAttribute('role', 'img');
      b.setAttribute('aria-label', alt ? `Image unavailable: ${alt}` : 'Image unavailable');
      b.innerHTML = icon('imageOff', 22);
      const words = el('div', { class: 'doc-image-words' });
      words.append(el('strong', {}, 'Image unavailable'), el('span', {}, detail));
      b.append(words);
      show(b, 'error');
    };
    const load = () => {
      if (!attachmentId) return;
      held = true;
      show(box('loading'), 'loading');
      stage.querySelector('.doc-image-box')?.setAttribute('aria-label', alt ? `Loading image: ${alt}` : 'Loading image');
      stage.querySelector('.doc-image-box')?.setAttribute('role', 'img');
      acquireUrl(attachmentId).then(
        (url) => live && showImage(url),
        (e: unknown) => {
          if (!live) return;
          const status = e instanceof LoadError ? e.status : 0;
          showError(status === 404 || status === 403 ? 'It was removed, or you cannot open it.' : status ? 'The server could not send it.' : 'Connect to the internet to load it.');
        },
      );
    };
    // An image that failed for want of a network tries again when it comes back.
    const onOnline = () => {
      if (dom.dataset.state !== 'error' || !attachmentId) return;
      if (held) releaseUrl(attachmentId);
      held = false;
      load();
    };

    if (attachmentId && mode !== 'app') {
      // The public page reads the bytes through its link (no token; the browser fetches them itself).
      show(box('loading'), 'loading');
      showImage(publicContentPath(mode.publicToken, attachmentId));
    } else if (attachmentId) {
      load();
      window.addEventListener('online', onOnline);
    } else if (/^https:\/\//i.test(src)) {
      showImage(src);
    } else if (src.startsWith(ATTACHMENT_SRC_PREFIX) || src) {
      showError('Its address is not one this app can show.');
    } else {
      showError('It has no address.');
    }

    // The image's description (alt text), for people who cannot see it: editable from a
    // small button on the image while the document is.
    const altControl = mode === 'app' ? el('div', { class: 'doc-image-alt' }) : null;
    const altButton = () => {
      const b = el('button', { type: 'button', class: 'doc-image-alt-button', title: "The image's description, for people who cannot see it" }, alt ? 'Alt text' : 'Add alt text');
      if (alt) b.setAttribute('aria-label', `Alt text: ${alt}`);
      b.addEventListener('click', (e) => {
        e.preventDefault();
        openAltForm();
      });
      return b;
    };
    const closeAltForm = () => altControl?.replaceChildren(altButton());
    const openAltForm = () => {
      if (!altControl || !editor.isEditable) return;
      const form = el('form', { class: 'doc-image-alt-form' });
      const input = el('input', { type: 'text', maxlength: '1000', 'aria-label': 'Image description (alt text)', placeholder: 'Describe the image for people who cannot see it' });
      input.value = alt;
      const save = el('button', { type: 'submit', class: 'primary' }, 'Save');
      form.append(input, save);
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const pos = getPos();
        const value = input.value.trim();
        if (typeof pos === 'number' && editor.isEditable && value !== alt) editor.view.dispatch(editor.state.tr.setNodeAttribute(pos, 'alt', value || null));
        alt = value;
        closeAltForm();
        editor.commands.focus();
      });
      input.addEventListener('keydown', (e) => {
        if (e.key !== 'Escape') return;
        e.preventDefault();
        closeAltForm();
        editor.commands.focus();
      });
      altControl.replaceChildren(form);
      input.focus();
      input.select();
    };
    if (altControl) {
      closeAltForm();
      dom.append(altControl);
    }

    return {
      dom,
      ignoreMutation: () => true,
      stopEvent: (e: Event) => !!altControl && e.target instanceof globalThis.Node && altControl.contains(e.target),
      update: (next: PMNode) => {
        if (next.type !== node.type || next.attrs.src !== node.attrs.src || next.attrs.width !== node.attrs.width || next.attrs.height !== node.attrs.height) return false;
        const nextAlt = typeof next.attrs.alt === 'string' ? next.attrs.alt : '';
        if (nextAlt === alt) return true;
        // A new description: the shown image takes it; the other states are made again.
        const img = stage.querySelector('img');
        if (dom.dataset.state !== 'ready' || !img) return false;
        alt = nextAlt;
        img.alt = alt;
        if (!altControl?.querySelector('form')) closeAltForm();
        return true;
      },
      destroy: () => {
        live = false;
        window.removeEventListener('online', onOnline);
        if (attachmentId && held) releaseUrl(attachmentId);
      },
    };
  };
}

/** Saves an attachment under its name (from this device's copy when there is one). */
async function download(id: string, name: string): Promise<void> {
  const entry = objectUrls.get(id);
  let url: string;
  let made = false;
  if (entry) {
    url = await entry.url;
  } else {
    url = URL.createObjectURL(await fetchAttachment(id));
    made = true;
  }
  const a = el('a', { href: url, download: name });
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  if (made) setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function cardView(mode: Mode): NodeViewRenderer {
  return ({ node }) => {
    const id = typeof node.attrs.id === 'string' ? node.attrs.id : null;
    const name = typeof node.attrs.name === 'string' && node.attrs.name ? node.attrs.name : 'file';
    const contentType = typeof node.attrs.contentType === 'string' ? node.attrs.contentType : 'application/octet-stream';
    const size = typeof node.attrs.size === 'number' ? node.attrs.size : null;
    const dom = el('div', { class: 'file-card', 'data-testid': 'file-card', contenteditable: 'false' });
    if (id) dom.dataset.attachmentId = id;
    const iconBox = el('span', { class: 'file-card-icon' });
    iconBox.innerHTML = icon(fileIcon(contentType, name), 22);
    const text = el('span', { class: 'file-card-text' });
    const meta = el('span', { class: 'file-card-meta' }, [humanSize(size), typeLabel(contentType, name)].filter(Boolean).join(' · '));
    text.append(el('span', { class: 'file-card-name', title: name }, name), meta);
    dom.append(iconBox, text);
    let button: HTMLButtonElement | null = null;
    if (mode === 'app' && id) {
      button = el('button', { type: 'button', class: 'file-card-download', 'aria-label': `Download ${name}` });
      const label = el('span', {}, 'Download');
      button.innerHTML = icon('download', 16);
      button.append(label);
      const b = button;
      b.addEventListener('click', (e) => {
        e.preventDefault();
        e.stopPropagation();
        if (b.disabled) return;
        b.disabled = true;
        label.textContent = 'Downloading…';
        download(id, name).then(
          () => {
            b.disabled = false;
            label.textContent = 'Download';
            dom.classList.remove('failed');
          },
          () => {
            b.disabled = false;
            label.textContent = 'Try again';
            dom.classList.add('failed');
            meta.textContent = navigator.onLine ? 'Download failed: the file could not be fetched.' : 'Download failed: you are offline.';
          },
        );
      });
      dom.append(button);
    } else if (mode !== 'app' && id) {
      // The public page downloads through its link.
      const a = el('a', { class: 'file-card-download', href: `${publicContentPath(mode.publicToken, id)}?download=1`, download: name, 'aria-label': `Download ${name}` });
      a.innerHTML = icon('download', 16);
      a.append(el('span', {}, 'Download'));
      dom.append(a);
    }
    return {
      dom,
      ignoreMutation: () => true,
      stopEvent: (e: Event) => !!button && e.target instanceof globalThis.Node && button.contains(e.target),
      update: (next: PMNode) =>
        next.type === node.type && next.attrs.id === node.attrs.id && next.attrs.name === node.attrs.name && next.attrs.size === node.attrs.size && next.attrs.contentType === node.attrs.contentType,
    };
  };
}

/** The `image` and `fileAttachment` nodes with their views, for `documentSchema()`. */
export function fileNodes(mode: Mode) {
  return {
    image: Image.extend({ addNodeView: () => imageView(mode) }).configure({ inline: false, allowBase64: false }),
    fileAttachment: FileAttachment.extend({
      addNodeView: () => cardView(mode),
      addKeyboardShortcuts() {
        // Enter on a selected card downloads it where the document is read only (while
        // editing, Enter keeps its editing meaning; the card's button is there to Tab to).
        return {
          Enter: ({ editor }) => {
            const sel = editor.state.selection;
            if (mode !== 'app' || editor.isEditable || !(sel instanceof NodeSelection) || sel.node.type.name !== 'fileAttachment') return false;
            const id = sel.node.attrs.id as string | null;
            if (id) void download(id, String(sel.node.attrs.name ?? 'file')).catch(() => undefined);
            return true;
          },
        };
      },
    }),
  };
}

// ---------------------------------------------------------------------------------------
// Uploads

export interface FileUploadOptions {
  /** The document the files belong to. */
  documentId: string;
  /** Tells the user why an upload failed (the server's words when it gave some). */
  onError: { current: (message: string) => void };
}

interface Pending {
  id: string;
  file: File;
  image: boolean;
  width: number;
  height: number;
  upload: Upload | null;
  el: HTMLElement;
  bar: HTMLElement;
  fill: HTMLElement;
  status: HTMLElement;
  preview: string | null;
  done: boolean;
  retryTimer?: ReturnType<typeof setTimeout>;
  onOnline?: () => void;
}

type UploadMeta = { add: { id: string; pos: number; el: HTMLElement } } | { remove: string };

const uploadsKey = new PluginKey<DecorationSet>('fileUploads');
const controllers = new WeakMap<EditorView, (files: File[], at?: number) => void>();

function placeholderPos(state: EditorState, id: string): number | null {
  const found = uploadsKey.getState(state)?.find(undefined, undefined, (spec: { id?: string }) => spec.id === id);
  return found?.[0]?.from ?? null;
}

function canInsertAt(doc: PMNode, pos: number, type: NodeType): boolean {
  const $pos = doc.resolve(pos);
  return $pos.parent.canReplaceWith($pos.index(), $pos.index(), type);
}

/**
 * Where files go: before the paragraph the cursor is in when it is empty (the cursor stays
 * below them), else after the cursor's block; or where the position already is a place
 * between blocks.
 */
function blockBoundary(state: EditorState, at: number | undefined): number {
  const { doc, schema, selection } = state;
  const type = schema.nodes.image!;
  if (at === undefined && selection instanceof NodeSelection) return selection.to;
  const p = Math.max(0, Math.min(at ?? selection.from, doc.content.size));
  const $p = doc.resolve(p);
  if (!$p.parent.isTextblock) return canInsertAt(doc, p, type) ? p : (insertPoint(doc, p, type) ?? doc.content.size);
  if ($p.parent.type.name === 'paragraph' && $p.parent.content.size === 0 && canInsertAt(doc, $p.before(), type)) return $p.before();
  for (let d = $p.depth; d > 0; d--) {
    const after = $p.after(d);
    if (canInsertAt(doc, after, type)) return after;
  }
  return doc.content.size;
}

async function imageSize(file: File): Promise<{ width: number; height: number }> {
  try {
    const bitmap = await createImageBitmap(file);
    const size = { width: bitmap.width, height: bitmap.height };
    bitmap.close();
    return size;
  } catch {
    return { width: 0, height: 0 };
  }
}

function serverMessage(err: Error): { status: number; message: string | null } {
  const res = (err as DetailedError).originalResponse ?? null;
  const status = res?.getStatus() ?? 0;
  try {
    const body = JSON.parse(res?.getBody() ?? '') as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string' && body.error.message) return { status, message: body.error.message };
  } catch {
    // Not the API's JSON: fall back to a general sentence.
  }
  return { status, message: null };
}

function placeholder(p: Pick<Pending, 'file' | 'image' | 'width' | 'height' | 'preview'>): Pick<Pending, 'el' | 'bar' | 'fill' | 'status'> & { cancel: HTMLButtonElement } {
  const root = el('div', { class: `upload-placeholder ${p.image ? 'image' : 'file'}`, contenteditable: 'false', 'data-testid': 'upload' });
  if (p.image && p.preview) {
    const frame = el('div', { class: 'upload-preview' });
    if (p.width > 0 && p.height > 0) {
      frame.style.aspectRatio = `${p.width} / ${p.height}`;
      frame.style.width = `min(100%, ${p.width}px)`;
    }
    frame.append(el('img', { src: p.preview, alt: '' }));
    root.append(frame);
  }
  const row = el('div', { class: 'upload-row' });
  const iconBox = el('span', { class: 'file-card-icon' });
  iconBox.innerHTML = icon(p.image ? 'image' : fileIcon(p.file.type, p.file.name), 20);
  const body = el('div', { class: 'upload-body' });
  const title = el('div', { class: 'upload-name' });
  title.append(el('span', { class: 'file-card-name', title: p.file.name }, p.file.name), el('span', { class: 'file-card-meta' }, humanSize(p.file.size)));
  const bar = el('div', { class: 'upload-bar', role: 'progressbar', 'aria-label': `Uploading ${p.file.name}`, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
  const fill = el('div', { class: 'upload-bar-fill' });
  bar.append(fill);
  const status = el('div', { class: 'upload-status' }, 'Uploading…');
  body.append(title, bar, status);
  const cancel = el('button', { type: 'button', class: 'icon-button upload-cancel', 'aria-label': `Cancel upload of ${p.file.name}`, title: 'Cancel upload' });
  cancel.innerHTML = icon('x', 16);
  row.append(iconBox, body, cancel);
  root.append(row);
  return { el: root, bar, fill, status, cancel };
}

function uploadPlugin(editor: Editor, options: FileUploadOptions): Plugin {
  const pending = new Map<string, Pending>();
  let view: EditorView | null = null;

  const dispatchMeta = (meta: UploadMeta) => {
    if (view && !view.isDestroyed) view.dispatch(view.state.tr.setMeta(uploadsKey, meta).setMeta('addToHistory', false));
  };
  const finish = (p: Pending) => {
    p.done = true;
    clearTimeout(p.retryTimer);
    if (p.onOnline) window.removeEventListener('online', p.onOnline);
    if (p.preview) URL.revokeObjectURL(p.preview);
    pending.delete(p.id);
  };
  const fail = (p: Pending, message: string) => {
    finish(p);
    dispatchMeta({ remove: p.id });
    options.onError.current(message);
  };
  const setProgress = (p: Pending, sent: number, total: number) => {
    const pct = total > 0 ? Math.min(100, Math.floor((sent / total) * 100)) : 0;
    p.bar.setAttribute('aria-valuenow', String(pct));
    p.fill.style.width = `${pct}%`;
    p.status.textContent = pct >= 100 ? 'Finishing…' : `Uploading… ${pct}% of ${humanSize(total)}`;
    p.el.classList.remove('waiting');
  };
  const insert = (p: Pending, attachmentId: string) => {
    if (!view || view.isDestroyed) return;
    const state = view.state;
    const { schema } = state;
    const node = p.image
      ? schema.nodes.image!.create({ src: `${ATTACHMENT_SRC_PREFIX}${attachmentId}`, alt: p.file.name.replace(/\.[a-z0-9]{1,5}$/i, ''), width: p.width || null, height: p.height || null })
      : schema.nodes.fileAttachment!.create({ id: attachmentId, name: p.file.name, size: p.file.size, contentType: p.file.type || 'application/octet-stream' });
    const at = placeholderPos(state, p.id) ?? state.doc.content.size;
    const pos = canInsertAt(state.doc, at, node.type) ? at : (insertPoint(state.doc, at, node.type) ?? state.doc.content.size);
    // At the end of the document (or of a cell, a quote) a paragraph follows, to write on in.
    const $pos = state.doc.resolve(pos);
    const last = $pos.index() === $pos.parent.childCount;
    const paragraph = schema.nodes.paragraph!;
    const content = last && $pos.parent.canReplaceWith($pos.index(), $pos.index(), paragraph) ? [node, paragraph.create()] : [node];
    view.dispatch(state.tr.insert(pos, content).setMeta(uploadsKey, { remove: p.id } satisfies UploadMeta));
  };

  const begin = async (file: File, pos: number) => {
    const image = INLINE_IMAGE_TYPES.has(file.type);
    const id = `upload-${Math.random().toString(36).slice(2)}`;
    const { width, height } = image ? await imageSize(file) : { width: 0, height: 0 };
    const preview = image && width > 0 ? URL.createObjectURL(file) : null;
    const ui = placeholder({ file, image, width, height, preview });
    const p: Pending = { id, file, image, width, height, upload: null, preview, done: false, ...ui };
    pending.set(id, p);
    ui.cancel.addEventListener('click', (e) => {
      e.preventDefault();
      if (p.done) return;
      finish(p);
      void p.upload?.abort(true).catch(() => undefined);
      dispatchMeta({ remove: p.id });
      view?.focus();
    });
    if (!view || view.isDestroyed) return;
    dispatchMeta({ add: { id, pos: Math.min(pos, view.state.doc.content.size), el: ui.el } });

    const upload = new Upload(file, {
      endpoint: new URL('/api/v1/uploads', location.origin).href,
      chunkSize: CHUNK_SIZE,
      retryDelays: [0, 1000, 3000, 5000, 10_000],
      storeFingerprintForResuming: false,
      metadata: { documentId: options.documentId, filename: file.name, filetype: file.type || 'application/octet-stream' },
      onBeforeRequest: async (req) => {
        // The token is fetched for every request: a long upload outlives an access token.
        const h = await authHeaders();
        if (h.Authorization) req.setHeader('Authorization', h.Authorization);
      },
      // A 4xx is the server's answer (quota, size, type, access): no retry. Anything else
      // (a dropped connection, a restarting server) is tried again.
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        if (status === 0) return navigator.onLine;
        return status >= 500 || status === 409 || status === 423;
      },
      onProgress: (sent, total) => !p.done && setProgress(p, sent, total),
      onSuccess: () => {
        if (p.done) return;
        const attachmentId = new URL(upload.url ?? '', location.origin).pathname.split('/').filter(Boolean).pop() ?? '';
        if (!attachmentIdOfSrc(`${ATTACHMENT_SRC_PREFIX}${attachmentId}`)) {
          fail(p, `“${file.name}” was uploaded, but the server's answer was not understood. Try again.`);
          return;
        }
        seedAttachment(attachmentId.toLowerCase(), file);
        finish(p);
        insert(p, attachmentId.toLowerCase());
      },
      onError: (err) => {
        if (p.done) return;
        const { status, message } = serverMessage(err);
        if (status === 0 || status >= 500) {
          // The connection dropped (or the server is restarting): wait, then go on from
          // where the upload stopped.
          p.el.classList.add('waiting');
          p.status.textContent = navigator.onLine ? 'Connection lost. Trying again…' : 'Offline. The upload goes on when you are back online.';
          const resume = () => {
            if (p.done) return;
            clearTimeout(p.retryTimer);
            if (p.onOnline) window.removeEventListener('online', p.onOnline);
            p.status.textContent = 'Resuming…';
            upload.start();
          };
          p.onOnline = resume;
          window.addEventListener('online', resume, { once: true });
          p.retryTimer = setTimeout(resume, navigator.onLine ? 5000 : 30_000);
          return;
        }
        fail(p, message ? `“${file.name}” was not uploaded: ${message}` : `“${file.name}” could not be uploaded (error ${status}).`);
      },
    });
    p.upload = upload;
    upload.start();
  };

  const start = (files: File[], at?: number) => {
    if (!view || view.isDestroyed || !editor.isEditable || files.length === 0) return;
    const pos = blockBoundary(view.state, at);
    for (const f of files) void begin(f, pos);
  };

  return new Plugin<DecorationSet>({
    key: uploadsKey,
    state: {
      init: () => DecorationSet.empty,
      apply(tr, set) {
        let next = set.map(tr.mapping, tr.doc);
        const meta = tr.getMeta(uploadsKey) as UploadMeta | undefined;
        if (meta && 'add' in meta) {
          // side: files inserted at this place go before the uploads still waiting there.
          next = next.add(tr.doc, [Decoration.widget(meta.add.pos, meta.add.el, { id: meta.add.id, key: meta.add.id, side: 1, ignoreSelection: true, stopEvent: () => true })]);
        } else if (meta && 'remove' in meta) {
          next = next.remove(next.find(undefined, undefined, (spec: { id?: string }) => spec.id === meta.remove));
        }
        return next;
      },
    },
    view(v) {
      view = v;
      controllers.set(v, start);
      return {
        destroy() {
          // Leaving the document stops its uploads (the server drops unfinished ones later).
          for (const p of [...pending.values()]) {
            finish(p);
            void p.upload?.abort(false).catch(() => undefined);
          }
          controllers.delete(v);
          view = null;
        },
      };
    },
    props: {
      decorations: (state) => uploadsKey.getState(state),
      handlePaste(v, event) {
        const data = event.clipboardData;
        const files = [...(data?.files ?? [])];
        if (!data || files.length === 0) return false;
        // Office apps put a picture of the copied text beside the text (as HTML): the text
        // wins. A browser's "Copy image" gives HTML with the image alone; a file manager
        // gives the file's name as plain text: there the files win.
        const html = data.getData('text/html');
        if (html && new DOMParser().parseFromString(html, 'text/html').body.textContent?.trim()) return false;
        if (!v.editable) return true;
        event.preventDefault();
        start(files);
        return true;
      },
      handleDrop(v, event, _slice, moved) {
        const files = [...(event.dataTransfer?.files ?? [])];
        if (moved || files.length === 0) return false;
        event.preventDefault();
        if (!v.editable) return true;
        const at = v.posAtCoords({ left: event.clientX, top: event.clientY });
        start(files, at?.pos);
        return true;
      },
    },
  });
}

/** Uploads of pasted, dropped and picked files; `startUploads` starts some from elsewhere. */
export const FileUploads = Extension.create<FileUploadOptions>({
  name: 'fileUploads',
  addOptions() {
    return { documentId: '', onError: { current: () => undefined } };
  },
  addProseMirrorPlugins() {
    return [uploadPlugin(this.editor, this.options)];
  },
});

/** Uploads `files` into the editor's document, at the cursor (or `at`). */
export function startUploads(editor: Editor, files: File[], at?: number): void {
  controllers.get(editor.view)?.(files, at);
}

/** Opens the file picker and uploads what is chosen. */
export function pickFiles(editor: Editor): void {
  const input = el('input', { type: 'file', multiple: '', 'aria-hidden': 'true', tabindex: '-1' });
  input.style.display = 'none';
  const done = () => input.remove();
  input.addEventListener('change', () => {
    startUploads(editor, [...(input.files ?? [])]);
    done();
  });
  input.addEventListener('cancel', done);
  document.body.append(input);
  input.click();
}

/** The slash menu's entry for files. */
export const FILE_BLOCK: Block = {
  id: 'file',
  label: 'Image or file…',
  keywords: 'image picture photo screenshot file attachment upload pdf document',
  icon: ImagePlus,
  run: (editor, range) => {
    if (range) editor.chain().focus().deleteRange(range).run();
    pickFiles(editor);
  },
};

/** The slash menu's file entry when it matches what was typed after `/`. */
export function matchFileBlock(query: string): Block[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return words.every((w) => `${FILE_BLOCK.label} ${FILE_BLOCK.keywords}`.toLowerCase().includes(w)) ? [FILE_BLOCK] : [];
}
