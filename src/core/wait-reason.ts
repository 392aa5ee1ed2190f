/**
 * Why a session cannot get an engine right now. Each reason maps to one held player state;
 * the ETA (seconds, null = unknown) decides hold-or-refuse and the Retry-After of a refusal.
 */
export type WaitReason = 'vpn' | 'circuit' | 'capacity' | 'orchestrator' | 'provisioning';

export interface Wait {
  reason: WaitReason;
  etaSeconds: number | null;
}

/** The player state a held player shows for each reason. */
export const HELD_STATE_FOR: Record<WaitReason, 'waiting_vpn' | 'circuit_wait' | 'queued_capacity' | 'waiting_orchestrator'> = {
  vpn: 'waiting_vpn',
  circuit: 'circuit_wait',
  capacity: 'queued_capacity',
  // Waiting for someone else's provisioning call is waiting for capacity.
  provisioning: 'queued_capacity',
  orchestrator: 'waiting_orchestrator',
};
