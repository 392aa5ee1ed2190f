/** The simulator's stream made into a radio channel, for tests of what changes without video. */
import { crc32Mpeg2 } from '../../src/ts/crc32.ts';
import { PACKET_SIZE, hasPusi, pidOf } from '../../src/ts/packet.ts';

/** The simulator's PMT PID and the stream_type + PID bytes of its video stream (H.264 on 0x100). */
const PMT_PID = 0x1000;
const VIDEO_ENTRY = Buffer.from([0x1b, 0xe1, 0x00]);

/**
 * A copy of `data` where every PMT lists the video PID as a second AAC stream (its CRC made
 * right again), so the program has no video. Throws when it found no PMT to rewrite, so a
 * changed simulator cannot turn a test of radio into a test of nothing.
 */
export function asRadio(data: Buffer): Buffer {
  const out = Buffer.from(data);
  let rewritten = 0;
  for (let off = 0; off + PACKET_SIZE <= out.length; off += PACKET_SIZE) {
    if (pidOf(out, off) !== PMT_PID || !hasPusi(out, off)) continue;
    const start = off + 5 + out[off + 4]!;
    const end = start + 3 + (((out[start + 1]! & 0x0f) << 8) | out[start + 2]!);
    const video = out.indexOf(VIDEO_ENTRY, start);
    if (video < 0 || video >= end) continue;
    out[video] = 0x0f;
    out.writeUInt32BE(crc32Mpeg2(out, start, end - 4) >>> 0, end - 4);
    rewritten++;
  }
  if (rewritten === 0) throw new Error('asRadio: no PMT listing the video stream on 0x100');
  return out;
}
