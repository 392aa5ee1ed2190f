/**
 * HLS viewers in the harness: a viewer of a channel and a crowd of viewers on channels of their
 * own (four channels: the simulator's four engines) are served segments, through an orchestrator restart that wipes their engines (a
 * failover each), and fall silent at the quiet end; no invariant breaks. Invariant 14 judges
 * what they were answered.
 */
import { describe, expect, test } from 'vitest';
import { runOnce } from '../../src/chaos/run.ts';
import { HlsCrowd, HlsJoin, HlsLeave } from '../../src/chaos/hls-commands.ts';
import { LongWait, OutageFor } from '../../src/chaos/long-commands.ts';
import { hlsViewersServed } from '../../src/chaos/invariant-hls.ts';
import type { RunRecord } from '../../src/chaos/invariants.ts';
import type { HlsViewerLog } from '../../src/chaos/hls-viewer.ts';

describe('HLS viewers', () => {
  test('a viewer and a crowd of three are served segments through an orchestrator restart, then stop; nothing breaks', async () => {
    let record: RunRecord | null = null;
    const outcome = await runOnce([new HlsJoin(0), new HlsCrowd(3, true, 10), new LongWait(20_000), new OutageFor('restart', 30_000), new LongWait(60_000), new HlsLeave(3)], {
      onRecord: (r) => (record = r),
    });
    const r = record!;
    const broken = outcome.results.filter((x) => x.violations.length > 0);
    expect(broken, JSON.stringify(broken)).toEqual([]);
    expect(r.hls).toHaveLength(4);
    for (const v of r.hls) {
      expect(v.firstSegmentAt, `viewer ${v.id}`).not.toBeNull();
      expect(v.violation).toBeNull();
    }
    // Segments kept coming after the restart (it wiped every engine at 20 s).
    const restartAt = r.faults.find((f) => f.what.startsWith('restart outage'))!.t;
    for (const v of r.hls) expect(v.lastSegmentAt!, `viewer ${v.id}`).toBeGreaterThan(restartAt + 30_000);
    expect(outcome.results.find((x) => x.id === 14)!.checks).toBe(4);
  }, 300_000);

  test('invariant 14 finds a viewer left without a segment or an answer, a stall, and a sequence that went back; an audience that ended answers its stall', () => {
    const base: HlsViewerLog = {
      id: 1,
      channel: 0,
      arrivedAt: 0,
      firstPlaylistAt: null,
      firstSegmentAt: null,
      lastSegmentAt: null,
      maxSegmentGap: 0,
      segments: 0,
      attempts: [{ startedAt: 0, firstSegmentAt: null, lastSegmentAt: null, maxSegmentGap: 0, segments: 0 }],
      notReady: 3,
      refusal: null,
      ending: 'open',
      endedAt: null,
      violation: null,
    };
    const run = (hls: HlsViewerLog[], checkedAt: number) =>
      ({
        limits: { holdMaxMs: 60_000, noResponseTimeoutMs: 4_000, emptyTimeoutMs: 5_000, hlsSegmentMs: 2_000 },
        hls,
        sim: { now: 0 },
        checkedAt,
      }) as unknown as RunRecord;
    expect(hlsViewersServed.check(run([base], 60_000)).violations).toEqual([]);
    expect(hlsViewersServed.check(run([base], 200_000)).violations).toHaveLength(1);
    const stalled = { ...base, firstSegmentAt: 5_000, lastSegmentAt: 10_000, segments: 3, attempts: [{ startedAt: 0, firstSegmentAt: 5_000, lastSegmentAt: 10_000, maxSegmentGap: 2_500, segments: 3 }] };
    expect(hlsViewersServed.check(run([stalled], 60_000)).violations).toEqual([]);
    expect(hlsViewersServed.check(run([stalled], 200_000)).violations).toHaveLength(1);
    expect(hlsViewersServed.check(run([{ ...stalled, violation: 'media sequence 3 after 5' }], 20_000)).violations).toHaveLength(1);
    // Its audience ended (a stream_not_ready after segments) 75 s into the stall: that answered
    // it; the new audience is judged from there.
    const replaced = { ...stalled, attempts: [...stalled.attempts, { startedAt: 85_000, firstSegmentAt: null, lastSegmentAt: null, maxSegmentGap: 0, segments: 0 }] };
    expect(hlsViewersServed.check(run([replaced], 150_000)).violations).toEqual([]);
    expect(hlsViewersServed.check(run([replaced], 250_000)).violations).toHaveLength(1);
  });
});
