/**
 * Hands the frames sockets send to the sync core in turns, so that one socket's backlog is
 * processed between everyone else's frames instead of ahead of them, and a workspace's
 * burst is processed at its sustained rate instead of all at once.
 *
 * uWebSockets.js has no pause for a WebSocket: it reads whatever arrives and calls the
 * message handler for every frame of a read at once (about 512 KB), and Hocuspocus
 * processes a connection's queue of frames in one go (microtasks, no I/O in between). A
 * socket that pipelined updates thus held the event loop for whole reads of them at a
 * time: checking, applying and broadcasting, while another workspace's keystroke, and the
 * database's answer to its commit, waited.
 *
 * Here a frame goes through at once when its socket has nothing waiting, its workspace is
 * within its pace and the current turn still has room (typing, cursors: always);
 * otherwise it waits in its socket's queue. Queues are served from an immediate, one frame
 * at a time, workspaces taking turns (and a workspace's sockets taking turns), until
 * `turnBytes` were handed over; then the event loop polls I/O again. A workspace past its
 * pace waits for it to refill. A socket's own frames keep their order. What waits is
 * bounded by the inbound byte budgets, charged before a frame is queued.
 */
import { ByteBucket } from './inbound-budget.js';

export interface InboundSchedulerConfiguration {
  /**
   * Bytes of frames handed over per event-loop turn: by sockets with nothing queued as they
   * arrive, and again from the queues. Processing costs roughly 10–40 µs per KB (check,
   * apply, broadcast, commit), so a turn stays within a few milliseconds. At least one
   * frame is handed over per turn, however large. @default 128 KiB
   */
  turnBytes: number;
  /**
   * Bytes one socket may have handed over at once in a turn; its further frames wait in its
   * queue. Larger frames always go through the queue. @default 32 KiB
   */
  socketTurnBytes: number;
  /**
   * Bytes of one workspace's frames processed as fast as they come; beyond, they are
   * processed at `workspaceBytesPerSecond`. A paste or an offline session's merge is one
   * frame, which always goes through when the workspace is within its pace. @default 1 MiB
   */
  workspaceBurstBytes: number;
  /**
   * The pace of a workspace past its burst: the refill rate of its inbound byte budget, so
   * the queue stays bounded by that budget. @default 4 MiB/s
   */
  workspaceBytesPerSecond: number;
}

export const DEFAULT_INBOUND_SCHEDULER: InboundSchedulerConfiguration = {
  turnBytes: 128 * 1024,
  socketTurnBytes: 32 * 1024,
  workspaceBurstBytes: 1_048_576,
  workspaceBytesPerSecond: 4 * 1_048_576,
};

/**
 * What a frame counts for at least in a turn, in bytes: a frame has a fixed cost too
 * (decoding, hooks, the append, the acknowledgement; a typing update takes 50–100 µs, what
 * 2–4 KB of a large update do). Without it, one read of 512 KB of tiny frames was
 * thousands of frames in one turn. Paces count the bytes themselves, like the byte budgets.
 */
const FRAME_MIN_COST = 2 * 1024;

const cost = (frame: Uint8Array) => Math.max(frame.byteLength, FRAME_MIN_COST);

/** A socket's waiting frames (a FIFO read from `head`, compacted as it drains). */
interface Queue<S> {
  socket: S;
  lane: string;
  frames: Uint8Array[];
  head: number;
}

function shift<S>(q: Queue<S>): Uint8Array {
  const frame = q.frames[q.head]!;
  q.frames[q.head++] = undefined as unknown as Uint8Array;
  if (q.head > 1024 && q.head * 2 > q.frames.length) {
    q.frames = q.frames.slice(q.head);
    q.head = 0;
  }
  return frame;
}

const waiting = <S>(q: Queue<S>) => q.frames.length - q.head;

export class InboundScheduler<S> {
  /** Sockets with frames waiting. */
  private readonly queues = new Map<S, Queue<S>>();
  /** The same queues by workspace, in serving order (round-robin). */
  private readonly lanes = new Map<string, Queue<S>[]>();
  /** Each workspace's pace (kept while it refills). */
  private readonly paces = new Map<string, ByteBucket>();
  private sweptAt = Date.now();
  private waitingBytes = 0;
  private turnBytes = 0;
  private readonly turnBySocket = new Map<S, number>();
  private tick: NodeJS.Immediate | null = null;
  private timer: NodeJS.Timeout | null = null;

