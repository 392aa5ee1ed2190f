/** Single-engine mode (no orchestrator): the same flow, stop included, and no stream events. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startSimulator, simInfohashForId, type Simulator } from '../src/sim/index.ts';
import { loadConfig } from '../src/config.ts';
import { createAcerelay, type Acerelay } from '../src/runtime.ts';
import { silentLogger } from '../src/log.ts';
import { CONTENT, SCALED_ENV, bytes, eventually, ffmpegRead, play, tempDataDir } from './support/stack.ts';

let sim: Simulator;
let acerelay: Acerelay;
let url: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, startDelayMs: 100 });
  const engine = sim.state().engines[0]!;
  const { config } = loadConfig([], { ...SCALED_ENV, ACERELAY_DATA_DIR: tempDataDir(), ACERELAY_ENGINE_URL: `http://127.0.0.1:${engine.port}` });
  acerelay = await createAcerelay(config, { logger: silentLogger });
  url = await acerelay.listen();
});
afterAll(async () => {
  await acerelay?.close();
  await sim?.close();
});

test('two channels on the one engine, each with its own pid; stopped after the linger; no events sent', async () => {
  const a = play(`${url}/ace/getstream?id=${CONTENT[0]}`, { until: bytes(1_500_000), maxMs: 20_000 });
  const b = ffmpegRead(`${url}/ace/getstream?id=${CONTENT[1]}`, 4);
  const [ca, fb] = await Promise.all([a, b]);
  expect(ca.status).toBe(200);
  expect(fb).toEqual({ code: 0, stderr: '' });
  const sessions = () => sim.state().engines[0]!.sessions;
  const mine = () => sessions().filter((s) => s.infohash === simInfohashForId(CONTENT[0]!) || s.infohash === simInfohashForId(CONTENT[1]!));
  expect(mine()).toHaveLength(2);
  expect(new Set(mine().map((s) => s.pid)).size).toBe(2);
  expect(await eventually(() => mine().every((s) => s.stopped_at !== null && s.stop_calls === 1), 8_000)).toBe(true);
  expect(sim.state().events).toEqual([]);
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
}, 60_000);
