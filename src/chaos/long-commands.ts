/**
 * What makes a run long: minutes of waiting, and outages that last minutes (the VPN, the
 * breaker, the orchestrator down, answering 500s, or restarting), so that timers, journal
 * retention, event retries and probe spacing meet each other.
 */
import fc from 'fast-check';
import { Base, type Model } from './commands.ts';
import type { ChaosWorld } from './world.ts';

export class LongWait extends Base {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    await w.advance(this.ms);
  }
  toString() {
    return `longWait(${this.ms / 1000} s)`;
  }
}

export const OUTAGES = ['vpn', 'breaker', 'down', 'error500', 'restart'] as const;
export type Outage = (typeof OUTAGES)[number];

/** An outage of `ms` that ends by itself (the breaker: its ETA, then the orchestrator's next tick). */
export class OutageFor extends Base {
  constructor(
    readonly kind: Outage,
    readonly ms: number,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    // A restart wipes every engine: the streams on them fail over.
    w.mark(`${this.kind} outage for ${this.ms} ms`, this.kind === 'restart', this.ms);
    if (this.kind === 'vpn') await w.control('vpn', { connected: false, ms: this.ms });
    else if (this.kind === 'breaker') await w.control('circuit', { state: 'open', eta: Math.round(this.ms / 1000) });
    // A real restart is down for about 20 s; minutes of it would be an outage, not a restart.
    else if (this.kind === 'restart') await w.control('orchestrator', { mode: 'restart', ms: Math.min(this.ms, 60_000) });
    else await w.control('orchestrator', { mode: this.kind, ms: this.ms });
  }
  toString() {
    return `outage(${this.kind}, ${this.ms / 1000} s)`;
  }
}

export function longArbitraries() {
  return {
    longWait: fc.integer({ min: 3, max: 30 }).map((n) => new LongWait(n * 10_000)),
    outage: fc.record({ kind: fc.constantFrom(...OUTAGES), s: fc.integer({ min: 3, max: 30 }) }).map((r) => new OutageFor(r.kind, r.s * 10_000)),
  };
}
