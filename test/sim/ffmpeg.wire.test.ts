import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IH, engine, startSession } from './helpers.ts';

const FFMPEG = '/usr/bin/ffmpeg';

function ffmpeg(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe.skipIf(!existsSync(FFMPEG))('real ffmpeg against a simulated engine', () => {
  it('reads 10 s of the playback URL (via the 302) with no warning at the live bitrate', async () => {
    const e = await engine({ bitrate: 2_500_000 });
    const s = await startSession(e.url, { infohash: IH, pid: 'ffmpeg' });
    const { code, stderr } = await ffmpeg(['-nostdin', '-v', 'warning', '-i', s.playback_url, '-t', '10', '-f', 'null', '-']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(e.state().sessions[0]!.bytes_out).toBeGreaterThan(2_000_000);
  });
});
