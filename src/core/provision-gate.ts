/**
 * When a provisioning call may go out. One mechanism for every block:
 *  - not blocked: up to `concurrency` calls in flight;
 *  - blocked (VPN, breaker, an unexplained "cannot provision"): one probe at a time, not
 *    before the ETA has passed since the block was observed (a breaker ETA of 0 is floored at
 *    5 s; an unknown ETA waits a probe interval), and not sooner than `probeIntervalMs` after
 *    a failed probe;
 *  - max_capacity in the status: never (capacity frees by engines going away, which the status shows);
 *  - a full house said by a provisioning answer (the real orchestrator's 500 "Maximum active
 *    replicas": its replica pool, which the status does not show): one probe per probe interval,
 *    or sooner when the status shows an engine gone.
 * The number of calls therefore never grows with the number of waiting players.
 *
 * `probeVerdict` and `etaIgnored` are the two decisions a block's probe rests on; the chaos
 * harness plants its gate bugs by overriding them in a subclass (src/chaos/planted-faults.ts).
 */
import type { BlockedDetails, OrchestratorStatus } from '../adapters/orchestrator/types.ts';
import type { WaitReason } from '../domain/session.ts';

export const BREAKER_ETA_FLOOR_S = 5;

/** The block in force after a provisioning answer said "full" (probed, unlike the status's max_capacity). */
const FULL_HOUSE: BlockedDetails = {
  code: 'max_capacity',
  message: 'the orchestrator has no room for another engine',
  etaSeconds: null,
  canRetry: true,
  shouldWait: true,
};
export const VPN_DEFAULT_ETA_S = 60;

export interface GateVerdict {
  allowed: boolean;
  /** Set when not allowed. */
  reason: WaitReason | null;
  /** Expected wait in seconds (null = unknown). */
  etaSeconds: number | null;
  /** Clock time a probe becomes allowed (null = not time-bound). */
  probeAt: number | null;
  /** True when the allowed call is a probe of a blocked orchestrator. */
  probe: boolean;
}

export interface Block {
  details: BlockedDetails;
  observedAt: number;
}

export function reasonForCode(code: string): WaitReason {
  if (code === 'vpn_disconnected' || code === 'vpn_error') return 'vpn';
  if (code === 'circuit_breaker') return 'circuit';
  if (code === 'max_capacity') return 'capacity';
  if (code === 'orchestrator_unreachable') return 'orchestrator';
  return 'capacity';
}

/** Milliseconds to wait after first seeing a block (other than the breaker's) before one probe. */
function blockDelayMs(details: BlockedDetails, probeIntervalMs: number): number {
  const eta = details.etaSeconds;
  if (details.code === 'vpn_disconnected' || details.code === 'vpn_error') return (eta ?? VPN_DEFAULT_ETA_S) * 1000;
  return eta !== null && eta > 0 ? eta * 1000 : probeIntervalMs;
}

export class ProvisionGate {
  protected inFlight = 0;
  protected lastFailedProbeAt = -Infinity;
  /** A refusal from a provisioning answer: fresher than the status that allowed the call. */
  private refusal: Block | null = null;
  /** When the current block (by code) was first seen: an ETA that does not count down runs from here. */
  private blockSince: { code: string; at: number } | null = null;
  /** When the breaker's ETA was first seen under the floor (null while above it, or no breaker block). */
  private lowEtaSince: number | null = null;
  /**
   * A provisioning answer said the house is full. Lasts past newer statuses (they do not show
   * the orchestrator's replica pool) until a call succeeds or the status shows fewer engines
   * running than the most seen since (one went away: room again).
   */
  private full: { at: number; running: number } | null = null;

  constructor(
    private readonly concurrency: number,
    protected readonly probeIntervalMs: number,
  ) {}

  get callsInFlight(): number {
    return this.inFlight;
  }

  /** The block in force: the newer of the status's and the last refusal's. */
  currentBlock(status: OrchestratorStatus, observedAt: number): Block | null {
    let block: Block | null = null;
    const details = status.provisioning.blocked;
    if (details) block = { details, observedAt };
    else if (!status.provisioning.canProvision) {
      block = { details: { code: 'unavailable', message: 'cannot provision', etaSeconds: null, canRetry: false, shouldWait: true }, observedAt };
    }
    if (this.refusal && this.refusal.observedAt > observedAt) return this.refusal;
    if (!block && this.full) {
      const running = status.engines.running;
      if (running < this.full.running) this.full = null;
      else {
        this.full.running = running;
        return { details: FULL_HOUSE, observedAt: this.full.at };
      }
    }
    return block;
  }

