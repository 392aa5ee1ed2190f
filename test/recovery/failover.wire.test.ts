/** Mid-stream failover over the real wire, with ffmpeg as the player. */
import { afterEach, expect, test } from 'vitest';
import { CONTENT, eventually, ffmpegRead, sleep, startStack, type Stack } from '../support/stack.ts';
import { simInfohashForId } from '../../src/sim/index.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

test('the engine restarts 5 s into a stream: the stream continues on another engine and ffmpeg reads across the seam', async () => {
  stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 }, env: { ACERELAY_EMPTY_TIMEOUT: '3s' } });
  const ih = simInfohashForId(CONTENT[0]!);
  const reading = ffmpegRead(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, 16, ['-progress', 'pipe:2', '-stats_period', '1']);
  const engine = await eventually(() => stack!.sim.state().engines.find((e) => e.sessions.some((s) => s.infohash === ih && s.stopped_at === null)), 10_000);
  expect(engine).toBeTruthy();
  await sleep(5_000);
  await stack.sim.control(`engines/${engine!.container_id}`, { mode: 'restart', ms: 15_000 });
  const result = await reading;
  const warnings = result.stderr.split('\n').filter((l) => l && !/^(\w+=|progress=)/.test(l));
  expect(result.code).toBe(0);
  expect(warnings).toEqual([]);
  const outTime = Math.max(...[...result.stderr.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6));
  expect(outTime).toBeGreaterThan(15);
  const state = stack.sim.state();
  const sessions = state.engines.flatMap((e) => e.sessions.map((s) => ({ ...s, engine: e.container_id }))).filter((s) => s.infohash === ih);
  expect(new Set(sessions.map((s) => s.engine)).size).toBe(2);
  const started = state.events.filter((e) => e.type === 'stream_started' && e.http_status === 200);
  const ended = state.events.filter((e) => e.type === 'stream_ended');
  expect(started.length).toBe(2);
  expect(ended.map((e) => e.stream_id)).toContain(started[0]!.stream_id);
}, 60_000);
