/**
 * Comparing two states of a document: what text was added and removed between an older and
 * a newer state, and by whom.
 *
 * Both states are applied to one scratch document (garbage collection off): the older
 * first, so every item visible in it keeps its content, then the newer, whose deletions
 * mark what went since. An item is in a state when its id is below the state's vector and
 * not in its delete set (what Yjs snapshots mean); history only moves forward, so the newer
 * state holds everything the older one does and the scratch document's deletions are the
 * newer state's. Walking the scratch document's `default` fragment in order then gives
 * every piece of text: in both (`same`), only in the newer (`added`, by its writer), only in
 * the older (`removed`, by its deleter). Authorship comes from `authorship.ts`.
 *
 * Computed from stored states alone (versions and the committed current state), never from
 * a live document, on the folding thread (`diffStored` in `fold.ts`).
 */
import * as Y from 'yjs';
import type { DiffAuthor, DiffBlock, DiffChange, DiffRun } from '../contract/api.js';
import type { Authorship } from './authorship-recorder.js';
import { ContentTooDeepError, FRAGMENT, MAX_READ_DEPTH } from './content.js';

export interface StateDiff {
  blocks: DiffBlock[];
  authors: DiffAuthor[];
}

function inState(snap: Y.Snapshot, client: number, clock: number): boolean {
  return clock < (snap.sv.get(client) ?? 0) && !Y.isDeleted(snap.ds, Y.createID(client, clock));
}

class Walker {
  private readonly counts = new Map<string | null, { added: number; removed: number }>();

  constructor(
    private readonly older: Y.Snapshot,
    private readonly authorship: Authorship,
  ) {}

  /** The fate of a one-clock item (an element): `null` when in neither state. */
  private fate(item: Y.Item): DiffChange | null {
    const inOld = inState(this.older, item.id.client, item.id.clock);
    if (!item.deleted) return inOld ? 'same' : 'added';
    return inOld ? 'removed' : null;
  }

  private push(runs: DiffRun[], change: DiffChange, text: string, by: string | null): void {
    const last = runs[runs.length - 1];
    if (last && last.change === change && last.by === by) last.text += text;
    else runs.push({ change, text, by });
  }

  private count(change: DiffChange, by: string | null, n: number): void {
    if (change === 'same') return;
    const c = this.counts.get(by) ?? { added: 0, removed: 0 };
    c[change] += n;
    this.counts.set(by, c);
  }

  /** The runs of a text item's characters: a scratch item may span both states and several authors. */
  private text(item: Y.Item, str: string, runs: DiffRun[]): void {
    const { client, clock } = item.id;
    const oldEnd = (this.older.sv.get(client) ?? 0) - clock;
    let i = 0;
    while (i < str.length) {
      // In the newer state: the whole item is (not deleted) or none of it is (deleted).
      let change: DiffChange | null;
      let end: number;
      if (!item.deleted) {
        change = i < oldEnd ? 'same' : 'added';
        end = i < oldEnd ? Math.min(str.length, oldEnd) : str.length;
      } else {
        const inOld = inState(this.older, client, clock + i);
        change = inOld ? 'removed' : null;
        end = i + 1;
        while (end < str.length && inState(this.older, client, clock + end) === inOld) end++;
      }
      let by: string | null = null;
      if (change === 'added' || change === 'removed') {
        const who = change === 'added' ? this.authorship.writer(client, clock + i) : this.authorship.deleter(client, clock + i);
        by = who.userId;
        end = Math.min(end, who.until - clock);
      }
      end = Math.max(end, i + 1);
      if (change) {
        this.push(runs, change, str.slice(i, end), by);
        this.count(change, by, end - i);
      }
      i = end;
    }
  }

  /** A line break between two text blocks of one top-level block. */
  private breakBefore(runs: DiffRun[], change: DiffChange): void {
    const last = runs[runs.length - 1];
    if (last && !last.text.endsWith('\n')) this.push(runs, change, '\n', null);
  }

  private children(type: { _start: Y.Item | null }, runs: DiffRun[], depth: number): void {
    if (depth > MAX_READ_DEPTH) throw new ContentTooDeepError();
    for (let item = type._start; item !== null; item = item.right) {
      const content = item.content;
      if (content instanceof Y.ContentString) this.text(item, content.str, runs);
      else if (content instanceof Y.ContentType) {
        const child = content.type;
        const fate = this.fate(item);
        if (fate === null) continue;
        if (child instanceof Y.XmlElement) {
          this.breakBefore(runs, fate);
          if (child.nodeName === 'hardBreak') this.push(runs, fate, '\n', null);
          this.children(child, runs, depth + 1);
        } else if (child instanceof Y.XmlText) {
          this.children(child, runs, depth + 1);
        }
      }
    }
  }

  blocks(fragment: Y.XmlFragment): DiffBlock[] {
    const out: DiffBlock[] = [];
    for (let item = fragment._start; item !== null; item = item.right) {
      if (!(item.content instanceof Y.ContentType)) continue;
      const fate = this.fate(item);
      if (fate === null) continue;
      const type = item.content.type;
      const runs: DiffRun[] = [];
      this.children(type, runs, 1);
      out.push({ type: type instanceof Y.XmlElement ? type.nodeName : 'text', change: fate, runs });
    }
    return out;
  }

  authors(): DiffAuthor[] {
    return [...this.counts]
      .map(([userId, c]) => ({ userId, added: c.added, removed: c.removed }))
      .sort((a, b) => b.added + b.removed - (a.added + a.removed) || String(a.userId).localeCompare(String(b.userId)));
  }
}

/**
 * What changed from the state `older` to `newer` (each a document's state as one update;
 * `newer` a later state of the same document: it holds everything `older` does). The older
 * state's snapshot is taken from the scratch document before the newer state is applied.
 */
export function diffUpdates(older: Uint8Array, newer: Uint8Array, authorship: Authorship): StateDiff {
  const scratch = new Y.Doc({ gc: false });
  try {
    Y.applyUpdate(scratch, older);
    const before = Y.snapshot(scratch);
    Y.applyUpdate(scratch, newer);
    const walker = new Walker(before, authorship);
    const blocks = walker.blocks(scratch.getXmlFragment(FRAGMENT));
    return { blocks, authors: walker.authors() };
  } finally {
    scratch.destroy();
  }
}

/** `diffUpdates` of two documents (neither is modified). */
export function diffStates(older: Y.Doc, newer: Y.Doc, authorship: Authorship): StateDiff {
  return diffUpdates(Y.encodeStateAsUpdate(older), Y.encodeStateAsUpdate(newer), authorship);
}
