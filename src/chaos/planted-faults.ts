/**
 * Deliberate bugs for proving the chaos harness is sharp: `acerelay chaos --plant <name>`
 * (and the harness's own tests) switch one on and expect the harness to catch and shrink it.
 * Each is planted in one acerelay by changing one of its ports as the runtime wires them
 * (`PortHooks`), on control paths only, never on the byte path: nothing in core knows of
 * them, and two runs in one process never share one.
 */
import { ProvisionGate } from '../core/provision-gate.ts';
import type { BrokerPort } from '../core/session-actors.ts';
import type { BlockedDetails, OrchestratorStatus } from '../adapters/orchestrator/types.ts';
import { ProvisionError } from '../adapters/orchestrator/errors.ts';
import type { PortHooks } from '../runtime.ts';

export const PLANTED_FAULTS = {
  'provision-ignores-breaker-eta': 'provisioning probes a tripped breaker without waiting for its ETA',
  'retry-per-waiting-player': 'every waiting session makes its own provisioning call while blocked',
  'skip-stream-ended-on-linger': 'a session ended after its linger never sends stream_ended',
  'queue-out-of-order': 'the engine queue serves the newest arrival first',
  'end-unknown-id': 'stream_ended goes out for an id the orchestrator never accepted',
  'provision-bound-grows-with-queue': 'the provisioning bound grows by one call for every 6 sessions waiting (only a crowd has that many)',
  'full-house-fails-held-players': "the orchestrator's \"Maximum active replicas\" taken as a final provisioning failure (held players reset)",
  'leak-per-session': 'every new session leaves 256 KiB behind for good',
} as const;

/** Waiting sessions per extra provisioning call under `provision-bound-grows-with-queue`. */
export const SESSIONS_PER_EXTRA_CALL = 6;
/** What `leak-per-session` keeps per session. */
export const LEAK_PER_SESSION = 256 * 1024;

export type PlantedFault = keyof typeof PLANTED_FAULTS;

/** The port changes that plant `fault` (none for null). */
export function plantedPorts(fault: PlantedFault | null): PortHooks {
  switch (fault) {
    case null:
      return {};
    case 'provision-ignores-breaker-eta':
      return { gate: (concurrency, probeIntervalMs) => new BreakerEtaIgnored(concurrency, probeIntervalMs) };
    case 'retry-per-waiting-player':
      return { gate: (concurrency, probeIntervalMs) => new ProbePerWaiter(concurrency, probeIntervalMs) };
    case 'skip-stream-ended-on-linger':
      return {
        streamEvents: (sink) => ({
          started: (ev, session) => sink.started(ev, session),
          ended: (ev, session) => (ev.reason === 'client_left' ? undefined : sink.ended(ev, session)),
          flush: (ms) => sink.flush(ms),
        }),
      };
    case 'queue-out-of-order': {
      // Each request sorts before every earlier one: the newest arrival is served first.
      let newest = 0;
      return {
        broker: (broker) => ({
          ...forward(broker),
          request: (req) => broker.request({ ...req, seq: --newest }),
        }),
      };
    }
    case 'provision-bound-grows-with-queue': {
      const waiting = new Set<string>();
      return {
        gate: (concurrency, probeIntervalMs) => new BoundGrowsWithQueue(concurrency, probeIntervalMs, () => waiting.size),
        broker: (broker) => ({
          ...forward(broker),
          request: (req) => {
            waiting.add(req.sessionId);
            const cancel = broker.request({
              ...req,
              listener: (update) => {
                if (update.type === 'granted') waiting.delete(req.sessionId);
                req.listener(update);
              },
            });
            return () => {
              waiting.delete(req.sessionId);
              cancel();
            };
          },
          release: (sessionId) => {
            waiting.delete(sessionId);
            broker.release(sessionId);
          },
        }),
      };
    }
    case 'full-house-fails-held-players':
      return {
        broker: (broker) => ({
          ...forward(broker),
          provision: (sessionId) =>
            broker.provision(sessionId).catch((err: unknown) => {
              // The old reading: a 500 general_error is a failure, whatever it says.
              if (err instanceof ProvisionError && err.reason === 'max_capacity' && err.status === 500) {
                throw new ProvisionError(500, 'failed', 'general_error', err.message, null, false, false);
              }
              throw err;
            }),
        }),
      };
    case 'leak-per-session': {
      const kept = new Map<string, Buffer>();
      return {
        broker: (broker) => ({
          ...forward(broker),
          request: (req) => {
            if (!kept.has(req.sessionId)) kept.set(req.sessionId, Buffer.alloc(LEAK_PER_SESSION, 1));
            return broker.request(req);
          },
        }),
      };
    }
    case 'end-unknown-id':
      return {
        orchestratorEvents: (port) => ({
          streamStarted: (ev) => port.streamStarted(ev),
          streamEnded: (ev) => port.streamEnded({ ...ev, streamId: `${ev.streamId}-x` }),
          startedStreams: () => port.startedStreams(),
        }),
      };
  }
}

/** Probes a tripped breaker as if it were half-open: its ETA is never waited for. */
class BreakerEtaIgnored extends ProvisionGate {
  protected override etaIgnored(details: BlockedDetails): boolean {
    return details.code === 'circuit_breaker';
  }
}

/** Lets every waiting session probe a blocked orchestrator, at once and all together. */
class ProbePerWaiter extends ProvisionGate {
  protected override probeVerdict(): ReturnType<ProvisionGate['check']> {
    return { allowed: true, reason: null, etaSeconds: null, probeAt: null, probe: true };
  }
}

/** The broker's verbs passed through unchanged (a planted fault replaces one or two). */
function forward(broker: BrokerPort): BrokerPort {
  return {
    request: (req) => broker.request(req),
    provision: (sessionId) => broker.provision(sessionId),
    activate: (sessionId, streamId, infohash) => broker.activate(sessionId, streamId, infohash),
    release: (sessionId) => broker.release(sessionId),
    reportFailure: (engineId) => broker.reportFailure(engineId),
  };
}

/**
 * "More demand, more calls": while not blocked, one more provisioning call in flight is
 * allowed for every SESSIONS_PER_EXTRA_CALL sessions waiting. The single players of the classic
 * mix never have that many (five channels); a crowd on many channels does.
 */
class BoundGrowsWithQueue extends ProvisionGate {
  constructor(
    private readonly bound: number,
    probeIntervalMs: number,
    private readonly waiting: () => number,
  ) {
    super(bound, probeIntervalMs);
  }
  override check(now: number, status: OrchestratorStatus, observedAt: number): ReturnType<ProvisionGate['check']> {
    const verdict = super.check(now, status, observedAt);
    if (verdict.allowed || verdict.reason !== 'provisioning') return verdict;
    const bound = this.bound + Math.floor(this.waiting() / SESSIONS_PER_EXTRA_CALL);
    return this.inFlight < bound ? { allowed: true, reason: null, etaSeconds: null, probeAt: null, probe: false } : verdict;
  }
}
