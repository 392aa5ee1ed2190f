import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkedDecoder } from '../../../src/adapters/engine/chunked-decoder.ts';

/** Decodes `wire` fed in the given pieces; returns the data and whether the body completed. */
function decode(wire: Buffer, cuts: number[]): { data: Buffer; done: boolean } {
  const d = new ChunkedDecoder();
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < wire.length).sort((a, b) => a - b), wire.length]) {
    d.decode(wire.subarray(at, cut), (v) => out.push(Buffer.from(v)));
    at = cut;
  }
  return { data: Buffer.concat(out), done: d.done };
}

describe('ChunkedDecoder', () => {
  it('any body, any chunk sizes, extensions, upper/lower hex, trailers, split anywhere: the same data, done at the end', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 600 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.boolean(),
        fc.boolean(),
        (chunks, cuts, upper, trailer) => {
          const parts: Buffer[] = [];
          chunks.forEach((c, i) => {
            const hex = c.length.toString(16);
            parts.push(Buffer.from(`${upper ? hex.toUpperCase() : hex}${i % 3 === 1 ? ';name=value' : ''}\r\n`), Buffer.from(c), Buffer.from('\r\n'));
          });
          parts.push(Buffer.from(trailer ? '0\r\nX-Checksum: 1\r\n\r\n' : '0\r\n\r\n'));
          const wire = Buffer.concat(parts);
          const got = decode(wire, cuts.map((c) => c % (wire.length + 1)));
          expect(got.done).toBe(true);
          expect(got.data.equals(Buffer.concat(chunks.map((c) => Buffer.from(c))))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a body cut short is not done; malformed framing throws ENGINE_BAD_CHUNK', () => {
    expect(decode(Buffer.from('5\r\nabc'), []).done).toBe(false);
    expect(decode(Buffer.from('5\r\nabcde\r\n'), []).done).toBe(false);
    for (const bad of ['zz\r\n', '\r\n', '5\r\nabcdeXY', '1234567890abc\r\n', `${'1'.padEnd(2000, ' ')}\r\n`]) {
      expect(() => decode(Buffer.from(bad), []), bad.slice(0, 20)).toThrow(expect.objectContaining({ code: 'ENGINE_BAD_CHUNK' }));
    }
    // Leading spaces before the size, and a bare LF, are tolerated.
    expect(decode(Buffer.from('  3\nabc\n0\n\n'), []).data.toString()).toBe('abc');
  });
});
