import { describe, expect, it } from 'vitest';
import { ContinuityRewriter } from '../../src/ts/continuity.ts';
import { NULL_PID, PACKET_SIZE, continuityCounter, nullPacket } from '../../src/ts/packet.ts';

function tsPacket(pid: number, cc: number, payload = true): Buffer {
  const p = Buffer.alloc(PACKET_SIZE, 0xff);
  p[0] = 0x47;
  p[1] = pid >> 8;
  p[2] = pid & 0xff;
  p[3] = (payload ? 0x10 : 0x20) | cc;
  if (!payload) p[4] = 183;
  return p;
}

describe('ContinuityRewriter', () => {
  it('keeps the first counter of a PID, then counts mod 16 per PID', () => {
    const rw = new ContinuityRewriter();
    const seen: Array<[number, number]> = [];
    for (let i = 0; i < 40; i++) {
      for (const pid of [0x100, 0x101]) {
        const p = tsPacket(pid, pid === 0x100 ? 9 : (i * 7) & 15);
        seen.push([pid, rw.rewrite(p, 0)]);
        expect(continuityCounter(p, 0)).toBe(seen[seen.length - 1]![1]);
      }
    }
    const video = seen.filter(([pid]) => pid === 0x100).map(([, cc]) => cc);
    const audio = seen.filter(([pid]) => pid === 0x101).map(([, cc]) => cc);
    expect(video.slice(0, 9)).toEqual([9, 10, 11, 12, 13, 14, 15, 0, 1]);
    expect(audio.slice(0, 3)).toEqual([0, 1, 2]);
    expect(video.every((cc, i) => cc === (9 + i) % 16)).toBe(true);
  });

  it('repeats the last counter on adaptation-only packets', () => {
    const rw = new ContinuityRewriter();
    rw.rewrite(tsPacket(0x100, 4), 0);
    expect(rw.rewrite(tsPacket(0x100, 11, false), 0)).toBe(4);
    expect(rw.rewrite(tsPacket(0x100, 0, true), 0)).toBe(5);
  });

  it('leaves null packets alone', () => {
    const rw = new ContinuityRewriter();
    const n = nullPacket();
    rw.rewrite(n, 0);
    rw.rewrite(n, 0);
    expect(continuityCounter(n, 0)).toBe(0);
    expect(rw.lastCounter(NULL_PID)).toBe(-1);
  });

  it('carries counters across a seam between two sources', () => {
    const rw = new ContinuityRewriter();
    const first = Buffer.concat([0, 1, 2].map((cc) => tsPacket(0x100, cc)));
    const second = Buffer.concat([7, 8].map((cc) => tsPacket(0x100, cc)));
    rw.rewriteAll(first);
    rw.rewriteAll(second);
    expect([0, 1].map((i) => continuityCounter(second, i * PACKET_SIZE))).toEqual([3, 4]);
    rw.setLast(0x100, 14);
    const third = tsPacket(0x100, 0);
    rw.rewrite(third, 0);
    expect(continuityCounter(third, 0)).toBe(15);
    rw.reset();
    expect(rw.lastCounter(0x100)).toBe(-1);
  });
});
