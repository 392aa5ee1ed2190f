/** Small summaries the load client and the runner share. */

/** Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function distribution(values: readonly number[], digits = 1): Distribution {
  return {
    n: values.length,
    p50: round(percentile(values, 50), digits),
    p99: round(percentile(values, 99), digits),
    max: round(values.reduce((m, v) => (v > m ? v : m), values.length ? -Infinity : NaN), digits),
  };
}
