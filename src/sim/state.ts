import { engineLabels } from './engine-json.ts';
import type { BreakerSnapshot, BreakerTransition } from './breaker.ts';
import type { FakeOrchestrator, OrchestratorModeSettings, ProvisionFaults } from './orchestrator.ts';
import type { ActiveSlotsView } from './active-slots.ts';
import type { AutoscalerAttempt, SimEngineEntry, SimEvent, SimProvision, StatusLogEntry, StreamRecord } from './orchestrator-types.ts';
import type { Quirks } from './quirks.ts';
import type { CapacitySettings } from './status.ts';

/** `GET /__sim/state`: everything the simulator did, times in epoch ms of its clock. */
export interface SimState {
  now: number;
  incarnation: number;
  orchestrator: OrchestratorModeSettings;
  vpn: { enabled: boolean; connected: boolean; until: number | null };
  circuit: BreakerSnapshot & { transitions: BreakerTransition[] };
  capacity: CapacitySettings;
  /** The VPN build's active-replicas pool as the orchestrator counts it now. */
  active_slots: ActiveSlotsView;
  /** Which real-orchestrator behaviours are on (POST /__sim/quirks). */
  quirks: Quirks;
  provision_faults: ProvisionFaults;
  /** Every engine ever created; `removed_at` is set once it is gone. */
  engines: SimEngineEntry[];
  provisions: SimProvision[];
  /** Every create by the orchestrator's own autoscaler, failed ones included. */
  autoscaler: AutoscalerAttempt[];
  /** Every stream event delivery as received, retries and rejects included. */
  events: SimEvent[];
  /** Every stream record ever created (the orchestrator's view is GET /streams). */
  streams: StreamRecord[];
  status_polls: number;
}

export function buildState(orch: FakeOrchestrator, mode: OrchestratorModeSettings): SimState {
  const now = orch.now();
  return {
    now,
    incarnation: orch.incarnation,
    orchestrator: { ...mode },
    vpn: { ...orch.vpn, until: orch.vpnUntil },
    circuit: { ...orch.breaker.snapshot(now), transitions: orch.breaker.transitions.map((t) => ({ ...t })) },
    capacity: { ...orch.capacity },
    active_slots: orch.activeSlots(),
    quirks: { ...orch.quirks },
    provision_faults: { ...orch.provisionFaults },
    engines: orch.engines.map((m) => ({
      ...m.engine.state(),
      removed_at: m.removedAt,
      origin: m.origin,
      incarnation: m.incarnation,
      health_status: m.removedAt === null ? m.engine.health() : 'unknown',
      streams: m.removedAt === null && m.incarnation === orch.incarnation ? orch.streamIdsOn(m.engine.containerId) : [],
      labels: engineLabels(m),
    })),
    provisions: orch.provisions.map((p) => ({ ...p })),
    autoscaler: orch.autoscaler.map((a) => ({ ...a })),
    events: orch.events.map((e) => ({ ...e })),
    streams: orch.streamHistory.map((s) => ({ ...s, labels: { ...s.labels } })),
    status_polls: orch.statusPolls,
  };
}

export function statusLogCopy(log: StatusLogEntry[]): StatusLogEntry[] {
  return log.map((e) => ({ ...e }));
}
