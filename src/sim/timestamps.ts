/**
 * The orchestrator mixes two timestamp spellings (quirk 2): Python's isoformat with
 * microseconds and `+00:00`, and pydantic's `Z`. Both appear in the simulator on purpose.
 */
function micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}

/** `2026-11-27T02:23:26.826000+00:00` */
export function isoOffset(ms: number): string {
  return `${micro(ms)}+00:00`;
}

/** `2026-11-27T02:23:26.826000Z` */
export function isoZ(ms: number): string {
  return `${micro(ms)}Z`;
}
