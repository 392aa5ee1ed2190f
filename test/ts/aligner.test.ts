import { describe, expect, it } from 'vitest';
import { PacketAligner } from '../../src/ts/aligner.ts';
import { PACKET_SIZE } from '../../src/ts/packet.ts';

/** `n` packets whose bytes say which packet they are, so order and loss show. */
function packets(n: number, first = 0): Buffer {
  const buf = Buffer.alloc(n * PACKET_SIZE);
  for (let i = 0; i < n; i++) {
    buf.fill((first + i) & 0xff, i * PACKET_SIZE, (i + 1) * PACKET_SIZE);
    buf[i * PACKET_SIZE] = 0x47;
    buf[i * PACKET_SIZE + 1] = 0x01; // keep the filler from looking like sync
  }
  return buf;
}

function feed(aligner: PacketAligner, input: Buffer, sizes: number[]): Buffer {
  const out: Buffer[] = [];
  let pos = 0;
  for (let i = 0; pos < input.length; i++) {
    const size = sizes[i % sizes.length]!;
    const result = aligner.push(input.subarray(pos, pos + size));
    expect(result.length % PACKET_SIZE).toBe(0);
    out.push(result);
    pos += size;
  }
  return Buffer.concat(out);
}

describe('PacketAligner', () => {
  it('returns an aligned chunk itself, without a copy', () => {
    const aligner = new PacketAligner();
    const chunk = packets(10);
    expect(aligner.push(chunk)).toBe(chunk);
    expect(aligner.pending).toBe(0);
  });

  it('reassembles packets across odd chunk sizes', () => {
    const input = packets(60);
    for (const sizes of [[1], [7], [187], [189], [100, 1000, 3], [4096], [65536]]) {
      const aligner = new PacketAligner();
      const out = feed(aligner, input, sizes);
      expect(out.equals(input)).toBe(true);
      expect(aligner.pending).toBe(0);
      expect(aligner.droppedBytes).toBe(0);
    }
  });

  it('holds a partial packet until the next chunk completes it', () => {
    const aligner = new PacketAligner();
    const input = packets(3);
    expect(aligner.push(input.subarray(0, 300)).length).toBe(PACKET_SIZE);
    expect(aligner.pending).toBe(300 - PACKET_SIZE);
    expect(aligner.push(input.subarray(300)).equals(input.subarray(PACKET_SIZE))).toBe(true);
  });

  it('drops garbage between packets and counts it', () => {
    const good = packets(20);
    const garbage = Buffer.from('garbage with a \x47 sync byte in it \x47\x47', 'latin1');
    const input = Buffer.concat([good.subarray(0, 5 * PACKET_SIZE), garbage, good.subarray(5 * PACKET_SIZE)]);
    for (const sizes of [[input.length], [1], [50], [188], [333]]) {
      const aligner = new PacketAligner();
      const out = feed(aligner, input, sizes);
      expect(out.equals(good)).toBe(true);
      expect(aligner.droppedBytes).toBe(garbage.length);
      expect(aligner.resyncs).toBe(1);
    }
  });

  it('finds sync when the stream starts in the middle of a packet', () => {
    const good = packets(10);
    const aligner = new PacketAligner();
    const out = feed(aligner, good.subarray(100), [64]);
    expect(out.equals(good.subarray(PACKET_SIZE))).toBe(true);
    expect(aligner.droppedBytes).toBe(PACKET_SIZE - 100);
  });

  it('does not lock onto a lone 0x47 in garbage', () => {
    const noise = Buffer.alloc(1000, 0x00);
    noise[10] = 0x47;
    noise[10 + PACKET_SIZE] = 0x47; // two in a row is not enough
    const good = packets(5);
    const aligner = new PacketAligner();
    const out = feed(aligner, Buffer.concat([noise, good]), [97]);
    expect(out.equals(good)).toBe(true);
    expect(aligner.droppedBytes).toBe(noise.length);
  });

  it('keeps little while searching through a long run of garbage', () => {
    const aligner = new PacketAligner();
    aligner.push(Buffer.alloc(5, 1));
    for (let i = 0; i < 100; i++) expect(aligner.push(Buffer.alloc(10_000, 0x47 ^ 1)).length).toBe(0);
    expect(aligner.pending).toBeLessThan(3 * PACKET_SIZE);
    expect(aligner.droppedBytes).toBe(5 + 1_000_000 - aligner.pending);
  });

  it('forgets the partial packet on reset', () => {
    const aligner = new PacketAligner();
    aligner.push(packets(1).subarray(0, 50));
    expect(aligner.reset()).toBe(50);
    const next = packets(2);
    expect(aligner.push(next)).toBe(next);
  });
});

describe('PacketAligner.pushParts', () => {
  it('gives the same packets as the joining aligner, for any chunking, garbage and lost sync', async () => {
    const fc = (await import('fast-check')).default;
    const { JoiningAligner } = await import('./aligner.oracle.ts');
    const piece = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 1, max: 40 }).map((n) => packets(n)) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 500 }).map((a) => Buffer.from(a)) },
    );
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 20 }), (pieces, sizes) => {
        const input = Buffer.concat(pieces);
        const fast = new PacketAligner();
        const oracle = new JoiningAligner();
        let pos = 0;
        for (let i = 0; pos < input.length; i++) {
          const chunk = input.subarray(pos, pos + sizes[i % sizes.length]!);
          const parts = fast.pushParts(chunk);
          for (const p of parts) expect(p.length % PACKET_SIZE).toBe(0);
          expect(Buffer.concat(parts).equals(oracle.push(chunk))).toBe(true);
          expect(fast.pending).toBe(oracle.pending);
          pos += chunk.length;
        }
        expect([fast.droppedBytes, fast.resyncs]).toEqual([oracle.droppedBytes, oracle.resyncs]);
      }),
      { numRuns: 300 },
    );
  });

  it('completes a held partial packet without copying the rest of the chunk', () => {
    const input = packets(100);
    const aligner = new PacketAligner();
    aligner.push(input.subarray(0, 1000));
    const chunk = input.subarray(1000);
    const parts = aligner.pushParts(chunk);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.length).toBe(PACKET_SIZE);
    expect(parts[1]!.buffer).toBe(chunk.buffer);
    expect(Buffer.concat(parts).equals(input.subarray(5 * PACKET_SIZE))).toBe(true);
  });
});
