/**
 * The real orchestrator's ways as generated conditions (docs/orchestrator.md), through the
 * simulator's switches: its quirks turned either way, its pool of active replicas nearly
 * full ("Maximum active replicas" 500s) with leaked slots, `max_capacity` in the status with
 * idle engines, a wrong API key, stream events answered late, and a restart that wipes
 * everything (engines back on the same ports under new ids) while a session's engine start
 * or its stream_started is in flight.
 */
import fc from 'fast-check';
import type { Quirks } from '../sim/index.ts';
import { Base, type Model } from './commands.ts';
import { CHAOS_API_KEY, CROWD_CHANNELS, type ChaosWorld } from './world.ts';
import type { JournalEntry } from '../domain/journal.ts';

const QUIRK_CHOICES: Array<{ [K in keyof Quirks]: [K, Quirks[K]] }[keyof Quirks]> = [
  ['restart_engines', 'same_ports'],
  ['restart_engines', 'new_ports'],
  ['unknown_container', 'by_host_port'],
  ['unknown_container', 'sweep'],
  ['full_house', 'general_error'],
  ['full_house', 'max_capacity'],
  ['leak_failed_creates', false],
  ['merge_labels', false],
  ['engines_forwarded', true],
  ['breaker_counts_autoscaler', false],
];

export class Quirk extends Base {
  constructor(
    readonly name: keyof Quirks,
    readonly value: Quirks[keyof Quirks],
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`quirk ${this.name}=${String(this.value)}`, false);
    await w.control('quirks', { [this.name]: this.value });
  }
  toString() {
    return `quirk(${this.name}=${String(this.value)})`;
  }
}

function runningEngines(w: ChaosWorld): number {
  return w.sim.state().engines.filter((e) => e.removed_at === null).length;
}

/** The pool of active replicas leaves room for `room` more engines, `leaked` slots lost to failed creates. */
export class ActiveReplicas extends Base {
  constructor(
    readonly room: number,
    readonly leaked: number,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    const max = runningEngines(w) + this.room + this.leaked;
    w.mark(`active replicas ${max} (${this.leaked} leaked)`, false);
    await w.control('capacity', { max_active_replicas: max, leaked_slots: this.leaked });
  }
  toString() {
    return `activeReplicas(room ${this.room}, leaked ${this.leaked})`;
  }
}

/** min_replicas = max_replicas = k: `max_capacity` in the status while the engines sit idle. */
export class IdleFullHouse extends Base {
  constructor(readonly engines: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`max_capacity with ${this.engines} idle engines`, false);
    await w.control('capacity', { min_replicas: this.engines, max_replicas: this.engines });
  }
  toString() {
    return `idleFullHouse(${this.engines})`;
  }
}

/** The orchestrator's API key changes under acerelay for `ms` (403 on provisioning and on events). */
export class WrongKey extends Base {
  constructor(readonly ms: number) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    // Hard: a refused key fails a provisioning call for good.
    w.mark(`wrong API key for ${this.ms} ms`, true, this.ms);
    w.setOrchestratorKey('rotated-key');
    w.later(this.ms, () => w.setOrchestratorKey(CHAOS_API_KEY));
  }
  toString() {
    return `wrongKey(${this.ms})`;
  }
}

/** Every answer of the orchestrator (stream events included) comes `delayMs` late, for `forMs`. */
export class LateAnswers extends Base {
  constructor(
    readonly delayMs: number,
    readonly forMs: number,
  ) {
    super();
  }
  protected async act(_m: Model, w: ChaosWorld) {
    w.mark(`orchestrator answers ${this.delayMs} ms late`, false, this.forMs);
    await w.control('orchestrator', { mode: 'slow', ms: this.delayMs });
    w.later(this.forMs, () => w.control('orchestrator', { mode: 'ok' }));
  }
  toString() {
    return `lateAnswers(${this.delayMs} ms for ${this.forMs} ms)`;
  }
}

export type StartPhase = 'engine_start' | 'stream_started';

/** How long a stream_started waits at the orchestrator before it is read (the restart comes meanwhile). */
const HELD_EVENT_MS = 3_000;

/** Whether a session created after entry `from` has reached `phase`. */
function reached(entries: JournalEntry[], from: number, phase: StartPhase): boolean {
  const fresh = new Set<string>();
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.machine !== 'session') continue;
    if (e.type === 'created') fresh.add(e.actor);
    else if (fresh.has(e.actor) && (phase === 'engine_start' ? e.state === 'starting' : e.state.startsWith('running'))) return true;
  }
  return false;
}

/**
 * A player starts a new channel; the orchestrator restarts (everything wiped, engines back on
 * the same ports under new ids, unless the quirk says otherwise) while that session's engine
 * start is in flight, or while its stream_started sits unanswered at the orchestrator.
 */
export class RestartWhileStarting extends Base {
  constructor(
    readonly phase: StartPhase,
    readonly downMs: number,
    readonly channel: number,
  ) {
    super();
  }
  protected async act(m: Model, w: ChaosWorld) {
    const from = w.entries.length;
    if (w.join(this.channel)) m.players++;
    // A channel already live starts nothing: the restart comes anyway, a little later.
    await w.until(() => reached(w.entries, from, 'engine_start'), 20_000);
    if (this.phase === 'stream_started') {
      // Slow from the engine start on (not before: a slow status would keep the session from
      // an engine), so the stream_started that follows it is held at the orchestrator.
      await w.control('orchestrator', { mode: 'slow', ms: HELD_EVENT_MS });
      await w.until(() => reached(w.entries, from, 'stream_started'), 10_000);
      await w.advance(w.stepMs);
    }
    w.mark(`orchestrator restart during ${this.phase === 'engine_start' ? 'an engine start' : 'a stream_started'}`, true, this.downMs);
    await w.control('orchestrator', { mode: 'restart', ms: this.downMs });
  }
  toString() {
    return `restartWhileStarting(${this.phase}, down ${this.downMs} ms, channel ${this.channel})`;
  }
}

export function orchestratorWayArbitraries() {
  return {
    quirk: fc.constantFrom(...QUIRK_CHOICES).map(([name, value]) => new Quirk(name, value)),
    activeReplicas: fc.record({ room: fc.integer({ min: 0, max: 3 }), leaked: fc.integer({ min: 0, max: 3 }) }).map((r) => new ActiveReplicas(r.room, r.leaked)),
    idleFullHouse: fc.integer({ min: 1, max: 4 }).map((k) => new IdleFullHouse(k)),
    wrongKey: fc.integer({ min: 5, max: 60 }).map((s) => new WrongKey(s * 1000)),
    lateAnswers: fc.record({ delay: fc.integer({ min: 3, max: 15 }), span: fc.integer({ min: 5, max: 60 }) }).map((r) => new LateAnswers(r.delay * 1000, r.span * 1000)),
    restartWhileStarting: fc
      .record({
        phase: fc.constantFrom<StartPhase>('engine_start', 'stream_started'),
        down: fc.integer({ min: 1, max: 20 }),
        // Channels of their own, so the player starts a new session.
        channel: fc.integer({ min: 5, max: CROWD_CHANNELS - 1 }),
      })
      .map((r) => new RestartWhileStarting(r.phase, r.down * 1000, r.channel)),
  };
}
