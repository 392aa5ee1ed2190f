/**
 * The random things that happen to a proxy, as fast-check commands run against the real
 * world: players join and leave; the VPN flaps; the breaker opens with countdown ETAs
 * (0 and null included); capacity changes; provisioning fails or crawls; engines stall, cut,
 * restart or start slowly; the orchestrator goes down, slow, mad or forgetful; acerelay
 * itself is killed or restarted on the same journal; time passes.
 */
import fc from 'fast-check';
import type { ChaosWorld } from './world.ts';
import { CHANNELS } from './world.ts';

export interface Model {
  players: number;
  /** HLS viewers that joined. */
  viewers: number;
  /** Virtual time the run has covered so far. */
  elapsedMs: number;
  /** No command starts once the run has covered this much (a long run's 30 minutes). */
  capMs: number;
}

export type Cmd = fc.AsyncCommand<Model, ChaosWorld, false>;

/** A command's action plus a short settle, so the system reacts before the next one. */
export abstract class Base implements Cmd {
  abstract toString(): string;
  check(m: Readonly<Model>): boolean {
    return m.elapsedMs < m.capMs && this.applies(m);
  }
  /** Whether the command makes sense in this model (beyond the time cap). */
  protected applies(_m: Readonly<Model>): boolean {
    return true;
  }
  async run(m: Model, w: ChaosWorld): Promise<void> {
    const from = w.clock.now();
    await this.act(m, w);
    await w.advance(200);
    m.elapsedMs += w.clock.now() - from;
  }
  protected abstract act(m: Model, w: ChaosWorld): Promise<void>;
}

export class Join extends Base {
  constructor(readonly channel: number) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    if (w.join(this.channel)) m.players++;
  }
  toString() {
    return `join(${this.channel})`;
  }
}

class Leave extends Base {
  constructor(readonly index: number) {
    super();
  }
  protected override applies(m: Readonly<Model>) {
    return m.players > 0;
  }
  protected async act(_m: Model, w: ChaosWorld) {
    const open = w.openPlayers();
    if (open.length > 0) open[this.index % open.length]!.leave();
  }
  toString() {
    return `leave(${this.index})`;
  }
}

export class Wait extends Base {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    await w.advance(this.ms);
  }
  toString() {
    return `wait(${this.ms})`;
  }
}

class Vpn extends Base {
  constructor(readonly connected: boolean) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`vpn ${this.connected ? 'up' : 'down'}`, false);
    await w.control('vpn', { connected: this.connected });
  }
  toString() {
    return `vpn(${this.connected ? 'up' : 'down'})`;
  }
}

class Breaker extends Base {
  constructor(
    readonly state: 'open' | 'closed' | 'half_open',
    readonly eta: number | null,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`breaker ${this.state}`, false);
    await w.control('circuit', this.state === 'open' ? { state: 'open', eta: this.eta } : { state: this.state });
  }
  toString() {
    return this.state === 'open' ? `breaker(open, eta=${this.eta})` : `breaker(${this.state})`;
  }
}

class Capacity extends Base {
  constructor(readonly max: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`max_replicas ${this.max}`, false);
    await w.control('capacity', { max_replicas: this.max });
  }
  toString() {
    return `capacity(${this.max})`;
  }
}

class ProvisionFail extends Base {
  constructor(
    readonly fail: number,
    readonly code: 'general_error' | 'vpn_error' | 'text500' | 'string_detail',
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    // Armed now, acting on later calls: invariant 2 reads the failed calls from the simulator.
    w.mark(`provisioning fails ×${this.fail} (${this.code})`, false);
    await w.control('provision', { fail: this.fail, code: this.code });
  }
  toString() {
    return `provisionFail(${this.fail}, ${this.code})`;
  }
}

class ProvisionSlow extends Base {
  constructor(readonly delayMs: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`provisioning takes ${this.delayMs} ms`, false);
    await w.control('provision', { fail: 0, delay_ms: this.delayMs });
  }
  toString() {
    return `provisionSlow(${this.delayMs})`;
  }
}

const ENGINE_MODES = ['stall', 'cut', 'restart', 'slow_start', 'refuse', 'gap'] as const;

