/**
 * Follows PAT → PMT through a stream and classifies packets, so the fan-out can find the
 * places where a player may start: a PAT, and the first packet of a video random-access
 * point.
 */
import {
  AF_RANDOM_ACCESS,
  PACKET_SIZE,
  PAT_PID,
  adaptationFlags,
  hasPusi,
  payloadOffset,
  pidOf,
} from './packet.ts';
import { copySection, parsePat, parsePmt, repeatsSection } from './psi.ts';
import type { ElementaryStream } from './psi.ts';

/** classify() flags. */
export const PACKET_PAT = 1;
export const PACKET_PMT = 2;
/** First packet of a video access unit a decoder can start from. */
export const PACKET_RAP = 4;

export interface ProgramInfo {
  programNumber: number;
  pmtPid: number;
  pcrPid: number;
  /** -1 when the program has no video stream. */
  videoPid: number;
  videoCodec: string | null;
  streams: ElementaryStream[];
}

export interface ScanResult {
  /** Offsets of packets that start a valid PAT section. */
  pats: number[];
  /** Offsets of packets that start a video random-access point. */
  raps: number[];
}

export type PacketListener = (flags: number, offset: number) => void;

export class ProgramTracker {
  private pmtPid = -1;
  private programNumber = -1;
  private videoPid = -1;
  private videoCodec: string | null = null;
  private info: ProgramInfo | null = null;
  /**
   * The last PAT and PMT sections that parsed, as bytes: a channel repeats them every few
   * hundred milliseconds unchanged, and a repeat needs neither its CRC nor a parse again.
   */
  private patSection: Uint8Array | null = null;
  private pmtSection: Uint8Array | null = null;

  /**
   * The program as the last valid PAT and PMT describe it; null until both were seen. The
   * object stays the same while the program does, so a change shows as a new object.
   */
  get program(): ProgramInfo | null {
    return this.info;
  }

  reset(): void {
    this.pmtPid = -1;
    this.programNumber = -1;
    this.videoPid = -1;
    this.videoCodec = null;
    this.info = null;
    this.patSection = null;
    this.pmtSection = null;
  }

  /** Classifies the packet at `off` (PACKET_* flags, 0 for most) and learns from PSI. */
  classify(buf: Uint8Array, off: number): number {
    // Every packet worth a flag starts a PES or a section; ~96 % of a channel's packets start
    // neither (the hold-back tests this before calling; other callers pass every packet).
    if (!hasPusi(buf, off)) return 0;
    const pid = pidOf(buf, off);
    if (pid === this.videoPid) return isRandomAccessStart(buf, off, this.videoCodec) ? PACKET_RAP : 0;
    if (pid === PAT_PID) return this.onPat(buf, off) ? PACKET_PAT : 0;
    if (pid === this.pmtPid) return this.onPmt(buf, off) ? PACKET_PMT : 0;
    return 0;
  }

  /**
   * Classifies every packet of an aligned buffer in one pass. `onPacket` sees each packet
   * with non-zero flags, in order.
   */
  scan(buf: Uint8Array, onPacket?: PacketListener): ScanResult {
    const result: ScanResult = { pats: [], raps: [] };
    for (let off = 0; off + PACKET_SIZE <= buf.length; off += PACKET_SIZE) {
      const flags = this.classify(buf, off);
      if (flags === 0) continue;
      if (flags & PACKET_PAT) result.pats.push(off);
      if (flags & PACKET_RAP) result.raps.push(off);
      onPacket?.(flags, off);
    }
    return result;
  }

  /** Learns from a PAT; false when it is corrupt or lists no program. */
  private onPat(buf: Uint8Array, off: number): boolean {
    if (repeatsSection(buf, off, this.patSection)) return true;
    const first = parsePat(buf, off)?.programs[0];
    if (!first) return false;
    this.patSection = copySection(buf, off);
    if (first.pmtPid === this.pmtPid && first.programNumber === this.programNumber) return true;
    this.pmtPid = first.pmtPid;
    this.programNumber = first.programNumber;
    this.videoPid = -1;
    this.videoCodec = null;
    this.info = null;
    this.pmtSection = null;
    return true;
  }

