/**
 * One channel's HLS audience alone, on a ManualClock, fed by a real channel and the
 * simulator's stream: the idle rule, the first wait, distinct clients, the window's answers.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { Channel } from '../../src/fanout/channel.ts';
import { createLiveStream } from '../../src/ts/live-stream.ts';
import { HlsAudience } from '../../src/server/hls-audience.ts';
import { SinkMonitor } from '../../src/server/sink-monitor.ts';
import { silentLogger } from '../../src/log.ts';
import type { PlayerEvent } from '../../src/machines/player.machine.ts';
import { collect } from '../ts/stream-check.ts';

const SETTINGS = { segmentMs: 2000, window: 2, idleMs: 30_000, firstWaitMs: 15_000 };

function audience(settings = SETTINGS, clock = new ManualClock(1_700_000_000_000)) {
  const monitor = new SinkMonitor(30_000, 1 << 30);
  const events: PlayerEvent[] = [];
  let ended = 0;
  const a = new HlsAudience('id:abc', { clock, monitor, log: silentLogger, settings }, () => ended++);
  a.bind((e) => events.push(e), 'p-1', 's-1', () => null);
  return { a, clock, monitor, events, ended: () => ended };
}

async function stream(bytes: number): Promise<Buffer> {
  return collect(createLiveStream({ clock: new ManualClock(1_700_000_000_000), bitrate: 0, positionMs: 10_000, burstMs: 0 }), bytes);
}

describe('HlsAudience', () => {
  it('leaves like a closed socket after the idle time without requests, not while a playlist request waits', async () => {
    // An idle time shorter than the first wait: the waiting request is what keeps it.
    const { a, clock, events } = audience({ ...SETTINGS, idleMs: 10_000 });
    a.touch('127.0.0.1 mpv');
    const waiting = a.firstSegment(SETTINGS.firstWaitMs);
    clock.advance(10_000);
    a.sweep(clock.now());
    expect(events).toEqual([]);
    clock.advance(5_000);
    expect(await waiting).toEqual({ kind: 'timeout' });
    // From the request's end (its 503), the idle time runs again.
    clock.advance(9_999);
    a.sweep(clock.now());
    expect(events).toEqual([]);
    clock.advance(1);
    a.sweep(clock.now());
    expect(events).toEqual([{ type: 'DISCONNECTED' }]);
  });

  it('counts distinct clients (address + user agent) seen within the idle time', () => {
    const { a, clock } = audience();
    a.touch('10.0.0.1 VLC');
    a.touch('10.0.0.1 VLC');
    a.touch('10.0.0.1 mpv');
    clock.advance(20_000);
    a.touch('10.0.0.2 VLC');
    expect(a.clientCount()).toBe(3);
    clock.advance(10_001);
    expect(a.clientCount()).toBe(1);
  });

  it('attached to a channel: the first segment ends the wait; segments are found, gone or unknown; the window counts in memory; finish drops it', async () => {
    const { a, monitor, ended } = audience();
    const channel = new Channel({ id: 'c', bufferBytes: 16 * 1024 * 1024 });
    channel.beginUpstream();
    a.attach(channel);
    const first = a.firstSegment(SETTINGS.firstWaitMs);
    // As an engine sends it, in chunks (a joiner starts at the window's latest keyframe).
    const data = await stream(3 * 1024 * 1024);
    for (let off = 0; off < data.length; off += 65_536) channel.push(data.subarray(off, off + 65_536));
    expect(await first).toEqual({ kind: 'ready' });
    const window = a.segmenter.window;
    expect(window.length).toBe(2 * SETTINGS.window + 1);
    expect(a.segment(window[0]!.seq)).toBe(window[0]);
    expect(a.segment(window[0]!.seq - 1)).toBe('gone');
    expect(a.segment(window.at(-1)!.seq + 1)).toBe('unknown');
    expect(monitor.total('window')).toBe(a.segmenter.bytes);
    const playlist = a.playlist('id=abc');
    expect(playlist).toContain(`hls/${a.token}/${window.at(-1)!.seq}.ts?id=abc`);
    expect(playlist).not.toContain(`/${window.at(-3)!.seq}.ts`);
    a.finish('disconnected', null);
    expect(ended()).toBe(1);
    expect(channel.players).toBe(0);
    expect(monitor.total('window')).toBe(0);
    expect(await a.firstSegment(1)).toMatchObject({ kind: 'ended' });
  });
});
