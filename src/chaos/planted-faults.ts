/**
 * Deliberate bugs for proving the chaos harness is sharp: `acerelay chaos --plant <name>`
 * (and the harness's own tests) switch one on and expect the harness to catch and shrink it.
 * Each is planted in one acerelay by changing one of its ports as the runtime wires them
 * (`PortHooks`), on control paths only, never on the byte path: nothing in core knows of
 * them, and two runs in one process never share one.
 */
import { ProvisionGate } from '../core/provision-gate.ts';
import type { BlockedDetails } from '../adapters/orchestrator/types.ts';
import type { PortHooks } from '../runtime.ts';

export const PLANTED_FAULTS = {
  'provision-ignores-breaker-eta': 'provisioning probes a tripped breaker without waiting for its ETA',
  'retry-per-waiting-player': 'every waiting session makes its own provisioning call while blocked',
  'skip-stream-ended-on-linger': 'a session ended after its linger never sends stream_ended',
  'queue-out-of-order': 'the engine queue serves the newest arrival first',
  'end-unknown-id': 'stream_ended goes out for an id the orchestrator never accepted',
} as const;

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
          request: (req) => broker.request({ ...req, seq: --newest }),
          provision: (sessionId) => broker.provision(sessionId),
          activate: (sessionId, streamId, infohash) => broker.activate(sessionId, streamId, infohash),
          release: (sessionId) => broker.release(sessionId),
          reportFailure: (engineId) => broker.reportFailure(engineId),
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
