/**
 * The invariants, each a named check over what one run left behind: the simulator's state
 * and status log (`GET /__sim/state`, `/__sim/status-log`, its `/streams`), acerelay's
 * journal entries, and what every player received. Each returns how many things it checked
 * and what it found wrong. 1–10 are acerelay.md's; 11–13 (invariants-at-scale.ts) came with
 * crowds, long runs and the soak; 14 (invariant-hls.ts) with HLS viewers.
 */
import type { SimProvision, SimState, StatusLogEntry } from '../sim/index.ts';
import type { JournalEntry } from '../domain/journal.ts';
import type { PlayerLog } from './player.ts';
import type { HlsViewerLog } from './hls-viewer.ts';
import { hlsViewersServed } from './invariant-hls.ts';
import type { FaultMark, Footprint } from './world.ts';
import { listedNotRun, memoryReturns, queueBound } from './invariants-at-scale.ts';
import { accounting } from './stream-accounting.ts';
import { BREAKER_ETA_FLOOR_S } from '../core/provision-gate.ts';

export interface RunRecord {
  limits: {
    holdMaxMs: number;
    noResponseTimeoutMs: number;
    emptyTimeoutMs: number;
    maxPerEngine: number;
    provisionConcurrency: number;
    probeIntervalMs: number;
    queueMax: number;
    /** The world's step: real I/O may take this long in virtual time. */
    stepMs: number;
    hlsSegmentMs: number;
  };
  players: PlayerLog[];
  /** What every HLS viewer was answered. */
  hls: HlsViewerLog[];
  sim: SimState;
  statusLog: StatusLogEntry[];
  entries: JournalEntry[];
  runOf: Map<string, number>;
  faults: FaultMark[];
  /** acerelay when everything should have ended. */
  end: { sessions: number; players: number; held: number; queue: number; slots: number; running: string[] };
  /** The streams the orchestrator lists as started after the quiet end (its `GET /streams?status=started`). */
  listed: Array<{ id: string; containerId: string; startedAt: number }>;
  /** acerelay's memory share at the start and after the quiet end (null: not measured, as in the soak). */
  memory: { start: Footprint | null; end: Footprint } | null;
  checkedAt: number;
}

export interface InvariantResult {
  checks: number;
  violations: string[];
}

export interface Invariant {
  id: number;
  name: string;
  check(run: RunRecord): InvariantResult;
}

const MARGIN_MS = 10_000;
/** A status answered this close before a provisioning call may not have been read yet (at least one step more). */
const READ_GRACE_MS = 300;

function t(run: RunRecord, at: number): string {
  return `t=${((at - (run.players[0]?.arrivedAt ?? run.sim.now)) / 1000).toFixed(1)}s`;
}

/** 1. Every request ends in stream bytes or a definitive answer; nobody waits past HOLD_MAX (+ margins). */
const answered: Invariant = {
  id: 1,
  name: 'every player request ends in stream bytes or a definitive answer',
  check(run) {
    const { holdMaxMs, noResponseTimeoutMs, emptyTimeoutMs } = run.limits;
    const startBound = noResponseTimeoutMs + holdMaxMs + MARGIN_MS;
    const gapBound = emptyTimeoutMs + holdMaxMs + MARGIN_MS;
    const violations: string[] = [];
    for (const p of run.players) {
      const gaveUp = p.endedAt ?? run.checkedAt;
      if (p.status !== null && p.status !== 200) {
        if (p.headersAt! - p.arrivedAt > startBound) violations.push(`player ${p.id}: ${p.status} only after ${p.headersAt! - p.arrivedAt} ms`);
        continue;
      }
      const answeredAt = p.firstMediaAt ?? (p.ending === 'reset' || p.ending === 'end' || p.ending === 'error' ? p.endedAt : null) ?? gaveUp;
      if (answeredAt - p.arrivedAt > startBound) {
        violations.push(`player ${p.id} (${t(run, p.arrivedAt)}): ${p.firstMediaAt ? 'first media' : p.ending === 'open' || p.ending === 'left' ? 'nothing' : `a ${p.ending}`} after ${answeredAt - p.arrivedAt} ms (> ${startBound})`);
      }
      const silentTail = p.lastMediaAt !== null && (p.ending === 'open' || p.ending === 'left') ? gaveUp - p.lastMediaAt : 0;
      const gap = Math.max(p.maxMediaGap, silentTail);
      if (gap > gapBound) violations.push(`player ${p.id}: ${gap} ms without media mid-stream and no reset (> ${gapBound})`);
    }
    return { checks: run.players.length, violations };
  },
};

