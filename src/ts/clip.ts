/**
 * A recorded MPEG-TS clip prepared for looping into an endless live stream: its loop
 * length, when each packet is due within one loop, and where a session may start.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PACKET_SIZE, SYNC_BYTE, hasPusi, payloadOffset, pidOf } from './packet.ts';
import { PACKET_PAT, PACKET_PMT, PACKET_RAP, ProgramTracker } from './program-tracker.ts';
import type { ProgramInfo } from './program-tracker.ts';
import { diff33, pesHeaderOffset, readPcrBase, readPts } from './timestamps.ts';

export const DEFAULT_CLIP_PATH = fileURLToPath(new URL('./fixtures/clip.mpegts', import.meta.url));

/** Bits of `Clip.timed`: what a packet carries that a loop shift must rewrite. */
export const TIMED_PCR = 1;
export const TIMED_PES = 2;

export interface SyncPoint {
  /** Packet index where a session starting here begins. */
  index: number;
  /** Packet index of the keyframe's first packet. */
  keyframe: number;
  /** True when no PAT + PMT precede the keyframe in the clip: send `Clip.psi` first. */
  needsPsi: boolean;
  /** `Clip.due` of `index`. */
  due: number;
}

export interface Clip {
  /** The whole clip, 188-byte packets. Read-only: sessions copy packets out of it. */
  readonly data: Buffer;
  readonly packetCount: number;
  /** Loop length L in 90 kHz ticks: loop k adds k·L to every timestamp. */
  readonly loopTicks: number;
  /**
   * When each packet is due, in ticks from the loop's first PCR (interpolated by byte
   * position between PCRs; packets before the first PCR come out slightly negative).
   * Increasing, and every value is below `loopTicks + due[0]`.
   */
  readonly due: Float64Array;
  /** TIMED_* bits per packet. */
  readonly timed: Uint8Array;
  /** Where a session may start (PAT, PMT, keyframe), in clip order. */
  readonly syncPoints: readonly SyncPoint[];
  /** One PAT packet and one PMT packet from the clip. */
  readonly psi: Buffer;
  readonly program: ProgramInfo;
  /** PCR base of the first PCR packet: due time 0. */
  readonly pcrOrigin: number;
}

const cache = new Map<string, Clip>();

/** Loads and prepares a clip once per path. */
export function loadClip(path: string = DEFAULT_CLIP_PATH): Clip {
  let clip = cache.get(path);
  if (!clip) {
    clip = parseClip(readFileSync(path));
    cache.set(path, clip);
  }
  return clip;
}

export function parseClip(data: Buffer): Clip {
  if (data.length === 0 || data.length % PACKET_SIZE !== 0) {
    throw new Error(`clip is ${data.length} bytes: not whole 188-byte packets`);
  }
  const packetCount = data.length / PACKET_SIZE;
  for (let i = 0; i < packetCount; i++) {
    if (data[i * PACKET_SIZE] !== SYNC_BYTE) throw new Error(`clip packet ${i} has no sync byte`);
  }
  const { program, flags, psi } = scanProgram(data, packetCount);
  const loopTicks = loopLength(data, packetCount, program);
  const timed = new Uint8Array(packetCount);
  const pcrs: Array<{ index: number; base: number }> = [];
  for (let i = 0; i < packetCount; i++) {
    const off = i * PACKET_SIZE;
    const pcr = readPcrBase(data, off);
    let bits = 0;
    if (pcr >= 0) {
      bits |= TIMED_PCR;
      if (pidOf(data, off) === program.pcrPid) pcrs.push({ index: i, base: pcr });
    }
    if (readPts(data, off) >= 0) bits |= TIMED_PES;
    timed[i] = bits;
  }
  const first = pcrs[0];
  if (!first) throw new Error('clip has no PCR');
  const span = diff33(first.base, pcrs[pcrs.length - 1]!.base);
  if (span >= loopTicks) throw new Error(`clip PCRs span ${span} ticks, not less than the loop (${loopTicks})`);
  const due = dueTimes(packetCount, pcrs, loopTicks);
  const syncPoints = findSyncPoints(data, flags, program.videoPid, due);
  if (syncPoints.length === 0) throw new Error('clip has no keyframe to start a session at');
  return { data, packetCount, loopTicks, due, timed, syncPoints, psi, program, pcrOrigin: first.base };
}

function scanProgram(data: Buffer, packetCount: number) {
  const tracker = new ProgramTracker();
  const flags = new Uint8Array(packetCount);
  let pat = -1;
  let pmt = -1;
  for (let i = 0; i < packetCount; i++) {
    flags[i] = tracker.classify(data, i * PACKET_SIZE);
    if (flags[i]! & PACKET_PAT && pat < 0) pat = i;
    if (flags[i]! & PACKET_PMT && pmt < 0 && tracker.program) pmt = i;
  }
  const program = tracker.program;
  if (!program || pat < 0 || pmt < 0) throw new Error('clip has no valid PAT and PMT');
  if (program.videoPid < 0) throw new Error('clip has no video stream');
  // A RAP before the PMT was known went unclassified: rescan with the program in hand.
  for (let i = 0; i < packetCount; i++) flags[i] = tracker.classify(data, i * PACKET_SIZE);
  const psi = Buffer.concat([packetAt(data, pat), packetAt(data, pmt)]);
  return { program, flags, psi };
}

