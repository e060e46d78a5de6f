/**
 * Import and export: an "Import…" button for the document list (a Markdown, HTML or Word
 * file becomes a new document, which opens) and an "Export" menu for the document view
 * (Markdown, HTML, Word, PDF; downloaded with the user's token, saved through an object URL).
 */
import { Download, Upload } from 'lucide-react';
import { useRef, useState } from 'react';
import { client } from '../api.js';
import { navigate } from '../router.js';
import { MenuButton } from './menu.js';
import { useToast } from './toast.js';

/** The largest file the server imports (`POST /api/v1/documents/import`). */
const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
const ACCEPT = '.md,.markdown,.html,.htm,.docx,text/markdown,text/html,application/vnd.openxmlformats-officedocument.wordprocessingml.document';

async function authHeader(): Promise<Record<string, string> | null> {
  const t = await client.accessToken().catch(() => null);
  return t?.ok ? { authorization: `Bearer ${t.value}` } : null;
}

async function errorText(res: Response, fallback: string): Promise<string> {
  if (res.status === 413) return 'The file is larger than 20 MB.';
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    return body.error?.message ?? fallback;
  } catch {
    return fallback;
  }
}

function formatOf(file: File): string | null {
  const ext = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase();
  if (ext === 'md' || ext === 'markdown') return 'markdown';
  if (ext === 'html' || ext === 'htm') return 'html';
  if (ext === 'docx') return 'docx';
  return null;
}

/** "Import…": pick a .md, .html or .docx file; the new document (in `collectionId`, when given) opens. */
export function ImportButton({ collectionId, onImported }: { collectionId: string | null; onImported: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const run = async (file: File) => {
    const format = formatOf(file);
    if (!format) return toast({ message: 'Choose a Markdown (.md), HTML (.html) or Word (.docx) file.', tone: 'error' });
    if (file.size > MAX_IMPORT_BYTES) return toast({ message: 'The file is larger than 20 MB.', tone: 'error' });
    const auth = await authHeader();
    if (!auth) return toast({ message: 'Sign in again to import.', tone: 'error' });
    setBusy(true);
    try {
      const where = collectionId ? `&collectionId=${collectionId}` : '';
      const res = await fetch(`/api/v1/documents/import?format=${format}&name=${encodeURIComponent(file.name)}${where}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': file.type || 'application/octet-stream' },
        body: file,
      });
      if (!res.ok) return toast({ message: `Could not import “${file.name}”: ${await errorText(res, 'the server refused it.')}`, tone: 'error' });
      const doc = (await res.json()) as { id: string; title: string };
      toast({ message: `Imported “${doc.title}”` });
      onImported();
      navigate(`/d/${doc.id}`);
    } catch {
      toast({ message: 'Cannot reach the server. Check your connection and try again.', tone: 'error' });
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="new-doc" onClick={() => input.current?.click()} disabled={busy}>
        <Upload size={16} aria-hidden /> {busy ? 'Importing…' : 'Import…'}
      </button>
      <input
        ref={input}
        type="file"
        accept={ACCEPT}
        hidden
        aria-label="File to import"
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) void run(file);
        }}
      />
    </>
  );
}

const FORMATS = [
  { format: 'markdown', label: 'Markdown (.md)' },
  { format: 'html', label: 'Web page (.html)' },
  { format: 'docx', label: 'Word (.docx)' },
  { format: 'pdf', label: 'PDF (.pdf)' },
] as const;

/** The file name a download's Content-Disposition gives (`filename*` first). */
function fileNameOf(disposition: string | null, fallback: string): string {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition ?? '')?.[1];
  if (star) {
    try {
      return decodeURIComponent(star);
    } catch {
      // fall through to the plain name
    }
  }
  return /filename="([^"]+)"/i.exec(disposition ?? '')?.[1] ?? fallback;
}

/** "Export": the document as Markdown, HTML, Word or PDF, downloaded. */
export function ExportMenu({ documentId, title }: { documentId: string; title: string }) {
  const toast = useToast();
  const download = async (format: string, label: string) => {
    const auth = await authHeader();
    if (!auth) return toast({ message: 'Sign in again to export.', tone: 'error' });
    try {
      const res = await fetch(`/api/v1/documents/${documentId}/export?format=${format}`, { headers: auth });
      if (!res.ok) return toast({ message: `Could not export as ${label}: ${await errorText(res, 'the server refused it.')}`, tone: 'error' });
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = fileNameOf(res.headers.get('content-disposition'), `${title || 'document'}.${format === 'markdown' ? 'md' : format}`);
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch {
      toast({ message: 'Cannot reach the server. Check your connection and try again.', tone: 'error' });
    }
  };
  return (
    <MenuButton
      label="Export"
      icon={<Download size={18} aria-hidden />}
      items={FORMATS.map((f) => ({ label: `Export as ${f.label}`, icon: <Download size={16} aria-hidden />, run: () => void download(f.format, f.label) }))}
    />
  );
}
