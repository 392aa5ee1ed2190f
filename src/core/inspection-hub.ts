/**
 * The one inspection hook every actor reports to. It turns XState inspection events into
 * journal entries — an actor's creation (with its input) and every event it processed (with
 * its payload and the state it led to) — and hands them to whoever listens: the journal, the
 * inspector's SSE, the recent-history ring. Machines are deterministic given their input and
 * events, so these entries are enough to rebuild any session's state by replaying them.
 */
import type { InspectionEvent } from 'xstate';
import type { Clock } from '../clock.ts';
import { stateName } from '../machines/state-name.ts';
import type { JournalEntry, MachineKind, SerializedEvent, StateValue } from '../domain/journal.ts';
import { recoveryFacts, type SessionContext } from '../machines/session.machine.ts';
import { MACHINE_VERSIONS } from '../machines/versions.ts';

export type HubListener = (entry: JournalEntry) => void;

interface Known {
  machine: MachineKind;
  session: string;
  recent: JournalEntry[];
  last: JournalEntry | null;
}

const RECENT_PER_ACTOR = 400;
/**
 * Longest session key copied into every entry's facts. A longer one (pass-through parameters)
 * is clipped there: the session's `created` entry holds it whole, in its input.
 */
export const KEY_FACT_MAX = 160;
const FINISHED_KEPT = 200;

export class InspectionHub {
  private seq = 0;
  private readonly known = new Map<string, Known>();
  private readonly listeners = new Set<HubListener>();
  /** Finished actors' histories, newest last, for the inspector when no journal keeps them. */
  private readonly finished: Array<{ actor: string; machine: MachineKind; session: string; entries: JournalEntry[] }> = [];

  /** `startSeq`: the journal's highest entry number, so numbers never repeat across runs. */
  constructor(
    private readonly clock: Clock,
    startSeq = 0,
  ) {
    this.seq = startSeq;
  }

  /** A number for an entry written outside an actor (crash recovery). */
  nextSeq(): number {
    return ++this.seq;
  }

  /** The journal opened late: numbers continue past the highest it holds. */
  skipTo(seq: number): void {
    if (seq > this.seq) this.seq = seq;
  }

  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called by the session registry right before it starts an actor. */
  created(actor: string, machine: MachineKind, session: string, input: unknown): void {
    this.known.set(actor, { machine, session, recent: [], last: null });
    this.pending.set(actor, input);
  }

  /** The XState `inspect` option of every actor. */
  readonly inspect = (ev: InspectionEvent): void => {
    if (ev.type !== '@xstate.snapshot') return;
    const actor = (ev.actorRef as unknown as { id: string }).id;
    const known = this.known.get(actor);
    if (!known) return;
    const snap = ev.snapshot as { value?: StateValue; status?: JournalEntry['status']; context?: Record<string, unknown> };
    if (snap.value === undefined) return;
    const input = this.pending.get(actor);
    const isInit = input !== undefined || (ev.event as { type?: string }).type === 'xstate.init';
    if (input !== undefined) this.pending.delete(actor);
    const entry: JournalEntry = {
      seq: ++this.seq,
      t: this.clock.now(),
      actor,
      machine: known.machine,
      session: known.session,
      type: isInit ? 'created' : 'event',
      event: isInit ? null : serializeEvent(ev.event as SerializedEvent),
      state: stateName(snap.value),
      value: snap.value,
      status: snap.status ?? 'active',
      facts: facts(known.machine, snap.value, snap.context ?? {}),
    };
    if (isInit) {
      entry.input = input ?? null;
      // The stored format these entries follow: a crash recovery replays only its own version.
      entry.facts.machine_version = MACHINE_VERSIONS[known.machine];
    }
    known.recent.push(entry);
    if (known.recent.length > RECENT_PER_ACTOR) known.recent.splice(0, known.recent.length - RECENT_PER_ACTOR);
    known.last = entry;
    for (const listener of this.listeners) listener(entry);
    if (entry.status !== 'active') this.retire(actor, known);
  };

  /** Entries of one actor still held in memory (live, or among the recently finished). */
  entriesOf(actor: string): JournalEntry[] {
    const live = this.known.get(actor);
    if (live) return [...live.recent];
    return this.finished.find((f) => f.actor === actor)?.entries ?? [];
  }

  /** Every entry in memory for one engine session: the session and its players, in order. */
  entriesOfSession(session: string): JournalEntry[] {
    const out: JournalEntry[] = [];
    for (const k of this.known.values()) if (k.session === session) out.push(...k.recent);
    for (const f of this.finished) if (f.session === session) out.push(...f.entries);
    return out.sort((a, b) => a.seq - b.seq);
  }

  latest(actor: string): JournalEntry | null {
    return this.known.get(actor)?.last ?? this.finished.find((f) => f.actor === actor)?.entries.at(-1) ?? null;
  }

  /** Recently finished sessions (newest first) with their final entry. */
  finishedSessions(): JournalEntry[] {
    return this.finished
      .filter((f) => f.machine === 'session')
      .map((f) => f.entries.at(-1)!)
      .reverse();
  }

  private readonly pending = new Map<string, unknown>();

  private retire(actor: string, known: Known): void {
    this.known.delete(actor);
    this.finished.push({ actor, machine: known.machine, session: known.session, entries: known.recent });
    if (this.finished.length > FINISHED_KEPT) this.finished.splice(0, this.finished.length - FINISHED_KEPT);
  }
}

/** Events as JSON: errors become {name, code, message, …}; nothing that cannot be stored. */
export function serializeEvent(event: SerializedEvent): SerializedEvent {
  const out: SerializedEvent = { type: event.type };
  for (const [k, v] of Object.entries(event)) {
    if (k === 'type') continue;
    out[k] = k === 'error' ? serializeError(v) : toJson(v);
  }
  return out;
}

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return toJson(err);
  const e = err as Error & { code?: unknown; status?: unknown; shouldWait?: unknown; reason?: unknown; etaSeconds?: unknown };
  return { name: e.name, message: e.message, code: e.code ?? null, status: e.status ?? null, shouldWait: e.shouldWait ?? null, reason: e.reason ?? null, etaSeconds: e.etaSeconds ?? null };
}

function toJson(v: unknown): unknown {
  if (v === undefined || typeof v === 'function') return null;
  if (v instanceof Error) return serializeError(v);
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch {
    return String(v);
  }
}

function facts(machine: MachineKind, value: StateValue, c: Record<string, unknown>): Record<string, unknown> {
  if (machine === 'player') {
    return { outcome: c.outcome ?? null, error: c.error ?? null, phase: (c.phase as { kind?: string } | null)?.kind ?? null };
  }
  const engine = c.engine as { containerId?: string } | null;
  return {
    key: clipKey(c.key),
    engine: engine?.containerId ?? null,
    stream_id: c.streamId ?? null,
    infohash: c.infohash ?? null,
    players: Array.isArray(c.players) ? c.players.length : 0,
    wait: c.wait ?? null,
    failovers: c.failovers ?? 0,
    last_problem: c.lastProblem ?? null,
    failure: c.failure ?? null,
    recovery: recoveryFacts(value, c as unknown as SessionContext),
  };
}

function clipKey(key: unknown): unknown {
  return typeof key === 'string' && key.length > KEY_FACT_MAX ? `${key.slice(0, KEY_FACT_MAX - 1)}…` : key;
}
