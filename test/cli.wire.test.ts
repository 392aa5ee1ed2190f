/** The command line as a user meets it: bad configuration, help, and a graceful SIGTERM. */
import { describe, expect, test } from 'vitest';
import { runAcerelay } from './support/child.ts';
import { startSimulator } from '../src/sim/index.ts';
import { CONTENT, bytes, eventually, play, sleep } from './support/stack.ts';

describe('configuration errors exit 2 with the variable named', () => {
  test.each([
    [{ ACERELAY_HOLD_MAX: 'soon' }, [], 'ACERELAY_HOLD_MAX'],
    [{ ACEXY_EMPTY_TIMEOUT: '-3' }, [], 'ACEXY_EMPTY_TIMEOUT'],
    [{ ACERELAY_BUFFER: '12 parsecs' }, [], 'ACERELAY_BUFFER'],
    [{ ACERELAY_ORCH_URL: 'orchestrator:8000' }, [], 'ACERELAY_ORCH_URL'],
    [{ ACERELAY_LISTEN: 'everywhere' }, [], 'ACERELAY_LISTEN'],
    [{}, ['--max-wait', '30s'], '--max-wait'],
    [{}, ['--hold-max', 'x'], 'ACERELAY_HOLD_MAX'],
    [{ ACERELAY_HLS_WINDOW: 'six' }, [], 'ACERELAY_HLS_WINDOW'],
  ])('%j %j', async (env, args, named) => {
    const child = runAcerelay(['serve', ...args], env);
    expect(await child.exited).toBe(2);
    expect(child.stderr()).toContain(named);
  });

  test('a malformed API key is reported without its value', async () => {
    const child = runAcerelay(['serve'], { ACERELAY_ORCH_APIKEY: '', ACERELAY_HOLD_MAX: 'x' });
    expect(await child.exited).toBe(2);
  });
});

test('--help lists every variable and never echoes a secret', async () => {
  const child = runAcerelay(['--help'], { ACERELAY_ORCH_APIKEY: 'sekrit-key-123', ACERELAY_ADMIN_TOKEN: 'tok-456' });
  expect(await child.exited).toBe(0);
  const out = child.stdout();
  for (const name of ['ACERELAY_LISTEN', 'ACERELAY_ORCH_URL', 'ACERELAY_ORCH_APIKEY', 'ACERELAY_ENGINE_URL', 'ACERELAY_MAX_STREAMS_PER_ENGINE', 'ACERELAY_EMPTY_TIMEOUT', 'ACERELAY_NO_RESPONSE_TIMEOUT', 'ACERELAY_BUFFER', 'ACERELAY_MEMORY_MAX', 'ACERELAY_HOLD_MAX', 'ACERELAY_QUEUE_MAX', 'ACERELAY_LINGER', 'ACERELAY_PROVISION_CONCURRENCY', 'ACERELAY_DATA_DIR', 'ACERELAY_ADMIN_TOKEN', 'ACERELAY_LOG_LEVEL', 'ACERELAY_HLS_SEGMENT', 'ACERELAY_HLS_WINDOW', 'ACERELAY_HLS_IDLE', 'ACERELAY_HLS_FIRST_WAIT', 'ACEXY_M3U8_STREAM_TIMEOUT', 'ACERELAY_INSTANCE', 'ACERELAY_ORPHAN_CHECK_INTERVAL', 'ACEXY_LISTEN_ADDR', 'ACEXY_ORCH_URL']) {
    expect(out).toContain(name);
  }
  expect(out).not.toContain('sekrit-key-123');
  expect(out).not.toContain('tok-456');
});

test('ACEXY_M3U8=true is accepted with a warning naming it, and acerelay serves', async () => {
  const sim = await startSimulator({ port: 0 });
  const child = runAcerelay(['serve'], { ACERELAY_LISTEN: '127.0.0.1:0', ACERELAY_ORCH_URL: sim.url, ACEXY_M3U8: 'true' });
  try {
    await child.waitFor(/ACEXY_M3U8/);
    await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/);
  } finally {
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    await sim.close();
  }
});

test('an unknown ACERELAY_* variable is warned about, not ignored silently', async () => {
  const sim = await startSimulator({ port: 0 });
  const child = runAcerelay(['serve'], { ACERELAY_LISTEN: '127.0.0.1:0', ACERELAY_ORCH_URL: sim.url, ACERELAY_HOLDMAX: '5s' });
  try {
    await child.waitFor(/ACERELAY_HOLDMAX/);
  } finally {
    child.proc.kill('SIGTERM');
    await child.exited;
    await sim.close();
  }
});

test('SIGTERM with live streams: players see a reset (not the end of a recording), every stream_ended is delivered, engine sessions stopped, exit 0', async () => {
  const sim = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 4, apiKey: 'k-test', startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  const child = runAcerelay(['serve', '--listen', '127.0.0.1:0'], {
    ACERELAY_ORCH_URL: sim.url,
    ACERELAY_ORCH_APIKEY: 'k-test',
    ACERELAY_LOG_LEVEL: 'info',
    ACERELAY_STATUS_INTERVAL: '2s',
  });
  try {
    const line = await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/);
    const base = JSON.parse(line).url as string;
    const players = [0, 1, 2].map((i) => play(`${base}/ace/getstream?id=${CONTENT[i]}`, { maxMs: 30_000 }));
    await eventually(() => sim.state().events.filter((e) => e.type === 'stream_started' && e.http_status === 200).length === 3, 15_000);
    await sleep(500);
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    // A clean end (FIN) would make a recorder keep a truncated file as the whole recording.
    for (const p of await Promise.all(players)) {
      expect(p.status).toBe(200);
      expect(p.size).toBeGreaterThan(0);
      expect(p.ending).toBe('reset');
    }
    const state = sim.state();
    const started = new Set(state.events.filter((e) => e.type === 'stream_started' && e.http_status === 200).map((e) => e.stream_id));
    const ended = new Set(state.events.filter((e) => e.type === 'stream_ended' && e.http_status === 200).map((e) => e.stream_id));
    expect(started.size).toBe(3);
    expect(ended).toEqual(started);
    for (const s of state.engines.flatMap((e) => e.sessions)) {
      expect(s.stopped_at).not.toBeNull();
      expect(s.stop_calls).toBe(1);
    }
    // The key travelled in headers only.
    expect(child.stderr()).not.toContain('k-test');
  } finally {
    child.proc.kill('SIGKILL');
    await sim.close();
  }
}, 60_000);
