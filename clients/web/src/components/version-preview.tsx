/**
 * One version of a document, read-only, in place of the live text: a banner saying which
 * version this is, "Restore this version" (for those who may edit), "Compare with current"
 * and "Back to document". Comparing shows what changed from the version to the document as
 * it is now: added text underlined on green, removed text struck through on red, each run
 * marked in its author's colour with their name on hover, a legend of who changed how much,
 * and long stretches of unchanged blocks folded away.
 */
import { EditorContent, useEditor } from '@tiptap/react';
import { useEffect, useMemo, useState } from 'react';
import type { DiffBlock, DiffRun, ProseMirrorJson, Version, VersionDiff } from '../../../../contract/api.js';
import type { QuireError } from '../../../sdk/index.js';
import { client, colorFor, describeError } from '../api.js';
import { contentExtensions } from '../editor/extensions.js';
import { versionTitle, type NameOf } from './history-panel.js';
import { ArrowLeft, GitCompareArrows, Eye, RotateCcw } from 'lucide-react';

interface Props {
  documentId: string;
  version: Version;
  canWrite: boolean;
  nameOf: NameOf;
  /** "Restore this version" (the document view asks first and restores). */
  onRestore: () => void;
  onBack: () => void;
}

export function VersionPreview({ documentId, version, canWrite, nameOf, onRestore, onBack }: Props) {
  const [mode, setMode] = useState<'content' | 'compare'>('content');
  useEffect(() => setMode('content'), [version.id]);
  const at = when(version.createdAt);
  return (
    <section className="version-preview" data-testid="version-preview" aria-label={`Version of ${at}`}>
      <div className="version-banner" role="status">
        <div className="version-banner-head">
          <div className="version-banner-text">
            <strong>
              Viewing version of <span className="nowrap">{at}</span> — read-only
            </strong>
            <span className="muted">{versionTitle(version)}</span>
          </div>
          <button type="button" className="link back-to-document" onClick={onBack}>
            <ArrowLeft size={15} aria-hidden /> Back to document
          </button>
        </div>
        <div className="version-banner-actions">
          {canWrite && (
            <button type="button" className="primary" onClick={onRestore}>
              <RotateCcw size={15} aria-hidden /> Restore this version
            </button>
          )}
          {mode === 'content' ? (
            <button type="button" onClick={() => setMode('compare')}>
              <GitCompareArrows size={15} aria-hidden /> Compare with current
            </button>
          ) : (
            <button type="button" onClick={() => setMode('content')}>
              <Eye size={15} aria-hidden /> Show this version
            </button>
          )}
        </div>
      </div>
      {mode === 'content' ? (
        <VersionContent key={version.id} documentId={documentId} versionId={version.id} />
      ) : (
        <VersionCompare key={version.id} documentId={documentId} version={version} nameOf={nameOf} />
      )}
    </section>
  );
}

/** The version's text in the editor's own schema and styles, not editable. */
function VersionContent({ documentId, versionId }: { documentId: string; versionId: string }) {
  const [json, setJson] = useState<ProseMirrorJson | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void client.getVersionContent(documentId, versionId, 'json').then((r) => {
      if (!live) return;
      if (r.ok) setJson(r.value);
      else setError(r.error.code === 'version_not_found' ? 'This version is no longer there.' : describeError(r.error));
    });
    return () => {
      live = false;
    };
  }, [documentId, versionId]);
  if (error)
    return (
      <p className="error" role="alert">
        Could not open this version: {error}
      </p>
    );
  if (!json) return <p className="muted loading">Loading version…</p>;
  return <ReadOnlyDoc json={json} />;
}

function ReadOnlyDoc({ json }: { json: ProseMirrorJson }) {
  const editor = useEditor(
    {
      editable: false,
      extensions: contentExtensions(),
      content: json as object,
      editorProps: { attributes: { class: 'prose', 'aria-label': 'Version text (read-only)', 'aria-readonly': 'true', 'data-testid': 'version-text' } },
    },
    [json],
  );
  return (
    <div className="editor-wrap version-text">
      <EditorContent editor={editor} className="editor" />
    </div>
  );
}

/** A diff isn't served (yet) by this server: the route answers 404/405 with no specific code. */
function compareError(e: QuireError): string {
  if (e.code === 'version_not_found') return 'This version is no longer there.';
  if (e.status === 404 || e.status === 405) return 'Comparing versions is not available on this server yet.';
  return describeError(e);
}

function VersionCompare({ documentId, version, nameOf }: { documentId: string; version: Version; nameOf: NameOf }) {
  const [diff, setDiff] = useState<VersionDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void client
      .diffVersion(documentId, version.id, 'current')
      .then((r) => {
        if (!live) return;
        if (r.ok) setDiff(r.value);
        else setError(compareError(r.error));
      })
      .catch(() => live && setError('Could not compare the versions.'));
    return () => {
      live = false;
    };
  }, [documentId, version.id]);
  if (error)
    return (
      <p className="notice" role="alert" data-testid="diff-error">
        Could not compare: {error}
      </p>
    );
  if (!diff) return <p className="muted loading">Comparing with the current document…</p>;
  return <DiffView diff={diff} nameOf={nameOf} />;
}

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });

const changed = (b: DiffBlock) => b.change !== 'same' || b.runs.some((r) => r.change !== 'same');

