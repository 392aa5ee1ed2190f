/**
 * A statechart read from the machine itself (`machine.root`): every state node with a stable
 * id derived from its path (`session.running.streaming`), every transition with its event,
 * guard and delay. The DOT writer and the inspector page both work from this model, so a state
 * added to a machine shows up in the diagram, the docs and the page with no change here.
 */
import type { AnyStateMachine } from 'xstate';

export type StateType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface GraphState {
  /** `<machine id>.<path>`: the DOM id of this state's node (or cluster) in the SVG. */
  id: string;
  path: string[];
  key: string;
  type: StateType;
  parent: string | null;
  /** The initial child's id (compound states). */
  initial: string | null;
  /** Invoked actors by their `src` name. */
  invokes: string[];
  /** Targetless transitions (actions only), as labels. */
  internal: string[];
  description: string | null;
  tags: string[];
}

export interface GraphEdge {
  /** `<source id>-><target id>`: the DOM id of the edge in the SVG. */
  id: string;
  source: string;
  target: string;
  /** Raw event types that take this edge ('' = eventless `always`). */
  events: string[];
  /** One line per transition: `EVENT [guard]`. */
  labels: string[];
}

export interface MachineGraph {
  /** The machine's id: the prefix of every state id. */
  machine: string;
  states: GraphState[];
  edges: GraphEdge[];
  /** Display names for generated event types (`xstate.after.linger.…` → `after linger`). */
  eventLabels: Record<string, string>;
}

/** The parts of a StateNode this module reads (typed loosely: xstate's types are generic-heavy). */
interface NodeLike {
  key: string;
  path: string[];
  type: StateType;
  description?: string;
  tags: string[];
  states: Record<string, NodeLike>;
  initial?: { target?: ReadonlyArray<NodeLike> };
  invoke: ReadonlyArray<{ id: string; src: unknown }>;
  transitions: Map<string, ReadonlyArray<TransitionLike>>;
  always?: ReadonlyArray<TransitionLike>;
}

interface TransitionLike {
  eventType: string;
  target?: ReadonlyArray<NodeLike>;
  guard?: unknown;
  delay?: unknown;
  reenter?: boolean;
}

export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = machine.root as unknown as NodeLike;
  const prefix = machine.id;
  const idOf = (n: NodeLike) => (n.path.length === 0 ? prefix : `${prefix}.${n.path.join('.')}`);
  const states: GraphState[] = [];
  const edges = new Map<string, GraphEdge>();
  const eventLabels: Record<string, string> = {};

  const visit = (node: NodeLike, parent: string | null) => {
    const id = idOf(node);
    const invokeNames = new Map(node.invoke.map((inv) => [inv.id, srcName(inv.src)]));
    const state: GraphState = {
      id,
      path: [...node.path],
      key: node.path.length === 0 ? prefix : node.key,
      type: node.type,
      parent,
      initial: node.initial?.target?.[0] ? idOf(node.initial.target[0]) : null,
      invokes: [...invokeNames.values()],
      internal: [],
      description: node.description ?? null,
      tags: [...node.tags],
    };
    states.push(state);
    // Actor results with no transition still reach the journal: name them too.
    for (const [invokeId, name] of invokeNames) {
      eventLabels[`xstate.done.actor.${invokeId}`] = `done: ${name}`;
      eventLabels[`xstate.error.actor.${invokeId}`] = `error: ${name}`;
    }

    const all: TransitionLike[] = [];
    for (const list of node.transitions.values()) all.push(...list);
    all.push(...(node.always ?? []));
    for (const t of all) {
      const event = eventLabel(t, invokeNames, prefix);
      if (event !== t.eventType) eventLabels[t.eventType] = event;
      const guard = guardLabel(t.guard);
      const label = guard ? `${event} [${guard}]` : event;
      if (!t.target || t.target.length === 0) {
        if (!state.internal.includes(label)) state.internal.push(label);
        continue;
      }
      for (const target of t.target) {
        const key = `${id}->${idOf(target)}`;
        const edge = edges.get(key) ?? { id: key, source: id, target: idOf(target), events: [], labels: [] };
        if (!edge.events.includes(t.eventType)) edge.events.push(t.eventType);
        if (!edge.labels.includes(label)) edge.labels.push(label);
        edges.set(key, edge);
      }
    }
    for (const child of Object.values(node.states)) visit(child, id);
  };
  visit(root, null);
  return { machine: prefix, states, edges: [...edges.values()], eventLabels };
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const id = (src as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : 'inline actor';
}

/** What a person calls the event that takes a transition. */
function eventLabel(t: TransitionLike, invokes: Map<string, string>, machineId: string): string {
  const type = t.eventType;
  if (type === '') return 'always';
  if (type === '*') return 'any event';
  if (type.startsWith('xstate.after.')) return `after ${delayLabel(t.delay, type)}`;
  for (const kind of ['done', 'error'] as const) {
    const actorPrefix = `xstate.${kind}.actor.`;
    if (type.startsWith(actorPrefix)) {
      const id = type.slice(actorPrefix.length);
      return `${kind}: ${invokes.get(id) ?? id}`;
    }
  }
  if (type.startsWith('xstate.done.state.')) {
    const path = type.slice('xstate.done.state.'.length);
    return `done: ${path.startsWith(`${machineId}.`) ? path.slice(machineId.length + 1) : path}`;
  }
  return type;
}

function delayLabel(delay: unknown, type: string): string {
  if (typeof delay === 'number') return delay % 1000 === 0 ? `${delay / 1000}s` : `${delay}ms`;
  if (typeof delay === 'string') return delay;
  // xstate.after.<delay>.<state id>
  return type.split('.')[2] ?? 'delay';
}

/** `noPlayers`, `isWait && etaWithinHoldMax`, `!synced`, `waitIs(vpn)`; `inline guard` when it has no name. */
export function guardLabel(guard: unknown): string {
  if (guard === undefined || guard === null) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { guards?: unknown[]; check?: { name?: string }; stateValue?: unknown };
    const check = g.check?.name;
    if (Array.isArray(g.guards)) {
      const parts = g.guards.map((p) => guardLabel(p) || 'inline guard');
      if (check === 'checkAnd') return parts.join(' && ');
      if (check === 'checkOr') return parts.map((p) => (p.includes('&&') ? `(${p})` : p)).join(' || ');
      if (check === 'checkNot') return `!${parts[0] ?? ''}`;
    }
    if (check === 'checkStateIn') return `in ${JSON.stringify(g.stateValue)}`;
    return 'inline guard';
  }
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') {
    const { type, params } = guard as { type: string; params?: unknown };
    if (params === undefined) return type;
    if (typeof params === 'function') return `${type}(…)`;
    const values = typeof params === 'object' && params !== null ? Object.values(params).map((v) => JSON.stringify(v)) : [JSON.stringify(params)];
    return `${type}(${values.join(', ')})`;
  }
  return 'inline guard';
}
