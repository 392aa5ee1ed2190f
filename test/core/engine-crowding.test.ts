/**
 * Which sessions leave a crowded engine: every instance reads the same /engines and decides
 * for its own streams only; together they leave each engine at most `max`, and the ones that
 * keep their seats are the same whoever computes it.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { seatingOrder, streamsToMove } from '../../src/core/engine-crowding.ts';
import { uuidV7 } from '../../src/core/ids.ts';

const at = (instance: string, ms: number) => `acerelay-${instance}-${uuidV7(1_700_000_000_000 + ms)}`;

describe('streamsToMove', () => {
  test('two instances chose one engine (max 1): the later stream moves, and only its instance moves it', () => {
    const a = at('relay-a', 100);
    const b = at('relay-b', 101);
    const engines = [{ containerId: 'e1', streams: [b, a] }];
    const none = () => false;
    expect(streamsToMove({ engines, maxPerEngine: 1, running: new Set([a]), ours: (id) => id === a })).toEqual([]);
    expect(streamsToMove({ engines, maxPerEngine: 1, running: new Set([b]), ours: (id) => id === b })).toEqual([{ streamId: b, containerId: 'e1', listed: 2 }]);
    // Nobody else's stream is ever named.
    expect(streamsToMove({ engines, maxPerEngine: 1, running: new Set(), ours: none })).toEqual([]);
  });

  test('another client’s stream keeps its seat: ours moves even when it is older', () => {
    const ours = at('relay-a', 1);
    const engines = [{ containerId: 'e1', streams: [ours, `${'c'.repeat(40)}|${'d'.repeat(40)}`] }];
    expect(streamsToMove({ engines, maxPerEngine: 1, running: new Set([ours]), ours: (id) => id === ours })).toHaveLength(1);
  });

  test('a stream of ours that no longer runs (its end on the way) takes no seat', () => {
    const ended = at('relay-a', 1);
    const theirs = at('relay-b', 2);
    const mine = at('relay-a', 3);
    const engines = [{ containerId: 'e1', streams: [ended, theirs] }, { containerId: 'e2', streams: [ended, mine] }];
    const ours = (id: string) => id === ended || id === mine;
    expect(streamsToMove({ engines, maxPerEngine: 1, running: new Set([mine]), ours })).toEqual([]);
  });

  test('max 2: the third and later streams move', () => {
    const s = [0, 1, 2, 3].map((n) => at(n % 2 ? 'relay-b' : 'relay-a', n));
    const engines = [{ containerId: 'e1', streams: [...s].reverse() }];
    const moves = streamsToMove({ engines, maxPerEngine: 2, running: new Set(s), ours: () => true });
    expect(moves.map((m) => m.streamId)).toEqual([s[2], s[3]]);
  });

  test('ids of a version without instances order by their UUID like any other', () => {
    const older = `acerelay-${uuidV7(1_700_000_000_000)}`;
    const newer = at('relay-b', 5);
    expect([newer, older].sort(seatingOrder)).toEqual([older, newer]);
  });

  test('property: each instance moving only what it computes for its own leaves every engine at most max, and the first max of each engine stay', () => {
    const stream = fc.record({ instance: fc.constantFrom('a', 'b', 'c', null), ms: fc.integer({ min: 0, max: 50 }), engine: fc.integer({ min: 0, max: 3 }) });
    fc.assert(
      fc.property(fc.array(stream, { maxLength: 14 }), fc.integer({ min: 1, max: 3 }), (list, max) => {
        const ids = list.map((s, n) => ({ ...s, id: s.instance ? at(s.instance, s.ms) : `${n.toString(16).padStart(40, '0')}|x` }));
        const engines = [0, 1, 2, 3].map((e) => ({ containerId: `e${e}`, streams: ids.filter((s) => s.engine === e).map((s) => s.id) }));
        const moved = new Set<string>();
        for (const instance of ['a', 'b', 'c']) {
          const own = new Set(ids.filter((s) => s.instance === instance).map((s) => s.id));
          for (const m of streamsToMove({ engines, maxPerEngine: max, running: own, ours: (id) => own.has(id) })) {
            expect(own.has(m.streamId)).toBe(true);
            moved.add(m.streamId);
          }
        }
        for (const e of engines) {
          const staying = e.streams.filter((id) => !moved.has(id));
          const foreign = e.streams.filter((id) => !id.startsWith('acerelay-')).length;
          // Only other clients' streams can keep an engine above max.
          expect(staying.length).toBeLessThanOrEqual(Math.max(max, foreign));
          const first = [...e.streams].sort(seatingOrder).slice(0, max);
          for (const id of first) expect(moved.has(id)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