/** Blocks, with runs of two or more unchanged blocks folded into one line that opens them. */
type Piece = { kind: 'block'; block: DiffBlock; key: number } | { kind: 'fold'; blocks: DiffBlock[]; key: number };

function pieces(blocks: DiffBlock[]): Piece[] {
  const out: Piece[] = [];
  let same: { block: DiffBlock; key: number }[] = [];
  const flush = () => {
    if (same.length >= 2) out.push({ kind: 'fold', blocks: same.map((s) => s.block), key: same[0]!.key });
    else for (const s of same) out.push({ kind: 'block', ...s });
    same = [];
  };
  blocks.forEach((block, key) => {
    if (changed(block)) {
      flush();
      out.push({ kind: 'block', block, key });
    } else same.push({ block, key });
  });
  flush();
  return out;
}

/**
 * "While you were away": what changed from the version recorded when the user last left the
 * document to the document as it is now, in the compare view's rendering, in place of the text.
 */
export function ChangesSince({ diff, seenAt, nameOf, onBack }: { diff: VersionDiff; seenAt: string; nameOf: NameOf; onBack: () => void }) {
  return (
    <section className="version-preview changes-since" data-testid="changes-since" aria-label="Changes since you were here">
      <div className="version-banner" role="status">
        <div className="version-banner-head">
          <div className="version-banner-text">
            <strong>Changes since you were here</strong>
            <span className="muted">
              You were last here <span className="nowrap">{when(seenAt)}</span>
            </span>
          </div>
          <button type="button" className="link back-to-document" onClick={onBack}>
            <ArrowLeft size={15} aria-hidden /> Back to document
          </button>
        </div>
      </div>
      <DiffView diff={diff} nameOf={nameOf} caption="What changed from then to the current document" />
    </section>
  );
}

/** The comparison: a legend of who changed how much, then the blocks with their added and removed runs. */
export function DiffView({ diff, nameOf, caption }: { diff: VersionDiff; nameOf: NameOf; caption?: string }) {
  const parts = useMemo(() => pieces(diff.blocks), [diff]);
  const anyChange = diff.blocks.some(changed);
  return (
    <div className="diff" data-testid="version-diff">
      <p className="muted small-print">{caption ?? `Changes from this version (${when(diff.from.at)}) to ${diff.to.versionId ? `the version of ${when(diff.to.at)}` : 'the current document'}`}</p>
      {diff.authors.length > 0 && (
        <ul className="diff-legend" aria-label="Who changed what">
          {diff.authors.map((a) => (
            <li key={a.userId ?? 'unknown'} data-testid="diff-author">
              <span className="swatch" style={{ background: a.userId ? colorFor(a.userId) : 'var(--muted)' }} aria-hidden />
              <span className="diff-author-name">{nameOf(a.userId)}</span>
              <span className="muted">
                {a.added > 0 && <span className="diff-count added">+{a.added} added</span>}
                {a.added > 0 && a.removed > 0 && ' · '}
                {a.removed > 0 && <span className="diff-count removed">−{a.removed} removed</span>}
              </span>
            </li>
          ))}
        </ul>
      )}
      {!anyChange ? (
        <p className="muted">No changes: the current document is the same as {caption ? 'then' : 'this version'}.</p>
      ) : (
        <div className="diff-body">{parts.map((p) => (p.kind === 'fold' ? <Fold key={`f${p.key}`} blocks={p.blocks} nameOf={nameOf} /> : <Block key={p.key} block={p.block} nameOf={nameOf} />))}</div>
      )}
    </div>
  );
}

function Fold({ blocks, nameOf }: { blocks: DiffBlock[]; nameOf: NameOf }) {
  const [open, setOpen] = useState(false);
  if (open) return blocks.map((b, i) => <Block key={i} block={b} nameOf={nameOf} />);
  const paragraphs = blocks.every((b) => b.type === 'paragraph');
  return (
    <button type="button" className="diff-fold" onClick={() => setOpen(true)} aria-label={`Show ${blocks.length} unchanged ${paragraphs ? 'paragraphs' : 'blocks'}`}>
      ⋯ {blocks.length} unchanged {paragraphs ? 'paragraphs' : 'blocks'}
    </button>
  );
}

function Block({ block, nameOf }: { block: DiffBlock; nameOf: NameOf }) {
  const heading = block.type === 'heading';
  return (
    <div className={`diff-block ${block.change} ${heading ? 'heading' : ''} type-${block.type}`} data-change={block.change}>
      {block.runs.length === 0 ? <span className="muted">(empty {block.type === 'paragraph' ? 'line' : block.type})</span> : block.runs.map((r, i) => <Run key={i} run={r} nameOf={nameOf} />)}
    </div>
  );
}

function Run({ run, nameOf }: { run: DiffRun; nameOf: NameOf }) {
  if (run.change === 'same') return <span>{run.text}</span>;
  const who = nameOf(run.by);
  const style = { '--author': run.by ? colorFor(run.by) : 'var(--muted)' } as React.CSSProperties;
  return run.change === 'added' ? (
    <ins className="diff-run added" style={style} title={`Added by ${who}`} data-by={run.by ?? ''}>
      {run.text}
    </ins>
  ) : (
    <del className="diff-run removed" style={style} title={`Removed by ${who}`} data-by={run.by ?? ''}>
      {run.text}
    </del>
  );
}