function packetAt(data: Buffer, index: number): Buffer {
  return Buffer.from(data.subarray(index * PACKET_SIZE, (index + 1) * PACKET_SIZE));
}

/**
 * L = max over elementary streams of (last PTS − first PTS + the last PES's duration), so
 * that the next loop starts right after the longest stream ends.
 */
function loopLength(data: Buffer, packetCount: number, program: ProgramInfo): number {
  let longest = 0;
  for (const stream of program.streams) {
    const pes = collectPes(data, packetCount, stream.pid);
    if (pes.length === 0) continue;
    const origin = pes[0]!.pts;
    let first = 0;
    let last = 0;
    let lastPes = pes[0]!;
    for (const p of pes) {
      const t = diff33(origin, p.pts);
      if (t < first) first = t;
      if (t >= last) {
        last = t;
        lastPes = p;
      }
    }
    const adts = stream.codec === 'aac' ? adtsDuration(lastPes.payload) : 0;
    const duration = adts > 0 ? adts : typicalStep(pes.map((p) => diff33(origin, p.pts)));
    longest = Math.max(longest, last - first + duration);
  }
  if (longest <= 0) throw new Error('clip has no timed elementary stream');
  return Math.round(longest);
}

interface Pes {
  pts: number;
  payload: Buffer;
}

function collectPes(data: Buffer, packetCount: number, pid: number): Pes[] {
  const result: Pes[] = [];
  let parts: Buffer[] | null = null;
  let pts = -1;
  const finish = () => {
    if (parts && pts >= 0) result.push({ pts, payload: Buffer.concat(parts) });
  };
  for (let i = 0; i < packetCount; i++) {
    const off = i * PACKET_SIZE;
    if (pidOf(data, off) !== pid) continue;
    const start = payloadOffset(data, off);
    if (start < 0) continue;
    if (hasPusi(data, off)) {
      finish();
      pts = readPts(data, off);
      const pes = pesHeaderOffset(data, off);
      parts = pes < 0 ? null : [data.subarray(pes + 9 + data[pes + 8]!, off + PACKET_SIZE)];
    } else {
      parts?.push(data.subarray(start, off + PACKET_SIZE));
    }
  }
  finish();
  return result;
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Duration in ticks of the ADTS frames in a PES payload; 0 when it is not ADTS. */
function adtsDuration(payload: Buffer): number {
  let ticks = 0;
  let i = 0;
  while (i + 7 <= payload.length) {
    if (payload[i] !== 0xff || (payload[i + 1]! & 0xf6) !== 0xf0) return 0;
    const rate = ADTS_RATES[(payload[i + 2]! >> 2) & 0x0f];
    const length = ((payload[i + 3]! & 0x03) << 11) | (payload[i + 4]! << 3) | (payload[i + 5]! >> 5);
    if (!rate || length < 7) return 0;
    ticks += (1024 * ((payload[i + 6]! & 0x03) + 1) * 90000) / rate;
    i += length;
  }
  return ticks;
}

/** The most common step between consecutive presentation times: one frame (or PES). */
function typicalStep(times: number[]): number {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const counts = new Map<number, number>();
  let best = 0;
  let bestCount = 0;
  for (let i = 1; i < sorted.length; i++) {
    const step = sorted[i]! - sorted[i - 1]!;
    const n = (counts.get(step) ?? 0) + 1;
    counts.set(step, n);
    if (n > bestCount) {
      best = step;
      bestCount = n;
    }
  }
  return best;
}

/**
 * Interpolates between PCRs by packet position. The stretch after the last PCR runs to the
 * next loop's first PCR (L later); the packets before the first PCR belong to that same
 * stretch, shifted back by L.
 */
function dueTimes(packetCount: number, pcrs: Array<{ index: number; base: number }>, loopTicks: number): Float64Array {
  const due = new Float64Array(packetCount);
  const origin = pcrs[0]!.base;
  const points = pcrs.map((p) => ({ index: p.index, t: diff33(origin, p.base) }));
  points.push({ index: packetCount + points[0]!.index, t: loopTicks });
  for (let j = 0; j + 1 < points.length; j++) {
    const a = points[j]!;
    const b = points[j + 1]!;
    const rate = (b.t - a.t) / (b.index - a.index);
    for (let i = a.index; i < b.index; i++) {
      const t = a.t + (i - a.index) * rate;
      if (i < packetCount) due[i] = t;
      else due[i - packetCount] = t - loopTicks;
    }
  }
  return due;
}

/**
 * A keyframe is a sync point. The session starts at the PAT when a PAT and then a PMT come
 * shortly before it with no video packet between them; otherwise at the keyframe, behind
 * a copy of `Clip.psi`.
 */
function findSyncPoints(data: Buffer, flags: Uint8Array, videoPid: number, due: Float64Array): SyncPoint[] {
  const points: SyncPoint[] = [];
  for (let k = 0; k < flags.length; k++) {
    if (!(flags[k]! & PACKET_RAP)) continue;
    let pmt = -1;
    let index = k;
    for (let i = k - 1; i >= 0 && i >= k - 16; i--) {
      if (pidOf(data, i * PACKET_SIZE) === videoPid) break;
      if (pmt < 0 && flags[i]! & PACKET_PMT) pmt = i;
      else if (pmt >= 0 && flags[i]! & PACKET_PAT) {
        index = i;
        break;
      }
    }
    points.push({ index, keyframe: k, needsPsi: index === k, due: due[index]! });
  }
  return points;
}
