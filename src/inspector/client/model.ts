/**
 * The inspector page's data and the pure rules it runs on (no DOM here, so vitest checks
 * them). The page knows no state names: it maps whatever StateValue an entry carries to the
 * diagram's node ids, so states added to a machine need no change in the page.
 */

export type MachineKind = 'session' | 'player';
export type StateValue = string | { [key: string]: StateValue };

/** One journal entry, as /api/sessions/:id/events and the SSE `entry` event send it. */
export interface Entry {
  seq: number;
  t: number;
  actor: string;
  machine: MachineKind;
  session: string;
  type: 'created' | 'event';
  event: { type: string; [key: string]: unknown } | null;
  input?: unknown;
  state: string;
  value: StateValue;
  status: 'active' | 'done' | 'error' | 'stopped';
  facts: Record<string, unknown>;
}

export interface PlayerView {
  id: string;
  session: string;
  state: string;
  /** `hls`: the channel's HLS audience, one player for all its HLS clients. */
  transport?: 'ts' | 'hls';
  /** An HLS audience's distinct clients within the idle time. */
  clients?: number;
  value?: StateValue;
  created_at?: number;
  since?: number | null;
}

export interface LiveSession {
  id: string;
  key: string;
  state: string;
  value?: StateValue;
  phase?: string;
  engine: { container_id: string; host: string; port: number } | null;
  stream_id?: string | null;
  wait?: { reason: string; etaSeconds: number | null } | null;
  failovers?: number;
  last_problem?: string | null;
  players: PlayerView[];
  bytes_in: number;
  bytes_out: number;
  created_at: number;
  since?: number | null;
}

export interface FinishedSession {
  id: string;
  key: string | null;
  state: string;
  started_at: number;
  ended_at: number | null;
  facts: Record<string, unknown>;
}

export interface SessionsView {
  live: LiveSession[];
  finished: FinishedSession[];
}

export interface BlockedView {
  code: string;
  message: string;
  etaSeconds: number | null;
  canRetry: boolean;
  shouldWait: boolean;
}

export interface OrchestratorView {
  mode: 'orchestrator' | 'single-engine';
  feed: { kind: string; observed_at: number | null; age_ms: number | null; polled_at: number | null; error: string | null; failures: number };
  status: {
    status: string;
    vpn: { enabled: boolean; connected: boolean; health: string; forwardedPort: number | null };
    breaker: string;
    can_provision: boolean;
    blocked: BlockedView | null;
    capacity: { total: number; used: number; available: number; maxReplicas: number | null; minReplicas: number | null };
    engines: { total: number; running: number; healthy: number; unhealthy: number };
    streams: { active: number; total: number };
  } | null;
  broker: {
    engines: Array<{ containerId: string; host: string; port: number; health: string; forwarded: boolean; load: number; suspect: boolean; origin?: string }>;
    queue: Array<{ sessionId: string; seq: number; wait: { reason: string; etaSeconds: number | null } | null }>;
    slots: Array<{ sessionId: string; engineId: string; phase: string }>;
    provisioning: { inFlight: number; lastFailedProbeAt: number | null; refusal: { details: BlockedView; observedAt: number } | null; fullSince?: number | null };
  };
  /** Whether the orchestrator accepts our API key (null without an orchestrator). */
  auth?: { ok: boolean; status: number | null; since: number | null; message: string | null } | null;
  held: number;
  clients: number;
  sessions: number;
  sim_control: string | null;
}

/** What the model of a diagram says (the server's MachineGraph). */
export interface GraphModel {
  machine: string;
  states: Array<{ id: string; path: string[]; key: string; type: string; parent: string | null }>;
  edges: Array<{ id: string; source: string; target: string; events: string[]; labels: string[] }>;
  eventLabels: Record<string, string>;
}

export interface DiagramInfo {
  name: string;
  kind: MachineKind;
  svg: string;
  graph: GraphModel;
}

