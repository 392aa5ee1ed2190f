/**
 * Tolerant parsers for what a deployed orchestrator really sends: both timestamp forms,
 * numbers as strings, missing optional fields, `detail` as an object or a string. A body
 * that cannot be made sense of throws OrchestratorBadResponseError.
 */
import { OrchestratorBadResponseError } from './errors.ts';
import type {
  BlockedDetails,
  EngineHealth,
  EngineInfo,
  OrchestratorStatus,
  ProvisionResult,
  StreamEndedResult,
  StreamRecord,
} from './types.ts';

type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObject(v)) throw new OrchestratorBadResponseError(`${what} is not an object`);
  return v;
}

function optObj(v: unknown): Obj {
  return isObject(v) ? v : {};
}

export function num(v: unknown, fallback = 0): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}

export function numOrNull(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = num(v, Number.NaN);
  return Number.isNaN(n) ? null : n;
}

function bool(v: unknown, fallback = false): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return /^(true|1|yes)$/i.test(v);
  return fallback;
}

function str(v: unknown, fallback = ''): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : fallback;
}

function strOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * `2026-11-27T02:23:26.826324+00:00` and `2026-11-27T02:23:15.838267Z` (and naive times,
 * which the orchestrator means as UTC) → epoch ms; anything else → null.
 */
export function parseTimestamp(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  // Date.parse keeps only milliseconds; trim microseconds so every engine parses it alike.
  let s = v.trim().replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(s)) s += 'Z';
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

export function parseBlockedDetails(v: unknown): BlockedDetails | null {
  if (!isObject(v)) return null;
  const code = str(v.code);
  if (!code) return null;
  return {
    code,
    message: str(v.message),
    etaSeconds: numOrNull(v.recovery_eta_seconds),
    canRetry: bool(v.can_retry),
    shouldWait: bool(v.should_wait),
  };
}

export function parseStatus(body: unknown): OrchestratorStatus {
  const b = obj(body, 'status');
  if (typeof b.status !== 'string') throw new OrchestratorBadResponseError('status has no "status" field');
  const engines = optObj(b.engines);
  const streams = optObj(b.streams);
  const capacity = optObj(b.capacity);
  const vpn = optObj(b.vpn);
  const prov = optObj(b.provisioning);
  return {
    status: b.status,
    engines: {
      total: num(engines.total),
      running: num(engines.running),
      healthy: num(engines.healthy),
      unhealthy: num(engines.unhealthy),
    },
    streams: { active: num(streams.active), total: num(streams.total) },
    capacity: {
      total: num(capacity.total),
      used: num(capacity.used),
      available: num(capacity.available),
      maxReplicas: numOrNull(capacity.max_replicas),
      minReplicas: numOrNull(capacity.min_replicas),
    },
    vpn: {
      enabled: bool(vpn.enabled),
      connected: bool(vpn.connected),
      health: str(vpn.health, 'unknown'),
      forwardedPort: numOrNull(vpn.forwarded_port),
    },
    provisioning: {
      // Absent means "nothing said it is blocked"; the blocked details decide below.
      canProvision: bool(prov.can_provision, true),
      circuitBreakerState: str(prov.circuit_breaker_state, 'closed'),
      lastFailure: parseTimestamp(prov.last_failure),
      blockedReason: strOrNull(prov.blocked_reason),
      blocked: parseBlockedDetails(prov.blocked_reason_details),
    },
    timestamp: parseTimestamp(b.timestamp),
  };
}

function health(v: unknown): EngineHealth {
  return v === 'healthy' || v === 'unhealthy' ? v : 'unknown';
}

export function parseEngine(v: unknown): EngineInfo {
  const e = obj(v, 'engine');
  const containerId = str(e.container_id);
  if (!containerId) throw new OrchestratorBadResponseError('engine has no container_id');
  const labels = optObj(e.labels);
  const port = num(e.port, num(labels['host.http_port'], Number.NaN));
  if (!Number.isInteger(port) || port <= 0) throw new OrchestratorBadResponseError(`engine ${containerId} has no port`);
  const streams = Array.isArray(e.streams) ? e.streams.map((s) => str(s)).filter(Boolean) : [];
  return {
    containerId,
    containerName: strOrNull(e.container_name),
    host: str(e.host, '127.0.0.1') || '127.0.0.1',
    port,
    streams,
    health: health(e.health_status),
    forwarded: bool(e.forwarded),
    firstSeen: parseTimestamp(e.first_seen),
    lastSeen: parseTimestamp(e.last_seen),
    lastStreamUsage: parseTimestamp(e.last_stream_usage),
  };
}

export function parseEngines(body: unknown): EngineInfo[] {
  if (!Array.isArray(body)) throw new OrchestratorBadResponseError('engines is not a list');
  const out: EngineInfo[] = [];
  // One malformed entry must not hide the healthy engines beside it.
  for (const item of body) {
    try {
      out.push(parseEngine(item));
    } catch {
      /* skipped: an engine we cannot address is an engine we cannot use */
    }
  }
  return out;
}

/** `GET /engines/{id}` answers 200 `{"error":"not found"}` for unknown ids: null then. */
export function parseEngineOrMissing(body: unknown): EngineInfo | null {
  if (isObject(body) && body.container_id === undefined && body.error !== undefined) return null;
  return parseEngine(body);
}

export function parseStreamRecord(v: unknown): StreamRecord {
  const s = obj(v, 'stream');
  const id = str(s.id);
  if (!id) throw new OrchestratorBadResponseError('stream has no id');
  return {
    id,
    keyType: str(s.key_type),
    key: str(s.key),
    containerId: str(s.container_id),
    playbackSessionId: strOrNull(s.playback_session_id),
    statUrl: strOrNull(s.stat_url),
    commandUrl: strOrNull(s.command_url),
    isLive: bool(s.is_live, true),
    startedAt: parseTimestamp(s.started_at),
    endedAt: parseTimestamp(s.ended_at),
    status: str(s.status, 'started'),
  };
}

export function parseStreams(body: unknown): StreamRecord[] {
  if (!Array.isArray(body)) throw new OrchestratorBadResponseError('streams is not a list');
  return body.map(parseStreamRecord);
}

export function parseProvision(body: unknown): ProvisionResult {
  const b = obj(body, 'provision answer');
  const containerId = str(b.container_id);
  if (!containerId) throw new OrchestratorBadResponseError('provision answer has no container_id');
  return {
    containerId,
    containerName: strOrNull(b.container_name),
    hostHttpPort: numOrNull(b.host_http_port),
    containerHttpPort: numOrNull(b.container_http_port),
  };
}

export function parseStreamEnded(body: unknown): StreamEndedResult {
  const b = optObj(body);
  return { updated: bool(b.updated), stream: isObject(b.stream) ? parseStreamRecord(b.stream) : null };
}
