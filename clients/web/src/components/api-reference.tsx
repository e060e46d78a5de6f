/**
 * The REST API reference (`/developers/api`): the server's OpenAPI document
 * (`GET /api/v1/openapi.json`) as a page — operations grouped by tag, each with its method
 * and path, who may call it, parameters, body, answers and examples — with a filter box.
 * `#<operationId>` in the address opens that operation.
 */
import { useEffect, useMemo, useState, type MouseEvent, type ReactNode } from 'react';
import { navigate } from '../router.js';
import './api-reference.css';

type Schema = { [key: string]: unknown };
interface Media {
  schema?: Schema;
  example?: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: Schema;
}
interface Operation {
  operationId: string;
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Record<string, string[]>[];
  'x-api-key-scope'?: string | null;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, Media> };
  responses?: Record<string, { $ref?: string; description?: string; content?: Record<string, Media>; headers?: Record<string, { description?: string }> }>;
}
interface OpenApi {
  info: { title: string; version: string; description?: string };
  tags?: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Entry {
  method: string;
  path: string;
  op: Operation;
  text: string;
}

const DOCUMENT_URL = '/api/v1/openapi.json';

const currentHash = () => decodeURIComponent(window.location.hash.slice(1));
const tagId = (tag: string) => `tag-${tag.replace(/\W+/g, '-')}`;

/** Jumps to a section without a navigation (the address keeps it for a reload or a shared link). */
function jumpTo(e: MouseEvent, id: string): void {
  e.preventDefault();
  const target = document.getElementById(id);
  target?.scrollIntoView({ block: 'start' });
  target?.focus({ preventScroll: true });
  history.replaceState(history.state, '', `#${id}`);
}

/** The name of a `#/components/schemas/X` reference. */
const refName = (s: Schema | undefined): string | null => (typeof s?.$ref === 'string' ? (s.$ref.split('/').pop() ?? null) : null);

/** A schema in a few words: `string (uuid)`, `Comment[]`, `"a" | "b"`. */
function typeLabel(s: Schema | undefined): string {
  if (!s) return 'any';
  const name = refName(s);
  if (name) return name;
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if ('const' in s) return JSON.stringify(s.const);
  const union = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(union)) return union.map(typeLabel).join(' | ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type as string | undefined);
  if (type === 'array') return `${typeLabel(s.items as Schema | undefined)}[]`;
  if (type === 'string' && typeof s.format === 'string') return `string (${s.format})`;
  if (type === 'string' && typeof s.contentMediaType === 'string') return `${s.contentMediaType} bytes`;
  return type ?? (s.properties ? 'object' : 'any');
}

/** Limits worth showing next to a field: lengths, ranges, defaults. */
function limits(s: Schema): string {
  const out: string[] = [];
  if (typeof s.minLength === 'number' || typeof s.maxLength === 'number') out.push(`${s.minLength ?? 0}–${s.maxLength ?? '∞'} chars`);
  if (typeof s.minimum === 'number' || typeof s.maximum === 'number') out.push(`${s.minimum ?? '−∞'}–${s.maximum ?? '∞'}`);
  if (typeof s.minItems === 'number' || typeof s.maxItems === 'number') out.push(`${s.minItems ?? 0}–${s.maxItems ?? '∞'} items`);
  if ('default' in s) out.push(`default ${JSON.stringify(s.default)}`);
  return out.join(', ');
}

/** An object schema's fields as a table, nested objects and references one click deeper. */
function SchemaView({ schema, doc, depth = 0 }: { schema: Schema | undefined; doc: OpenApi; depth?: number }) {
  const name = refName(schema);
  const resolved = name ? doc.components?.schemas?.[name] : schema;
  if (!resolved) return <code>{typeLabel(schema)}</code>;
  const items = resolved.type === 'array' ? (resolved.items as Schema | undefined) : undefined;
  if (items && (refName(items) || (items.properties && depth < 4))) {
    return (
      <div className="schema">
        <span className="schema-note">
          Array of <code>{typeLabel(items)}</code>
        </span>
        <SchemaView schema={items} doc={doc} depth={depth + 1} />
      </div>
    );
  }
  const union = (resolved.anyOf ?? resolved.oneOf) as Schema[] | undefined;
  if (Array.isArray(union) && union.some((u) => u.properties || refName(u))) {
    return (
      <div className="schema">
        <span className="schema-note">One of:</span>
        {union.map((u, i) => (
          <SchemaView key={i} schema={u} doc={doc} depth={depth + 1} />
        ))}
      </div>
    );
  }
  const props = resolved.properties as Record<string, Schema> | undefined;
  if (!props) return <code>{typeLabel(resolved)}</code>;
  const required = new Set((resolved.required as string[] | undefined) ?? []);
  return (
    <table className="schema-table">
      <tbody>
        {Object.entries(props).map(([key, p]) => {
          const ref = refName(p) ?? (p.type === 'array' ? refName(p.items as Schema) : null);
          const target = ref ? doc.components?.schemas?.[ref] : undefined;
          // A reference to an object opens below; one to a list of values shows them here.
          const inner = target && (target.properties || target.anyOf || target.oneOf || target.type === 'array') ? ref : null;
          const values = target && !inner ? typeLabel(target) : null;
          const nested = !inner && Boolean(p.properties) && depth < 4;
          return (
            <tr key={key}>
              <th scope="row">
                <code>{key}</code>
                {required.has(key) ? <span className="req">required</span> : null}
              </th>
              <td>
                <code className="type">{typeLabel(p)}</code>
                {values && <code className="values"> {values}</code>}
                {limits(p) && <span className="limits"> {limits(p)}</span>}
                {typeof p.description === 'string' && (
                  <div className="field-note">
                    <Prose text={p.description} />
                  </div>
                )}
                {inner && depth < 3 && (
                  <details className="nested">
                    <summary>{inner}</summary>
                    <SchemaView schema={p.type === 'array' ? (p.items as Schema) : p} doc={doc} depth={depth + 1} />
                  </details>
                )}
                {nested && <SchemaView schema={p} doc={doc} depth={depth + 1} />}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A description's `code` spans as code; the rest as text. */
function Prose({ text }: { text: string }) {
  return <>{text.split(/(`[^`]+`)/).map((part, i) => (part.length > 2 && part.startsWith('`') && part.endsWith('`') ? <code key={i}>{part.slice(1, -1)}</code> : part))}</>;
}

function Example({ value }: { value: unknown }) {
  return (
    <pre className="example">
      <code>{JSON.stringify(value, null, 2)}</code>
    </pre>
  );
}

function who(op: Operation): { label: string; kind: string } {
  if (!op.security || op.security.length === 0) return { label: 'Public', kind: 'public' };
  const scope = op['x-api-key-scope'];
  if (!scope) return { label: 'Access token only', kind: 'session' };
  return { label: `Token or API key (${scope})`, kind: 'key' };
}

function Content({ content, doc }: { content: Record<string, Media>; doc: OpenApi }) {
  return (
    <>
      {Object.entries(content).map(([type, m]) => (
        <div key={type} className="media">
          <code className="media-type">{type}</code>
          {refName(m.schema) && <span className="schema-name">{refName(m.schema)}</span>}
          {m.schema && (refName(m.schema) || m.schema.properties || m.schema.anyOf) ? <SchemaView schema={m.schema} doc={doc} /> : null}
          {m.example !== undefined && (
            <>
              <div className="label">Example</div>
              <Example value={m.example} />
            </>
          )}
        </div>
      ))}
    </>
  );
}

function OperationView({ entry, doc, open }: { entry: Entry; doc: OpenApi; open: boolean }) {
  const { op, method, path } = entry;
  const access = who(op);
  const params = op.parameters ?? [];
  const responses = Object.entries(op.responses ?? {}).filter(([status]) => status !== 'default');
  return (
    <details className="operation" id={op.operationId} open={open} data-testid="api-operation">
      <summary>
        <span className={`method method-${method}`}>{method.toUpperCase()}</span>
        <code className="path">{path}</code>
        <span className="op-summary">{op.summary}</span>
        <span className={`access access-${access.kind}`}>{access.label}</span>
      </summary>
      <div className="op-body">
        {op.description && (
          <p className="op-description">
            <Prose text={op.description} />
          </p>
        )}
        {params.length > 0 && (
          <>
            <h4>Parameters</h4>
            <table className="schema-table">
              <tbody>
                {params.map((p) => (
                  <tr key={`${p.in}:${p.name}`}>
                    <th scope="row">
                      <code>{p.name}</code>
                      <span className="where">{p.in}</span>
                      {p.required ? <span className="req">required</span> : null}
                    </th>
                    <td>
                      <code className="type">{typeLabel(p.schema)}</code>
                      {p.schema && limits(p.schema) && <span className="limits"> {limits(p.schema)}</span>}
                      {p.description && (
                        <div className="field-note">
                          <Prose text={p.description} />
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
        {op.requestBody?.content && (
          <>
            <h4>Request body{op.requestBody.required ? '' : ' (optional)'}</h4>
            <Content content={op.requestBody.content} doc={doc} />
          </>
        )}
        <h4>Responses</h4>
        {responses.map(([status, r]) => (
          <div key={status} className="response">
            <div>
              <span className={`status status-${status[0]}`}>{status}</span> <Prose text={r.description ?? ''} />
            </div>
            {r.headers && (
              <ul className="headers">
                {Object.entries(r.headers).map(([h, v]) => (
                  <li key={h}>
                    <code>{h}</code>: <Prose text={v.description ?? ''} />
                  </li>
                ))}
              </ul>
            )}
            {r.content && <Content content={r.content} doc={doc} />}
          </div>
        ))}
        <p className="muted errors-note">
          Errors answer <code>{'{ "error": { "code", "message", "details"? } }'}</code> with a 4xx or 5xx status.
        </p>
      </div>
    </details>
  );
}

export function ApiReference() {
  const [doc, setDoc] = useState<OpenApi | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const [hash, setHash] = useState(currentHash);
  useEffect(() => {
    const on = () => setHash(currentHash());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    let live = true;
    void (async () => {
      try {
        const r = await fetch(DOCUMENT_URL, { headers: { accept: 'application/json' } });
        if (!r.ok) throw new Error(`the server answered ${r.status}`);
        const d = (await r.json()) as OpenApi;
        if (live) setDoc(d);
      } catch (e) {
        if (live) setError(`The API description could not be loaded: ${(e as Error).message}.`);
      }
    })();
    return () => {
      live = false;
    };
  }, []);
  useEffect(() => {
    if (doc && hash) document.getElementById(hash)?.scrollIntoView({ block: 'start' });
  }, [doc, hash]);

  const entries = useMemo<Entry[]>(() => {
    if (!doc) return [];
    return Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method,
        path,
        op,
        text: `${method} ${path} ${op.summary ?? ''} ${op.description ?? ''} ${(op.tags ?? []).join(' ')}`.toLowerCase(),
      })),
    );
  }, [doc]);
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = entries.filter((e) => words.every((w) => e.text.includes(w)));
  const tags = (doc?.tags ?? []).map((t) => t.name);
  const groups = tags.map((tag) => ({ tag, ops: shown.filter((e) => (e.op.tags ?? [])[0] === tag) })).filter((g) => g.ops.length > 0);

  return (
    <section className="api-reference" aria-labelledby="api-heading">
      <h2 id="api-heading">API reference</h2>
      <p className="muted">
        Everything the app does goes through this REST API. Send <code>Authorization: Bearer &lt;token&gt;</code> with an access token or an API key (make one on{' '}
        <InAppLink href="/account">your account page</InAppLink>). The machine-readable description is <a href={DOCUMENT_URL}>OpenAPI 3.1</a>
        {doc ? ` (version ${doc.info.version}, ${entries.length} operations)` : ''}.
      </p>
      <div className="api-filter">
        <label htmlFor="api-filter">Filter operations</label>
        <input id="api-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. comments, POST /documents, upload" autoComplete="off" />
        {doc && (
          <span className="muted" aria-live="polite">
            {shown.length === entries.length ? `${entries.length} operations` : `${shown.length} of ${entries.length}`}
          </span>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {!error && !doc && <p className="muted">Loading…</p>}
      {doc && (
        <div className="api-layout">
          <nav className="api-tags" aria-label="API sections">
            <ul>
              {groups.map((g) => (
                <li key={g.tag}>
                  <a href={`#${tagId(g.tag)}`} onClick={(e) => jumpTo(e, tagId(g.tag))}>
                    {g.tag} <span className="muted">{g.ops.length}</span>
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <div className="api-groups">
            {groups.length === 0 && <p className="muted">No operation matches “{filter}”.</p>}
            {groups.map((g) => (
              <section key={g.tag} className="api-group" aria-labelledby={tagId(g.tag)}>
                <h3 id={tagId(g.tag)} tabIndex={-1}>
                  {g.tag}
                </h3>
                {g.ops.map((e) => (
                  <OperationView key={`${e.method} ${e.path}`} entry={e} doc={doc} open={e.op.operationId === hash} />
                ))}
              </section>
            ))}
          </div>
        </div>
      )}
    </section>
  );
}

/** A link to the reference, for settings pages. */
export function ApiReferenceLink({ children }: { children: ReactNode }) {
  return <InAppLink href="/developers/api">{children}</InAppLink>;
}

function InAppLink({ href, children }: { href: string; children: ReactNode }) {
  return (
    <a
      href={href}
      onClick={(e) => {
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
