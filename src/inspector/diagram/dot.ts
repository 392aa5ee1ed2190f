/**
 * MachineGraph → Graphviz DOT. Compound and parallel states are clusters, the rest are nodes;
 * every node, cluster and edge carries the model's id, so the SVG Graphviz draws from it can
 * be highlighted by id in the page. The output depends only on the machine: same machine,
 * same bytes (the docs/machines drift test relies on it).
 */
import type { GraphEdge, GraphState, MachineGraph } from './machine-graph.ts';

const FONT = 'Helvetica';
const MUTED = '#5f6b7a';

export interface DotOptions {
  /** TB suits long chains (the session), LR many siblings (the held player states). */
  rankdir?: 'TB' | 'LR';
}

export function toDot(graph: MachineGraph, options: DotOptions = {}): string {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const children = new Map<string, GraphState[]>();
  for (const s of graph.states) {
    if (s.parent === null) continue;
    const list = children.get(s.parent) ?? [];
    list.push(s);
    children.set(s.parent, list);
  }
  const isContainer = (s: GraphState) => (children.get(s.id)?.length ?? 0) > 0;
  const within = (id: string, ancestor: string) => id === ancestor || id.startsWith(`${ancestor}.`);
  // A container's transitions into itself are drawn from an "any state" node inside it.
  const needsAny = new Set(graph.edges.filter((e) => isContainer(byId.get(e.source)!) && within(e.target, e.source)).map((e) => e.source));

  const out: string[] = [];
  out.push(`digraph ${q(graph.machine)} {`);
  out.push(`  graph [id=${q(`${graph.machine}:graph`)}, compound=true, newrank=true, rankdir=${options.rankdir ?? 'TB'}, fontname=${q(FONT)}, fontsize=12, nodesep=0.3, ranksep=0.4, pad=0.2];`);
  out.push(`  node [fontname=${q(FONT)}, fontsize=11, shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5b6b7f", penwidth=1.2, margin="0.12,0.05"];`);
  out.push(`  edge [fontname=${q(FONT)}, fontsize=9, color="#8593a3", fontcolor="#3d4652", arrowsize=0.7];`);

  const emit = (s: GraphState, depth: number) => {
    const pad = '  '.repeat(depth);
    if (!isContainer(s)) {
      out.push(`${pad}${q(s.id)} [${nodeAttrs(s)}];`);
      return;
    }
    out.push(`${pad}subgraph ${q(`cluster_${s.id}`)} {`);
    const inner = `${pad}  `;
    out.push(`${inner}id=${q(s.id)}; class=${q(`state ${s.type}`)}; label=${stateLabel(s)}; labeljust=l; ` +
      `style=${q(s.type === 'parallel' ? 'dashed,rounded' : 'rounded')}; color="#9aa7b6"; penwidth=1.2;` +
      (s.description ? ` tooltip=${q(s.description)};` : ''));
    out.push(`${inner}${q(anchorOf(s))} [${anchorAttrs(s)}];`);
    if (needsAny.has(s.id)) {
      out.push(`${inner}${q(`${s.id}:any`)} [id=${q(`${s.id}:any`)}, class="any", label="any state", shape=box, style="dashed,rounded", fontsize=9, fontcolor=${q(MUTED)}, color="#9aa7b6"];`);
    }
    for (const c of children.get(s.id) ?? []) emit(c, depth + 1);
    out.push(`${pad}}`);
  };
  const root = graph.states.find((s) => s.parent === null);
  if (root) emit(root, 1);

  // Initial-state arrows, then the transitions.
  for (const s of graph.states) {
    if (!isContainer(s) || s.type === 'parallel' || !s.initial) continue;
    const target = byId.get(s.initial)!;
    const attrs = [`id=${q(`${s.id}:initial->${s.initial}`)}`, 'class="initial"', 'arrowsize=0.6'];
    if (isContainer(target)) attrs.push(`lhead=${q(`cluster_${target.id}`)}`);
    out.push(`  ${q(anchorOf(s))} -> ${q(isContainer(target) ? anchorOf(target) : target.id)} [${attrs.join(', ')}];`);
  }
  // Transitions that leave one state with the same label (a fan of inline guards) share one
  // tail and one label, which keeps the diagram readable.
  const fans = new Map<string, GraphEdge[]>();
  for (const e of graph.edges) {
    const key = `${e.source}|${e.labels.join('|')}`;
    fans.set(key, [...(fans.get(key) ?? []), e]);
  }
  let fanNo = 0;
  for (const group of fans.values()) {
    const fan = group.length > 1 ? `fan${++fanNo}` : null;
    group.forEach((e, i) => out.push(`  ${edgeLine(e, byId, isContainer, within, fan, fan !== null && i > 0)}`));
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

function edgeLine(
  e: GraphEdge,
  byId: Map<string, GraphState>,
  isContainer: (s: GraphState) => boolean,
  within: (id: string, ancestor: string) => boolean,
  fan: string | null,
  unlabelled: boolean,
): string {
  const source = byId.get(e.source)!;
  const target = byId.get(e.target)!;
  const attrs = [`id=${q(e.id)}`, `class=${q(`transition${e.events.every((ev) => ev === '') ? ' always' : ''}`)}`];
  let tail = source.id;
  if (isContainer(source)) {
    if (within(target.id, source.id)) {
      tail = `${source.id}:any`;
    } else {
      tail = anchorOf(source);
      attrs.push(`ltail=${q(`cluster_${source.id}`)}`);
    }
  }
  let head = target.id;
  if (isContainer(target)) {
    head = anchorOf(target);
    // Into a container from outside: to its border; from inside: to its initial state again.
    if (!within(source.id, target.id)) attrs.push(`lhead=${q(`cluster_${target.id}`)}`);
  }
  if (e.events.every((ev) => ev === '')) attrs.push('style=dashed');
  if (fan) attrs.push(`sametail=${q(fan)}`);
  if (!unlabelled) attrs.push(`label=<${e.labels.map(html).join('<br/>')}>`);
  return `${q(tail)} -> ${q(head)} [${attrs.join(', ')}];`;
}

function anchorOf(s: GraphState): string {
  return s.type === 'parallel' || !s.initial ? `${s.id}:anchor` : `${s.id}:initial`;
}

function anchorAttrs(s: GraphState): string {
  const id = anchorOf(s);
  if (id.endsWith(':initial')) return `id=${q(id)}, class="initial", shape=point, width=0.11, style=filled, fillcolor="#3d4652", color="#3d4652", label=""`;
  return `id=${q(id)}, shape=point, width=0.01, style=invis, label=""`;
}

function nodeAttrs(s: GraphState): string {
  const attrs = [`id=${q(s.id)}`, `class=${q(`state ${s.type}`)}`, `label=${stateLabel(s)}`];
  if (s.type === 'final') attrs.push('shape=box', 'style=filled', 'peripheries=2', 'fillcolor="#f1f3f6"');
  if (s.type === 'history') attrs.push('shape=circle', 'label="H"');
  if (s.description) attrs.push(`tooltip=${q(s.description)}`);
  return attrs.join(', ');
}

/** The state's name, then what it invokes and its internal transitions in small print. */
function stateLabel(s: GraphState): string {
  const small = [...s.invokes.map((i) => `invoke ${i}`), ...s.internal.map((t) => `${t} (stays)`)];
  const tags = s.tags.length > 0 ? ` <font point-size="9" color="${MUTED}">(${s.tags.map(html).join(', ')})</font>` : '';
  const lines = small.map((l) => `<br/><font point-size="9" color="${MUTED}">${html(l)}</font>`).join('');
  return `<<b>${html(s.key)}</b>${tags}${lines}>`;
}

function q(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
