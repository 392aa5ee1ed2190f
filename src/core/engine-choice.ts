/**
 * Which engine a new session goes to. Pure: the broker passes the view and occupancy.
 * Order: healthy first, then fewest sessions (ours, reserved or active, plus other clients'
 * streams the orchestrator lists), then the engine on the VPN's forwarded port, then the one
 * we used least recently.
 */
export interface EngineCandidate {
  containerId: string;
  healthy: boolean;
  /** Sessions on it: our reservations + our active sessions + foreign streams. */
  load: number;
  forwarded: boolean;
  lastUsedAt: number;
  /** Infohashes our sessions on this engine carry (a second session of one content would cut the first). */
  infohashes: ReadonlySet<string>;
}

export function chooseEngine(
  candidates: readonly EngineCandidate[],
  maxPerEngine: number,
  exclude: ReadonlySet<string>,
  infohash: string | null,
): EngineCandidate | null {
  let best: EngineCandidate | null = null;
  for (const c of candidates) {
    if (exclude.has(c.containerId) || c.load >= maxPerEngine) continue;
    if (infohash && c.infohashes.has(infohash)) continue;
    if (!best || better(c, best)) best = c;
  }
  return best;
}

function better(a: EngineCandidate, b: EngineCandidate): boolean {
  if (a.healthy !== b.healthy) return a.healthy;
  if (a.load !== b.load) return a.load < b.load;
  if (a.forwarded !== b.forwarded) return a.forwarded;
  if (a.lastUsedAt !== b.lastUsedAt) return a.lastUsedAt < b.lastUsedAt;
  return a.containerId < b.containerId;
}
