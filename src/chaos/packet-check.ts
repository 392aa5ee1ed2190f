/**
 * Invariant 9 as the bytes arrive: whole 188-byte packets starting with 0x47, and per PID no
 * packet lost or repeated (continuity counters), except across a marked discontinuity. A
 * player checks its own stream as it reads it, so a crowd of 200 keeps no bytes around.
 */
const PACKET = 188;
const NULL_PID = 0x1fff;

/** The first thing found wrong in a player's bytes. */
export type PacketFault =
  | { kind: 'alignment'; byte: number }
  | { kind: 'continuity'; byte: number; pid: number; previous: number; counter: number };

export function describeFault(f: PacketFault): string {
  return f.kind === 'alignment'
    ? `byte ${f.byte} is not a packet start`
    : `PID ${f.pid} counter ${f.counter} after ${f.previous} at byte ${f.byte} (lost or repeated packets)`;
}

export class PacketCheck {
  /** Packets checked (null packets included). */
  packets = 0;
  /** The first thing found wrong (checking stops there). */
  fault: PacketFault | null = null;
  private readonly last = new Map<number, number>();
  /** The start of a packet split across chunks. */
  private tail: Buffer = Buffer.alloc(0);
  private offset = 0;

  /** Checks the packets this chunk completes; returns whether any of them is not a null packet (media). */
  push(chunk: Buffer): boolean {
    const buf = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    let media = false;
    let off = 0;
    for (; off + PACKET <= buf.length; off += PACKET) {
      const pid = ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
      if (pid !== NULL_PID) media = true;
      if (this.fault === null) this.check(buf, off, pid);
    }
    this.offset += off;
    this.tail = Buffer.from(buf.subarray(off));
    return media;
  }

  private check(buf: Buffer, off: number, pid: number): void {
    this.packets++;
    if (buf[off] !== 0x47) {
      this.fault = { kind: 'alignment', byte: this.offset + off };
      return;
    }
    if (pid === NULL_PID) return;
    const afc = (buf[off + 3]! >> 4) & 3;
    const cc = buf[off + 3]! & 0x0f;
    const discontinuity = (afc & 2) !== 0 && buf[off + 4]! > 0 && (buf[off + 5]! & 0x80) !== 0;
    const prev = this.last.get(pid);
    if (prev !== undefined && !discontinuity) {
      const expected = afc & 1 ? (prev + 1) & 0x0f : prev;
      if (cc !== expected) {
        this.fault = { kind: 'continuity', byte: this.offset + off, pid, previous: prev, counter: cc };
        return;
      }
    }
    this.last.set(pid, cc);
  }
}
