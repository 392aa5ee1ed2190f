/** Every live engine session with its players, then the recently finished ones. */
import { fill, h } from './dom.ts';
import { formatBytes, shortId, stateTone, type FinishedSession, type LiveSession } from './model.ts';
import { since } from './orchestrator-panel.ts';

export interface Selection {
  session: string | null;
  player: string | null;
}

export function badge(state: string): HTMLElement {
  return h('span', { class: `badge tone-${stateTone(state)}`, title: state }, state);
}

function contentOf(key: string | null): string {
  if (!key) return '—';
  const [kind, rest = ''] = key.split(/:(.*)/s);
  return `${kind === 'infohash' ? 'ih' : kind} ${rest.slice(0, 12)}${rest.length > 12 ? '…' : ''}`;
}

export function renderLive(el: HTMLElement, sessions: LiveSession[], selected: Selection): void {
  if (sessions.length === 0) {
    fill(el, h('p', { class: 'muted', 'data-testid': 'no-live' }, 'no live sessions — play a channel'));
    return;
  }
  const rows: HTMLElement[] = [];
  for (const s of [...sessions].sort((a, b) => a.created_at - b.created_at)) {
    const isSel = selected.session === s.id && selected.player === null;
    rows.push(
      h(
        'tr',
        { class: `session-row${isSel ? ' selected' : ''}`, 'data-testid': 'session-row', 'data-session': s.id, 'data-state': s.state, title: `${s.id}\n${s.key}` },
        h('td', {}, badge(s.state)),
        h(
          'td',
          { class: 'mono' },
          shortId(s.id),
          h('div', { class: 'sub' }, contentOf(s.key), s.engine ? ` · engine ${shortId(s.engine.container_id)}` : ''),
        ),
        h('td', { class: 'num' }, formatBytes(s.bytes_out)),
        h('td', { class: 'num' }, since(s.created_at, '')),
      ),
    );
    for (const p of s.players) {
      const pSel = selected.player === p.id;
      rows.push(
        h(
          'tr',
          {
            class: `player-row${pSel ? ' selected' : ''}`,
            'data-testid': 'player-row',
            'data-session': s.id,
            'data-player': p.id,
            'data-state': p.state,
            'data-transport': p.transport ?? 'ts',
            title: p.id,
          },
          h('td', { class: 'indent' }, badge(p.state)),
          h(
            'td',
            { class: 'mono' },
            `↳ ${shortId(p.id)}`,
            // One player stands for a channel's HLS viewers: say how many there are.
            p.transport === 'hls' ? h('div', { class: 'sub', 'data-testid': 'hls-clients' }, `HLS · ${p.clients ?? 0} client${p.clients === 1 ? '' : 's'}`) : '',
          ),
          h('td', {}, ''),
          h('td', { class: 'num' }, p.created_at !== undefined ? since(p.created_at, '') : ''),
        ),
      );
    }
  }
  fill(
    el,
    h(
      'table',
      { class: 'sessions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'state'), h('th', {}, 'session'), h('th', { class: 'num' }, 'bytes out'), h('th', { class: 'num' }, 'age'))),
      h('tbody', {}, rows),
    ),
  );
}

export function renderFinished(el: HTMLElement, sessions: FinishedSession[], selected: Selection): void {
  if (sessions.length === 0) {
    fill(el, h('p', { class: 'muted' }, 'none yet'));
    return;
  }
  fill(
    el,
    h(
      'table',
      { class: 'sessions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'final state'), h('th', {}, 'session'), h('th', { class: 'num' }, 'ended'))),
      h(
        'tbody',
        {},
        sessions.map((s) =>
          h(
            'tr',
            {
              class: `finished-row${selected.session === s.id ? ' selected' : ''}`,
              'data-testid': 'finished-row',
              'data-session': s.id,
              'data-state': s.state,
              title: `${s.id}\n${s.key ?? ''}`,
            },
            h('td', {}, badge(s.state)),
            h('td', { class: 'mono' }, shortId(s.id), h('div', { class: 'sub' }, contentOf(s.key))),
            // No end: the journal saw it live when acerelay last stopped.
            h('td', { class: 'num' }, s.ended_at !== null ? since(s.ended_at) : h('span', { class: 'muted', title: 'no end in the journal' }, 'cut off')),
          ),
        ),
      ),
    ),
  );
}
