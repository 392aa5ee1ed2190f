/** `GET /vpn/status` and `GET /health/status`: read for the inspector, never for decisions. */
import { call, type OrchestratorHttpOptions } from './http.ts';
import { expectJson } from './expect.ts';
import { isObject, numOrNull, parseTimestamp } from './parse.ts';

export interface VpnStatus {
  enabled: boolean;
  status: string;
  health: string;
  connected: boolean;
  forwardedPort: number | null;
  lastCheck: number | null;
}

export async function getVpnStatus(opts: OrchestratorHttpOptions, options: { timeoutMs?: number } = {}): Promise<VpnStatus> {
  const body = expectJson(await call(opts, 'GET', '/vpn/status', options), 'vpn status', opts.apiKey);
  const b = isObject(body) ? body : {};
  return {
    enabled: b.enabled === true,
    status: typeof b.status === 'string' ? b.status : 'unknown',
    health: typeof b.health === 'string' ? b.health : 'unknown',
    connected: b.connected === true,
    forwardedPort: numOrNull(b.forwarded_port),
    lastCheck: parseTimestamp(b.last_check_at ?? b.last_check),
  };
}

export interface BreakerInfo {
  state: string;
  failureCount: number | null;
  failureThreshold: number | null;
  recoveryTimeoutS: number | null;
  lastFailure: number | null;
}

export interface HealthStatus {
  totalEngines: number | null;
  healthyEngines: number | null;
  breakers: Record<string, BreakerInfo>;
}

export async function getHealthStatus(opts: OrchestratorHttpOptions, options: { timeoutMs?: number } = {}): Promise<HealthStatus> {
  const body = expectJson(await call(opts, 'GET', '/health/status', options), 'health status', opts.apiKey);
  const b = isObject(body) ? body : {};
  const breakers: Record<string, BreakerInfo> = {};
  for (const [name, v] of Object.entries(isObject(b.circuit_breakers) ? b.circuit_breakers : {})) {
    if (!isObject(v)) continue;
    breakers[name] = {
      state: typeof v.state === 'string' ? v.state : 'unknown',
      failureCount: numOrNull(v.failure_count),
      failureThreshold: numOrNull(v.failure_threshold),
      recoveryTimeoutS: numOrNull(v.recovery_timeout),
      lastFailure: parseTimestamp(v.last_failure_time),
    };
  }
  return { totalEngines: numOrNull(b.total_engines), healthyEngines: numOrNull(b.healthy_engines), breakers };
}
