/**
 * Crowds, where users are: N players (10–200) joining at once on one channel or each on its
 * own; a share of everyone leaving at once; a crowd arriving during an outage that then ends
 * (the orchestrator's pool of active replicas nearly full when it does, as on the night 130
 * held players were reset). A crowd larger than ACERELAY_QUEUE_MAX fills the held queue.
 * fast-check shrinks a crowd's size towards 10 and its spread towards one channel.
 */
import fc from 'fast-check';
import { Base, type Model } from './commands.ts';
import { CROWD_CHANNELS, type ChaosWorld } from './world.ts';

export const MIN_CROWD = 10;

function channelsOf(size: number, spread: boolean, first: number): number[] {
  return Array.from({ length: size }, (_, i) => (spread ? (first + i) % CROWD_CHANNELS : first));
}

function crowdName(size: number, spread: boolean, first: number): string {
  return spread ? `${size} on channels ${first}…${(first + size - 1) % CROWD_CHANNELS}` : `${size} on channel ${first}`;
}

export class Crowd extends Base {
  constructor(
    readonly size: number,
    readonly spread: boolean,
    readonly first: number,
  ) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    m.players += w.joinMany(channelsOf(this.size, this.spread, this.first)).length;
  }
  toString() {
    return `crowd(${crowdName(this.size, this.spread, this.first)})`;
  }
}

export class CrowdLeave extends Base {
  constructor(readonly tenths: number) {
    super();
  }
  protected override applies(m: Readonly<Model>) {
    return m.players > 0 || m.viewers > 0;
  }
  protected async act(_m: Model, w: ChaosWorld) {
    const open = [...w.openPlayers(), ...w.openViewers()];
    const leaving = Math.ceil((open.length * this.tenths) / 10);
    // Spread over everyone (every channel, old and new players, HLS viewers), all in the same tick.
    const stride = open.length / Math.max(1, leaving);
    for (let i = 0; i < leaving; i++) open[Math.floor(i * stride)]?.leave();
  }
  toString() {
    return `crowdLeave(${this.tenths * 10}%)`;
  }
}

export type OutageKind = 'vpn' | 'breaker' | 'orchestrator';

/** Starts an outage of `kind`; returns how to end it. */
export async function beginOutage(w: ChaosWorld, kind: OutageKind, etaSeconds: number): Promise<() => Promise<void>> {
  w.mark(`${kind} outage`, false);
  if (kind === 'vpn') {
    await w.control('vpn', { connected: false });
    return () => w.control('vpn', { connected: true });
  }
  if (kind === 'breaker') {
    await w.control('circuit', { state: 'open', eta: etaSeconds });
    return () => w.control('circuit', { state: 'closed' });
  }
  await w.control('orchestrator', { mode: 'down' });
  return () => w.control('orchestrator', { mode: 'ok' });
}

/**
 * An outage begins (and is seen, or not yet), a crowd arrives, the outage ends after `heldMs`
 * — with the orchestrator's pool of active replicas leaving room for only `room` more engines
 * when `room` is set, so that the calls after the outage answer "Maximum active replicas".
 */
export class CrowdOutage extends Base {
  constructor(
    readonly kind: OutageKind,
    readonly size: number,
    readonly spread: boolean,
    readonly first: number,
    readonly seen: boolean,
    readonly heldMs: number,
    readonly etaSeconds: number,
    readonly room: number | null,
  ) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    const end = await beginOutage(w, this.kind, this.etaSeconds);
    // Long enough for a status poll to show it (ACERELAY_STATUS_INTERVAL + its timeout).
    if (this.seen) await w.advance(w.config.statusIntervalMs + w.config.statusTimeoutMs);
    m.players += w.joinMany(channelsOf(this.size, this.spread, this.first)).length;
    await w.advance(this.heldMs);
    if (this.room !== null) {
      const running = w.sim.state().engines.filter((e) => e.removed_at === null).length;
      w.mark(`active replicas ${running + this.room}`, false);
      await w.control('capacity', { max_active_replicas: running + this.room });
    }
    await end();
  }
  toString() {
    const eta = this.kind === 'breaker' ? `, eta ${this.etaSeconds} s` : '';
    const room = this.room === null ? '' : `, then room for ${this.room} more engines`;
    return `crowdOutage(${this.kind}${eta}${this.seen ? ' seen' : ''}, ${crowdName(this.size, this.spread, this.first)}, ends after ${this.heldMs} ms${room})`;
  }
}

export function crowdArbitraries(maxCrowd: number) {
  const size = fc.integer({ min: MIN_CROWD, max: Math.max(MIN_CROWD, maxCrowd) });
  const first = fc.nat({ max: CROWD_CHANNELS - 1 });
  return {
    crowd: fc.record({ size, spread: fc.boolean(), first }).map((r) => new Crowd(r.size, r.spread, r.first)),
    crowdLeave: fc.integer({ min: 3, max: 10 }).map((t) => new CrowdLeave(t)),
    crowdOutage: fc
      .record({
        kind: fc.constantFrom<OutageKind>('vpn', 'breaker', 'orchestrator'),
        size,
        spread: fc.boolean(),
        first,
        seen: fc.boolean(),
        // Shorter than HOLD_MAX (60 s in the harness): the crowd is still held when the outage ends.
        heldSeconds: fc.integer({ min: 1, max: 18 }),
        // Within HOLD_MAX: the crowd is held (0 is the breaker's "any moment now", floored).
        eta: fc.integer({ min: 0, max: 40 }),
        room: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
      })
      .map((r) => new CrowdOutage(r.kind, r.size, r.spread, r.first, r.seen, r.heldSeconds * 1000, r.eta, r.room)),
  };
}
