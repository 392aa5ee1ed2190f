/** Invariant 9 as each player checks its bytes on arrival: whole packets, continuity per PID, seams allowed. */
import { describe, expect, test } from 'vitest';
import { PacketCheck } from '../../src/chaos/packet-check.ts';

/** A 188-byte packet of `pid` with continuity counter `cc`; `discontinuity` sets the indicator in an adaptation field. */
function packet(pid: number, cc: number, discontinuity = false): Buffer {
  const p = Buffer.alloc(188, 0xff);
  p[0] = 0x47;
  p[1] = (pid >> 8) & 0x1f;
  p[2] = pid & 0xff;
  p[3] = ((discontinuity ? 3 : 1) << 4) | (cc & 0x0f);
  if (discontinuity) {
    p[4] = 1;
    p[5] = 0x80;
  }
  return p;
}

const run = (pid: number, from: number, n: number) => Array.from({ length: n }, (_, i) => packet(pid, from + i));

describe('PacketCheck', () => {
  test('a clean stream passes, split anywhere across chunks, and says which chunks held media', () => {
    const bytes = Buffer.concat([...run(0x100, 0, 20), packet(0x1fff, 0), ...run(0x101, 5, 20)]);
    const check = new PacketCheck();
    const media: boolean[] = [];
    for (let off = 0; off < bytes.length; off += 100) media.push(check.push(bytes.subarray(off, off + 100)));
    expect(check.fault).toBeNull();
    expect(check.packets).toBe(41);
    expect(media[0]).toBe(false); // 100 bytes: no whole packet yet
    expect(media.some(Boolean)).toBe(true);
  });

  test('a lost packet is found, with its byte offset', () => {
    const check = new PacketCheck();
    check.push(Buffer.concat([...run(0x100, 0, 3), packet(0x100, 4)]));
    expect(check.fault).toEqual({ kind: 'continuity', pid: 0x100, previous: 2, counter: 4, byte: 3 * 188 });
  });

  test('a repeated packet is found', () => {
    const check = new PacketCheck();
    check.push(Buffer.concat([...run(0x100, 0, 3), packet(0x100, 2)]));
    expect(check.fault).toMatchObject({ kind: 'continuity', previous: 2, counter: 2 });
  });

  test('a marked discontinuity (a failover seam) restarts the counter', () => {
    const check = new PacketCheck();
    check.push(Buffer.concat([...run(0x100, 0, 3), packet(0x100, 9, true), packet(0x100, 10)]));
    expect(check.fault).toBeNull();
  });

  test('a byte stream that loses packet alignment is found', () => {
    const check = new PacketCheck();
    check.push(Buffer.concat([packet(0x100, 0), Buffer.alloc(10), packet(0x100, 1)]));
    expect(check.fault).toEqual({ kind: 'alignment', byte: 188 });
  });
});
