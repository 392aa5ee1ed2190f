import type { BreakerState } from './breaker.ts';
import type { HealthStatus } from './engine.ts';
import { isoOffset } from './timestamps.ts';

export const VPN_CONTAINER = 'gluetun';
export const FORWARDED_PORT = 43210;
export const TARGET_IMAGE = 'acestream/engine:latest';
export const VPN_ETA_S = 60;

export interface CapacitySettings {
  min_replicas: number;
  max_replicas: number;
  /** The VPN build's port pool (MAX_ACTIVE_REPLICAS); not part of the status document. */
  max_active_replicas: number;
  auto_delete: boolean;
  grace_period_s: number;
}

export interface VpnSettings {
  enabled: boolean;
  connected: boolean;
}

export interface StatusInput {
  now: number;
  /** Health of every running engine container. */
  engines: HealthStatus[];
  activeStreams: number;
  totalStreams: number;
  capacity: CapacitySettings;
  vpn: VpnSettings;
  breaker: { state: BreakerState; eta: number | null; lastFailure: number | null };
}

export type BlockedCode = 'vpn_disconnected' | 'circuit_breaker' | 'max_capacity';

export interface BlockedDetails {
  code: BlockedCode;
  message: string;
  recovery_eta_seconds: number | null;
  can_retry: boolean;
  should_wait: boolean;
}

/** First match wins: VPN, then breaker, then capacity (orchestrator.md). */
export function blockedDetails(input: StatusInput): BlockedDetails | null {
  const { vpn, breaker, capacity } = input;
  if (vpn.enabled && !vpn.connected) {
    return {
      code: 'vpn_disconnected',
      message: 'VPN is disconnected; provisioning resumes when it reconnects',
      recovery_eta_seconds: VPN_ETA_S,
      can_retry: true,
      should_wait: true,
    };
  }
  if (breaker.state !== 'closed') {
    return {
      code: 'circuit_breaker',
      message: `Circuit breaker is ${breaker.state}; provisioning is paused after repeated failures`,
      recovery_eta_seconds: breaker.eta,
      can_retry: breaker.state === 'half_open',
      should_wait: true,
    };
  }
  if (input.engines.length >= capacity.max_replicas) return maxCapacityDetails(input.engines.length, capacity);
  return null;
}

/** Running engines ≥ max_replicas (even all idle): the grace period as ETA with auto-delete, else none. */
export function maxCapacityDetails(running: number, capacity: CapacitySettings): BlockedDetails {
  return {
    code: 'max_capacity',
    message: `Maximum capacity reached (${running}/${capacity.max_replicas} engines)`,
    recovery_eta_seconds: capacity.auto_delete ? capacity.grace_period_s : null,
    can_retry: false,
    should_wait: true,
  };
}

export function vpnHealth(vpn: VpnSettings): 'healthy' | 'unhealthy' | 'unknown' {
  if (!vpn.enabled) return 'unknown';
  return vpn.connected ? 'healthy' : 'unhealthy';
}

export function computeStatus(input: StatusInput): Record<string, unknown> {
  const blocked = blockedDetails(input);
  const running = input.engines.length;
  const healthy = input.engines.filter((h) => h === 'healthy').length;
  const unhealthy = input.engines.filter((h) => h === 'unhealthy').length;
  let status: 'unavailable' | 'degraded' | 'healthy' = 'healthy';
  if (running === 0) status = 'unavailable';
  else if (blocked && blocked.code !== 'max_capacity') status = 'degraded';
  const { vpn, capacity } = input;
  return {
    status,
    engines: { total: running, running, healthy, unhealthy },
    streams: { active: input.activeStreams, total: input.totalStreams },
    capacity: {
      total: running,
      used: input.activeStreams,
      available: Math.max(0, running - input.activeStreams),
      max_replicas: capacity.max_replicas,
      min_replicas: capacity.min_replicas,
    },
    vpn: {
      enabled: vpn.enabled,
      connected: vpn.enabled && vpn.connected,
      health: vpnHealth(vpn),
      container: vpn.enabled ? VPN_CONTAINER : null,
      forwarded_port: vpn.enabled && vpn.connected ? FORWARDED_PORT : null,
    },
    provisioning: {
      can_provision: blocked === null,
      circuit_breaker_state: input.breaker.state,
      last_failure: input.breaker.lastFailure === null ? null : isoOffset(input.breaker.lastFailure),
      blocked_reason: blocked ? blocked.message : null,
      blocked_reason_details: blocked,
    },
    config: { auto_delete: capacity.auto_delete, grace_period_s: capacity.grace_period_s, target_image: TARGET_IMAGE },
    timestamp: isoOffset(input.now),
  };
}
