/**
 * kill -9 and restarts, with acerelay as a real child process and the simulator as the
 * orchestrator: nothing is left "started", no engine session is left running, and no end
 * ever hits a stream that is not ours.
 */
import { afterEach, expect, test } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAcerelay, type Child } from '../support/child.ts';
import { startSimulator, type Simulator } from '../../src/sim/index.ts';
import { CONTENT, eventually, play, sleep } from '../support/stack.ts';
import { addFinishedSessions, confirmedStarts } from '../adapters/journal/journal-files.ts';

const children: Child[] = [];
let sim: Simulator | null = null;
afterEach(async () => {
  for (const c of children.splice(0)) c.proc.kill('SIGKILL');
  await sim?.close();
  sim = null;
});

function start(dataDir: string, extra: Record<string, string> = {}): Child {
  const child = runAcerelay(['serve', '--listen', '127.0.0.1:0'], {
    ACERELAY_ORCH_URL: sim!.url,
    ACERELAY_DATA_DIR: dataDir,
    ACERELAY_LOG_LEVEL: 'info',
    ACERELAY_STATUS_INTERVAL: '2s',
    ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
    ...extra,
  });
  children.push(child);
  return child;
}

async function baseUrl(child: Child): Promise<string> {
  return JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/)).url as string;
}

const accepted = (s: Simulator) => s.state().events.filter((e) => e.type === 'stream_started' && e.http_status === 200).map((e) => e.stream_id);

test('kill -9 with 3 live channels, restart: every accepted stream id is ended and every engine session stopped', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 3, maxReplicas: 5, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-crash-'));
  const first = start(data);
  const url = await baseUrl(first);
  const players = [0, 1, 2].map((i) => play(`${url}/ace/getstream?id=${CONTENT[i]}`, { maxMs: 60_000 }));
  await eventually(() => accepted(sim!).length === 3, 20_000);
  await sleep(500);
  first.proc.kill('SIGKILL');
  await first.exited;
  await Promise.all(players);
  const ids = new Set(accepted(sim));
  expect(ids.size).toBe(3);
  // Killed: still "started" at the orchestrator, engine sessions still running.
  const startedNow = () => sim!.state().streams.filter((s) => ids.has(s.id) && s.status === 'started').length;
  expect(startedNow()).toBe(3);

  const second = start(data);
  await baseUrl(second);
  await eventually(() => startedNow() === 0, 20_000);
  const ends = sim.state().events.filter((e) => e.type === 'stream_ended');
  expect(new Set(ends.map((e) => e.stream_id))).toEqual(ids);
  // Each end ended the stream it named, not some other one.
  for (const e of ends) expect(e.ended_stream_id).toBe(e.stream_id);
  const sessions = sim.state().engines.flatMap((e) => e.sessions);
  expect(sessions).toHaveLength(3);
  for (const s of sessions) {
    expect(s.stopped_at).not.toBeNull();
    expect(s.stop_calls).toBe(1);
  }
  expect(second.stderr()).toMatch(/recovered from the previous run/);
}, 90_000);

test('killed again while the previous run’s engine stops are still failing: the run after that stops them', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 2, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-crash-twice-'));
  const first = start(data);
  const url = await baseUrl(first);
  const player = play(`${url}/ace/getstream?id=${CONTENT[0]}`, { maxMs: 60_000 });
  await eventually(() => accepted(sim!).length === 1, 20_000);
  first.proc.kill('SIGKILL');
  await first.exited;
  await player;
  const engine = sim.state().engines.find((e) => e.sessions.length > 0)!;
  // The engine answers 500 to everything: the recovery's stop cannot land.
  await sim.control(`engines/${engine.container_id}`, { mode: 'error500' });
  const second = start(data);
  await baseUrl(second);
  await eventually(() => /could not stop an engine session left by the previous run/.test(second.stderr()), 10_000);
  second.proc.kill('SIGKILL');
  await second.exited;

  await sim.control(`engines/${engine.container_id}`, { mode: 'ok' });
  const running = () => sim!.state().engines.flatMap((e) => e.sessions).filter((s) => s.stopped_at === null);
  expect(running()).toHaveLength(1);
  const third = start(data);
  await baseUrl(third);
  await eventually(() => running().length === 0, 20_000);
  // Stopped by the third run, not expired by the engine (60 s without a reader).
  expect(sim.state().engines.flatMap((e) => e.sessions).map((s) => [s.end_reason, s.stop_calls > 0])).toEqual([['stop', true]]);
  expect(third.stderr()).toMatch(/"resumedCleanups":1/);
}, 90_000);

