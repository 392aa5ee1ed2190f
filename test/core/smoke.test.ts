import { test, expect } from 'vitest';
import { PureWorld } from '../support/pure-world.ts';

const ID = 'a'.repeat(40);

test('smoke', async () => {
  const w = new PureWorld();
  const p = w.player(`id=${ID}`);
  await w.advance(1000);
  console.log(w.rel().join('\n'));
  expect(w.state(p)).toBe('streaming');
  w.disconnect(p);
  await w.advance(11_000);
  console.log(w.rel().join('\n'), w.started, w.ended, w.stops);
});
