/** The simulator's stream with its PMT rewritten: a radio channel, a PID listed twice. */
import { crc32Mpeg2 } from '../../src/ts/crc32.ts';
import { PACKET_SIZE, hasPusi, pidOf } from '../../src/ts/packet.ts';

/** The simulator's PMT PID and the stream_type + PID bytes of its video stream (H.264 on 0x100). */
const PMT_PID = 0x1000;
const VIDEO_ENTRY = Buffer.from([0x1b, 0xe1, 0x00]);

/**
 * A copy of `data` where every PMT lists the video PID as a second AAC stream, so the
 * program has no video.
 */
export function asRadio(data: Buffer): Buffer {
  return rewritePmts(data, 'asRadio', (out, start, end) => {
    const video = out.indexOf(VIDEO_ENTRY, start);
    if (video < 0 || video >= end) return null;
    out[video] = 0x0f;
    return end;
  });
}

/**
 * A copy of `data` where every PMT lists the video PID a second time, as an AAC stream (a
 * malformed PMT, but one a muxer can write): the section grows by one 5-byte entry into the
 * packet's stuffing.
 */
export function withVideoPidTwice(data: Buffer): Buffer {
  return rewritePmts(data, 'withVideoPidTwice', (out, start, end, packetEnd) => {
    if (end + 5 > packetEnd) return null;
    // The new entry goes where the CRC was: AAC on the video PID, no descriptors.
    Buffer.from([0x0f, 0xe1, 0x00, 0xf0, 0x00]).copy(out, end - 4);
    const grown = end + 5 - (start + 3);
    out[start + 1] = (out[start + 1]! & 0xf0) | (grown >> 8);
    out[start + 2] = grown & 0xff;
    return end + 5;
  });
}

/**
 * Copies `data` and lets `rewrite` change each PMT section in place ([start, end) with its
 * CRC; it returns the section's new end, or null when it changed nothing), then makes the
 * CRC right again. Throws when no PMT changed, so a changed simulator cannot turn a test of a
 * rewritten stream into a test of the plain one.
 */
function rewritePmts(data: Buffer, name: string, rewrite: (out: Buffer, start: number, end: number, packetEnd: number) => number | null): Buffer {
  const out = Buffer.from(data);
  let rewritten = 0;
  for (let off = 0; off + PACKET_SIZE <= out.length; off += PACKET_SIZE) {
    if (pidOf(out, off) !== PMT_PID || !hasPusi(out, off)) continue;
    const start = off + 5 + out[off + 4]!;
    const end = start + 3 + (((out[start + 1]! & 0x0f) << 8) | out[start + 2]!);
    const newEnd = rewrite(out, start, end, off + PACKET_SIZE);
    if (newEnd === null) continue;
    out.writeUInt32BE(crc32Mpeg2(out, start, newEnd - 4) >>> 0, newEnd - 4);
    rewritten++;
  }
  if (rewritten === 0) throw new Error(`${name}: no PMT it could rewrite`);
  return out;
}