test('kill -9 while a stream_started is on the wire to a slow orchestrator: registered after the restart, it still gets its end', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 2, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-crash-start-'));
  const first = start(data);
  const url = await baseUrl(first);
  await eventually(async () => (await fetch(`${url}/readyz`)).status === 200, 10_000);
  // Every request from now on is answered (and acted on) 6 s after it arrives.
  await sim.control('orchestrator', { mode: 'slow', ms: 6_000 });
  await play(`${url}/ace/getstream?id=${CONTENT[0]}`, { until: (c) => c.size > 0, maxMs: 10_000 });
  // The start went out when the stream started: kill while it waits at the orchestrator.
  first.proc.kill('SIGKILL');
  await first.exited;
  await sim.control('orchestrator', { mode: 'ok' });
  expect(accepted(sim)).toEqual([]);

  const second = start(data);
  await baseUrl(second);
  // The old process's start lands at the orchestrator after the new one first asked about it.
  const [id] = await eventually(() => (accepted(sim!).length === 1 ? accepted(sim!) : null), 15_000);
  const record = () => sim!.state().streams.find((r) => r.id === id)!;
  await eventually(() => record().status === 'ended', 30_000);
  expect(record().ended_by).toBe('event');
  const ends = sim.state().events.filter((e) => e.type === 'stream_ended' && e.processed);
  expect(ends.map((e) => e.stream_id)).toEqual([id]);
}, 90_000);

function registerStranger(sim: Simulator, id: string): Promise<Response> {
  const engine = sim.state().engines.filter((e) => e.removed_at === null)[0]!;
  return fetch(`${sim.url}/events/stream_started`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      container_id: engine.container_id,
      engine: { host: '127.0.0.1', port: engine.port },
      stream: { key_type: 'infohash', key: 'f'.repeat(40) },
      session: { playback_session_id: 'x'.repeat(40), stat_url: `http://127.0.0.1:${engine.port}/ace/stat/x/y`, command_url: `http://127.0.0.1:${engine.port}/ace/cmd/x/y`, is_live: 1 },
      labels: { stream_id: id },
    }),
  });
}

test('both sides restart (acerelay killed, the orchestrator forgets every id): no end hits another client’s stream', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 4, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-orch-restart-'));
  const first = start(data);
  const url = await baseUrl(first);
  const players = [0, 1].map((i) => play(`${url}/ace/getstream?id=${CONTENT[i]}`, { maxMs: 60_000 }));
  await eventually(() => accepted(sim!).length === 2, 20_000);
  // Killed once the starts are confirmed in its journal (an unconfirmed one would make the
  // restart wait for it, see the test above).
  await eventually(() => confirmedStarts(data) === 2, 10_000);
  first.proc.kill('SIGKILL');
  await first.exited;
  await Promise.all(players);
  const before = sim.state().incarnation;
  await sim.control('orchestrator', { mode: 'restart', ms: 500 });
  await eventually(() => sim!.state().incarnation > before && sim!.state().engines.filter((e) => e.removed_at === null).length === 2, 10_000);
  // Another client's stream: the one an end for an unknown id would kill.
  expect((await registerStranger(sim, 'someone-else')).status).toBe(200);
  const second = start(data);
  await baseUrl(second);
  await eventually(() => /recovered from the previous run/.test(second.stderr()), 10_000);
  await sleep(2_000);
  const state = sim.state();
  const hits = state.streams.filter((s) => s.ended_by === 'stranger');
  expect(hits).toEqual([]);
  expect(state.streams.filter((s) => s.id === 'someone-else').map((s) => s.status)).toEqual(['started']);
  // The ends were held back because the orchestrator no longer lists those ids.
  expect(second.stderr()).toMatch(/does not list this stream as started/);
}, 90_000);

test('kill -9 of the longest-running stream, then a restart whose journal is over ACERELAY_JOURNAL_MAX: pruning spares its history, and it is stopped and ended', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 2, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-crash-pruned-'));
  const small = { ACERELAY_JOURNAL_MAX: '1MiB' };
  const first = start(data, small);
  const url = await baseUrl(first);
  const player = play(`${url}/ace/getstream?id=${CONTENT[0]}`, { maxMs: 60_000 });
  await eventually(() => accepted(sim!).length === 1 && confirmedStarts(data) === 1, 20_000);
  first.proc.kill('SIGKILL');
  await first.exited;
  await player;
  const [id] = accepted(sim);
  const record = () => sim!.state().streams.find((r) => r.id === id)!;
  expect(record().status).toBe('started');
  // Thousands of finished sessions after it: its entries are now the oldest in a file past the bound.
  addFinishedSessions(data, 1500);
  expect(statSync(join(data, 'journal.db')).size).toBeGreaterThan(1024 * 1024);

  const second = start(data, small);
  await baseUrl(second);
  await eventually(() => record().status === 'ended', 20_000);
  expect(record().ended_by).toBe('event');
  const sessions = sim.state().engines.flatMap((e) => e.sessions);
  expect(sessions.map((s) => [s.stopped_at !== null, s.stop_calls])).toEqual([[true, 1]]);
  // The bound held all the same.
  expect(statSync(join(data, 'journal.db')).size).toBeLessThanOrEqual(1024 * 1024);
}, 90_000);

