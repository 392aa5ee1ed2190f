/** Mid-stream failover under HLS: ffmpeg reads across the seam, the playlist marks it once. */
import { afterEach, expect, test } from 'vitest';
import { CONTENT, eventually, ffmpegRead, sleep, startStack, type Stack } from '../support/stack.ts';
import { fetchPlaylist, sequenceNumbers } from '../support/hls.ts';
import { simInfohashForId } from '../../src/sim/index.ts';

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.close();
  stack = null;
});

test('the engine restarts 5 s in: ffmpeg keeps reading the HLS stream across the seam, and the playlist shows #EXT-X-DISCONTINUITY exactly once, there', async () => {
  stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 }, env: { ACERELAY_EMPTY_TIMEOUT: '3s', ACERELAY_HLS_WINDOW: '6' } });
  const ih = simInfohashForId(CONTENT[0]!);
  const url = `${stack.url}/ace/manifest.m3u8?id=${CONTENT[0]}`;
  const reading = ffmpegRead(url, 24, ['-progress', 'pipe:2', '-stats_period', '1']);
  const engine = await eventually(() => stack!.sim.state().engines.find((e) => e.sessions.some((s) => s.infohash === ih && s.stopped_at === null)), 10_000);
  // Every playlist seen, as a watcher beside ffmpeg: which sequence numbers carry a mark.
  const marked = new Map<number, boolean>();
  const dseq = new Map<number, number>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const p = (await fetchPlaylist(url)).playlist;
      if (p) {
        let d = p.discontinuitySequenceBase ?? 0;
        for (const [i, seq] of sequenceNumbers(p).entries()) {
          const seg = p.segments[i]!;
          // The first listed segment's mark is counted in the sequence, not repeated as a tag.
          if (seg.discontinuity && i > 0) d++;
          if (i > 0 || !marked.has(seq)) marked.set(seq, (marked.get(seq) ?? false) || (seg.discontinuity ?? false));
          const known = dseq.get(seq);
          if (known !== undefined) expect(d).toBe(known);
          dseq.set(seq, d);
        }
      }
      await sleep(500);
    }
  })();
  await sleep(5_000);
  await stack.sim.control(`engines/${engine.container_id}`, { mode: 'restart', ms: 15_000 });
  const result = await reading;
  watching = false;
  await watcher;
  const warnings = result.stderr.split('\n').filter((l) => l && !/^(\w+=|progress=)/.test(l));
  expect(result.code).toBe(0);
  expect(warnings).toEqual([]);
  const outTime = Math.max(...[...result.stderr.matchAll(/out_time_us=(\d+)/g)].map((m) => Number(m[1]) / 1e6));
  expect(outTime).toBeGreaterThan(23);
  // The stream did move to another engine…
  const sessions = stack.sim.state().engines.flatMap((e) => e.sessions.map((s) => ({ ...s, engine: e.container_id }))).filter((s) => s.infohash === ih);
  expect(new Set(sessions.map((s) => s.engine)).size).toBe(2);
  // …and exactly one segment carries the mark: the first after the seam, where the
  // discontinuity sequence steps from 0 to 1.
  const marks = [...marked].filter(([, m]) => m).map(([seq]) => seq);
  expect(marks.length).toBe(1);
  const seam = marks[0]!;
  for (const [seq, d] of dseq) expect(d).toBe(seq >= seam ? 1 : 0);
  expect(Math.min(...dseq.keys())).toBeLessThan(seam);
  expect(Math.max(...dseq.keys())).toBeGreaterThan(seam);
}, 90_000);
