/**
 * Marking a seam (the point where bytes from a new upstream session follow the old ones)
 * with the adaptation field's discontinuity_indicator, so decoders reset their clock and
 * continuity checks instead of reporting errors.
 */
import {
  AF_DISCONTINUITY,
  PACKET_SIZE,
  SYNC_BYTE,
  continuityCounter,
  hasAdaptationField,
  hasPayload,
  pidOf,
} from './packet.ts';

/**
 * Sets the discontinuity_indicator in place when the packet's adaptation field has a flags
 * byte; returns false when it has none (use `discontinuityPacket` instead).
 */
export function setDiscontinuityFlag(buf: Uint8Array, off: number): boolean {
  if (!hasAdaptationField(buf, off) || buf[off + 4] === 0) return false;
  buf[off + 5] = buf[off + 5]! | AF_DISCONTINUITY;
  return true;
}

/**
 * An adaptation-field-only packet (AFC=10, field length 183, discontinuity flag, stuffing)
 * for `pid` carrying continuity counter `cc`. Written into `target` at `off`, or into a
 * new buffer.
 */
export function discontinuityPacket(pid: number, cc: number, target?: Buffer, off = 0): Buffer {
  const out = target ?? Buffer.allocUnsafe(PACKET_SIZE);
  out.fill(0xff, off, off + PACKET_SIZE);
  out[off] = SYNC_BYTE;
  out[off + 1] = (pid >> 8) & 0x1f;
  out[off + 2] = pid & 0xff;
  out[off + 3] = 0x20 | (cc & 0x0f);
  out[off + 4] = PACKET_SIZE - 5;
  out[off + 5] = AF_DISCONTINUITY;
  return out;
}

/**
 * Marks the packet at `off` as the first after a seam on its PID. Flags it in place when
 * it can; otherwise returns a packet to send right before it. That packet carries no
 * payload, so it repeats the previous counter, `cc − 1` relative to the marked packet:
 * counters stay valid as long as the marked packet's own counter already is.
 */
export function markDiscontinuity(buf: Uint8Array, off: number): Buffer | null {
  if (setDiscontinuityFlag(buf, off)) return null;
  const cc = continuityCounter(buf, off);
  return discontinuityPacket(pidOf(buf, off), hasPayload(buf, off) ? (cc - 1) & 0x0f : cc);
}