  /** `deliver` hands a frame to the sync core; it must not throw. */
  constructor(
    private readonly deliver: (socket: S, frame: Uint8Array) => void,
    readonly config: InboundSchedulerConfiguration = DEFAULT_INBOUND_SCHEDULER,
  ) {}

  /** Bytes of frames waiting for a turn. */
  get queuedBytes(): number {
    return this.waitingBytes;
  }

  /**
   * A frame from `socket`, whose workspace (or, before sign-in, whose address) is `lane`:
   * handed over now, or queued behind the socket's earlier frames.
   */
  push(socket: S, lane: string, frame: Uint8Array): void {
    const queue = this.queues.get(socket);
    if (queue) {
      queue.frames.push(frame);
      this.waitingBytes += frame.byteLength;
      return;
    }
    const now = Date.now();
    const n = cost(frame);
    const mine = this.turnBySocket.get(socket) ?? 0;
    const pace = this.pace(lane, now);
    if (this.turnBytes + n <= this.config.turnBytes && mine + n <= this.config.socketTurnBytes && pace.positive(now)) {
      this.turnBytes += n;
      this.turnBySocket.set(socket, mine + n);
      pace.spend(frame.byteLength, now);
      this.schedule();
      this.deliver(socket, frame);
      return;
    }
    const q: Queue<S> = { socket, lane, frames: [frame], head: 0 };
    this.queues.set(socket, q);
    const list = this.lanes.get(lane);
    if (list) list.push(q);
    else this.lanes.set(lane, [q]);
    this.waitingBytes += frame.byteLength;
    this.schedule();
  }

  /** Drops what a closed socket had waiting (none of it was processed or acknowledged). */
  forget(socket: S): void {
    this.turnBySocket.delete(socket);
    const q = this.queues.get(socket);
    if (!q) return;
    this.queues.delete(socket);
    for (let i = q.head; i < q.frames.length; i++) this.waitingBytes -= q.frames[i]!.byteLength;
    const rest = this.lanes.get(q.lane)?.filter((x) => x !== q) ?? [];
    if (rest.length > 0) this.lanes.set(q.lane, rest);
    else this.lanes.delete(q.lane);
  }

  private pace(lane: string, now: number): ByteBucket {
    let pace = this.paces.get(lane);
    if (!pace) this.paces.set(lane, (pace = new ByteBucket(this.config.workspaceBurstBytes, this.config.workspaceBytesPerSecond, now)));
    if (now - this.sweptAt > 60_000) {
      this.sweptAt = now;
      for (const [key, b] of this.paces) if (key !== lane && !this.lanes.has(key) && b.full(now)) this.paces.delete(key);
    }
    return pace;
  }

  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.tick ??= setImmediate(() => this.serve());
  }

  /**
   * One turn of the queues: round-robin over the workspaces within their pace, then over a
   * workspace's sockets. When every workspace waiting is past its pace, the next turn comes
   * when the first of them has refilled.
   */
  private serve(): void {
    this.tick = null;
    const now = Date.now();
    let served = 0;
    let passed = 0;
    while (this.lanes.size > 0 && passed < this.lanes.size && (served === 0 || served < this.config.turnBytes)) {
      const [lane, list] = this.lanes.entries().next().value as [string, Queue<S>[]];
      this.lanes.delete(lane);
      const pace = this.pace(lane, now);
      if (!pace.positive(now)) {
        this.lanes.set(lane, list);
        passed++;
        continue;
      }
      passed = 0;
      const q = list.shift()!;
      const frame = shift(q);
      if (waiting(q) > 0) list.push(q);
      else this.queues.delete(q.socket);
      if (list.length > 0) this.lanes.set(lane, list);
      served += cost(frame);
      this.waitingBytes -= frame.byteLength;
      pace.spend(frame.byteLength, now);
      this.deliver(q.socket, frame);
    }
    // A new turn: sockets with nothing queued may hand over frames again as they arrive.
    this.turnBytes = 0;
    this.turnBySocket.clear();
    if (this.lanes.size === 0) return;
    if (passed < this.lanes.size) return this.schedule();
    const wait = Math.min(...[...this.lanes.keys()].map((lane) => this.pace(lane, now).msUntilPositive(now)));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.schedule();
    }, wait);
    this.timer.unref();
  }
}