  check(now: number, status: OrchestratorStatus, observedAt: number): GateVerdict {
    const block = this.currentBlock(status, observedAt);
    if (!block) {
      this.blockSince = null;
      this.lowEtaSince = null;
    }
    if (!block) {
      if (this.inFlight < this.concurrency) return { allowed: true, reason: null, etaSeconds: null, probeAt: null, probe: false };
      return { allowed: false, reason: 'provisioning', etaSeconds: null, probeAt: null, probe: false };
    }
    const { details } = block;
    // A status that says anything but "breaker open" (max_capacity, half-open) ends the opening
    // whose low ETA is being floored: the next opening is floored from its own first status.
    if (details.code !== 'circuit_breaker' || details.canRetry) this.lowEtaSince = null;
    if (this.blockSince?.code !== details.code) this.blockSince = { code: details.code, at: block.observedAt };
    const reason = reasonForCode(details.code);
    if (details.code === 'max_capacity' && details !== FULL_HOUSE) {
      return { allowed: false, reason, etaSeconds: details.etaSeconds, probeAt: null, probe: false };
    }
    return this.probeVerdict(now, block, reason);
  }

  /** Whether the one probe of a block (other than the status's max_capacity) may go out now. */
  protected probeVerdict(now: number, block: Block, reason: WaitReason): GateVerdict {
    const dueAt = this.etaIgnored(block.details) ? block.observedAt : this.dueAt(block.details, block.observedAt);
    const probeAt = Math.max(dueAt, this.lastFailedProbeAt + this.probeIntervalMs);
    if (this.inFlight === 0 && now >= probeAt) return { allowed: true, reason: null, etaSeconds: null, probeAt, probe: true };
    const remaining = Math.max(0, probeAt - now) / 1000;
    return { allowed: false, reason, etaSeconds: this.inFlight > 0 ? null : Math.ceil(remaining), probeAt: this.inFlight > 0 ? null : probeAt, probe: false };
  }

  /** A half-open breaker (can_retry): the orchestrator itself invites a retry, ETA or not; still one at a time. */
  protected etaIgnored(details: BlockedDetails): boolean {
    return details.code === 'circuit_breaker' && details.canRetry;
  }

  /** A status arrived: a refusal older than it is history (and is no longer shown). */
  statusSeen(observedAt: number): void {
    if (this.refusal && this.refusal.observedAt <= observedAt) this.refusal = null;
  }

  /**
   * When a block's ETA has passed. The breaker's ETA counts down: the latest word counts, but
   * an ETA under the floor (it sits at 0 while still open) is floored from when it first went
   * under, so that polling faster does not push the probe back. Other ETAs (the VPN's 60 s) are
   * estimates of an outage's length: they run from when the outage was first seen.
   */
  private dueAt(details: BlockedDetails, observedAt: number): number {
    if (details.code !== 'circuit_breaker') {
      this.lowEtaSince = null;
      return this.blockSince!.at + blockDelayMs(details, this.probeIntervalMs);
    }
    const eta = details.etaSeconds ?? this.probeIntervalMs / 1000;
    if (eta >= BREAKER_ETA_FLOOR_S) {
      this.lowEtaSince = null;
      return observedAt + eta * 1000;
    }
    this.lowEtaSince ??= observedAt;
    return Math.max(observedAt + eta * 1000, this.lowEtaSince + BREAKER_ETA_FLOOR_S * 1000);
  }

  begin(): void {
    this.inFlight++;
  }

  /** Ends a call. A refusal that says "wait" becomes the block in force until a status says otherwise. */
  end(now: number, outcome: { ok: true } | { ok: false; block: BlockedDetails | null; probe: boolean; running?: number }): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (outcome.ok) {
      this.refusal = null;
      this.full = null;
      this.lastFailedProbeAt = -Infinity;
      return;
    }
    if (outcome.block?.code === 'max_capacity') this.full = { at: now, running: Math.max(outcome.running ?? 0, this.full?.running ?? 0) };
    else if (outcome.block) this.refusal = { details: outcome.block, observedAt: now };
    if (outcome.probe || outcome.block) this.lastFailedProbeAt = now;
  }

  describe(): { inFlight: number; lastFailedProbeAt: number | null; refusal: Block | null; fullSince: number | null } {
    return {
      inFlight: this.inFlight,
      lastFailedProbeAt: Number.isFinite(this.lastFailedProbeAt) ? this.lastFailedProbeAt : null,
      refusal: this.refusal,
      fullSince: this.full?.at ?? null,
    };
  }
}
