/** The orchestrator as acerelay last saw it: status, VPN, breaker and ETA, capacity, engines. */
import { fill, h } from './dom.ts';
import { now } from './clock.ts';
import { formatDuration, shortId, type OrchestratorView } from './model.ts';

function row(label: string, value: Node | string, tone?: string, testid?: string): HTMLElement {
  return h('div', { class: 'kv' }, h('span', { class: 'k' }, label), h('span', { class: `v${tone ? ` tone-${tone}` : ''}`, 'data-testid': testid }, value));
}

/** A live age: the page's ticker rewrites `[data-since]` every second. */
export function since(t: number | null, suffix = ' ago'): HTMLElement {
  if (t === null) return h('span', {}, '—');
  return h('span', { 'data-since': t, 'data-suffix': suffix }, `${formatDuration(now() - t)}${suffix}`);
}

/** A live countdown to `t` (the breaker's ETA). */
export function until(t: number): HTMLElement {
  const left = t - now();
  return h('span', { 'data-until': t }, left > 0 ? formatDuration(left) : 'due');
}

export function renderOrchestrator(el: HTMLElement, view: OrchestratorView | null): void {
  if (!view) {
    fill(el, h('p', { class: 'muted' }, 'no status yet'));
    return;
  }
  const { feed, status, broker } = view;
  const parts: HTMLElement[] = [];
  if (view.mode === 'single-engine') {
    parts.push(row('mode', 'single engine (no orchestrator)'));
  } else {
    const feedTone = feed.kind === 'fresh' ? 'good' : 'bad';
    parts.push(row('status', status ? status.status : 'unknown', status?.status === 'healthy' ? 'good' : 'wait', 'orch-status'));
    parts.push(row('feed', h('span', {}, feed.kind, feed.failures > 0 ? ` (${feed.failures} failed)` : ''), feedTone, 'orch-feed'));
    parts.push(row('last poll', since(feed.polled_at)));
    parts.push(row('last good status', since(feed.observed_at)));
    if (feed.error) parts.push(row('poll error', feed.error, 'bad'));
    const auth = view.auth;
    if (auth) {
      parts.push(
        auth.ok
          ? row('API key', 'accepted', 'good', 'orch-auth')
          : row('API key', h('span', {}, `refused (${auth.status}) `, since(auth.since), ' — check ACERELAY_ORCH_APIKEY'), 'bad', 'orch-auth'),
      );
    }
  }
  if (status) {
    const vpn = status.vpn;
    const vpnText = !vpn.enabled ? 'not used' : vpn.connected ? `connected (${vpn.health})` : `down (${vpn.health})`;
    parts.push(row('VPN', vpnText, !vpn.enabled || vpn.connected ? 'good' : 'bad', 'orch-vpn'));
    const blocked = status.blocked;
    const breakerTone = status.breaker === 'closed' ? 'good' : status.breaker === 'half_open' ? 'wait' : 'bad';
    parts.push(row('breaker', status.breaker, breakerTone, 'orch-breaker'));
    if (blocked) {
      const observed = feed.observed_at ?? now();
      const eta = blocked.etaSeconds === null ? h('span', {}, 'unknown') : until(observed + blocked.etaSeconds * 1000);
      parts.push(row('blocked', h('span', {}, `${blocked.code} — ETA `, eta, blocked.canRetry ? ', can retry' : ''), 'wait', 'orch-blocked'));
    }
    const cap = status.capacity;
    parts.push(row('capacity', `${cap.used} / ${cap.total} used${cap.maxReplicas !== null ? `, max ${cap.maxReplicas}` : ''}`, cap.available > 0 ? 'good' : 'wait', 'orch-capacity'));
    parts.push(row('can provision', status.can_provision ? 'yes' : 'no', status.can_provision ? 'good' : 'wait'));
  }
  const gate = broker.provisioning;
  const gateNote = gate.refusal ? `, refused: ${gate.refusal.details.code}` : gate.fullSince ? ', the orchestrator said it is full ' : '';
  parts.push(row('provisioning', h('span', {}, `${gate.inFlight} in flight${gateNote}`, gate.fullSince && !gate.refusal ? since(gate.fullSince) : '')));
  parts.push(row('queue', `${broker.queue.length} sessions, ${view.held} players held`, broker.queue.length > 0 ? 'wait' : undefined, 'orch-queue'));
  parts.push(row('players', `${view.clients} in ${view.sessions} sessions`));
  const engines = h(
    'table',
    { class: 'engines' },
    h('thead', {}, h('tr', {}, h('th', {}, 'engine'), h('th', {}, 'health'), h('th', {}, 'load'))),
    h(
      'tbody',
      {},
      broker.engines.length === 0
        ? h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'no engines'))
        : broker.engines.map((e) =>
            h(
              'tr',
              { title: `${e.containerId} ${e.host}:${e.port}` },
              h('td', { class: 'mono' }, shortId(e.containerId)),
              h('td', { class: `tone-${e.health === 'healthy' && !e.suspect ? 'good' : 'bad'}` }, e.suspect ? `${e.health}, suspect` : e.health),
              h('td', {}, String(e.load)),
            ),
          ),
    ),
  );
  fill(el, ...parts, engines);
}
