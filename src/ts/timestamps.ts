/**
 * PCR, PTS and DTS in place. Times are 33-bit counts of a 90 kHz clock, so every shift
 * wraps mod 2^33; the PCR adds a 9-bit extension at 27 MHz (0–299).
 */
import { AF_PCR, adaptationFlags, hasPusi, payloadOffset } from './packet.ts';

export const TIMESTAMP_WRAP = 2 ** 33;
/** Ticks of the 90 kHz clock per millisecond. */
export const TICKS_PER_MS = 90;

/** `value` brought into [0, 2^33). */
export function wrap33(value: number): number {
  const r = value % TIMESTAMP_WRAP;
  return r < 0 ? r + TIMESTAMP_WRAP : r;
}

/** `b − a` across the 2^33 wrap, in (−2^32, 2^32]. */
export function diff33(a: number, b: number): number {
  const d = wrap33(b - a);
  return d > TIMESTAMP_WRAP / 2 ? d - TIMESTAMP_WRAP : d;
}

/** The PCR base (90 kHz) of the packet at `off`, or -1 when it carries no PCR. */
export function readPcrBase(buf: Uint8Array, off: number): number {
  if (!(adaptationFlags(buf, off) & AF_PCR)) return -1;
  const p = off + 6;
  // 33 bits do not fit a JS int32: take the top bit with a multiplication.
  return buf[p]! * 0x2000000 + ((buf[p + 1]! << 17) | (buf[p + 2]! << 9) | (buf[p + 3]! << 1) | (buf[p + 4]! >> 7));
}

/** The 9-bit PCR extension (27 MHz remainder), or -1 without PCR. */
export function readPcrExtension(buf: Uint8Array, off: number): number {
  if (!(adaptationFlags(buf, off) & AF_PCR)) return -1;
  return ((buf[off + 10]! & 0x01) << 8) | buf[off + 11]!;
}

/** The full PCR in 27 MHz units (base × 300 + extension), or -1 without PCR. */
export function readPcr(buf: Uint8Array, off: number): number {
  const base = readPcrBase(buf, off);
  return base < 0 ? -1 : base * 300 + readPcrExtension(buf, off);
}

/** Overwrites the PCR of a packet that has one; returns false when it has none. */
export function writePcr(buf: Uint8Array, off: number, base: number, extension = 0): boolean {
  if (!(adaptationFlags(buf, off) & AF_PCR)) return false;
  const b = wrap33(base);
  const p = off + 6;
  buf[p] = Math.floor(b / 0x2000000) & 0xff;
  const low = b % 0x2000000; // lower 25 bits
  buf[p + 1] = (low >>> 17) & 0xff;
  buf[p + 2] = (low >>> 9) & 0xff;
  buf[p + 3] = (low >>> 1) & 0xff;
  // The 6 reserved bits between base and extension are written as 1s.
  buf[p + 4] = ((low & 1) << 7) | 0x7e | ((extension >> 8) & 0x01);
  buf[p + 5] = extension & 0xff;
  return true;
}

/** PES stream_ids whose header has no PTS/DTS fields (13818-1 table 2-21). */
function hasOptionalPesHeader(streamId: number): boolean {
  return !(
    streamId === 0xbc || // program_stream_map
    streamId === 0xbe || // padding_stream
    streamId === 0xbf || // private_stream_2
    streamId === 0xf0 || // ECM
    streamId === 0xf1 || // EMM
    streamId === 0xf2 || // DSMCC
    streamId === 0xf8 || // H.222.1 type E
    streamId === 0xff // program_stream_directory
  );
}

/**
 * Offset of the PES header starting in this packet (the 00 00 01 prefix) when it has the
 * optional header with PTS/DTS flags in this packet, else -1.
 */
export function pesHeaderOffset(buf: Uint8Array, off: number): number {
  if (!hasPusi(buf, off)) return -1;
  const p = payloadOffset(buf, off);
  if (p < 0 || p + 9 > off + 188) return -1;
  if (buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1) return -1;
  return hasOptionalPesHeader(buf[p + 3]!) ? p : -1;
}

/** PTS_DTS_flags: 2 = PTS only, 3 = PTS and DTS; checked to fit in the packet. */
function ptsDtsFlags(buf: Uint8Array, off: number, pes: number): number {
  const flags = buf[pes + 7]! >> 6;
  const need = flags === 3 ? 19 : flags === 2 ? 14 : 0;
  return need > 0 && pes + need <= off + 188 ? flags : 0;
}

function readTimestamp(buf: Uint8Array, p: number): number {
  return (
    ((buf[p]! >> 1) & 0x07) * 0x40000000 +
    ((buf[p + 1]! << 22) | ((buf[p + 2]! >> 1) << 15) | (buf[p + 3]! << 7) | (buf[p + 4]! >> 1))
  );
}

/** Writes a 33-bit value keeping the 4-bit prefix already in place; markers set to 1. */
function writeTimestamp(buf: Uint8Array, p: number, value: number): void {
  const v = wrap33(value);
  const high = Math.floor(v / 0x40000000); // top 3 bits
  const low = v % 0x40000000; // lower 30 bits
  buf[p] = (buf[p]! & 0xf0) | (high << 1) | 0x01;
  buf[p + 1] = (low >>> 22) & 0xff;
  buf[p + 2] = (((low >>> 15) & 0x7f) << 1) | 0x01;
  buf[p + 3] = (low >>> 7) & 0xff;
  buf[p + 4] = ((low & 0x7f) << 1) | 0x01;
}

/** PTS of the PES starting in this packet, or -1. */
export function readPts(buf: Uint8Array, off: number): number {
  const pes = pesHeaderOffset(buf, off);
  if (pes < 0 || ptsDtsFlags(buf, off, pes) < 2) return -1;
  return readTimestamp(buf, pes + 9);
}

/** DTS of the PES starting in this packet, or -1 (also when only a PTS is present). */
export function readDts(buf: Uint8Array, off: number): number {
  const pes = pesHeaderOffset(buf, off);
  if (pes < 0 || ptsDtsFlags(buf, off, pes) !== 3) return -1;
  return readTimestamp(buf, pes + 14);
}

export function writePts(buf: Uint8Array, off: number, value: number): boolean {
  const pes = pesHeaderOffset(buf, off);
  if (pes < 0 || ptsDtsFlags(buf, off, pes) < 2) return false;
  writeTimestamp(buf, pes + 9, value);
  return true;
}

export function writeDts(buf: Uint8Array, off: number, value: number): boolean {
  const pes = pesHeaderOffset(buf, off);
  if (pes < 0 || ptsDtsFlags(buf, off, pes) !== 3) return false;
  writeTimestamp(buf, pes + 14, value);
  return true;
}

/** Adds `delta90k` (mod 2^33) to the packet's PCR base, PTS and DTS, whichever it has. */
export function shiftTimestamps(buf: Uint8Array, off: number, delta90k: number): void {
  const pcr = readPcrBase(buf, off);
  if (pcr >= 0) writePcr(buf, off, pcr + delta90k, readPcrExtension(buf, off));
  const pes = pesHeaderOffset(buf, off);
  if (pes < 0) return;
  const flags = ptsDtsFlags(buf, off, pes);
  if (flags >= 2) writeTimestamp(buf, pes + 9, readTimestamp(buf, pes + 9) + delta90k);
  if (flags === 3) writeTimestamp(buf, pes + 14, readTimestamp(buf, pes + 14) + delta90k);
}
