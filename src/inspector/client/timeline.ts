/**
 * A session's journal entries (the session's and its players', in order) and a cursor over
 * them: following the latest while live, or stepped through (prev / next / play) to replay
 * how the session got where it is. Whatever the cursor points at, the diagrams show.
 */
import { fill, h } from './dom.ts';
import { eventName, formatClock, shortId, summarize, type Entry } from './model.ts';
import { badge } from './sessions-panel.ts';

const PLAY_STEP_MS = 700;

export interface TimelineParts {
  list: HTMLElement;
  controls: HTMLElement;
  detail: HTMLElement;
}

export class Timeline {
  private entries: Entry[] = [];
  /** null: follow the newest entry. */
  private cursor: number | null = null;
  private playing: ReturnType<typeof setInterval> | null = null;
  private live = false;

  constructor(
    private readonly parts: TimelineParts,
    private readonly labels: (entry: Entry) => Record<string, string>,
    private readonly onMove: () => void,
  ) {
    parts.controls.addEventListener('click', (ev) => {
      const action = (ev.target as HTMLElement).closest<HTMLElement>('[data-action]')?.dataset.action;
      if (action === 'first') this.go(0);
      else if (action === 'prev') this.go(this.position() - 1);
      else if (action === 'next') this.go(this.position() + 1);
      else if (action === 'last') this.end();
      else if (action === 'play') this.togglePlay();
    });
    parts.list.addEventListener('click', (ev) => {
      const li = (ev.target as HTMLElement).closest<HTMLElement>('[data-index]');
      if (li) this.go(Number(li.dataset.index));
    });
  }

  /** A new session's entries; `live` sessions follow new entries until someone steps back. */
  reset(entries: Entry[], live: boolean): void {
    this.stopPlay();
    this.entries = [...entries].sort((a, b) => a.seq - b.seq);
    this.live = live;
    this.cursor = null;
    this.render();
  }

  clear(): void {
    this.stopPlay();
    this.entries = [];
    this.cursor = null;
    this.render();
  }

  /** An entry from SSE (or a refetch); duplicates by seq are ignored. */
  add(entry: Entry): void {
    if (this.entries.some((e) => e.seq === entry.seq)) return;
    const at = this.entries.findIndex((e) => e.seq > entry.seq);
    if (at === -1) this.entries.push(entry);
    else {
      this.entries.splice(at, 0, entry);
      if (this.cursor !== null && at <= this.cursor) this.cursor++;
    }
    this.render();
    if (this.cursor === null) this.onMove();
  }

  setLive(live: boolean): void {
    this.live = live;
    this.renderControls();
  }

  all(): readonly Entry[] {
    return this.entries;
  }

  /** The index the diagrams show. */
  position(): number {
    return this.cursor ?? this.entries.length - 1;
  }

  go(index: number): void {
    if (this.entries.length === 0) return;
    this.cursor = Math.max(0, Math.min(this.entries.length - 1, index));
    this.render();
    this.onMove();
  }

  end(): void {
    this.stopPlay();
    this.cursor = this.live ? null : Math.max(0, this.entries.length - 1);
    this.render();
    this.onMove();
  }

  private togglePlay(): void {
    if (this.playing) {
      this.stopPlay();
      this.renderControls();
      return;
    }
    if (this.position() >= this.entries.length - 1) this.cursor = 0;
    else this.cursor = this.position();
    this.playing = setInterval(() => {
      if (this.position() >= this.entries.length - 1) {
        this.stopPlay();
        this.renderControls();
        return;
      }
      this.go(this.position() + 1);
    }, PLAY_STEP_MS);
    this.render();
    this.onMove();
  }

  private stopPlay(): void {
    if (this.playing) clearInterval(this.playing);
    this.playing = null;
  }

  private render(): void {
    const pos = this.position();
    const t0 = this.entries[0]?.t ?? 0;
    fill(
      this.parts.list,
      this.entries.map((e, i) => {
        const ev = eventName(e.event?.type, this.labels(e));
        return h(
          'li',
          {
            class: `entry ${e.machine}${i === pos ? ' current' : ''}${i > pos ? ' future' : ''}`,
            'data-index': i,
            'data-seq': e.seq,
            'data-testid': 'timeline-entry',
            title: `${formatClock(e.t)} ${e.actor}\n${JSON.stringify(e.event ?? e.input ?? null)}`,
          },
          h('span', { class: 'when' }, `+${((e.t - t0) / 1000).toFixed(2)}s`),
          h('span', { class: `who ${e.machine}` }, e.machine === 'session' ? 'session' : `player ${shortId(e.actor)}`),
          h('span', { class: 'what' }, ev, h('span', { class: 'args' }, ` ${summarize(e.event)}`)),
          h('span', { class: 'to' }, '→ ', badge(e.state)),
        );
      }),
    );
    this.parts.list.querySelector('.current')?.scrollIntoView({ block: 'nearest' });
    this.renderControls();
    this.renderDetail();
  }

  private renderControls(): void {
    const n = this.entries.length;
    const pos = this.position();
    const following = this.cursor === null && this.live;
    const button = (action: string, text: string, title: string, disabled = false) =>
      h('button', { type: 'button', 'data-action': action, 'data-testid': `replay-${action}`, title, disabled: disabled || n === 0 }, text);
    fill(
      this.parts.controls,
      // Glyphs every system font has (no emoji font on a headless server).
      button('first', '|◀', 'first step', pos <= 0),
      button('prev', '◀', 'previous step', pos <= 0),
      button('play', this.playing ? '■ pause' : '▶ play', this.playing ? 'pause' : 'replay step by step'),
      button('next', '▶', 'next step', pos >= n - 1),
      button('last', '▶|', this.live ? 'back to live' : 'last step', following),
      h('span', { class: 'position', 'data-testid': 'replay-position' }, n === 0 ? 'no entries' : `step ${pos + 1} / ${n}`),
      following ? h('span', { class: 'badge tone-good', 'data-testid': 'following' }, 'live') : h('span', { class: 'badge tone-neutral' }, this.live ? 'paused' : 'replay'),
    );
  }

  private renderDetail(): void {
    const e = this.entries[this.position()];
    if (!e) {
      fill(this.parts.detail);
      return;
    }
    fill(
      this.parts.detail,
      h('div', { class: 'kv' }, h('span', { class: 'k' }, 'at'), h('span', { class: 'v mono' }, `${formatClock(e.t)} (#${e.seq})`)),
      h('div', { class: 'kv' }, h('span', { class: 'k' }, e.machine), h('span', { class: 'v mono' }, e.actor)),
      h('div', { class: 'kv' }, h('span', { class: 'k' }, 'state'), h('span', { class: 'v mono', 'data-testid': 'step-state' }, `${e.state} (${e.status})`)),
      h('details', { open: true }, h('summary', {}, e.type === 'created' ? 'input' : 'event'), h('pre', {}, JSON.stringify(e.type === 'created' ? (e.input ?? null) : e.event, null, 1))),
      h('details', {}, h('summary', {}, 'facts'), h('pre', {}, JSON.stringify(e.facts, null, 1))),
    );
  }
}
