/**
 * Deliberate bugs for proving the chaos harness is sharp: `acerelay chaos --plant <name>`
 * (and the harness's own tests) switch one on and expect the harness to catch and shrink it.
 * Each is checked at one place in the code, on control paths only, never on the byte path.
 * Off unless a harness turns it on.
 */
export const PLANTED_FAULTS = {
  'provision-ignores-breaker-eta': 'provisioning probes a tripped breaker without waiting for its ETA',
  'retry-per-waiting-player': 'every waiting session makes its own provisioning call while blocked',
  'skip-stream-ended-on-linger': 'a session ended after its linger never sends stream_ended',
  'queue-out-of-order': 'the engine queue serves the newest arrival first',
  'end-unknown-id': 'stream_ended goes out unconfirmed, for an id the orchestrator never accepted',
} as const;

export type PlantedFault = keyof typeof PLANTED_FAULTS;

const active = new Set<PlantedFault>();

export function planted(fault: PlantedFault): boolean {
  return active.size > 0 && active.has(fault);
}

export function plant(fault: PlantedFault | null): void {
  active.clear();
  if (fault) active.add(fault);
}
