/**
 * The nouns of one stream, shared by the machines, the broker, the adapters and the server.
 * Types only; this folder imports nothing outside itself.
 */

/** What a player asked for: a content id, or an infohash (40 hex, lower case). */
export type Source = { kind: 'id'; value: string } | { kind: 'infohash'; value: string };

export type EngineHealth = 'healthy' | 'unhealthy' | 'unknown';

/** Where an engine came from: the orchestrator's list, our own provisioning call, or configuration. */
export type EngineOrigin = 'orchestrator' | 'provisioned' | 'fallback' | 'single';

/** An engine a session was given (by the broker): where it answers and whether the orchestrator manages it. */
export interface EngineRef {
  containerId: string;
  /** `http://host:port`. */
  base: string;
  host: string;
  port: number;
  health: EngineHealth;
  forwarded: boolean;
  origin: EngineOrigin;
  /** Whether the orchestrator manages it (only then do stream events go out). */
  managed: boolean;
}

/** An engine's answer to a start (`format=json`): where the stream is read, watched and stopped. */
export interface StartedPlayback {
  playbackUrl: string;
  statUrl: string | null;
  commandUrl: string | null;
  infohash: string;
  playbackSessionId: string;
  isLive: boolean;
}

/** Why a stream ended, as stream_ended says it. */
export type EndReason = 'client_left' | 'upstream_failed' | 'failover' | 'shutdown' | 'proxy_restart' | 'start_failed';
