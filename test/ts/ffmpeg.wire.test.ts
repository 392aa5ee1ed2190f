import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.ts';
import { createLiveStream } from '../../src/ts/live-stream.ts';
import type { LiveStream, LiveStreamOptions } from '../../src/ts/live-stream.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool, optionally feeding `input` to its stdin until it exits. */
function run(command: string, args: string[], input?: LiveStream): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    if (input && child.stdin) {
      // ffmpeg closes its stdin once it has read enough: that EPIPE is the normal end.
      child.stdin.on('error', () => {});
      input.pipe(child.stdin);
    }
    child.on('error', reject);
    child.on('close', (code) => {
      input?.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}

/** Warnings and errors only on stderr; progress (out_time_us=…) on stdout. */
const DECODE = ['-v', 'warning', '-nostats', '-progress', 'pipe:1'];

function decodedSeconds(result: Run): number {
  const times = [...result.stdout.matchAll(/^out_time_us=(\d+)$/gm)].map((m) => Number(m[1]));
  return Math.max(0, ...times) / 1e6;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Serves a fresh live stream per request, like an engine's playback URL. */
async function serve(options: Omit<LiveStreamOptions, 'clock'>): Promise<string> {
  const server = createServer((_req, res) => {
    const live = createLiveStream({ clock: systemClock, ...options });
    res.writeHead(200, { 'content-type': 'video/mp2t' });
    live.pipe(res);
    res.on('close', () => live.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/ace/r/test`;
}

describe('ffmpeg reads the generated stream', () => {
  it('decodes 10 s of loops from stdin without a word', async () => {
    const live = createLiveStream({ clock: systemClock, bitrate: 0 });
    const result = await run('ffmpeg', [...DECODE, '-i', 'pipe:0', '-t', '10', '-f', 'null', '-'], live);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(decodedSeconds(result)).toBeGreaterThanOrEqual(9.9);
  });

  it('reads across the 2^33 timestamp wrap without a word', async () => {
    // 2^33 ticks at 90 kHz ≈ 95 443.7 s of live position: start 3 s before.
    const live = createLiveStream({ clock: systemClock, bitrate: 0, positionMs: 95_440_700 });
    const result = await run('ffmpeg', [...DECODE, '-i', 'pipe:0', '-t', '10', '-f', 'null', '-'], live);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(decodedSeconds(result)).toBeGreaterThanOrEqual(9.9);
  });

  it('decodes 10 s over HTTP at 2.5 Mbit/s without a word, and ffprobe finds H.264 + AAC', async () => {
    // A large burst keeps the test short: 8 s arrive at once, the rest in real time.
    const url = await serve({ bitrate: 2_500_000, burstMs: 8000 });
    const started = Date.now();
    const [decode, probe] = await Promise.all([
      run('ffmpeg', [...DECODE, '-nostdin', '-i', url, '-t', '10', '-f', 'null', '-']),
      run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name', '-of', 'json', url]),
    ]);
    expect(decode.stderr).toBe('');
    expect(decode.code).toBe(0);
    expect(decodedSeconds(decode)).toBeGreaterThanOrEqual(9.9);
    // The burst starts at the keyframe at or before live − 8 s, so it holds 8–9 s: the
    // rest of the 10 s has to come in real time.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(probe.code).toBe(0);
    expect(probe.stderr).toBe('');
    const streams = (JSON.parse(probe.stdout) as { streams: Array<{ codec_type: string; codec_name: string }> }).streams;
    expect(streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort()).toEqual(['audio:aac', 'video:h264']);
  });
});
