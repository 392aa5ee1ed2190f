import type { FakeOrchestrator } from './orchestrator.ts';
import type { ManagedEngine } from './orchestrator-types.ts';
import { VPN_CONTAINER } from './status.ts';
import { isoZ } from './timestamps.ts';

export const HEALTH_INTERVAL_MS = 20_000;

function lastProbe(orch: FakeOrchestrator, since: number): number {
  const now = orch.now();
  return now - ((now - since) % HEALTH_INTERVAL_MS);
}

/** An engine's labels as `/engines` shows them: the provision's, merged stream labels, its port. */
export function engineLabels(m: ManagedEngine): Record<string, string> {
  return { ...m.labels, 'host.http_port': String(m.engine.port) };
}

/** One EngineState of `/engines`; `forwarded` and `vpn_container` only with the `engines_forwarded` quirk. */
export function engineJson(orch: FakeOrchestrator, m: ManagedEngine): Record<string, unknown> {
  const e = m.engine;
  const probe = lastProbe(orch, m.firstSeen);
  const json: Record<string, unknown> = {
    container_id: e.containerId,
    container_name: e.containerName,
    host: e.host,
    port: e.port,
    labels: engineLabels(m),
    first_seen: isoZ(m.firstSeen),
    last_seen: isoZ(probe),
    streams: orch.streamIdsOn(e.containerId),
    health_status: e.health(),
    last_health_check: isoZ(probe),
    last_stream_usage: m.lastStreamUsage === null ? null : isoZ(m.lastStreamUsage),
    last_cache_cleanup: null,
    cache_size_bytes: null,
  };
  if (orch.quirks.engines_forwarded && orch.vpn.enabled) {
    json.forwarded = orch.forwardedEngine() === m;
    json.vpn_container = VPN_CONTAINER;
  }
  return json;
}
