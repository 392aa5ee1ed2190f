/**
 * "Grows without bound", made concrete for the soak's hourly samples (each taken at a quiet
 * point): a series grows when, over the second half of the samples, the least-squares line
 * rises by more than its allowance AND its last sample is above every sample of the first
 * half. The first half is the warm-up (caches, pools and JIT settle); a leak keeps climbing
 * through the second, whereas noise tilts the line without leaving the first half's range.
 * Fewer than MIN_SAMPLES samples judge nothing.
 */
export const MIN_SAMPLES = 4;

export interface GrowthVerdict {
  name: string;
  grows: boolean;
  /** Rise of the fitted line across the second half (units of the series). */
  rise: number;
  allowance: number;
  firstHalfMax: number;
  last: number;
  /** Why not judged, when it was not. */
  unjudged: string | null;
}

/** Slope of the least-squares line through (i, values[i]). */
export function slope(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return 0;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - meanX) * (y - meanY);
    den += (x - meanX) ** 2;
  });
  return num / den;
}

export function judgeGrowth(name: string, values: readonly number[], allowance: number): GrowthVerdict {
  const n = values.length;
  const last = values[n - 1] ?? 0;
  if (n < MIN_SAMPLES) return { name, grows: false, rise: 0, allowance, firstHalfMax: last, last, unjudged: `${n} samples (at least ${MIN_SAMPLES} needed)` };
  const split = Math.floor(n / 2);
  const second = values.slice(split);
  const rise = slope(second) * (second.length - 1);
  const firstHalfMax = Math.max(...values.slice(0, split));
  return { name, grows: rise > allowance && last > firstHalfMax, rise, allowance, firstHalfMax, last, unjudged: null };
}
