/**
 * The machine diagrams: generated from the machines themselves, the same way for the docs and
 * for the inspector, and the committed docs/machines files must match what the code draws now.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { and, createMachine, not, setup } from 'xstate';
import { DIAGRAM_SOURCES, generateDiagram, generateDiagrams } from '../../../src/inspector/diagram/machines.ts';
import { guardLabel, machineGraph } from '../../../src/inspector/diagram/machine-graph.ts';
import { toDot } from '../../../src/inspector/diagram/dot.ts';
import { renderSvg } from '../../../src/inspector/diagram/render.ts';
import { sessionMachine } from '../../../src/machines/session.machine.ts';
import { playerMachine } from '../../../src/machines/player.machine.ts';

const DOCS = fileURLToPath(new URL('../../../docs/machines/', import.meta.url));

function committed(file: string): string {
  try {
    return readFileSync(`${DOCS}${file}`, 'utf8');
  } catch {
    return `(docs/machines/${file} is missing)`;
  }
}

describe('docs/machines', () => {
  for (const source of DIAGRAM_SOURCES) {
    const name = source.name;
    it(`${name}.dot and ${name}.svg match the machine (run \`npm run diagrams\` after changing it)`, async () => {
      const d = await generateDiagram(source);
      expect(d.warnings).toEqual([]);
      expect(committed(`${name}.dot`), `docs/machines/${name}.dot is stale: run npm run diagrams`).toBe(d.dot);
      // The DOT diff above says what changed; a 40 kB SVG diff would only bury it.
      expect(committed(`${name}.svg`) === d.svg, `docs/machines/${name}.svg is stale: run npm run diagrams`).toBe(true);
    });
  }
});

describe('the generated diagrams', () => {
  it('draw every state of both machines with its path as id, and every transition', async () => {
    for (const d of await generateDiagrams()) {
      const machine = d.kind === 'session' ? sessionMachine : playerMachine;
      const walk = (node: { path: string[]; states: Record<string, unknown> }): string[] => [
        node.path.join('.'),
        ...Object.values(node.states).flatMap((c) => walk(c as typeof node)),
      ];
      const paths = walk(machine.root as unknown as { path: string[]; states: Record<string, unknown> }).filter((p) => p !== '');
      expect(paths.length).toBeGreaterThan(5);
      for (const p of paths) expect(d.svg, `${d.name}: ${p}`).toContain(`<g id="${machine.id}.${p}" class="`);
      for (const e of d.graph.edges) expect(d.svg).toContain(`id="${e.id.replace('->', '&#45;&gt;')}"`);
    }
  });

  it('names the states the API and the inspector promise', async () => {
    const [session, client] = await generateDiagrams();
    const ids = (g: typeof session) => g!.graph.states.map((s) => s.id);
    expect(ids(session)).toEqual(expect.arrayContaining(['session.running.streaming', 'session.recovering', 'session.stopped']));
    expect(ids(client)).toEqual(
      expect.arrayContaining(['client.requesting', 'client.held.waiting_vpn', 'client.held.queued_capacity', 'client.held.circuit_wait', 'client.streaming', 'client.ended']),
    );
  });

  it('labels generated events: delays, actor results', () => {
    const g = machineGraph(sessionMachine);
    expect(g.eventLabels['xstate.after.linger.session.running.lingering']).toBe('after linger');
    expect(g.eventLabels['xstate.done.actor.0.session.starting']).toBe('done: startEngine');
    expect(g.eventLabels['xstate.error.actor.0.session.provisioning']).toBe('error: provision');
    const lingering = g.edges.find((e) => e.id === 'session.running.lingering->session.stopping');
    expect(lingering?.labels).toEqual(['after linger']);
    const sync = g.edges.find((e) => e.id === 'session.running.connecting->session.running.streaming');
    expect(sync?.events).toEqual(['UPSTREAM_SYNCED']);
  });
});

describe('the generator on any machine', () => {
  const toy = setup({
    guards: { ready: () => true, flag: (_, _p: { level: number }) => true },
    delays: { pause: 500 },
  }).createMachine({
    id: 'toy',
    initial: 'idle',
    on: { RESET: { target: '.idle' }, PING: { actions: () => {} } },
    states: {
      idle: { on: { GO: [{ guard: and(['ready', not('ready')]), target: 'busy' }, { guard: { type: 'flag', params: { level: 2 } }, target: 'busy' }, { target: 'done' }] } },
      busy: {
        type: 'parallel',
        states: {
          left: { initial: 'a', states: { a: { after: { 1000: 'b' } }, b: { type: 'final' } } },
          right: { initial: 'c', states: { c: { after: { pause: 'd' } }, d: {} } },
        },
        onDone: 'done',
      },
      done: { type: 'final', description: 'all over' },
    },
  });

  it('covers parallel regions, delays, guards, final states and root transitions', async () => {
    const g = machineGraph(toy);
    const byId = new Map(g.states.map((s) => [s.id, s]));
    expect(byId.get('toy.busy')?.type).toBe('parallel');
    expect(byId.get('toy.busy.left')?.initial).toBe('toy.busy.left.a');
    expect(byId.get('toy.done')?.description).toBe('all over');
    expect(byId.get('toy')?.internal).toEqual(['PING']);
    const labels = Object.fromEntries(g.edges.map((e) => [e.id, e.labels]));
    expect(labels['toy.idle->toy.busy']).toEqual(['GO [ready && !ready]', 'GO [flag(2)]']);
    expect(labels['toy.idle->toy.done']).toEqual(['GO']);
    expect(labels['toy.busy.left.a->toy.busy.left.b']).toEqual(['after 1s']);
    expect(labels['toy.busy.right.c->toy.busy.right.d']).toEqual(['after pause']);
    expect(labels['toy.busy->toy.done']).toEqual(['done: busy']);
    expect(labels['toy->toy.idle']).toEqual(['RESET']);

    const dot = toDot(g);
    expect(dot).toContain('"cluster_toy.busy"');
    expect(dot).toContain('style="dashed,rounded"');
    expect(dot).toContain('"toy:any" -> "toy.idle"');
    expect(dot).toContain('peripheries=2');
    expect(dot).toContain('tooltip="all over"');
    const { svg, warnings } = await renderSvg(dot);
    expect(warnings).toEqual([]);
    expect(svg).toContain('<g id="toy.busy.left.b" class="node state final">');
    expect(toDot(machineGraph(toy))).toBe(dot);
  });

  it('names guards it can, and says so when it cannot', () => {
    expect(guardLabel(undefined)).toBe('');
    expect(guardLabel('ready')).toBe('ready');
    expect(guardLabel({ type: 'waitIs', params: { reason: 'vpn' } })).toBe('waitIs("vpn")');
    expect(guardLabel(() => true)).toBe('inline guard');
    const plain = createMachine({ initial: 'a', states: { a: { on: { X: { guard: () => true, target: 'b' } } }, b: {} } });
    expect(machineGraph(plain).edges[0]?.labels).toEqual(['X [inline guard]']);
  });
});
