/**
 * MPEG-TS packet layout (ISO/IEC 13818-1 §2.4.3). Every accessor takes the buffer and the
 * offset of the packet's sync byte, so callers walk a chunk without slicing it.
 */
export const PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
export const PAT_PID = 0x0000;
export const NULL_PID = 0x1fff;
/** PIDs are 13 bits: 0 to 0x1fff. */
export const PID_COUNT = 0x2000;

/** adaptation_field_control values (2 bits). */
export const AFC_PAYLOAD_ONLY = 0b01;
export const AFC_ADAPTATION_ONLY = 0b10;
export const AFC_BOTH = 0b11;

/** Bits of the adaptation field's flags byte. */
export const AF_DISCONTINUITY = 0x80;
export const AF_RANDOM_ACCESS = 0x40;
export const AF_ES_PRIORITY = 0x20;
export const AF_PCR = 0x10;

export function isSynced(buf: Uint8Array, off: number): boolean {
  return buf[off] === SYNC_BYTE;
}

export function pidOf(buf: Uint8Array, off: number): number {
  return ((buf[off + 1]! & 0x1f) << 8) | buf[off + 2]!;
}

/** payload_unit_start_indicator: a PES or section begins in this packet. */
export function hasPusi(buf: Uint8Array, off: number): boolean {
  return (buf[off + 1]! & 0x40) !== 0;
}

export function adaptationFieldControl(buf: Uint8Array, off: number): number {
  return (buf[off + 3]! >> 4) & 0x03;
}

export function hasAdaptationField(buf: Uint8Array, off: number): boolean {
  return (buf[off + 3]! & 0x20) !== 0;
}

export function hasPayload(buf: Uint8Array, off: number): boolean {
  return (buf[off + 3]! & 0x10) !== 0;
}

export function continuityCounter(buf: Uint8Array, off: number): number {
  return buf[off + 3]! & 0x0f;
}

export function setContinuityCounter(buf: Uint8Array, off: number, cc: number): void {
  buf[off + 3] = (buf[off + 3]! & 0xf0) | (cc & 0x0f);
}

/** adaptation_field_length, or -1 when the packet has no adaptation field. */
export function adaptationFieldLength(buf: Uint8Array, off: number): number {
  return hasAdaptationField(buf, off) ? buf[off + 4]! : -1;
}

/** The adaptation field's flags byte, 0 when there is none (or it is empty). */
export function adaptationFlags(buf: Uint8Array, off: number): number {
  return hasAdaptationField(buf, off) && buf[off + 4]! > 0 ? buf[off + 5]! : 0;
}

export function isDiscontinuity(buf: Uint8Array, off: number): boolean {
  return (adaptationFlags(buf, off) & AF_DISCONTINUITY) !== 0;
}

export function isRandomAccess(buf: Uint8Array, off: number): boolean {
  return (adaptationFlags(buf, off) & AF_RANDOM_ACCESS) !== 0;
}

export function hasPcr(buf: Uint8Array, off: number): boolean {
  return (adaptationFlags(buf, off) & AF_PCR) !== 0;
}

/**
 * Absolute offset of the first payload byte, or -1 when the packet carries no payload or
 * its adaptation field claims more room than the packet has.
 */
export function payloadOffset(buf: Uint8Array, off: number): number {
  if (!hasPayload(buf, off)) return -1;
  if (!hasAdaptationField(buf, off)) return off + 4;
  const start = off + 5 + buf[off + 4]!;
  return start < off + PACKET_SIZE ? start : -1;
}

const NULL_HEADER = [SYNC_BYTE, 0x1f, 0xff, 0x10] as const;

function fillNullPackets(target: Buffer, count: number): Buffer {
  target.fill(0xff);
  for (let i = 0; i < count; i++) {
    const at = i * PACKET_SIZE;
    for (let j = 0; j < 4; j++) target[at + j] = NULL_HEADER[j]!;
  }
  return target;
}

/** A fresh null packet the caller may modify. */
export function nullPacket(): Buffer {
  return fillNullPackets(Buffer.allocUnsafe(PACKET_SIZE), 1);
}

const SHARED_NULLS = 64;
const sharedNullBlock = fillNullPackets(Buffer.alloc(SHARED_NULLS * PACKET_SIZE), SHARED_NULLS);

/**
 * `count` null packets back to back. Up to 64 packets come from one shared block: the
 * result is a view that must never be written to (keep-alive and stuffing send it as is).
 */
export function nullPackets(count: number): Buffer {
  if (count <= SHARED_NULLS) return sharedNullBlock.subarray(0, count * PACKET_SIZE);
  return fillNullPackets(Buffer.allocUnsafe(count * PACKET_SIZE), count);
}

/** Writes `count` null packets into `target` at `off` (for builders that fill one buffer). */
export function writeNullPackets(target: Buffer, off: number, count: number): void {
  let left = count;
  let at = off;
  while (left > 0) {
    const n = Math.min(left, SHARED_NULLS);
    sharedNullBlock.copy(target, at, 0, n * PACKET_SIZE);
    at += n * PACKET_SIZE;
    left -= n;
  }
}
