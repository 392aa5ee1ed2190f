/** One create's claim on the pool, from the call's start until it succeeds or fails. */
export interface SlotClaim {
  readonly generation: number;
  settled: boolean;
}

export interface ActiveSlotsView {
  /** MAX_ACTIVE_REPLICAS. */
  max: number;
  /** False without a VPN: the pool is the VPN build's (its Gluetun port range). */
  enforced: boolean;
  engines: number;
  /** Creates under way that took a slot. */
  pending: number;
  /** Slots lost to failed creates (until a restart). */
  leaked: number;
  free: number;
}

/**
 * The VPN build's pool of engine ports (MAX_ACTIVE_REPLICAS, separate from MAX_REPLICAS):
 * every running engine holds one, a create takes one when it starts, a removed engine
 * frees its own, and a create that fails after taking one may never give it back. Only a
 * restart (the allocator starts empty) gets leaked slots back.
 */
export class ActiveSlots {
  private pendingCount = 0;
  leaked = 0;
  private generation = 0;

  constructor(public max: number) {}

  free(engines: number): number {
    return Math.max(0, this.max - engines - this.pendingCount - this.leaked);
  }

  /** Takes a slot for a create; null when the pool is empty. */
  claim(engines: number): SlotClaim | null {
    if (this.free(engines) <= 0) return null;
    this.pendingCount += 1;
    return { generation: this.generation, settled: false };
  }

  /** The create ended: its engine now holds the slot, or (failed) it is given back or leaked. */
  settle(claim: SlotClaim, outcome: 'engine' | 'released' | 'leaked'): void {
    if (claim.settled || claim.generation !== this.generation) return;
    claim.settled = true;
    this.pendingCount -= 1;
    if (outcome === 'leaked') this.leaked += 1;
  }

  /** A restart: the allocator starts empty, claims under way are forgotten. */
  reset(): void {
    this.generation += 1;
    this.pendingCount = 0;
    this.leaked = 0;
  }

  view(engines: number, enforced: boolean): ActiveSlotsView {
    return { max: this.max, enforced, engines, pending: this.pendingCount, leaked: this.leaked, free: this.free(engines) };
  }
}
