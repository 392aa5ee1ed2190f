/** The orchestrator contract (orchestrator.md), normalised: camelCase, epoch-ms times. */
import type { EngineHealth } from '../../domain/stream.ts';

export type { EngineHealth };

export type BlockedCode = 'vpn_disconnected' | 'circuit_breaker' | 'max_capacity' | (string & {});

export interface BlockedDetails {
  code: BlockedCode;
  message: string;
  /** null when the orchestrator gives none; 0 does not mean "ready now". */
  etaSeconds: number | null;
  canRetry: boolean;
  shouldWait: boolean;
}

export interface OrchestratorStatus {
  status: 'healthy' | 'degraded' | 'unavailable' | (string & {});
  engines: { total: number; running: number; healthy: number; unhealthy: number };
  streams: { active: number; total: number };
  capacity: { total: number; used: number; available: number; maxReplicas: number | null; minReplicas: number | null };
  vpn: { enabled: boolean; connected: boolean; health: string; forwardedPort: number | null };
  provisioning: {
    canProvision: boolean;
    circuitBreakerState: string;
    lastFailure: number | null;
    blockedReason: string | null;
    blocked: BlockedDetails | null;
  };
  /** The orchestrator's own clock, when it sent a parsable timestamp. */
  timestamp: number | null;
}

export interface EngineInfo {
  containerId: string;
  containerName: string | null;
  host: string;
  port: number;
  streams: string[];
  health: EngineHealth;
  /** The engine behind the VPN's forwarded P2P port (newer builds only). */
  forwarded: boolean;
  firstSeen: number | null;
  lastSeen: number | null;
  lastStreamUsage: number | null;
}

export interface StreamRecord {
  id: string;
  keyType: string;
  key: string;
  containerId: string;
  playbackSessionId: string | null;
  statUrl: string | null;
  commandUrl: string | null;
  isLive: boolean;
  startedAt: number | null;
  endedAt: number | null;
  status: 'started' | 'ended' | (string & {});
}

export interface ProvisionResult {
  containerId: string;
  containerName: string | null;
  hostHttpPort: number | null;
  containerHttpPort: number | null;
}

export type KeyType = 'content_id' | 'infohash' | 'url' | 'magnet';

export interface StreamStartedEvent {
  containerId: string;
  engine: { host: string; port: number };
  stream: { keyType: KeyType; key: string };
  session: { playbackSessionId: string; statUrl: string | null; commandUrl: string | null; isLive: boolean };
  streamId: string;
}

export interface StreamEndedEvent {
  containerId: string;
  streamId: string;
  reason: string;
}

export interface StreamEndedResult {
  updated: boolean;
  stream: StreamRecord | null;
}
