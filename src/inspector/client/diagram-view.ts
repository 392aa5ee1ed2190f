/**
 * One statechart, as the server drew it from the machine. Highlighting is by id only: the
 * nodes, clusters and edges carry the state paths the journal's StateValues name.
 */
import { activeIds, type DiagramInfo, type StateValue } from './model.ts';

export interface Highlight {
  /** States of the actor in focus. */
  focus: StateValue[];
  /** States of other actors of the same machine (the session's other players). */
  others: StateValue[];
  /** Edge ids the current step took. */
  edges: string[];
}

const CLASSES = ['active', 'active-other', 'taken'];

export class DiagramView {
  private svg: SVGSVGElement | null = null;
  private marked: Element[] = [];
  private pending: Highlight | null = null;

  constructor(
    readonly info: DiagramInfo,
    private readonly host: HTMLElement,
  ) {}

  async load(): Promise<void> {
    const res = await fetch(this.info.svg, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`diagram ${this.info.name}: HTTP ${res.status}`);
    const doc = new DOMParser().parseFromString(await res.text(), 'image/svg+xml');
    const svg = document.importNode(doc.documentElement, true) as unknown as SVGSVGElement;
    // Sized by CSS (fit to width) from its viewBox.
    svg.removeAttribute('width');
    svg.removeAttribute('height');
    svg.classList.add('statechart');
    svg.dataset.machine = this.info.graph.machine;
    this.host.replaceChildren(svg);
    this.svg = svg;
    if (this.pending) this.show(this.pending);
  }

  show(highlight: Highlight): string[] {
    this.pending = highlight;
    const svg = this.svg;
    if (!svg) return [];
    for (const el of this.marked) el.classList.remove(...CLASSES);
    this.marked = [];
    const missing: string[] = [];
    const mark = (id: string, cls: string) => {
      const el = svg.querySelector(`#${CSS.escape(id)}`);
      if (!el) {
        missing.push(id);
        return;
      }
      el.classList.add(cls);
      this.marked.push(el);
    };
    const machine = this.info.graph.machine;
    for (const value of highlight.others) for (const id of activeIds(machine, value)) if (id !== machine) mark(id, 'active-other');
    for (const value of highlight.focus) for (const id of activeIds(machine, value)) if (id !== machine) mark(id, 'active');
    for (const id of highlight.edges) mark(id, 'taken');
    this.reveal();
    return missing;
  }

  /** At actual size the diagram scrolls: bring the state in focus to the middle. */
  reveal(): void {
    if (!this.host.classList.contains('actual')) return;
    const el = this.marked.find((m) => m.classList.contains('active') && m.classList.contains('node'));
    if (!el) return;
    const r = el.getBoundingClientRect();
    const box = this.host.getBoundingClientRect();
    this.host.scrollLeft += r.left + r.width / 2 - (box.left + box.width / 2);
    this.host.scrollTop += r.top + r.height / 2 - (box.top + box.height / 2);
  }
}
