/**
 * Every player of a registry runs the one player machine, provided once; each actor's
 * actions reach its own socket and session through its record (src/core/player-actors.ts).
 */
import { describe, expect, test } from 'vitest';
import { PureWorld } from '../support/pure-world.ts';

const ID = 'a'.repeat(40);
const ID2 = 'b'.repeat(40);

describe('player hands', () => {
  test('players of two channels share one machine, and each actor acts on its own socket', async () => {
    const w = new PureWorld();
    const a = w.player(`id=${ID}`);
    const b = w.player(`id=${ID}`);
    const c = w.player(`id=${ID2}`);
    await w.advance(1_000);
    // The Actor behind the ref holds its machine as `logic` (the ref type does not show it).
    const logic = [a, b, c].map((p) => (w.registry.player(p.id)!.actor as unknown as { logic: object }).logic);
    // Providing per player built the machine's state tree again for each (~23 KiB each).
    expect(logic[1]).toBe(logic[0]);
    expect(logic[2]).toBe(logic[0]);
    for (const p of [a, b, c]) expect(p.events.at(-1)).toBe('attach');
    const before = [a, c].map((p) => [...p.events]);
    w.disconnect(b);
    await w.advance(1_000);
    expect(b.events.slice(-2)).toEqual(['attach', 'finish:disconnected']);
    // The others' sockets heard nothing of it.
    expect([a, c].map((p) => p.events)).toEqual(before);
    expect(w.registry.player(b.id)).toBeUndefined();
    expect(w.state(a)).toBe('streaming');
    expect(w.state(c)).toBe('streaming');
  });
});
