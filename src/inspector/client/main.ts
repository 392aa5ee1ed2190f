/**
 * The inspector page: first paint from the JSON the server embedded, then /api/events (SSE)
 * keeps it live; a light poll of /api/sessions refreshes byte counts, which are not events.
 */
import { now, setServerNow } from './clock.ts';
import { byId, fill, h } from './dom.ts';
import { DiagramView } from './diagram-view.ts';
import { renderFaults } from './faults.ts';
import {
  actorsAt,
  formatBytes,
  formatDuration,
  previousOf,
  shortId,
  takenEdges,
  type DiagramInfo,
  type Entry,
  type FinishedSession,
  type InitialState,
  type LiveSession,
  type MachineKind,
  type OrchestratorView,
  type SessionsView,
  type StateValue,
} from './model.ts';
import { renderOrchestrator } from './orchestrator-panel.ts';
import { badge, renderFinished, renderLive, type Selection } from './sessions-panel.ts';
import { Timeline } from './timeline.ts';

const REFRESH_MS = 2000;

const initial = JSON.parse(byId('ins-initial').textContent ?? '{}') as InitialState;
setServerNow(initial.now);

let orchestrator: OrchestratorView | null = initial.orchestrator;
let live: LiveSession[] = initial.sessions.live;
let finished: FinishedSession[] = initial.sessions.finished;
let selection: Selection = { session: null, player: null };
/** When each actor's latest SSE entry arrived (page clock): newer than a poll's request, it wins. */
const entryAt = new Map<string, number>();

const diagrams = new Map<MachineKind, { info: DiagramInfo; view: DiagramView; caption: HTMLElement }>();
for (const info of initial.diagrams) {
  const host = h('div', { class: 'diagram', id: `ins-diagram-${info.name}`, 'data-testid': `diagram-${info.name}` }, 'loading…');
  const caption = h('span', { class: 'caption', 'data-testid': `caption-${info.name}` }, '');
  const view = new DiagramView(info, host);
  const zoom = h('button', { type: 'button', class: 'zoom', title: 'fit to width / actual size', onclick: () => (host.classList.toggle('actual'), view.reveal()) }, '⤢');
  byId('ins-diagrams').append(h('section', { class: 'panel diagram-panel' }, h('h2', {}, `${info.name} machine `, caption, zoom), host));
  diagrams.set(info.kind, { info, view, caption });
  view.load().catch((err: Error) => fill(host, h('p', { class: 'tone-bad' }, err.message)));
}

const timeline = new Timeline(
  { list: byId('ins-timeline'), controls: byId('ins-replay'), detail: byId('ins-step') },
  (e) => diagrams.get(e.machine)?.info.graph.eventLabels ?? {},
  () => renderHighlights(),
);

// ——— rendering ———

function renderLists(): void {
  renderLive(byId('ins-live'), live, selection);
  // The journal's history also lists sessions still live (and ones cut off by a restart).
  const liveIds = new Set(live.map((x) => x.id));
  renderFinished(byId('ins-finished'), finished.filter((x) => !liveIds.has(x.id)), selection);
  byId('ins-live-count').textContent = String(live.length);
}

function renderOrch(): void {
  renderOrchestrator(byId('ins-orchestrator'), orchestrator);
}

function renderHeader(): void {
  const el = byId('ins-detail-head');
  const id = selection.session;
  if (!id) {
    fill(el, h('p', { class: 'muted' }, 'choose a session or a player on the left'));
    return;
  }
  const s = live.find((x) => x.id === id);
  const f = finished.find((x) => x.id === id);
  const facts = f?.facts ?? {};
  const state = s?.state ?? f?.state ?? '…';
  const kv = (k: string, v: Node | string) => h('span', { class: 'kv inline' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v));
  fill(
    el,
    h('h2', {}, `session ${shortId(id)} `, badge(state), h('span', { class: 'badge tone-neutral', 'data-testid': 'detail-liveness' }, s ? 'live' : 'finished')),
    h(
      'div',
      { class: 'facts' },
      kv('id', h('span', { class: 'mono' }, id)),
      kv('content', h('span', { class: 'mono' }, s?.key ?? f?.key ?? '—')),
      kv('engine', h('span', { class: 'mono' }, s?.engine ? `${shortId(s.engine.container_id)} ${s.engine.host}:${s.engine.port}` : String(facts.engine ?? '—').slice(0, 12))),
      s ? kv('bytes in / out', `${formatBytes(s.bytes_in)} / ${formatBytes(s.bytes_out)}`) : null,
      kv('failovers', String(s?.failovers ?? facts.failovers ?? 0)),
      s?.last_problem || facts.last_problem ? kv('last problem', String(s?.last_problem ?? facts.last_problem)) : null,
      f && f.ended_at !== null ? kv('lasted', formatDuration(f.ended_at - f.started_at)) : null,
      selection.player ? kv('player', h('span', { class: 'mono' }, selection.player)) : null,
    ),
  );
}

