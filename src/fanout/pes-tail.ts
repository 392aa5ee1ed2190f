/**
 * Holds back each audio/video PID's open PES (from its latest payload-unit start) until the
 * next one begins, so a failed upstream never leaves players with half a frame: at a seam the
 * held packets of complete PES go out and the open ones are dropped. Without this, the
 * engine's last, cut-off frame reaches the decoder and shows as a corrupt frame at the seam.
 * Only video decides how much is held (audio for a channel without video): an audio PES can
 * carry a third of a second (ffmpeg packs several AAC frames into one), and holding behind it
 * delayed everything that long, in bursts. The cost is about one video frame of delay. An audio
 * PES that began in the held bytes and is still open at a seam is dropped too; muxers write
 * audio PES between video frames, so the audio a seam cuts off is nearly always in the held part.
 *
 * The held bytes stay the upstream's own buffers (a list, addressed by absolute stream
 * offsets) and go out as views of them: nothing is copied here. Re-joining the whole held
 * tail on every chunk made garbage collection the largest cost of a many-channel relay.
 *
 * Its scan also finds where a joiner may start (PAT, video random-access point): those go to
 * `marks`, where the replay window finds them without a scan of its own (sync-marks.ts).
 * Offsets count output bytes: a closing segment's dropped packets leave no gap in them.
 */
import { PACKET_SIZE, PID_COUNT, hasPusi, pidOf } from '../ts/packet.ts';
import { PACKET_PAT, PACKET_RAP, ProgramTracker, type ProgramInfo } from '../ts/program-tracker.ts';
import { MARK_PAT, MARK_RADIO, MARK_RAP, SyncMarks } from './sync-marks.ts';

const EMPTY = Buffer.alloc(0);

export class PesTail {
  private readonly tracker = new ProgramTracker();
  /** Held buffers, oldest first; `chunks[0]` starts at absolute offset `heldFrom - skip`. */
  private chunks: Buffer[] = [];
  /** Bytes of `chunks[0]` already sent. */
  private skip = 0;
  /** Absolute offset (of the output: see above) of the first held byte. */
  private heldFrom = 0;
  /** Absolute offset just past the last byte taken. */
  private end = 0;
  private program: ProgramInfo | null = null;
  /**
   * Per PID, 1 + its place in `avPids` (0: not audio or video). Arrays indexed by PID, not a
   * Map and a Set: every payload-unit start looks its PID up, millions a second unpaced.
   * A byte each (8 KiB a channel): a PMT is read only when it fits in one packet: 33 streams at most.
   */
  private readonly slotOf = new Uint8Array(PID_COUNT);
  /** The program's audio and video PIDs. */
  private avPids: number[] = [];
  /** Per entry of `avPids`: the absolute offset of its latest PUSI, -1 while none is open. */
  private opens: number[] = [];
  /** Places in `avPids` whose open PES decide how much is held: video (audio for a radio channel). */
  private gate: number[] = [];
  /** What push returns, reused (a list per call was garbage on every upstream chunk). */
  private readonly out: Buffer[] = [];
  /** Start points in what was added, by absolute offset (read by the replay window). */
  readonly marks = new SyncMarks();

  constructor(private readonly maxHeldBytes: number) {}

  get heldBytes(): number {
    return this.end - this.heldFrom;
  }

  /**
   * Takes aligned output (one buffer, or several in order: the same as their concatenation);
   * returns what can go to players now, in order, as views of the buffers it was given
   * (empty: nothing yet). Joining them, if at all, is the caller's choice. The list is reused:
   * it holds them until the next call only.
   */
  push(input: Buffer | readonly Buffer[]): Buffer[] {
    if (Buffer.isBuffer(input)) this.add(input);
    else for (const buf of input) this.add(buf);
    let cut = this.end;
    for (let i = 0; i < this.gate.length; i++) {
      const at = this.opens[this.gate[i]!]!;
      if (at >= 0 && at < cut) cut = at;
    }
    if (this.end - cut > this.maxHeldBytes) {
      // A PID that went quiet must not hold everyone back.
      cut = this.end;
      this.opens.fill(-1);
    }
    return this.take(cut);
  }

