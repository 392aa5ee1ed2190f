/**
 * Checks on a whole TS byte stream, shared by the generator and ffmpeg tests: packet
 * framing, per-PID continuity counters, and PCR/PTS/DTS order across the 2^33 wrap.
 */
import {
  NULL_PID,
  PACKET_SIZE,
  SYNC_BYTE,
  continuityCounter,
  hasPayload,
  isDiscontinuity,
  pidOf,
} from '../../src/ts/packet.ts';
import { diff33, readDts, readPcrBase, readPts } from '../../src/ts/timestamps.ts';

export interface StreamReport {
  packets: number;
  nullPackets: number;
  problems: string[];
  /** Per PID: how many PCRs and PTSs were seen. */
  pcrs: Map<number, number>;
  ptss: Map<number, number>;
  /** Unwrapped PCR span in ticks (last − first) of the PCR PID. */
  pcrSpan: number;
}

export function checkStream(buf: Buffer, maxProblems = 20): StreamReport {
  const problems: string[] = [];
  const report = (text: string) => {
    if (problems.length < maxProblems) problems.push(text);
  };
  if (buf.length % PACKET_SIZE !== 0) report(`length ${buf.length} is not a multiple of 188`);
  const lastCc = new Map<number, number>();
  const lastPacket = new Map<number, Buffer>();
  const lastPcr = new Map<number, number>();
  const lastPts = new Map<number, number>();
  const lastDts = new Map<number, number>();
  const pcrs = new Map<number, number>();
  const ptss = new Map<number, number>();
  let pcrSpan = 0;
  let nullPackets = 0;
  const packets = Math.floor(buf.length / PACKET_SIZE);
  for (let i = 0; i < packets; i++) {
    const off = i * PACKET_SIZE;
    if (buf[off] !== SYNC_BYTE) {
      report(`packet ${i}: sync byte 0x${buf[off]!.toString(16)}`);
      continue;
    }
    const pid = pidOf(buf, off);
    if (pid === NULL_PID) {
      nullPackets++;
      continue;
    }
    const cc = continuityCounter(buf, off);
    const prev = lastCc.get(pid);
    const packet = buf.subarray(off, off + PACKET_SIZE);
    // A duplicate (the same packet again, counter included) is legal (13818-1 §2.4.3.3).
    const duplicate = prev === cc && hasPayload(buf, off) && lastPacket.get(pid)?.equals(packet) === true;
    if (prev !== undefined && !isDiscontinuity(buf, off) && !duplicate) {
      const want = hasPayload(buf, off) ? (prev + 1) & 15 : prev;
      if (cc !== want) report(`packet ${i} pid ${pid}: cc ${cc}, expected ${want}`);
    }
    lastCc.set(pid, cc);
    lastPacket.set(pid, packet);
    if (duplicate) continue;
    const pcr = readPcrBase(buf, off);
    if (pcr >= 0) {
      const before = lastPcr.get(pid);
      if (before !== undefined) {
        const d = diff33(before, pcr);
        if (d <= 0) report(`packet ${i} pid ${pid}: PCR ${pcr} not after ${before}`);
        else pcrSpan += d;
      }
      lastPcr.set(pid, pcr);
      pcrs.set(pid, (pcrs.get(pid) ?? 0) + 1);
    }
    const pts = readPts(buf, off);
    if (pts >= 0) {
      const before = lastPts.get(pid);
      if (before !== undefined && diff33(before, pts) <= 0) report(`packet ${i} pid ${pid}: PTS ${pts} not after ${before}`);
      lastPts.set(pid, pts);
      ptss.set(pid, (ptss.get(pid) ?? 0) + 1);
      const dts = readDts(buf, off);
      if (dts >= 0) {
        const dBefore = lastDts.get(pid);
        if (dBefore !== undefined && diff33(dBefore, dts) <= 0) report(`packet ${i} pid ${pid}: DTS ${dts} not after ${dBefore}`);
        lastDts.set(pid, dts);
      }
    }
  }
  return { packets, nullPackets, problems, pcrs, ptss, pcrSpan };
}

/** Reads from a stream until at least `bytes` arrived, then destroys it. */
export function collect(stream: NodeJS.ReadableStream & { destroy(): void }, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      parts.push(chunk);
      total += chunk.length;
      if (total >= bytes) {
        stream.removeListener('data', onData);
        stream.destroy();
        resolve(Buffer.concat(parts));
      }
    };
    stream.on('data', onData);
    stream.once('error', reject);
  });
}