/** Highlights each diagram with the states at the timeline's cursor (or the live view). */
function renderHighlights(): void {
  const entries = timeline.all();
  const pos = timeline.position();
  const at = entries.length > 0 ? actorsAt(entries, pos) : null;
  const current = entries[pos] ?? null;
  for (const [kind, d] of diagrams) {
    let states: Array<{ actor: string; value: StateValue; state: string }>;
    if (at) {
      states = [...at.values()].filter((e) => e.machine === kind).map((e) => ({ actor: e.actor, value: e.value, state: e.state }));
    } else {
      states = liveStates(kind);
    }
    const focusActor = kind === 'player' ? (selection.player ?? (current?.machine === 'player' ? current.actor : null)) : null;
    const inFocus = (a: string) => focusActor === null || a === focusActor;
    const edges = current && current.machine === kind && inFocus(current.actor) ? takenEdges(d.info.graph, previousOf(entries, pos)?.value ?? null, current) : [];
    d.view.show({
      focus: states.filter((s) => inFocus(s.actor)).map((s) => s.value),
      others: states.filter((s) => !inFocus(s.actor)).map((s) => s.value),
      edges,
    });
    const shown = states.filter((s) => inFocus(s.actor));
    d.caption.textContent =
      shown.length === 0 ? '' : shown.length === 1 ? `— ${kind === 'session' ? 'session' : `player ${shortId(shown[0]!.actor)}`}: ${shown[0]!.state}` : `— ${shown.length} players`;
  }
}

function liveStates(kind: MachineKind): Array<{ actor: string; value: StateValue; state: string }> {
  const s = live.find((x) => x.id === selection.session);
  if (!s) return [];
  if (kind === 'session') return s.value ? [{ actor: s.id, value: s.value, state: s.state }] : [];
  return s.players.filter((p) => p.value !== undefined).map((p) => ({ actor: p.id, value: p.value!, state: p.state }));
}

function renderAll(): void {
  renderOrch();
  renderLists();
  renderHeader();
  renderHighlights();
  tick();
}

// ——— selection and data ———

let loadToken = 0;
let pending: Entry[] | null = null;

async function select(session: string | null, player: string | null): Promise<void> {
  const changed = session !== selection.session;
  selection = { session, player };
  const hash = session ? `#session=${encodeURIComponent(session)}${player ? `&player=${encodeURIComponent(player)}` : ''}` : '';
  history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
  renderLists();
  renderHeader();
  if (changed) await loadTimeline();
  else renderHighlights();
}

