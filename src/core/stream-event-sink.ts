/**
 * Where a session's stream_started / stream_ended go (the journaled outbox). Sessions on
 * engines the orchestrator does not manage (single engine, fallback) never call it.
 * `session` names the session actor whose transition caused the event: the event is written
 * in the same journal transaction as that transition.
 */
import type { StreamEndedEvent, StreamStartedEvent } from '../adapters/orchestrator/types.ts';

export interface StreamEventSink {
  started(ev: StreamStartedEvent, session: string): void;
  ended(ev: StreamEndedEvent, session: string): void;
  /** Resolves true when every queued event was delivered (or dropped) within `ms`. */
  flush(ms: number): Promise<boolean>;
}

/** For single-engine mode: nothing to tell anyone. */
export const noStreamEvents: StreamEventSink = {
  started: () => {},
  ended: () => {},
  flush: async () => true,
};