/** Everything the server embeds in the page for the first paint. */
export interface InitialState {
  now: number;
  sessions: SessionsView;
  orchestrator: OrchestratorView;
  diagrams: DiagramInfo[];
  /** Whether the simulator's fault switches are offered (demo mode). */
  sim: boolean;
}

/**
 * State paths of a StateValue, ancestors first: `{running: 'streaming'}` → `running`,
 * `running.streaming`. Parallel regions give one path per active leaf (and their ancestors).
 */
export function statePaths(value: StateValue): string[] {
  const out: string[] = [];
  const walk = (v: StateValue, prefix: string) => {
    if (typeof v === 'string') {
      out.push(prefix ? `${prefix}.${v}` : v);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path);
      walk(child, path);
    }
  };
  walk(value, '');
  return out;
}

/** The diagram ids (`session`, `session.running`, `session.running.streaming`) active in `value`. */
export function activeIds(machineId: string, value: StateValue): string[] {
  return [machineId, ...statePaths(value).map((p) => `${machineId}.${p}`)];
}

/** The last entry of each actor at or before `cursor` (an index into `entries`). */
export function actorsAt(entries: readonly Entry[], cursor: number): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (let i = 0; i <= cursor && i < entries.length; i++) out.set(entries[i]!.actor, entries[i]!);
  return out;
}

/** The actor's entry before `cursor`, if any (the state a transition left). */
export function previousOf(entries: readonly Entry[], cursor: number): Entry | null {
  const current = entries[cursor];
  if (!current) return null;
  for (let i = cursor - 1; i >= 0; i--) if (entries[i]!.actor === current.actor) return entries[i]!;
  return null;
}

/**
 * The edges an entry's transition took: from a state active before to one active after, on
 * the entry's event when an edge names it (eventless chains fall back to any such edge).
 */
export function takenEdges(graph: GraphModel, before: StateValue | null, entry: Entry): string[] {
  if (!before || entry.type !== 'event') return [];
  const from = new Set(activeIds(graph.machine, before));
  const to = new Set(activeIds(graph.machine, entry.value));
  const candidates = graph.edges.filter((e) => from.has(e.source) && to.has(e.target));
  const type = entry.event?.type;
  const named = candidates.filter((e) => type !== undefined && e.events.includes(type));
  return (named.length > 0 ? named : candidates).map((e) => e.id);
}

/** `after linger`, `done: startEngine`, or the event's own type. */
export function eventName(type: string | undefined, labels: Record<string, string>): string {
  if (!type) return 'created';
  return labels[type] ?? type;
}

/** A one-line summary of an event's payload: `phase.kind=waiting phase.wait.reason=vpn`. */
export function summarize(event: Entry['event'], max = 4): string {
  if (!event) return '';
  const parts: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (parts.length >= max) return;
    if (v === null || v === undefined) return;
    if (typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, path ? `${path}.${k}` : k);
      return;
    }
    const text = Array.isArray(v) ? `[${v.length}]` : String(v);
    parts.push(`${path}=${text.length > 40 ? `${text.slice(0, 39)}…` : text}`);
  };
  const { type: _type, ...rest } = event;
  walk(rest, '');
  return parts.join(' ');
}

export function shortId(id: string): string {
  const bare = id.replace(/^[sp]-/, '');
  return bare.slice(0, 8);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatClock(t: number): string {
  const d = new Date(t);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A state name's family, for its badge colour: good, waiting, trouble, over. */
export function stateTone(state: string): 'good' | 'wait' | 'bad' | 'over' | 'neutral' {
  const leaf = state.split('.').at(-1) ?? state;
  if (/stream|connect|^live/.test(leaf)) return 'good';
  if (/fail|error|abort|refus/.test(leaf)) return 'bad';
  if (/recover|after_failure|backoff/.test(leaf)) return 'bad';
  if (/wait|queue|held|circuit|acquir|provision|check|start|request|routing|linger/.test(leaf)) return 'wait';
  if (/end|stop|cancel|done/.test(leaf)) return 'over';
  return 'neutral';
}
