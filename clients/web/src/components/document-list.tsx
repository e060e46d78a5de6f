/**
 * The sidebar: new document (blank or from a template), the views (all, starred, recently
 * viewed, templates, and the trash, which opens in the main view), the collection tree, a title filter, the order, and the documents of
 * the chosen view.
 */
import { ChevronDown, ChevronRight, Clock, FileText, Folder, FolderPlus, LayoutTemplate, MoreHorizontal, Pencil, Star, Trash2 } from 'lucide-react';
import { useMemo, useState } from 'react';
import type { Collection, DocumentMeta, DocumentSort } from '../../../sdk/index.js';
import { navigate } from '../router.js';
import { MenuButton } from './menu.js';
import { ImportButton } from './import-export.js';

export type ListView = { name: 'all' } | { name: 'starred' } | { name: 'recent' } | { name: 'templates' } | { name: 'collection'; id: string };

interface Props {
  docs: DocumentMeta[];
  activeId: string | null;
  loading: boolean;
  error: string | null;
  available: Set<string>;
  hasMore: boolean;
  onMore: () => void;
  onCreate: () => Promise<string | null>;
  view: ListView;
  onView: (v: ListView) => void;
  sort: DocumentSort;
  onSort: (s: DocumentSort) => void;
  filter: string;
  onFilter: (q: string) => void;
  collections: Collection[];
  /** Guests do not see or manage collections. */
  canOrganise: boolean;
  onNewCollection: (parentId: string | null) => void;
  onRenameCollection: (c: Collection) => void;
  onDeleteCollection: (c: Collection) => void;
  /** The trash is what the main view shows. */
  trashOpen: boolean;
}

const VIEWS: { view: ListView; label: string; icon: typeof Star }[] = [
  { view: { name: 'all' }, label: 'All documents', icon: FileText },
  { view: { name: 'starred' }, label: 'Starred', icon: Star },
  { view: { name: 'recent' }, label: 'Recently viewed', icon: Clock },
  { view: { name: 'templates' }, label: 'Templates', icon: LayoutTemplate },
];

const sameView = (a: ListView, b: ListView) => a.name === b.name && (a.name !== 'collection' || (b.name === 'collection' && a.id === b.id));