  private add(buf: Buffer): void {
    const base = this.end;
    for (let off = 0; off + PACKET_SIZE <= buf.length; off += PACKET_SIZE) {
      // Only a packet that starts a PES or section can open one or change the program.
      if (!hasPusi(buf, off)) continue;
      const flags = this.tracker.classify(buf, off);
      if (this.tracker.program !== this.program) this.learn(this.tracker.program);
      if (flags & PACKET_PAT) this.marks.add(base + off, this.program && this.program.videoPid < 0 ? MARK_PAT | MARK_RADIO : MARK_PAT);
      else if (flags & PACKET_RAP) this.marks.add(base + off, MARK_RAP);
      const slot = this.slotOf[pidOf(buf, off)]!;
      if (slot !== 0) this.opens[slot - 1] = base + off;
    }
    if (buf.length > 0) this.chunks.push(buf);
    this.end += buf.length;
  }

  /** Whether a held view lies in `memory`. */
  holds(memory: ArrayBufferLike): boolean {
    for (const c of this.chunks) if (c.buffer === memory) return true;
    return false;
  }

  /** The upstream ended: the held packets of complete PES, without each PID's open PES. */
  closeSegment(): Buffer {
    const pieces = this.take(this.end);
    const held = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    const from = this.end - held.length;
    // `held` as runs of kept and of dropped packets, each as [start, end) pairs.
    const kept: number[] = [];
    const gaps: number[] = [];
    let runStart = 0;
    let dropping = false;
    for (let off = 0; off + PACKET_SIZE <= held.length; off += PACKET_SIZE) {
      const slot = this.slotOf[pidOf(held, off)]!;
      const openAt = slot === 0 ? -1 : this.opens[slot - 1]!;
      // Only a PES that began in the held bytes is dropped; one already partly sent goes out whole.
      const drop = openAt >= 0 && openAt >= from && from + off >= openAt;
      if (drop === dropping) continue;
      if (off > runStart) (dropping ? gaps : kept).push(runStart, off);
      runStart = off;
      dropping = drop;
    }
    if (held.length > runStart) (dropping ? gaps : kept).push(runStart, held.length);
    const parts: Buffer[] = [];
    for (let i = 0; i < kept.length; i += 2) parts.push(held.subarray(kept[i], kept[i + 1]));
    // Offsets count output: a dropped run's marks go and those after it move down. The last
    // run first, so the offsets of the earlier ones still hold.
    for (let i = gaps.length - 2; i >= 0; i -= 2) {
      this.marks.cut(from + gaps[i]!, from + gaps[i + 1]!);
      this.heldFrom = this.end -= gaps[i + 1]! - gaps[i]!;
    }
    this.tracker.reset();
    this.learn(null);
    return parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Removes and returns the held bytes before absolute offset `cut`, as views (in `out`). */
  private take(cut: number): Buffer[] {
    const parts = this.out;
    parts.length = 0;
    let n = cut - this.heldFrom;
    if (n <= 0) return parts;
    this.heldFrom = cut;
    while (n > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.skip;
      if (avail <= n) {
        parts.push(this.skip === 0 ? c : c.subarray(this.skip));
        this.chunks.shift();
        this.skip = 0;
        n -= avail;
      } else {
        parts.push(c.subarray(this.skip, this.skip + n));
        this.skip += n;
        n = 0;
      }
    }
    return parts;
  }

  /** A new program (null: none yet): its A/V PIDs, keeping the open PES of those it still has. */
  private learn(program: ProgramInfo | null): void {
    this.program = program;
    // One place per PID: a PMT may list a PID twice (as video and as audio), and the gate must
    // watch the place the scan updates. A PID listed as video anywhere gates.
    const pids: number[] = [];
    const video: boolean[] = [];
    for (const s of program?.streams ?? []) {
      if (s.kind !== 'video' && s.kind !== 'audio') continue;
      const at = pids.indexOf(s.pid);
      if (at >= 0) video[at] = video[at]! || s.kind === 'video';
      else {
        pids.push(s.pid);
        video.push(s.kind === 'video');
      }
    }
    const opens = pids.map((pid) => (this.slotOf[pid]! === 0 ? -1 : this.opens[this.slotOf[pid]! - 1]!));
    for (const pid of this.avPids) this.slotOf[pid] = 0;
    pids.forEach((pid, i) => (this.slotOf[pid] = i + 1));
    this.avPids = pids;
    this.opens = opens;
    const gate = pids.flatMap((_, i) => (video[i] ? [i] : []));
    this.gate = gate.length > 0 ? gate : pids.map((_, i) => i);
  }
}
