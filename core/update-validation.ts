/**
 * Validation of Yjs updates before they are stored.
 *
 * `Y.decodeUpdate` accepts updates that `Y.applyUpdate` (yjs 13.6) throws on, and an update
 * that throws, once stored, fails every later load of its document. Two such shapes are
 * known, both never produced by Yjs itself:
 *
 * - A delete range of length 0. The V1 format stores a range's length as is, and a range
 *   the receiving document cannot apply yet (its items are unknown: a fresh document, or a
 *   log row loaded before the rows it deletes from) is kept as a pending delete set,
 *   re-encoded with `UpdateEncoderV2.writeDsLen`, which throws `Unexpected case` on 0.
 *   `0001b2f219010500` is such an update: no structs, one delete range (client 424242,
 *   clock 5, length 0).
 * - An item whose origin, right origin or parent is an item of its own client at or after
 *   its own clock. `Item.getMissing` checks only other clients' references against the
 *   state vector (its own client's earlier items are assumed present), so `findIndexSS` looks
 *   for a clock past the end of the struct array and throws (`reading 'id'`).
 *
 * `checkUpdate` finds those from the update alone and then applies the update to an empty
 * document: everything in it that references unknown state goes pending there, which runs
 * the code paths a log row meets when it is loaded before its dependencies. What depends on
 * the state of the document it is applied to (origin and right origin in different parents,
 * for instance) only shows when applied to that document: `applyChecked` does that and
 * reports a throw as an invalid update.
 */
import * as Y from 'yjs';

/** Stable codes of why an update is refused. */
export type UpdateProblemCode = 'undecodable' | 'empty_delete_range' | 'forward_reference' | 'unapplicable' | 'conflicts_with_document' | 'too_deep';

/**
 * Deepest nesting of elements (blocks in blocks) a document may reach. Everything that
 * reads a document walks it recursively (text for search, ProseMirror JSON, the editor), so a
 * 100,000-deep chain would overflow the stack of every reader; real documents (lists in
 * lists in a table) stay far below.
 * @default 64
 */
export const MAX_NESTING_DEPTH = 64;

/** How deep `type` sits below its root type, counting at most `limit + 1` levels. */
function nestingDepth(type: { _item: Y.Item | null }, limit: number): number {
  let depth = 0;
  let item = type._item;
  while (item && depth <= limit) {
    depth++;
    item = (item.parent as { _item: Y.Item | null })._item;
  }
  return depth;
}

export interface UpdateProblem {
  code: UpdateProblemCode;
  detail: string;
}

/** An update that cannot be stored: applying it (now or at a later load) would throw. */
export class InvalidUpdateError extends Error {
  readonly code = 'invalid_update';
  constructor(readonly problem: UpdateProblem) {
    super(`invalid update (${problem.code}): ${problem.detail}`);
    this.name = 'InvalidUpdateError';
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Whether `update` can be stored, judged from the update alone: null when it can, else why
 * not. Its cost depends on the update, not on the document (a typing update: ~2 µs to
 * decode, ~30 µs for the empty document and the pending re-encode), so it runs on every
 * incoming update.
 */
export function checkUpdate(update: Uint8Array): UpdateProblem | null {
  const decoded = decodeChecked(update);
  if ('code' in decoded) return decoded;
  return checkStructure(decoded) ?? checkOnEmptyDocument(update);
}

/** The decoded update, or why it cannot be decoded. */
export function decodeChecked(update: Uint8Array): ReturnType<typeof Y.decodeUpdate> | UpdateProblem {
  try {
    return Y.decodeUpdate(update);
  } catch (e) {
    return { code: 'undecodable', detail: message(e) };
  }
}

/** The checks of `checkUpdate` that read the decoded update only (linear in its size). */
export function checkStructure(decoded: ReturnType<typeof Y.decodeUpdate>): UpdateProblem | null {
  for (const s of decoded.structs) {
    if (!(s instanceof Y.Item)) continue;
    const { client, clock } = s.id;
    const parent = s.parent instanceof Y.ID ? s.parent : null;
    for (const ref of [s.origin, s.rightOrigin, parent]) {
      if (ref && ref.client === client && ref.clock >= clock) {
        return { code: 'forward_reference', detail: `item ${client}:${clock} references ${ref.client}:${ref.clock} of its own client` };
      }
    }
  }
  for (const [client, items] of decoded.ds.clients) {
    for (const it of items) {
      if (!(it.len > 0)) return { code: 'empty_delete_range', detail: `delete range of client ${client} at clock ${it.clock} has length ${it.len}` };
    }
  }
  return null;
}

/**
 * Applies `update` to an empty document: what references unknown state goes pending
 * there, the code paths a stored row meets when it is loaded before its dependencies.
 */
export function checkOnEmptyDocument(update: Uint8Array): UpdateProblem | null {
  // A fixed guid: generating a random one was half the cost of the check.
  const scratch = new Y.Doc({ gc: false, guid: 'quire-update-check' });
  try {
    Y.applyUpdate(scratch, update);
  } catch (e) {
    return { code: 'unapplicable', detail: message(e) };
  } finally {
    scratch.destroy();
  }
  return null;
}

/** `checkUpdate` that throws an InvalidUpdateError. */
export function validateUpdate(update: Uint8Array): void {
  const problem = checkUpdate(update);
  if (problem) throw new InvalidUpdateError(problem);
}

/**
 * Applies `update` to `doc`, turning a throw of Yjs into an InvalidUpdateError
 * (`conflicts_with_document`). Yjs has no rollback: after a throw the document may hold
 * part of the update, so the caller must treat its memory as ahead of the store.
 */
export function applyChecked(doc: Y.Doc, update: Uint8Array, origin?: unknown): void {
  // Elements this update added (its structs, between the state before and after): none of
  // them may sit deeper than the limit. Typing adds no element, so the common path only
  // steps over a few text items.
  let tooDeep = 0;
  const check = (tr: Y.Transaction) => {
    for (const [client, after] of tr.afterState) {
      const before = tr.beforeState.get(client) ?? 0;
      if (after <= before) continue;
      const structs = doc.store.clients.get(client);
      if (!structs) continue;
      for (let i = Y.findIndexSS(structs, before); i < structs.length && structs[i]!.id.clock < after; i++) {
        const s = structs[i];
        if (!(s instanceof Y.Item) || !(s.content instanceof Y.ContentType) || !(s.content.type instanceof Y.XmlElement)) continue;
        const depth = nestingDepth(s.content.type, MAX_NESTING_DEPTH);
        if (depth > MAX_NESTING_DEPTH) {
          tooDeep = depth;
          return;
        }
      }
    }
  };
  doc.on('afterTransaction', check);
  try {
    Y.applyUpdate(doc, update, origin);
  } catch (e) {
    throw new InvalidUpdateError({ code: 'conflicts_with_document', detail: message(e) });
  } finally {
    doc.off('afterTransaction', check);
  }
  if (tooDeep) throw new InvalidUpdateError({ code: 'too_deep', detail: `elements nested more than ${MAX_NESTING_DEPTH} levels deep` });
}