async function loadTimeline(): Promise<void> {
  const id = selection.session;
  const token = ++loadToken;
  timeline.clear();
  if (!id) return;
  pending = [];
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(id)}/events`, { credentials: 'same-origin' });
    if (token !== loadToken) return;
    const body = res.ok ? ((await res.json()) as { entries: Entry[] }) : { entries: [] };
    if (token !== loadToken) return;
    timeline.reset(body.entries, live.some((s) => s.id === id));
    for (const e of pending) timeline.add(e);
  } finally {
    if (token === loadToken) pending = null;
    renderHighlights();
  }
}

let refreshing = false;
async function refresh(): Promise<void> {
  if (refreshing) return;
  refreshing = true;
  const asked = Date.now();
  try {
    const res = await fetch('/api/sessions?limit=30', { credentials: 'same-origin' });
    if (!res.ok) return;
    const view = (await res.json()) as SessionsView;
    // An entry that arrived after we asked is newer than this answer: keep its state.
    const fresher = (id: string) => (entryAt.get(id) ?? 0) > asked;
    for (const s of view.live) {
      const old = live.find((x) => x.id === s.id);
      if (old && fresher(s.id)) Object.assign(s, { state: old.state, value: old.value });
      for (const p of s.players) {
        const oldP = old?.players.find((x) => x.id === p.id);
        if (oldP && fresher(p.id)) Object.assign(p, { state: oldP.state, value: oldP.value });
      }
    }
    live = view.live;
    finished = view.finished;
    const id = selection.session;
    if (id) timeline.setLive(live.some((s) => s.id === id));
    if (!id && live[0]) void select(live[0].id, null);
    renderLists();
    renderHeader();
    renderHighlights();
    tick();
  } finally {
    refreshing = false;
  }
}

let refreshSoon: ReturnType<typeof setTimeout> | null = null;
function scheduleRefresh(ms = 250): void {
  if (refreshSoon) return;
  refreshSoon = setTimeout(() => {
    refreshSoon = null;
    void refresh();
  }, ms);
}

function onEntry(e: Entry): void {
  entryAt.set(e.actor, Date.now());
  const ended = e.status !== 'active';
  if (e.machine === 'session') {
    const s = live.find((x) => x.id === e.actor);
    if (s) {
      s.state = e.state;
      s.value = e.value;
      if (ended) live = live.filter((x) => x !== s);
    } else if (!ended) {
      live.push({ id: e.actor, key: String(e.facts.key ?? ''), state: e.state, value: e.value, engine: null, players: [], bytes_in: 0, bytes_out: 0, created_at: e.t });
    }
  } else {
    const s = live.find((x) => x.id === e.session);
    const p = s?.players.find((x) => x.id === e.actor);
    if (p) {
      p.state = e.state;
      p.value = e.value;
      if (ended && s) s.players = s.players.filter((x) => x !== p);
    } else if (s && !ended) {
      s.players.push({ id: e.actor, session: e.session, state: e.state, value: e.value, created_at: e.t });
    }
  }
  if (e.session === selection.session) {
    if (pending) pending.push(e);
    else timeline.add(e);
  }
  if (e.type === 'created' || ended) scheduleRefresh();
  if (!selection.session && e.machine === 'session' && !ended) void select(e.actor, null);
  renderLists();
  if (e.session === selection.session) renderHeader();
}

// ——— live updates ———

function setConnected(on: boolean): void {
  const el = byId('ins-conn');
  el.textContent = on ? 'live' : 'reconnecting…';
  el.className = `badge tone-${on ? 'good' : 'bad'}`;
  el.dataset.state = on ? 'live' : 'down';
}

function connect(): void {
  const es = new EventSource('/api/events');
  let wasDown = false;
  es.addEventListener('hello', (ev) => {
    const d = JSON.parse((ev as MessageEvent<string>).data) as { now: number; orchestrator: OrchestratorView };
    setServerNow(d.now);
    orchestrator = d.orchestrator;
    setConnected(true);
    renderOrch();
    // Entries sent while we were away are in the API: fetch them again.
    if (wasDown) {
      void refresh();
      void loadTimeline();
    }
    wasDown = false;
  });
  es.addEventListener('entry', (ev) => onEntry(JSON.parse((ev as MessageEvent<string>).data) as Entry));
  es.addEventListener('orchestrator', (ev) => {
    orchestrator = JSON.parse((ev as MessageEvent<string>).data) as OrchestratorView;
    renderOrch();
    tick();
  });
  es.addEventListener('error', () => {
    wasDown = true;
    setConnected(false);
  });
}

/** Ages and countdowns, every second, without re-rendering. */
function tick(): void {
  const t = now();
  for (const el of document.querySelectorAll<HTMLElement>('[data-since]')) {
    el.textContent = `${formatDuration(t - Number(el.dataset.since))}${el.dataset.suffix ?? ''}`;
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-until]')) {
    const left = Number(el.dataset.until) - t;
    el.textContent = left > 0 ? formatDuration(left) : 'due';
  }
  byId('ins-clock').textContent = new Date(t).toLocaleTimeString();
}

// ——— wiring ———

function rowClick(ev: Event): void {
  const row = (ev.target as HTMLElement).closest<HTMLElement>('tr[data-session]');
  if (row) void select(row.dataset.session ?? null, row.dataset.player ?? null);
}
byId('ins-live').addEventListener('click', rowClick);
byId('ins-finished').addEventListener('click', rowClick);

if (initial.sim) {
  byId('ins-faults-panel').hidden = false;
  renderFaults(byId('ins-faults'), () => {
    const s = live.find((x) => x.id === selection.session);
    return s?.engine?.container_id ?? orchestrator?.broker.engines[0]?.containerId ?? null;
  });
}

const hash = new URLSearchParams(location.hash.slice(1));
renderAll();
void select(hash.get('session') ?? live[0]?.id ?? null, hash.get('player'));
connect();
setInterval(tick, 1000);
setInterval(() => {
  if (document.visibilityState === 'visible') void refresh();
}, REFRESH_MS);