  /** Learns from a PMT; false when it is corrupt or for another program. */
  private onPmt(buf: Uint8Array, off: number): boolean {
    if (repeatsSection(buf, off, this.pmtSection)) return true;
    const pmt = parsePmt(buf, off);
    if (!pmt || pmt.programNumber !== this.programNumber) return false;
    this.pmtSection = copySection(buf, off);
    if (this.info && sameStreams(this.info, pmt.pcrPid, pmt.streams)) return true;
    const video = pmt.streams.find((s) => s.kind === 'video');
    this.videoPid = video?.pid ?? -1;
    this.videoCodec = video?.codec ?? null;
    this.info = {
      programNumber: pmt.programNumber,
      pmtPid: this.pmtPid,
      pcrPid: pmt.pcrPid,
      videoPid: this.videoPid,
      videoCodec: this.videoCodec,
      streams: pmt.streams,
    };
    return true;
  }
}

function sameStreams(info: ProgramInfo, pcrPid: number, streams: ElementaryStream[]): boolean {
  return (
    info.pcrPid === pcrPid &&
    info.streams.length === streams.length &&
    info.streams.every((s, i) => s.pid === streams[i]!.pid && s.streamType === streams[i]!.streamType)
  );
}

/**
 * Whether the PES starting in this video packet begins a random-access point: the
 * adaptation field says so, or the first NAL units in this packet show an IDR (H.264 type
 * 5, HEVC 16–21, an MPEG-2 sequence header), or an SPS with no non-IDR slice behind it in
 * this packet: that catches encoders whose IDR slice only begins in a later packet, behind SEI.
 */
export function isRandomAccessStart(buf: Uint8Array, off: number, codec: string | null): boolean {
  if (adaptationFlags(buf, off) & AF_RANDOM_ACCESS) return true;
  const p = payloadOffset(buf, off);
  const end = off + PACKET_SIZE;
  if (p < 0 || p + 9 > end || buf[p] !== 0 || buf[p + 1] !== 0 || buf[p + 2] !== 1) return false;
  let i = p + 9 + buf[p + 8]!;
  let sawSequenceHeader = false;
  for (; i + 3 < end; i++) {
    if (buf[i] !== 0 || buf[i + 1] !== 0 || buf[i + 2] !== 1) continue;
    const verdict = startCodeVerdict(buf[i + 3]!, codec);
    if (verdict === SEQUENCE_HEADER) sawSequenceHeader = true;
    else if (verdict !== NEUTRAL) return verdict === RANDOM_ACCESS;
    i += 2;
  }
  return sawSequenceHeader;
}

const NEUTRAL = 0;
const RANDOM_ACCESS = 1;
const PREDICTED = 2;
const SEQUENCE_HEADER = 3;

function startCodeVerdict(code: number, codec: string | null): number {
  if (codec === 'hevc') {
    const type = (code >> 1) & 0x3f;
    if (type >= 16 && type <= 21) return RANDOM_ACCESS;
    if (type <= 9) return PREDICTED;
    return type === 32 || type === 33 ? SEQUENCE_HEADER : NEUTRAL;
  }
  if (codec === 'mpeg2video' || codec === 'mpeg1video') {
    // Encoders send the sequence header only in front of an I picture.
    if (code === 0xb3) return RANDOM_ACCESS;
    return code === 0x00 ? PREDICTED : NEUTRAL;
  }
  // H.264, and the guess for an unknown video codec.
  const type = code & 0x1f;
  if (type === 5) return RANDOM_ACCESS;
  if (type >= 1 && type <= 4) return PREDICTED;
  return type === 7 ? SEQUENCE_HEADER : NEUTRAL;
}
