/**
 * Real players beside ffmpeg, from Debian's packages (.ci/run installs them): mpv and VLC each
 * read /ace/getstream and /ace/manifest.m3u8 for 10 s and exit cleanly. A failure prints the
 * player's own log. VLC refuses to run as root: as root it runs as `nobody`, with HOME in a
 * folder of its own.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT, startStack, type Stack } from '../support/stack.ts';

const PLAY_S = 10;

interface Run {
  code: number | null;
  ms: number;
  log: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    // A player that hangs is a failure with its log, not a test timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, log });
    });
  });
}

function mpv(url: string): Promise<Run> {
  return run('mpv', ['--no-config', '--vo=null', '--ao=null', `--length=${PLAY_S}`, '--msg-level=all=v', url]);
}

function vlc(url: string, home: string): Promise<Run> {
  const args = ['--intf', 'dummy', '--vout=dummy', '--aout=dummy', `--run-time=${PLAY_S}`, '--play-and-exit', '-v', url];
  const env = { ...process.env, HOME: home };
  if (process.getuid?.() === 0) return run('runuser', ['-u', 'nobody', '--', 'env', `HOME=${home}`, 'cvlc', ...args], env);
  return run('cvlc', args, env);
}

async function counter(s: Stack, name: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

let stack: Stack;
let vlcHome: string;

beforeAll(async () => {
  for (const bin of ['/usr/bin/mpv', '/usr/bin/cvlc']) if (!existsSync(bin)) throw new Error(`${bin} is missing (.ci/run installs Debian's mpv and vlc)`);
  stack = await startStack();
  vlcHome = mkdtempSync(join(tmpdir(), 'acerelay-vlc-'));
  chmodSync(vlcHome, 0o777);
});

afterAll(async () => {
  await stack?.close();
});

/** At least this share of 10 s of the simulator's 2.5 Mbit/s reached the player. */
const MIN_BYTES = 0.7 * PLAY_S * (2_500_000 / 8);

describe.each([
  ['mpv', (url: string) => mpv(url)],
  ['VLC', (url: string) => vlc(url, vlcHome)],
])('%s', (name, player) => {
  test.each([
    ['/ace/getstream', 0],
    ['/ace/manifest.m3u8', 1],
  ])('reads %s for 10 s and exits cleanly', async (path, i) => {
    // A channel of its own per run: nothing lingers from the one before.
    const id = CONTENT[(name === 'mpv' ? 0 : 2) + (i as number)]!;
    const before = await counter(stack, 'acerelay_bytes_out_total');
    const result = await player(`${stack.url}${path}?id=${id}`);
    const sent = (await counter(stack, 'acerelay_bytes_out_total')) - before;
    expect(result.code, result.log).toBe(0);
    // It played for the time asked (not a quick exit on an error it swallowed)…
    expect(result.ms, result.log).toBeGreaterThanOrEqual(PLAY_S * 1000 - 500);
    // …and took the media for it.
    expect(sent, result.log).toBeGreaterThanOrEqual(MIN_BYTES);
  }, 90_000);
});
