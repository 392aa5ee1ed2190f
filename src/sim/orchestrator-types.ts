import type { SimEngineState } from './engine.ts';
import type { FakeEngine } from './engine.ts';
import type { SourceKind } from './engine-session.ts';

export type EngineOrigin = 'initial' | 'provision' | 'autoscaler' | 'restart';

/** An engine container as the orchestrator manages it. */
export interface ManagedEngine {
  engine: FakeEngine;
  origin: EngineOrigin;
  incarnation: number;
  firstSeen: number;
  lastStreamUsage: number | null;
  removedAt: number | null;
  /** Provision labels; stream_started labels are merged in (quirk `merge_labels`). */
  labels: Record<string, string>;
}

export type StreamEndedBy = 'event' | 'stranger' | 'sweep';

export interface StreamRecord {
  id: string;
  key_type: SourceKind;
  key: string;
  /** The container it is filed under (not always the one the event named). */
  container_id: string;
  playback_session_id: string;
  stat_url: string;
  command_url: string;
  started_at: number;
  ended_at: number | null;
  status: 'started' | 'ended';
  labels: Record<string, string>;
  incarnation: number;
  /** How it ended: its own stream_ended, someone else's (the unknown-id danger), or the sweep. */
  ended_by: StreamEndedBy | null;
}

export interface SimProvision {
  /** When the call arrived. */
  t: number;
  /** When it was answered; null while in flight. */
  done_at: number | null;
  http_status: number | null;
  code: string | null;
  container_id: string | null;
  incarnation: number;
  /** Why it failed, when the code alone does not say: `full_house`, `active_replicas`, `injected`. */
  reason?: string | null;
}

/** One create by the orchestrator's own autoscaler (at start, every tick, after a restart). */
export interface AutoscalerAttempt {
  t: number;
  origin: EngineOrigin;
  outcome: 'created' | 'failed';
  /** Why it failed: `max_active_replicas` (the pool is empty) or `general_error` (Docker). */
  code: string | null;
  container_id: string | null;
  incarnation: number;
}

export interface SimEvent {
  t: number;
  type: 'stream_started' | 'stream_ended';
  stream_id: string | null;
  container_id: string | null;
  http_status: number;
  incarnation: number;
  /** False when the orchestrator did not act on it (auth, validation, error500/garbage mode). */
  processed: boolean;
  reason?: string | null;
  updated?: boolean;
  /** stream_ended: the stream it actually ended (may differ from stream_id!). */
  ended_stream_id?: string | null;
  /** stream_started: the container the stream was filed under (the engine on its host:port when the id is unknown). */
  filed_under?: string | null;
}

export interface StatusLogEntry {
  t: number;
  http_status: number;
  /** `garbage` / `error500` when the orchestrator mode broke the answer. */
  fault: string | null;
  status: string | null;
  code: string | null;
  eta: number | null;
  can_retry: boolean | null;
  can_provision: boolean | null;
  incarnation: number;
}

export interface SimEngineEntry extends SimEngineState {
  origin: EngineOrigin;
  incarnation: number;
  health_status: string;
  /** Active stream ids the orchestrator counts on this engine. */
  streams: string[];
  /** Its labels as `/engines` shows them (provision labels, then merged stream_started labels). */
  labels: Record<string, string>;
}
