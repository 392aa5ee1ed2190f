/**
 * Where a session's stream_started / stream_ended go. The outbox implements it; sessions on
 * engines the orchestrator does not manage (single engine, fallback) never call it.
 */
import type { StreamEndedEvent, StreamStartedEvent } from '../adapters/orchestrator/types.ts';

export interface StreamEventSink {
  started(ev: StreamStartedEvent): void;
  ended(ev: StreamEndedEvent): void;
  /** Resolves when every queued event was delivered (or could not be within `ms`). */
  flush(ms: number): Promise<boolean>;
}

/** For single-engine mode: nothing to tell anyone. */
export const noStreamEvents: StreamEventSink = {
  started: () => {},
  ended: () => {},
  flush: async () => true,
};
