/**
 * `POST /events/stream_started` and `POST /events/stream_ended`. These only send; the rules
 * about *when* an end may be sent (only for an accepted id, once) live in the outbox.
 */
import { call, type OrchestratorHttpOptions } from './http.ts';
import { expectJson } from './expect.ts';
import { parseStreamEnded, parseStreamRecord } from './parse.ts';
import type { StreamEndedEvent, StreamEndedResult, StreamRecord, StreamStartedEvent } from './types.ts';

export async function sendStreamStarted(
  opts: OrchestratorHttpOptions,
  ev: StreamStartedEvent,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
  /** Labels every start carries (the instance); `stream_id` is always the event's own. */
  labels: Record<string, string> = {},
): Promise<StreamRecord> {
  const body = {
    container_id: ev.containerId,
    engine: { host: ev.engine.host, port: ev.engine.port },
    stream: { key_type: ev.stream.keyType, key: ev.stream.key },
    session: {
      playback_session_id: ev.session.playbackSessionId,
      // Valid URLs or nothing: the orchestrator answers 422 to an empty string.
      ...(ev.session.statUrl ? { stat_url: ev.session.statUrl } : {}),
      ...(ev.session.commandUrl ? { command_url: ev.session.commandUrl } : {}),
      is_live: ev.session.isLive ? 1 : 0,
    },
    labels: { ...labels, stream_id: ev.streamId },
  };
  const answer = await call(opts, 'POST', '/events/stream_started', { ...options, body });
  return parseStreamRecord(expectJson(answer, 'stream_started', opts.apiKey));
}

export async function sendStreamEnded(
  opts: OrchestratorHttpOptions,
  ev: StreamEndedEvent,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<StreamEndedResult> {
  // Never let an empty id through: the orchestrator would end some other stream.
  if (!ev.streamId || !ev.containerId) throw new TypeError('stream_ended needs a stream id and a container id');
  const body = { container_id: ev.containerId, stream_id: ev.streamId, reason: ev.reason };
  const answer = await call(opts, 'POST', '/events/stream_ended', { ...options, body });
  return parseStreamEnded(expectJson(answer, 'stream_ended', opts.apiKey));
}
