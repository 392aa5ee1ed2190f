/**
 * An HLS-only channel is a session like any other for the journal, the outbox and crash
 * recovery: kill -9 of acerelay (a real child process) while it serves one, restart on the
 * same journal → its stream is ended and its engine session stopped, and the journal holds
 * the HLS audience's player.
 */
import { afterEach, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAcerelay, type Child } from '../support/child.ts';
import { startSimulator, type Simulator } from '../../src/sim/index.ts';
import { CONTENT, eventually, getJson } from '../support/stack.ts';
import { fetchPlaylist, fetchSegment, segmentUrl } from '../support/hls.ts';

const children: Child[] = [];
let sim: Simulator | null = null;
afterEach(async () => {
  for (const c of children.splice(0)) c.proc.kill('SIGKILL');
  await sim?.close();
  sim = null;
});

function start(dataDir: string): Child {
  const child = runAcerelay(['serve', '--listen', '127.0.0.1:0'], {
    ACERELAY_ORCH_URL: sim!.url,
    ACERELAY_DATA_DIR: dataDir,
    ACERELAY_LOG_LEVEL: 'info',
    ACERELAY_STATUS_INTERVAL: '2s',
  });
  children.push(child);
  return child;
}

async function baseUrl(child: Child): Promise<string> {
  return JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/)).url as string;
}

test('kill -9 while HLS viewers watch a channel, restart: its stream is ended, its engine session stopped, its HLS player in the journal', async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 2, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const data = mkdtempSync(join(tmpdir(), 'acerelay-hls-crash-'));
  const first = start(data);
  const url = await baseUrl(first);
  const manifest = `${url}/ace/manifest.m3u8?id=${CONTENT[0]}`;
  const p = await eventually(async () => (await fetchPlaylist(manifest)).playlist, 20_000, 300);
  expect((await fetchSegment(segmentUrl(manifest, p.segments[0]!.uri))).status).toBe(200);
  const sessionId = (await getJson(`${url}/ace/status?id=${CONTENT[0]}`)).body.id as string;
  const started = sim.state().events.filter((e) => e.type === 'stream_started' && e.http_status === 200).map((e) => e.stream_id);
  expect(started.length).toBe(1);
  first.proc.kill('SIGKILL');
  await first.exited;
  expect(sim.state().streams.filter((s) => s.id === started[0] && s.status === 'started').length).toBe(1);

  const second = start(data);
  const url2 = await baseUrl(second);
  await eventually(() => sim!.state().streams.every((s) => s.status !== 'started'), 20_000);
  const ends = sim.state().events.filter((e) => e.type === 'stream_ended');
  expect(ends.map((e) => e.stream_id)).toEqual(started);
  const sessions = sim.state().engines.flatMap((e) => e.sessions);
  expect(sessions.length).toBe(1);
  expect(sessions[0]!.stopped_at).not.toBeNull();
  expect(sessions[0]!.stop_calls).toBe(1);
  // The history the journal kept: the session and its HLS audience's player.
  const history = await getJson(`${url2}/api/sessions/${sessionId}/events`);
  const created = (history.body.entries as Array<{ type: string; machine: string; input?: { transport?: string } }>).filter((e) => e.type === 'created');
  expect(created.map((e) => [e.machine, e.machine === 'player' ? e.input?.transport ?? 'ts' : null])).toEqual([
    ['session', null],
    ['player', 'hls'],
  ]);
}, 90_000);
