/**
 * Splitting a Yjs update into smaller updates, so a large one is integrated a slice at a
 * time with the event loop free in between.
 *
 * Integrating an update is not linear in its size. YATA orders concurrent insertions at
 * one place by scanning the items already there, so each item of an update that was made
 * concurrently with many items at its position scans all of them: two ~143 KB updates
 * (20,000 characters each, inserted alternately at both ends of one text from two
 * clients, neither having seen the other) take about a minute to integrate, one after the
 * other, in a single synchronous `Y.applyUpdate`. No estimate from the update alone tells
 * that cost: it depends on what the document holds. Slicing bounds what one turn of the
 * event loop can spend to the cost of one slice, whose size adapts to what the previous
 * slices cost (see `SliceSizer`); the total is charged to the workspace's processing budget,
 * which stops the update once spent.
 *
 * Each slice is a complete update of its own: the structs of a contiguous stretch of the
 * original (each client's structs in clock order, as Yjs writes them) and an empty delete
 * set; the delete set comes last, in a slice of its own. Applied in order, the slices give
 * the same document as the whole update (`test/update-slices.test.ts`), and a prefix of
 * them is a state some client could have sent: every client's structs up to some clock.
 */
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

type Decoded = ReturnType<typeof Y.decodeUpdate>;
type Struct = Decoded['structs'][number];
type DeleteSet = Decoded['ds'];

/** The structs and delete set of a decoded update, handed out as slices. */
export class UpdateSlicer {
  private readonly structs: Struct[];
  private readonly ds: DeleteSet;
  private next = 0;
  private deletesDone = false;

  constructor(decoded: Decoded) {
    // Skips only mark gaps between the clocks of a merged update; a gap splits a run anyway.
    this.structs = decoded.structs.filter((s) => !(s instanceof Y.Skip));
    this.ds = decoded.ds;
    this.deletesDone = decoded.ds.clients.size === 0;
  }

  /** Structs not handed out yet. */
  get remaining(): number {
    return this.structs.length - this.next;
  }

  /** Whether every struct and the delete set were handed out. */
  get done(): boolean {
    return this.next >= this.structs.length && this.deletesDone;
  }

  /** The next slice of at most `maxStructs` structs (then the delete set); null when all were handed out. */
  take(maxStructs: number): Uint8Array | null {
    if (this.next < this.structs.length) {
      const end = Math.min(this.structs.length, this.next + Math.max(1, Math.floor(maxStructs)));
      const slice = encodeStructs(this.structs, this.next, end);
      this.next = end;
      return slice;
    }
    if (this.deletesDone) return null;
    this.deletesDone = true;
    return encodeDeletes(this.ds);
  }
}

/** An update (V1) of `structs[from..to)` and an empty delete set. */
function encodeStructs(structs: Struct[], from: number, to: number): Uint8Array {
  // Runs of one client's contiguous clocks, each written as Yjs writes a client's structs.
  const runs: Array<[number, number]> = [];
  for (let i = from; i < to; i++) {
    const s = structs[i]!;
    const prev = i > from ? structs[i - 1]! : null;
    if (prev && prev.id.client === s.id.client && prev.id.clock + prev.length === s.id.clock) runs[runs.length - 1]![1] = i + 1;
    else runs.push([i, i + 1]);
  }
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, runs.length);
  for (const [start, end] of runs) {
    const first = structs[start]!;
    encoding.writeVarUint(encoder.restEncoder, end - start);
    encoder.writeClient(first.id.client);
    encoding.writeVarUint(encoder.restEncoder, first.id.clock);
    for (let i = start; i < end; i++) structs[i]!.write(encoder, 0);
  }
  encoding.writeVarUint(encoder.restEncoder, 0); // no deletions
  return encoder.toUint8Array();
}

/** An update (V1) with no structs and the delete set `ds`, written as Yjs writes one. */
function encodeDeletes(ds: DeleteSet): Uint8Array {
  const encoder = new Y.UpdateEncoderV1();
  encoding.writeVarUint(encoder.restEncoder, 0); // no structs
  const clients = [...ds.clients.entries()].sort((a, b) => b[0] - a[0]);
  encoding.writeVarUint(encoder.restEncoder, clients.length);
  for (const [client, items] of clients) {
    encoder.resetDsCurVal();
    encoding.writeVarUint(encoder.restEncoder, client);
    encoding.writeVarUint(encoder.restEncoder, items.length);
    for (const item of items) {
      encoder.writeDsClock(item.clock);
      encoder.writeDsLen(item.len);
    }
  }
  return encoder.toUint8Array();
}

/**
 * The size of the next slice, from what the last one cost: grown while slices are cheap
 * (an honest offline session of 20,000 structs goes through in a few slices), shrunk at
 * once when one is not (a slice of concurrent insertions can cost milliseconds per struct).
 */
export class SliceSizer {
  size: number;
  constructor(private readonly options: { initial: number; min: number; max: number; targetMs: number }) {
    this.size = options.initial;
  }

  /** Records that the last slice of `structs` structs took `ms`. */
  record(structs: number, ms: number): void {
    const { min, max, targetMs } = this.options;
    if (structs <= 0) return;
    if (ms > targetMs) {
      // Per-struct cost times the target, at most half the last size: a costly slice is not repeated.
      const perStruct = ms / structs;
      this.size = Math.max(min, Math.min(Math.floor(this.size / 2), Math.floor(targetMs / perStruct)));
    } else if (ms < targetMs / 4 && structs >= this.size) {
      this.size = Math.min(max, this.size * 2);
    }
  }
}
