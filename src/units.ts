/**
 * Parsers for the human units used in configuration and simulator flags. Each returns a
 * number or throws a UnitError whose message says what was expected; callers add the name
 * of the variable or flag.
 */
export class UnitError extends Error {
  override name = 'UnitError';
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `10s`, `1m`, `1m30s`, `1.5s`, `0` → milliseconds. */
export function parseDuration(text: string): number {
  const s = text.trim().toLowerCase();
  if (s === '0') return 0;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    part.lastIndex = pos;
    const m = part.exec(s);
    if (!m) {
      throw new UnitError(`"${text}" is not a duration (use e.g. 500ms, 10s, 1m)`);
    }
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    pos = part.lastIndex;
  }
  if (pos === 0) throw new UnitError(`"${text}" is not a duration (use e.g. 500ms, 10s, 1m)`);
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** `4MiB`, `4.2MiB`, `4MB`, `65536` → bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim().toLowerCase());
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    throw new UnitError(`"${text}" is not a size (use e.g. 4MiB, 4.2MiB, 4MB or bytes)`);
  }
  return Math.round(Number(m[1]) * unit);
}

const RATE_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** `2.5M`, `800k`, `4000000` → bits per second. */
export function parseBitrate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:bps|bit\/s|b)?$/.exec(text.trim().toLowerCase());
  if (!m) throw new UnitError(`"${text}" is not a bit rate (use e.g. 2.5M, 800k or bits per second)`);
  return Math.round(Number(m[1]) * RATE_UNITS[m[2]!]!);
}

export function formatDuration(ms: number): string {
  if (ms % 86_400_000 === 0 && ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0 && ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    const v = bytes / n;
    // Only use a unit when one decimal says it exactly (4MiB, 4.5MiB), so the text parses back.
    if (v >= 1 && Math.round(v * 10) === v * 10) return `${v}${unit}`;
  }
  return `${bytes}`;
}
