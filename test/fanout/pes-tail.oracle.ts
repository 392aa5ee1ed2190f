/** The original PesTail (it re-joined the held tail with every chunk): the oracle the faster one must match byte for byte. */
import { PACKET_SIZE, hasPusi, pidOf } from '../../src/ts/packet.ts';
import { ProgramTracker, type ProgramInfo } from '../../src/ts/program-tracker.ts';

const EMPTY = Buffer.alloc(0);

export class ConcatPesTail {
  private readonly tracker = new ProgramTracker();
  private held: Buffer = EMPTY;
  /** Offset in `held` of each A/V PID's latest PUSI. */
  private readonly open = new Map<number, number>();
  private program: ProgramInfo | null = null;
  private av = new Set<number>();
  /** The PIDs whose open PES decide how much is held: video (audio for a radio channel). */
  private gate = new Set<number>();

  constructor(private readonly maxHeldBytes: number) {}

  get heldBytes(): number {
    return this.held.length;
  }

  /** Takes aligned output; returns what can go to players now (possibly empty). */
  push(buf: Buffer): Buffer {
    const base = this.held.length;
    const all = base === 0 ? buf : Buffer.concat([this.held, buf], base + buf.length);
    for (let off = base; off + PACKET_SIZE <= all.length; off += PACKET_SIZE) {
      this.tracker.classify(all, off);
      if (this.tracker.program !== this.program) this.learn(this.tracker.program);
      if (hasPusi(all, off)) {
        const pid = pidOf(all, off);
        if (this.av.has(pid)) this.open.set(pid, off);
      }
    }
    let cut = all.length;
    for (const [pid, off] of this.open) if (this.gate.has(pid) && off < cut) cut = off;
    if (all.length - cut > this.maxHeldBytes) {
      // A PID that went quiet must not hold everyone back.
      cut = all.length;
      this.open.clear();
    }
    this.held = cut === all.length ? EMPTY : all.subarray(cut);
    if (cut > 0) for (const [pid, off] of this.open) this.open.set(pid, off - cut);
    return cut === 0 ? EMPTY : all.subarray(0, cut);
  }

  /** The upstream ended: the held packets of complete PES, without each PID's open PES. */
  closeSegment(): Buffer {
    const held = this.held;
    const parts: Buffer[] = [];
    let runStart = -1;
    for (let off = 0; off + PACKET_SIZE <= held.length; off += PACKET_SIZE) {
      const opened = this.open.get(pidOf(held, off));
      const from = opened !== undefined && opened >= 0 ? opened : undefined;
      const drop = from !== undefined && off >= from;
      if (drop && runStart >= 0) {
        parts.push(held.subarray(runStart, off));
        runStart = -1;
      } else if (!drop && runStart < 0) {
        runStart = off;
      }
    }
    if (runStart >= 0) parts.push(held.subarray(runStart));
    this.held = EMPTY;
    this.open.clear();
    this.tracker.reset();
    this.program = null;
    this.av = new Set();
    this.gate = new Set();
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private learn(program: ProgramInfo | null): void {
    this.program = program;
    const streams = program?.streams ?? [];
    this.av = new Set(streams.filter((s) => s.kind === 'video' || s.kind === 'audio').map((s) => s.pid));
    const video = streams.filter((s) => s.kind === 'video').map((s) => s.pid);
    this.gate = new Set(video.length > 0 ? video : [...this.av]);
    for (const pid of [...this.open.keys()]) if (!this.av.has(pid)) this.open.delete(pid);
  }
}
