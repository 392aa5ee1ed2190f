/** The soak's verdict on its hourly samples: what "grows without bound" means, on series with a known answer. */
import { describe, expect, test } from 'vitest';
import { judgeGrowth, slope } from '../../src/chaos/growth.ts';

const MiB = 1024 * 1024;
/** 24 hourly samples: a base, noise of ±1.5 MiB that repeats, and `perHour` added every hour. */
const day = (perHour: number) => Array.from({ length: 24 }, (_, h) => 50 * MiB + [1.5, -1, 0.5, -1.5, 1, 0][h % 6]! * MiB + perHour * h);

describe('judgeGrowth', () => {
  test('the least-squares slope of a line is its step', () => {
    expect(slope([3, 5, 7, 9])).toBeCloseTo(2);
    expect(slope([4, 4, 4])).toBe(0);
  });

  test('a flat series with noise does not grow', () => {
    expect(judgeGrowth('heap', day(0), 4 * MiB)).toMatchObject({ grows: false, unjudged: null });
  });

  test('half a MiB an hour, under the same noise, grows', () => {
    const v = judgeGrowth('heap', day(0.5 * MiB), 4 * MiB);
    expect(v.grows).toBe(true);
    expect(v.rise).toBeGreaterThan(4 * MiB);
  });

  test('a warm-up that rises and then stays does not grow', () => {
    const values = Array.from({ length: 24 }, (_, h) => Math.min(h, 6) * MiB + (h % 2) * 0.5 * MiB);
    expect(judgeGrowth('heap', values, 4 * MiB).grows).toBe(false);
  });

  test('a second half tilted up by noise, inside the first half’s range, does not grow', () => {
    const values = [10, 14, 9, 13, 10, 12, 8, 9, 10, 11, 12, 13];
    const v = judgeGrowth('handles', values, 3);
    expect(v.rise).toBeGreaterThan(3);
    expect(v.grows).toBe(false);
  });

  test('a count that climbs by one every hour grows', () => {
    expect(judgeGrowth('timers', Array.from({ length: 24 }, (_, h) => 5 + h), 4).grows).toBe(true);
  });

  test('fewer than four samples are not judged', () => {
    expect(judgeGrowth('heap', [1, 2, 3], 0)).toMatchObject({ grows: false, unjudged: expect.any(String) });
  });
});