/**
 * A provisioning answer that fails a session for good: a 500 other than the full house's and
 * the pool's "Maximum active replicas" (those mean wait) and other than a broken orchestrator's
 * text 500 in error500 mode (no verdict: wait), or a refused API key.
 */
export function finalRefusal(c: SimProvision): boolean {
  if (c.http_status === 401 || c.http_status === 403) return true;
  if (c.http_status !== 500) return false;
  return c.reason !== 'full_house' && c.reason !== 'active_replicas' && !(c.code ?? '').startsWith('orchestrator_');
}

/**
 * 2. A held player — one answered 200 that got no media yet, crowds included — is not reset
 * before HOLD_MAX while only should-wait problems hold.
 */
const heldNotFailedEarly: Invariant = {
  id: 2,
  name: 'a held player gets no error before HOLD_MAX while the wait is a should-wait one',
  check(run) {
    const violations: string[] = [];
    let checks = 0;
    for (const p of run.players) {
      const held = p.status === 200 && p.firstMediaAt === null;
      if (!held || p.headersAt === null) continue;
      checks++;
      if (p.ending !== 'reset' && p.ending !== 'end' && p.ending !== 'error') continue;
      // HOLD_MAX runs from the 200 (a player may wait up to 2 s of provisioning before it).
      const heldFor = p.endedAt! - p.headersAt;
      if (heldFor >= run.limits.holdMaxMs - 1_000) continue;
      // A failure that is not a should-wait one may end it early: a fault acting while it
      // waited, or a provisioning call refused for good. "Maximum active replicas" is not one.
      const from = p.arrivedAt - 5_000;
      const hardFault = run.faults.some((f) => f.hard && f.t <= p.endedAt! && f.until >= from);
      const hardRefusal = run.sim.provisions.some((c) => finalRefusal(c) && (c.done_at ?? c.t) >= from && c.t <= p.endedAt!);
      if (!hardFault && !hardRefusal) {
        const around = run.sim.provisions.filter((c) => c.http_status !== 200 && (c.done_at ?? c.t) >= from && c.t <= p.endedAt!);
        const seen = [...new Set(around.map((c) => `${c.http_status} ${c.code}${c.reason ? ` (${c.reason})` : ''}`))];
        violations.push(`player ${p.id} (${t(run, p.arrivedAt)}): held, then ${p.ending} after ${heldFor} ms with no hard failure around${seen.length ? ` — provisioning answered ${seen.join(', ')}` : ''}`);
      }
    }
    return { checks, violations };
  },
};

function good(s: StatusLogEntry): boolean {
  return s.http_status === 200 && s.fault === null;
}

/**
 * The status acerelay must have acted on before a call at `at`: the last good answer at
 * least READ_GRACE_MS before it — unless an answer in the grace window (which acerelay may
 * already have read) says otherwise; then no verdict (null).
 */
function statusAt(run: RunRecord, at: number, judge: (s: StatusLogEntry) => boolean): StatusLogEntry | null {
  const grace = Math.max(READ_GRACE_MS, run.limits.stepMs + 200);
  let known: StatusLogEntry | null = null;
  for (const s of run.statusLog) {
    if (s.t > at) break;
    if (!good(s)) continue;
    if (s.t <= at - grace) known = s;
    else if (!judge(s)) return null;
  }
  return known && judge(known) ? known : null;
}

/**
 * When a provisioning call is allowed after the breaker status `s`: its ETA from it; an ETA
 * under the floor (it sits at 0 while still open) is floored from the first status of the
 * same opening that showed it under the floor — a status every 2 s (held players) must not
 * push the probe back for ever. "The same opening" is what acerelay can tell: answered
 * statuses that all said so, whatever failed in between — an orchestrator that restarted
 * behind a stretch of 500s and opened its breaker again looks, to acerelay, like the breaker
 * that never closed (the soak's seed 1830 found the invariant judging by incarnation).
 */
