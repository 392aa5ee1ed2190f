/**
 * 14. HLS viewers are served like players (architecture.md, "A harness drives it through HTTP
 * alone"): each audience a viewer sees (hls-viewer.ts: a new one starts when a playlist answers
 * stream_not_ready after segments came — the old one ended, as a TS player's reset) gets its
 * first segment or a definitive answer within the bound a player has,
 * plus what HLS adds (a segment's duration twice and one Retry-After of a `stream_not_ready`);
 * new segments keep coming within the mid-stream bound; within one audience the media sequence
 * never goes back; every segment is whole packets starting with a PAT (the viewer checks those
 * as it goes). Stopping and announcing its session after silence is invariants 7, 8 and 10's.
 */
import type { Invariant, RunRecord } from './invariants.ts';

const MARGIN_MS = 10_000;
/** The longest Retry-After of a stream_not_ready (half of ACERELAY_HLS_IDLE, 10 s in the harness). */
const RETRY_MS = 5_000;

function t(run: RunRecord, at: number): string {
  return `t=${((at - (run.hls[0]?.arrivedAt ?? run.sim.now)) / 1000).toFixed(1)}s`;
}

export const hlsViewersServed: Invariant = {
  id: 14,
  name: 'HLS viewers get segments or a definitive answer in time, in order, as whole packets',
  check(run) {
    const { holdMaxMs, noResponseTimeoutMs, emptyTimeoutMs, hlsSegmentMs } = run.limits;
    const extra = 2 * hlsSegmentMs + RETRY_MS + MARGIN_MS;
    const startBound = noResponseTimeoutMs + holdMaxMs + extra;
    const gapBound = emptyTimeoutMs + holdMaxMs + extra;
    const violations: string[] = [];
    for (const v of run.hls) {
      const name = `HLS viewer ${v.id} (${t(run, v.arrivedAt)})`;
      if (v.violation) violations.push(`${name}: ${v.violation}`);
      const gaveUp = v.endedAt ?? run.checkedAt;
      // Each audience the viewer saw is judged as a player is; the next one's start (a
      // stream_not_ready after segments) is the answer that ended the one before.
      v.attempts.forEach((a, i) => {
        const over = v.attempts[i + 1]?.startedAt ?? v.refusal?.at ?? gaveUp;
        const which = v.attempts.length > 1 ? ` audience ${i + 1}` : '';
        if (a.firstSegmentAt === null) {
          if (over - a.startedAt > startBound) {
            violations.push(`${name}${which}: ${v.refusal && i === v.attempts.length - 1 ? `${v.refusal.status} ${v.refusal.code}` : 'no segment'} only after ${over - a.startedAt} ms (> ${startBound})`);
          }
          return;
        }
        if (a.firstSegmentAt - a.startedAt > startBound) violations.push(`${name}${which}: first segment after ${a.firstSegmentAt - a.startedAt} ms (> ${startBound})`);
        const gap = Math.max(a.maxSegmentGap, over - a.lastSegmentAt!);
        if (gap > gapBound) violations.push(`${name}${which}: ${gap} ms without a new segment and no answer that ended it (> ${gapBound})`);
      });
    }
    return { checks: run.hls.length, violations };
  },
};