class EngineFault extends Base {
  constructor(
    readonly engine: number,
    readonly mode: (typeof ENGINE_MODES)[number],
    readonly ms: number,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    const engines = w.sim.state().engines.filter((e) => e.removed_at === null);
    const target = engines[this.engine % Math.max(1, engines.length)];
    if (!target) return;
    w.mark(`engine ${target.container_id.slice(0, 8)} ${this.mode} ${this.ms} ms`, this.mode !== 'gap', this.ms);
    await w.control(`engines/${target.container_id}`, { mode: this.mode, ms: this.ms, delay_ms: Math.min(this.ms, 8_000) });
  }
  toString() {
    return `engine(${this.engine}, ${this.mode}, ${this.ms})`;
  }
}

const ORCH_MODES = ['down', 'error500', 'slow', 'garbage', 'restart', 'ok'] as const;

export class Orchestrator extends Base {
  constructor(
    readonly mode: (typeof ORCH_MODES)[number],
    readonly ms: number,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    // A restart wipes every engine: streams on them fail over.
    w.mark(`orchestrator ${this.mode} ${this.ms} ms`, this.mode === 'restart', this.ms);
    await w.control('orchestrator', this.mode === 'slow' ? { mode: 'slow', ms: Math.min(this.ms, 4_000) } : { mode: this.mode, ms: this.ms });
  }
  toString() {
    return `orchestrator(${this.mode}, ${this.ms})`;
  }
}

class RestartAcerelay extends Base {
  constructor(readonly kind: 'crash' | 'graceful') {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    if (this.kind === 'crash') await w.crashAcerelay();
    else await w.restartAcerelay();
    m.players = w.openPlayers().length;
  }
  toString() {
    return `acerelay(${this.kind === 'crash' ? 'kill -9' : 'restart'})`;
  }
}

/** The single-player commands' weights (their arbitraries come first, in this order). */
export interface ClassicWeights {
  join: number;
  leave: number;
  wait: number;
  vpn: number;
  breaker: number;
  capacity: number;
  provisionFail: number;
  provisionSlow: number;
  engine: number;
  orchestrator: number;
  restart: number;
}

/** The mix the harness had before crowds: at most a handful of players per run. */
export const CLASSIC_WEIGHTS: ClassicWeights = {
  join: 6,
  leave: 3,
  wait: 4,
  vpn: 1,
  breaker: 2,
  capacity: 1,
  provisionFail: 1,
  provisionSlow: 1,
  engine: 2,
  orchestrator: 2,
  restart: 1,
};

export function classicArbitraries(weights: ClassicWeights): Array<fc.Arbitrary<Cmd>> {
  const w = (arb: fc.Arbitrary<Cmd>, n: number) => Array.from({ length: n }, () => arb);
  return [
    ...w(fc.integer({ min: 0, max: CHANNELS.length - 1 }).map((c) => new Join(c)), weights.join),
    ...w(fc.nat({ max: 20 }).map((i) => new Leave(i)), weights.leave),
    ...w(fc.integer({ min: 5, max: 250 }).map((n) => new Wait(n * 100)), weights.wait),
    ...w(fc.boolean().map((c) => new Vpn(c)), weights.vpn),
    ...w(
      fc.oneof(
        fc.record({ eta: fc.oneof(fc.constant(0), fc.constant(null), fc.integer({ min: 3, max: 40 })) }).map((r) => new Breaker('open', r.eta)),
        fc.constant(new Breaker('closed', null)),
        fc.constant(new Breaker('half_open', null)),
      ),
      weights.breaker,
    ),
    ...w(fc.integer({ min: 1, max: 4 }).map((n) => new Capacity(n)), weights.capacity),
    ...w(
      fc.record({ fail: fc.integer({ min: 1, max: 3 }), code: fc.constantFrom('general_error', 'vpn_error', 'text500', 'string_detail') as fc.Arbitrary<ProvisionFail['code']> }).map(
        (r) => new ProvisionFail(r.fail, r.code),
      ),
      weights.provisionFail,
    ),
    ...w(fc.integer({ min: 0, max: 150 }).map((n) => new ProvisionSlow(n * 100)), weights.provisionSlow),
    ...w(
      fc.record({ engine: fc.nat({ max: 3 }), mode: fc.constantFrom(...ENGINE_MODES), ms: fc.integer({ min: 10, max: 200 }) }).map((r) => new EngineFault(r.engine, r.mode, r.ms * 100)),
      weights.engine,
    ),
    ...w(fc.record({ mode: fc.constantFrom(...ORCH_MODES), ms: fc.integer({ min: 10, max: 200 }) }).map((r) => new Orchestrator(r.mode, r.ms * 100)), weights.orchestrator),
    ...w(fc.constantFrom('crash', 'graceful').map((k) => new RestartAcerelay(k as 'crash' | 'graceful')), weights.restart),
  ];
}