function breakerAllowedAt(run: RunRecord, s: StatusLogEntry): number {
  if (s.eta === null) return s.t + BREAKER_ETA_FLOOR_S * 1000;
  if (s.eta >= BREAKER_ETA_FLOOR_S) return s.t + s.eta * 1000;
  let since = s.t;
  for (let i = run.statusLog.indexOf(s) - 1; i >= 0; i--) {
    const x = run.statusLog[i]!;
    if (!good(x)) continue;
    if (x.code !== 'circuit_breaker' || x.can_retry !== false || x.eta === null || x.eta >= BREAKER_ETA_FLOOR_S) break;
    since = x.t;
  }
  return Math.max(s.t + s.eta * 1000, since + BREAKER_ETA_FLOOR_S * 1000);
}

/** 3. No provisioning while the last status says the breaker is open and its (floored) ETA has not passed. */
const breakerRespected: Invariant = {
  id: 3,
  name: "no provisioning while the breaker's (floored) ETA runs",
  check(run) {
    const violations: string[] = [];
    for (const p of run.sim.provisions) {
      const s = statusAt(run, p.t, (x) => x.code === 'circuit_breaker' && x.can_retry === false);
      if (!s || s.incarnation !== p.incarnation) continue;
      const allowedAt = breakerAllowedAt(run, s);
      if (p.t < allowedAt - 100) {
        violations.push(`provisioning at ${t(run, p.t)} while the status of ${t(run, s.t)} said breaker open, ETA ${s.eta} s (allowed from ${t(run, allowedAt)})`);
      }
    }
    return { checks: run.sim.provisions.length, violations };
  },
};

function blocked(s: StatusLogEntry): boolean {
  if (s.code === 'vpn_disconnected') return true;
  if (s.code === 'circuit_breaker') return s.can_retry === false;
  return s.can_provision === false && s.code !== 'max_capacity';
}

/**
 * 4. Provisioning in flight stays within its bound at every instant (a sweep over the
 * simulator's calls, from arrival to answer); while blocked, one at a time, spaced by the
 * probe interval.
 */
const provisioningBounded: Invariant = {
  id: 4,
  name: 'provisioning calls stay bounded and do not grow with waiting players',
  check(run) {
    const violations: string[] = [];
    const calls = run.sim.provisions.map((p) => ({ ...p, end: p.done_at ?? run.checkedAt }));
    // Arrivals and answers in time order, an answer before an arrival at the same instant
    // (acerelay may send the next call the moment the last one is answered).
    const moments = calls.flatMap((c) => [
      { at: c.t, delta: 1, call: c },
      { at: c.end, delta: -1, call: c },
    ]);
    moments.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let inFlight = 0;
    for (const m of moments) {
      inFlight += m.delta;
      // An answer at its arrival's instant (a refusal at once) is never in flight.
      if (m.delta < 0 || m.call.end === m.call.t) continue;
      if (inFlight > run.limits.provisionConcurrency) violations.push(`${inFlight} provisioning calls in flight at ${t(run, m.at)} (bound ${run.limits.provisionConcurrency})`);
      const s = statusAt(run, m.at, blocked);
      if (s && s.incarnation === m.call.incarnation && inFlight > 1) {
        violations.push(`${inFlight} provisioning calls in flight at ${t(run, m.at)} while blocked (${s.code})`);
      }
    }
    for (let i = 1; i < calls.length; i++) {
      const prev = calls[i - 1]!;
      const cur = calls[i]!;
      const s = statusAt(run, cur.t, blocked);
      if (prev.http_status === 503 && s && s.t <= prev.end && cur.t - prev.end < run.limits.probeIntervalMs - 500) {
        violations.push(`a probe at ${t(run, cur.t)} only ${cur.t - prev.end} ms after a refused one (probe interval ${run.limits.probeIntervalMs})`);
      }
    }
    return { checks: calls.length, violations };
  },
};

