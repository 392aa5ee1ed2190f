import type http from 'node:http';
import { checkAuth } from './auth.ts';
import { sendJson } from './http-io.ts';
import { SWEEP_MS, type FakeOrchestrator } from './orchestrator.ts';
import type { SimEvent, StreamRecord } from './orchestrator-types.ts';
import type { SourceKind } from './engine-session.ts';
import { isoZ } from './timestamps.ts';
import { FieldChecker, parseJsonBody, validationBody } from './validation.ts';

const KEY_TYPES: readonly SourceKind[] = ['content_id', 'infohash', 'url', 'magnet'];

/** The StreamState JSON the orchestrator returns. */
export function streamJson(s: StreamRecord): Record<string, unknown> {
  return {
    id: s.id,
    key_type: s.key_type,
    key: s.key,
    container_id: s.container_id,
    playback_session_id: s.playback_session_id,
    stat_url: s.stat_url,
    command_url: s.command_url,
    is_live: true,
    started_at: isoZ(s.started_at),
    ended_at: s.ended_at === null ? null : isoZ(s.ended_at),
    status: s.status,
  };
}

function logEvent(orch: FakeOrchestrator, event: Omit<SimEvent, 't' | 'incarnation'>): SimEvent {
  const full: SimEvent = { t: orch.now(), incarnation: orch.incarnation, ...event };
  orch.events.push(full);
  return full;
}

function peekString(body: string | null, ...path: string[]): string | null {
  try {
    let cur: unknown = JSON.parse(body ?? '');
    for (const k of path) cur = (cur as Record<string, unknown>)[k];
    return typeof cur === 'string' ? cur : null;
  } catch {
    return null;
  }
}

/** What an unparsed event body claims, for the log of rejected deliveries. */
function claimed(body: string | null, type: SimEvent['type']): Pick<SimEvent, 'stream_id' | 'container_id'> {
  const container_id = peekString(body, 'container_id');
  if (type === 'stream_ended') return { stream_id: peekString(body, 'stream_id'), container_id };
  return { stream_id: peekString(body, 'labels', 'stream_id'), container_id };
}

/** Logs a delivery the orchestrator did not act on (error500 / garbage modes). */
export function logUnprocessedEvent(orch: FakeOrchestrator, type: SimEvent['type'], body: string | null, status: number): void {
  logEvent(orch, { type, ...claimed(body, type), http_status: status, processed: false });
}

export function handleStreamStarted(orch: FakeOrchestrator, req: http.IncomingMessage, res: http.ServerResponse, body: string | null): void {
  const reject = (status: number, payload: unknown) => {
    logEvent(orch, { type: 'stream_started', ...claimed(body, 'stream_started'), http_status: status, processed: false });
    sendJson(res, status, payload);
  };
  const auth = checkAuth(req, orch.opts.apiKey);
  if (auth) return reject(auth.status, auth.body);
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return reject(422, validationBody(parsed.issues));
  const v = parsed.value;
  const quirks = orch.quirks;
  const c = new FieldChecker();
  const containerId = c.string(v, ['container_id'], false, true);
  c.object(v, ['engine'], true);
  const host = c.string(v, ['engine', 'host'], true);
  const port = c.integer(v, ['engine', 'port'], true);
  c.object(v, ['stream'], true);
  const keyType = c.oneOf(v, ['stream', 'key_type'], KEY_TYPES) as SourceKind | null;
  const key = c.string(v, ['stream', 'key'], true);
  c.object(v, ['session'], true);
  const sessionId = c.string(v, ['session', 'playback_session_id'], true);
  const url = (field: string) => (quirks.strict_urls ? c.url(v, ['session', field], true) : c.string(v, ['session', field], true));
  const statUrl = url('stat_url');
  const commandUrl = url('command_url');
  c.integer(v, ['session', 'is_live'], false);
  const labels = c.stringMap(v, ['labels']);
  if (c.issues.length > 0 || host === null || port === null || keyType === null || key === null || sessionId === null) {
    return reject(422, validationBody(c.issues));
  }

  // An unknown container id (e.g. from before a restart) is filed under the engine now on
  // that host:port, and nothing ever sweeps it; the `sweep` quirk keeps the old model.
  const named = containerId !== null ? orch.findRunning(containerId) : undefined;
  const engine = named ?? (quirks.unknown_container === 'by_host_port' ? orch.findRunningAt(host, port) : undefined);
  const filedUnder = engine?.engine.containerId ?? containerId ?? `${host}:${port}`;
  if (engine && quirks.merge_labels) Object.assign(engine.labels, labels);

  const id = labels.stream_id ?? `${key}|${sessionId}`;
  const record: StreamRecord = {
    id,
    key_type: keyType,
    key,
    container_id: filedUnder,
    playback_session_id: sessionId,
    stat_url: statUrl ?? '',
    command_url: commandUrl ?? '',
    started_at: orch.now(),
    ended_at: null,
    status: 'started',
    labels,
    incarnation: orch.incarnation,
    ended_by: null,
  };
  // A repeated start with the same id replaces the record.
  orch.streams.set(id, record);
  orch.streamHistory.push(record);
  orch.touchEngine(filedUnder);
  if (!engine && quirks.unknown_container === 'sweep') {
    orch.timers.set(() => {
      if (orch.streams.get(id) === record) orch.endStream(record, 'sweep');
    }, SWEEP_MS);
  }
  logEvent(orch, { type: 'stream_started', stream_id: id, container_id: containerId, http_status: 200, processed: true, filed_under: filedUnder });
  sendJson(res, 200, streamJson(record));
}

export function handleStreamEnded(orch: FakeOrchestrator, req: http.IncomingMessage, res: http.ServerResponse, body: string | null): void {
  const reject = (status: number, payload: unknown) => {
    logEvent(orch, { type: 'stream_ended', ...claimed(body, 'stream_ended'), http_status: status, processed: false });
    sendJson(res, status, payload);
  };
  const auth = checkAuth(req, orch.opts.apiKey);
  if (auth) return reject(auth.status, auth.body);
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return reject(422, validationBody(parsed.issues));
  const c = new FieldChecker();
  const containerId = c.string(parsed.value, ['container_id'], false, true);
  const streamId = c.string(parsed.value, ['stream_id'], false, true);
  const reason = c.string(parsed.value, ['reason'], false, true);
  if (c.issues.length > 0) return reject(422, validationBody(c.issues));

  let target = streamId !== null ? orch.streams.get(streamId) : undefined;
  if (target) {
    orch.endStream(target, 'event');
  } else {
    // The documented danger: an unknown or missing id ends SOME other active stream,
    // on that container if it has one, else anywhere.
    const active = orch.activeStreams();
    target = active.find((s) => containerId !== null && s.container_id === containerId) ?? active[0];
    if (target) orch.endStream(target, 'stranger');
  }
  logEvent(orch, {
    type: 'stream_ended',
    stream_id: streamId,
    container_id: containerId,
    http_status: 200,
    processed: true,
    reason,
    updated: target !== undefined,
    ended_stream_id: target?.id ?? null,
  });
  sendJson(res, 200, { updated: target !== undefined, stream: target ? streamJson(target) : null });
}
