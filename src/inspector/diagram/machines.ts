/**
 * The machines the inspector draws, keyed by the journal's `machine` kind. A new machine kind
 * is one line here; new states need nothing at all.
 */
import type { AnyStateMachine } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.ts';
import { playerMachine } from '../../machines/player.machine.ts';
import type { MachineKind } from '../../domain/journal.ts';
import { machineGraph, type MachineGraph } from './machine-graph.ts';
import { toDot } from './dot.ts';
import { renderSvg } from './render.ts';

export interface DiagramSource {
  /** File and URL name: docs/machines/<name>.svg, /inspector/diagrams/<name>.svg. */
  name: string;
  kind: MachineKind;
  machine: AnyStateMachine;
  rankdir: 'TB' | 'LR';
}

export const DIAGRAM_SOURCES: readonly DiagramSource[] = [
  { name: 'session', kind: 'session', machine: sessionMachine, rankdir: 'TB' },
  { name: 'client', kind: 'player', machine: playerMachine, rankdir: 'LR' },
];

export interface Diagram {
  name: string;
  kind: MachineKind;
  graph: MachineGraph;
  dot: string;
  svg: string;
  warnings: string[];
}

export async function generateDiagram(source: DiagramSource): Promise<Diagram> {
  const graph = machineGraph(source.machine);
  const dot = toDot(graph, { rankdir: source.rankdir });
  const { svg, warnings } = await renderSvg(dot);
  return { name: source.name, kind: source.kind, graph, dot, svg, warnings };
}

export function generateDiagrams(sources: readonly DiagramSource[] = DIAGRAM_SOURCES): Promise<Diagram[]> {
  return Promise.all(sources.map(generateDiagram));
}