export function DocumentList(props: Props) {
  const { docs, activeId, loading, error, available, hasMore, onMore, onCreate, view, onView, sort, onSort, filter, onFilter, collections, canOrganise, trashOpen } = props;
  const [createError, setCreateError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const create = async () => {
    setCreating(true);
    setCreateError(await onCreate());
    setCreating(false);
  };
  const emptyText =
    filter.trim() !== ''
      ? 'No document matches this filter.'
      : view.name === 'starred'
        ? 'Star a document to find it here.'
        : view.name === 'recent'
          ? 'Documents you open appear here.'
          : view.name === 'templates'
            ? 'No templates yet: use “Save as template” on a document.'
            : view.name === 'collection'
              ? 'This collection is empty.'
              : 'No documents yet.';
  return (
    <nav className="sidebar" aria-label="Documents">
      <button type="button" className="primary new-doc" onClick={create} disabled={creating}>
        New document
      </button>
      {/* The same view again asks for the list again, with the new document in it. */}
      {canOrganise && <ImportButton collectionId={view.name === 'collection' ? view.id : null} onImported={() => onView({ ...view })} />}
      {createError && (
        <p className="error" role="alert">
          {createError}
        </p>
      )}
      <ul className="views" aria-label="Views">
        {VIEWS.map((v) => (
          <li key={v.label}>
            <button type="button" className="view-button" aria-current={sameView(view, v.view) && !trashOpen ? 'true' : undefined} onClick={() => onView(v.view)}>
              <v.icon size={16} aria-hidden /> {v.label}
            </button>
          </li>
        ))}
        <li>
          <a
            className="view-button"
            href="/trash"
            aria-current={trashOpen ? 'page' : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate('/trash');
            }}
          >
            <Trash2 size={16} aria-hidden /> Trash
          </a>
        </li>
      </ul>
      {canOrganise && <CollectionTree {...props} />}
      <div className="list-controls">
        <label className="visually-hidden" htmlFor="doc-filter">
          Filter by title
        </label>
        <input id="doc-filter" type="search" placeholder="Filter by title" value={filter} onChange={(e) => onFilter(e.target.value)} />
        {view.name !== 'recent' && (
          <>
            <label className="visually-hidden" htmlFor="doc-sort">
              Order
            </label>
            <select id="doc-sort" value={sort} onChange={(e) => onSort(e.target.value as DocumentSort)}>
              <option value="recent">Last edited</option>
              <option value="created">Newest</option>
              <option value="title">Title A–Z</option>
            </select>
          </>
        )}
      </div>
      {error && <p className="notice">{error}</p>}
      {loading && docs.length === 0 && <p className="muted">Loading documents…</p>}
      {!loading && !error && docs.length === 0 && <p className="muted empty-list">{emptyText}</p>}
      <ul className="doc-list" aria-label={VIEWS.find((v) => sameView(v.view, view))?.label ?? collections.find((c) => view.name === 'collection' && c.id === view.id)?.name}>
        {docs.map((d) => (
          <li key={d.id}>
            <a
              href={`/d/${d.id}`}
              aria-current={d.id === activeId ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/d/${d.id}`);
              }}
            >
              <span className="title">
                {d.starred && <Star size={13} aria-label="Starred" className="star-mark" fill="currentColor" />}
                {d.title}
              </span>
              <span className="meta">
                {d.access === 'read' ? 'Read only' : d.access === 'comment' ? 'Can comment' : d.access === 'admin' ? 'Owner' : 'Can edit'}
                {available.has(d.id) ? ' · on this device' : ''}
              </span>
            </a>
          </li>
        ))}
      </ul>
      {hasMore && (
        <button type="button" className="link" onClick={onMore}>
          Show more
        </button>
      )}
    </nav>
  );
}

function CollectionTree({ collections, view, onView, onNewCollection, onRenameCollection, onDeleteCollection }: Props) {
  const children = useMemo(() => {
    const by = new Map<string | null, Collection[]>();
    for (const c of collections) by.set(c.parentId, [...(by.get(c.parentId) ?? []), c]);
    return by;
  }, [collections]);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const toggle = (id: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const branch = (parentId: string | null, depth: number): React.ReactNode => {
    const list = children.get(parentId) ?? [];
    if (list.length === 0) return null;
    return (
      <ul role={depth === 0 ? 'tree' : 'group'} aria-label={depth === 0 ? 'Collections' : undefined} className="tree">
        {list.map((c) => {
          const kids = (children.get(c.id) ?? []).length > 0;
          const expanded = open.has(c.id);
          return (
            <li key={c.id} role="treeitem" aria-expanded={kids ? expanded : undefined} aria-selected={view.name === 'collection' && view.id === c.id}>
              <div className="tree-row" style={{ paddingLeft: `${depth * 0.9}rem` }}>
                {kids ? (
                  <button type="button" className="icon-button small" aria-label={expanded ? `Collapse ${c.name}` : `Expand ${c.name}`} onClick={() => toggle(c.id)}>
                    {expanded ? <ChevronDown size={14} aria-hidden /> : <ChevronRight size={14} aria-hidden />}
                  </button>
                ) : (
                  <span className="tree-spacer" />
                )}
                <button
                  type="button"
                  className="view-button"
                  aria-current={view.name === 'collection' && view.id === c.id ? 'true' : undefined}
                  onClick={() => onView({ name: 'collection', id: c.id })}
                >
                  <Folder size={16} aria-hidden /> {c.name}
                </button>
                <MenuButton
                  className="row-menu"
                  label={`Actions for ${c.name}`}
                  icon={<MoreHorizontal size={14} aria-hidden />}
                  items={[
                    {
                      label: 'New collection inside',
                      icon: <FolderPlus size={16} aria-hidden />,
                      run: () => {
                        setOpen((o) => new Set(o).add(c.id));
                        onNewCollection(c.id);
                      },
                    },
                    { label: 'Rename', icon: <Pencil size={16} aria-hidden />, run: () => onRenameCollection(c) },
                    { label: 'Delete collection', icon: <Trash2 size={16} aria-hidden />, danger: true, run: () => onDeleteCollection(c) },
                  ]}
                />
              </div>
              {kids && expanded && branch(c.id, depth + 1)}
            </li>
          );
        })}
      </ul>
    );
  };
  return (
    <section className="collections" aria-labelledby="collections-heading">
      <div className="section-head">
        <h2 id="collections-heading">Collections</h2>
        <button type="button" className="icon-button small" aria-label="New collection" title="New collection" onClick={() => onNewCollection(null)}>
          <FolderPlus size={16} aria-hidden />
        </button>
      </div>
      {branch(null, 0) ?? <p className="muted small-print">Group documents in collections.</p>}
    </section>
  );
}
