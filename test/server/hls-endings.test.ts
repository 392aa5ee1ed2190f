/**
 * An HLS audience's end with an error, remembered for the clients that were part of it: who is
 * "untold" at the end (HlsAudience), and what each one's next request gets (HlsEndings), on a
 * ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { HlsAudience } from '../../src/server/hls-audience.ts';
import { HlsEndings } from '../../src/server/hls-endings.ts';
import { SinkMonitor } from '../../src/server/sink-monitor.ts';
import { AcerelayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';

const SETTINGS = { segmentMs: 2000, window: 2, idleMs: 30_000, firstWaitMs: 15_000 };

function audience(clock = new ManualClock(1_700_000_000_000)) {
  const monitor = new SinkMonitor(30_000, 1 << 30);
  const a = new HlsAudience('id:abc', { clock, monitor, log: silentLogger, settings: SETTINGS }, () => {});
  a.bind(() => {}, 'p-1', 's-1', () => null);
  return { a, clock };
}

describe('HlsAudience: the clients an error end was not said to', () => {
  it('held past HOLD_MAX: the clients seen within the idle time, but for those whose playlist request was waiting', async () => {
    const { a, clock } = audience();
    a.touch('10.0.0.1 old');
    clock.advance(SETTINGS.idleMs + 1);
    a.touch('10.0.0.1 VLC');
    a.touch('10.0.0.2 mpv');
    const waiting = a.firstSegment(SETTINGS.firstWaitMs, undefined, '10.0.0.2 mpv');
    a.finish('aborted', null);
    expect(await waiting).toMatchObject({ kind: 'ended', error: { code: 'engine_failed' } });
    expect(a.errorEnd?.untold).toEqual(['10.0.0.1 VLC']);
    expect(a.errorEnd?.error.code).toBe('engine_failed');
    expect(a.errorEnd?.error.status).toBe(502);
  });

  it('refused: the refusal as a TS player gets it (status, code, message, Retry-After)', () => {
    const { a } = audience();
    a.touch('10.0.0.1 VLC');
    a.finish('refused', { code: 'circuit_open', message: 'breaker open for 120 s', retryAfter: 120 });
    const end = a.errorEnd!;
    expect(end.untold).toEqual(['10.0.0.1 VLC']);
    expect([end.error.status, end.error.code, end.error.message, end.error.retryAfter]).toEqual([503, 'circuit_open', 'breaker open for 120 s', 120]);
  });

  it('the idle end, a window dropped for memory and a shutdown are not error ends', () => {
    for (const outcome of ['disconnected', 'dropped', 'shutdown'] as const) {
      const { a } = audience();
      a.touch('10.0.0.1 VLC');
      a.finish(outcome, null);
      expect(a.errorEnd, outcome).toBeNull();
    }
  });
});

describe('HlsEndings', () => {
  const IDLE = 30_000;
  const err = new AcerelayError('engine_failed');

  it('tells each remembered client once, by playlist (key) or segment (token); a new client is not told', () => {
    const endings = new HlsEndings(IDLE);
    endings.remember('k', 'tok', err, ['a', 'b'], 0);
    expect(endings.takeForKey('k', 'new', 1)).toBeNull();
    expect(endings.takeForKey('other', 'a', 1)).toBeNull();
    expect(endings.takeForKey('k', 'a', 1)).toBe(err);
    expect(endings.takeForKey('k', 'a', 2)).toBeNull();
    expect(endings.takeForToken('tok', 'a', 2)).toBeNull();
    expect(endings.takeForToken('unknown', 'b', 2)).toBeNull();
    expect(endings.takeForToken('tok', 'b', 2)).toBe(err);
    expect(endings.takeForKey('k', 'b', 3)).toBeNull();
    expect(endings.untold).toBe(0);
  });

  it('an end nobody was left untold by is not kept', () => {
    const endings = new HlsEndings(IDLE);
    endings.remember('k', 'tok', err, [], 0);
    expect([endings.untold, endings.tokens]).toEqual([0, 0]);
  });

  it('forgotten ACERELAY_HLS_IDLE after the end: on lookup and by the sweep (nothing left behind)', () => {
    const endings = new HlsEndings(IDLE);
    endings.remember('k', 'tok', err, ['a', 'b'], 1000);
    endings.remember('k2', 'tok2', err, ['c'], 5000);
    endings.sweep(1000 + IDLE - 1);
    expect(endings.untold).toBe(3);
    expect(endings.takeForKey('k', 'a', 1000 + IDLE)).toBeNull();
    expect(endings.takeForToken('tok', 'b', 1000 + IDLE)).toBeNull();
    endings.sweep(1000 + IDLE);
    expect([endings.untold, endings.tokens]).toEqual([1, 1]);
    endings.sweep(5000 + IDLE);
    expect([endings.untold, endings.tokens]).toEqual([0, 0]);
  });

  it('a client of two ended audiences of a key is told the later end; the earlier one\'s other clients keep theirs', () => {
    const endings = new HlsEndings(IDLE);
    const later = new AcerelayError('circuit_open', undefined, 60);
    endings.remember('k', 'tok1', err, ['a', 'b'], 0);
    endings.remember('k', 'tok2', later, ['b'], 10_000);
    expect(endings.takeForKey('k', 'b', 10_001)).toBe(later);
    expect(endings.takeForKey('k', 'a', IDLE - 1)).toBe(err);
  });
});
