/**
 * What a session tells its players, and why it may have to wait. Types only.
 */

/**
 * Why a session cannot get an engine right now. Each reason maps to one held player state;
 * the ETA (seconds, null = unknown) decides hold-or-refuse and the Retry-After of a refusal.
 */
export type WaitReason = 'vpn' | 'circuit' | 'capacity' | 'orchestrator' | 'provisioning';

export interface Wait {
  reason: WaitReason;
  etaSeconds: number | null;
}

/** The error codes (src/errors.ts) a session can fail with. */
export type SessionFailureCode = 'engine_failed' | 'content_unavailable' | 'provisioning_failed' | 'orchestrator_auth';

export interface SessionFailure {
  code: SessionFailureCode;
  message: string;
}

/** What players need to know of their session, derived from its state. */
export type SessionPhase =
  | { kind: 'starting' }
  | { kind: 'waiting'; wait: Wait }
  | { kind: 'slow' }
  | { kind: 'live' }
  | { kind: 'recovering' }
  | { kind: 'failed'; failure: SessionFailure }
  | { kind: 'ended' };