/** 5. Waiting sessions get engines in arrival order (the broker's queue is FIFO). */
const fifo: Invariant = {
  id: 5,
  name: 'held players are admitted in arrival order',
  check(run) {
    const violations: string[] = [];
    let checks = 0;
    const seqOf = new Map<string, number>();
    const state = new Map<string, string>();
    for (const e of run.entries) {
      if (e.machine !== 'session') continue;
      if (e.type === 'created') seqOf.set(e.actor, (e.input as { seq?: number } | null)?.seq ?? 0);
      const grant = e.event?.type === 'BROKER_ENGINE' || e.event?.type === 'BROKER_PROVISION';
      if (grant) {
        checks++;
        const mine = seqOf.get(e.actor) ?? 0;
        const run_ = run.runOf.get(e.actor);
        for (const [other, st] of state) {
          if (other === e.actor || run.runOf.get(other) !== run_ || st !== 'acquiring.waiting') continue;
          if ((seqOf.get(other) ?? 0) < mine) violations.push(`session ${e.actor} got an engine at ${t(run, e.t)} while earlier ${other} still waited`);
        }
      }
      state.set(e.actor, e.status === 'active' ? e.state : 'ended');
    }
    return { checks, violations };
  },
};

/** 6. No engine ever carries more than MAX_STREAMS_PER_ENGINE sessions. */
const engineLoad: Invariant = {
  id: 6,
  name: 'no engine carries more than MAX_STREAMS_PER_ENGINE sessions',
  check(run) {
    const violations: string[] = [];
    let checks = 0;
    for (const engine of run.sim.engines) {
      const spans = engine.sessions.map((s) => [s.started_at, s.stopped_at ?? run.checkedAt] as const);
      for (const [start] of spans) {
        checks++;
        const load = spans.filter(([s, e]) => s <= start && start < e).length;
        if (load > run.limits.maxPerEngine) violations.push(`engine ${engine.container_id.slice(0, 8)} carried ${load} sessions at ${t(run, start)}`);
      }
    }
    return { checks, violations };
  },
};

/** 8. Every engine session is stopped once its players are gone and the linger has passed. */
const stopped: Invariant = {
  id: 8,
  name: 'every engine session started is stopped after its last player and the linger',
  check(run) {
    const violations: string[] = [];
    let checks = 0;
    for (const engine of run.sim.engines) {
      for (const s of engine.sessions) {
        checks++;
        if (s.stopped_at === null) violations.push(`engine session ${s.playback_session_id.slice(0, 8)} on ${engine.container_id.slice(0, 8)} (started ${t(run, s.started_at)}) still runs`);
      }
    }
    return { checks, violations };
  },
};

/** 9. Whole 188-byte packets starting with 0x47; per PID, nothing lost or repeated (continuity counters), seams marked. */
const packets: Invariant = {
  id: 9,
  name: 'players receive whole packets, in order, none lost or duplicated',
  check(run) {
    // Each player checked its bytes as they arrived (packet-check.ts).
    const streamed = run.players.filter((p) => p.status === 200 && p.packets > 0);
    const violations = streamed.filter((p) => p.packetViolation !== null).map((p) => `player ${p.id}: ${p.packetViolation}`);
    return { checks: streamed.length, violations };
  },
};

/** 10. When everything has ended: no engine readers, no live actors, no reservations, an empty queue. */
const quiet: Invariant = {
  id: 10,
  name: 'when everything has ended, nothing is left behind',
  check(run) {
    const violations: string[] = [];
    const { sessions, players, held, queue, slots } = run.end;
    if (sessions) violations.push(`${sessions} engine sessions still live in acerelay`);
    if (players) violations.push(`${players} players still live in acerelay`);
    if (held) violations.push(`${held} players still held`);
    if (queue) violations.push(`${queue} sessions still queued`);
    if (slots) violations.push(`${slots} engine reservations still held`);
    const readers = run.sim.engines.flatMap((e) => e.sessions).filter((s) => s.readers > 0);
    if (readers.length) violations.push(`${readers.length} engine connections still open`);
    return { checks: 6, violations };
  },
};

export const INVARIANTS: Invariant[] = [
  answered,
  heldNotFailedEarly,
  breakerRespected,
  provisioningBounded,
  fifo,
  engineLoad,
  accounting,
  stopped,
  packets,
  quiet,
  listedNotRun,
  memoryReturns,
  queueBound,
  hlsViewersServed,
];
