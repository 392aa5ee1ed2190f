/**
 * Program-specific information: the PAT (program → PMT PID) and the PMT (PCR PID and the
 * elementary streams). Only sections that fit in the packet that starts them are read;
 * PAT and PMT sections of live channels practically always do.
 */
import { crc32Mpeg2 } from './crc32.ts';
import { PACKET_SIZE, hasPusi, payloadOffset } from './packet.ts';

export const TABLE_ID_PAT = 0x00;
export const TABLE_ID_PMT = 0x02;

export type StreamKind = 'video' | 'audio' | 'other';

export interface StreamTypeInfo {
  kind: StreamKind;
  codec: string;
}

const STREAM_TYPES: Record<number, StreamTypeInfo> = {
  0x01: { kind: 'video', codec: 'mpeg1video' },
  0x02: { kind: 'video', codec: 'mpeg2video' },
  0x1b: { kind: 'video', codec: 'h264' },
  0x24: { kind: 'video', codec: 'hevc' },
  0x03: { kind: 'audio', codec: 'mp2' },
  0x04: { kind: 'audio', codec: 'mp2' },
  0x0f: { kind: 'audio', codec: 'aac' },
  0x11: { kind: 'audio', codec: 'aac_latm' },
  0x81: { kind: 'audio', codec: 'ac3' },
};

export function streamTypeInfo(streamType: number): StreamTypeInfo {
  return STREAM_TYPES[streamType] ?? { kind: 'other', codec: `0x${streamType.toString(16).padStart(2, '0')}` };
}

export interface PatProgram {
  programNumber: number;
  pmtPid: number;
}

export interface Pat {
  transportStreamId: number;
  version: number;
  /** Programs in order, without program 0 (the network PID). */
  programs: PatProgram[];
}

export interface ElementaryStream extends StreamTypeInfo {
  streamType: number;
  pid: number;
}

export interface Pmt {
  programNumber: number;
  version: number;
  pcrPid: number;
  streams: ElementaryStream[];
}

/**
 * The section starting in this packet as [start, end) offsets into `buf` (CRC included),
 * after the pointer_field. Null when the packet starts no section, the section does not
 * fit in the packet, or its CRC is wrong.
 */
export function sectionBounds(buf: Uint8Array, off: number): { start: number; end: number } | null {
  const s = sectionSpan(buf, off);
  if (!s || crc32Mpeg2(buf, s.start, s.end) !== 0) return null;
  return s;
}

/** As sectionBounds, without checking the CRC (for comparing with a section already checked). */
export function sectionSpan(buf: Uint8Array, off: number): { start: number; end: number } | null {
  const start = sectionStart(buf, off);
  return start < 0 ? null : { start, end: start + 3 + sectionLength(buf, start) };
}

/**
 * Where the section starting in this packet begins (after the pointer_field), or -1 when the
 * packet starts none or the section does not fit in it. Returns a number, not a span: a
 * channel meets a repeated PAT or PMT every few packets of an unpaced stream, and an object
 * per check was most of what a repeat cost.
 */
function sectionStart(buf: Uint8Array, off: number): number {
  if (!hasPusi(buf, off)) return -1;
  const payload = payloadOffset(buf, off);
  if (payload < 0) return -1;
  const packetEnd = off + PACKET_SIZE;
  const start = payload + 1 + buf[payload]!;
  if (start + 3 > packetEnd) return -1;
  const length = sectionLength(buf, start);
  return length < 9 || start + 3 + length > packetEnd ? -1 : start;
}

function sectionLength(buf: Uint8Array, start: number): number {
  return ((buf[start + 1]! & 0x0f) << 8) | buf[start + 2]!;
}

/** Whether the packet at `off` starts exactly `section` (bytes of a section checked before). */
export function repeatsSection(buf: Uint8Array, off: number, section: Uint8Array | null): boolean {
  if (!section) return false;
  const start = sectionStart(buf, off);
  if (start < 0 || 3 + sectionLength(buf, start) !== section.length) return false;
  for (let i = 0; i < section.length; i++) if (buf[start + i] !== section[i]) return false;
  return true;
}

/** A copy of the section starting in the packet at `off` (after a parse said it is valid). */
export function copySection(buf: Uint8Array, off: number): Uint8Array | null {
  const s = sectionSpan(buf, off);
  // A copy (Buffer#slice would alias the upstream's buffer).
  return s ? Uint8Array.from(buf.subarray(s.start, s.end)) : null;
}

/** Parses the PAT section starting in the packet at `off`; null if absent or corrupt. */
export function parsePat(buf: Uint8Array, off: number): Pat | null {
  const s = sectionBounds(buf, off);
  if (!s || buf[s.start] !== TABLE_ID_PAT) return null;
  const { start, end } = s;
  const programs: PatProgram[] = [];
  for (let i = start + 8; i + 4 <= end - 4; i += 4) {
    const programNumber = (buf[i]! << 8) | buf[i + 1]!;
    if (programNumber === 0) continue;
    programs.push({ programNumber, pmtPid: ((buf[i + 2]! & 0x1f) << 8) | buf[i + 3]! });
  }
  return {
    transportStreamId: (buf[start + 3]! << 8) | buf[start + 4]!,
    version: (buf[start + 5]! >> 1) & 0x1f,
    programs,
  };
}

/** Parses the PMT section starting in the packet at `off`; null if absent or corrupt. */
export function parsePmt(buf: Uint8Array, off: number): Pmt | null {
  const s = sectionBounds(buf, off);
  if (!s || buf[s.start] !== TABLE_ID_PMT) return null;
  const { start, end } = s;
  const infoLength = ((buf[start + 10]! & 0x0f) << 8) | buf[start + 11]!;
  const streams: ElementaryStream[] = [];
  const last = end - 4;
  for (let i = start + 12 + infoLength; i + 5 <= last; ) {
    const streamType = buf[i]!;
    const pid = ((buf[i + 1]! & 0x1f) << 8) | buf[i + 2]!;
    streams.push({ streamType, pid, ...streamTypeInfo(streamType) });
    i += 5 + (((buf[i + 3]! & 0x0f) << 8) | buf[i + 4]!);
  }
  return {
    programNumber: (buf[start + 3]! << 8) | buf[start + 4]!,
    version: (buf[start + 5]! >> 1) & 0x1f,
    pcrPid: ((buf[start + 8]! & 0x1f) << 8) | buf[start + 9]!,
    streams,
  };
}
