/**
 * Demo only: the simulator's fault switches, through acerelay's POST /api/sim/* (the page
 * never talks to the simulator's own port: another origin, and not reachable from afar).
 */
import { fill, h } from './dom.ts';

interface Switch {
  id: string;
  label: string;
  path: string;
  body: Record<string, unknown>;
}

const SWITCHES: Switch[][] = [
  [
    { id: 'vpn-down', label: 'VPN down', path: 'vpn', body: { connected: false } },
    { id: 'vpn-up', label: 'VPN up', path: 'vpn', body: { connected: true } },
  ],
  [
    { id: 'breaker-open', label: 'breaker open 30s', path: 'circuit', body: { state: 'open', eta: 30 } },
    { id: 'breaker-close', label: 'breaker closed', path: 'circuit', body: { state: 'closed' } },
  ],
  [
    { id: 'capacity-1', label: 'capacity 1', path: 'capacity', body: { max_replicas: 1 } },
    { id: 'capacity-10', label: 'capacity 10', path: 'capacity', body: { max_replicas: 10 } },
  ],
  [
    { id: 'orch-down', label: 'orchestrator down 20s', path: 'orchestrator', body: { mode: 'down', ms: 20_000 } },
    { id: 'orch-ok', label: 'orchestrator ok', path: 'orchestrator', body: { mode: 'ok' } },
  ],
];

const ENGINE_RESTART_MS = 3000;

export async function postSim(path: string, body: Record<string, unknown>): Promise<{ ok: boolean; text: string }> {
  const res = await fetch(`/api/sim/${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { ok: res.ok, text: await res.text() };
}

/** `engine()` names the engine to restart: the selected session's, else the first known. */
export function renderFaults(el: HTMLElement, engine: () => string | null): void {
  const result = h('div', { class: 'fault-result muted', 'data-testid': 'fault-result' }, 'switches act on the simulator');
  const run = async (label: string, path: string, body: Record<string, unknown>) => {
    result.textContent = `${label}…`;
    try {
      const r = await postSim(path, body);
      result.textContent = r.ok ? `${label}: done` : `${label}: ${r.text}`;
      result.className = `fault-result ${r.ok ? 'tone-good' : 'tone-bad'}`;
    } catch (err) {
      result.textContent = `${label}: ${(err as Error).message}`;
      result.className = 'fault-result tone-bad';
    }
  };
  const rows = SWITCHES.map((pair) =>
    h('div', { class: 'switches' }, pair.map((s) => h('button', { type: 'button', 'data-testid': `fault-${s.id}`, onclick: () => void run(s.label, s.path, s.body) }, s.label))),
  );
  const restart = h(
    'button',
    {
      type: 'button',
      'data-testid': 'fault-engine-restart',
      title: "restarts the selected session's engine (or the first engine)",
      onclick: () => {
        const id = engine();
        if (!id) {
          result.textContent = 'no engine to restart';
          return;
        }
        void run(`engine ${id.slice(0, 8)} restart`, `engines/${encodeURIComponent(id)}`, { mode: 'restart', ms: ENGINE_RESTART_MS });
      },
    },
    'engine restart',
  );
  fill(el, ...rows, h('div', { class: 'switches' }, restart), result);
}
