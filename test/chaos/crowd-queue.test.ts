/**
 * QUEUE_MAX reached by a crowd: 30 players of one channel arrive while a VPN outage acerelay
 * has seen is on (its ETA fits HOLD_MAX, so they are held). ACERELAY_QUEUE_MAX (12) are held,
 * the rest are refused at once with queue_full; when the outage ends the held ones stream,
 * and no invariant breaks.
 */
import { expect, test } from 'vitest';
import { runOnce } from '../../src/chaos/run.ts';
import { CrowdOutage } from '../../src/chaos/crowd-commands.ts';
import type { RunRecord } from '../../src/chaos/invariants.ts';

test('a crowd larger than QUEUE_MAX during an outage: QUEUE_MAX held, the rest refused with queue_full, then streaming', async () => {
  let record: RunRecord | null = null;
  const outcome = await runOnce([new CrowdOutage('vpn', 30, false, 0, true, 8_000, 0, null)], { onRecord: (r) => (record = r) });
  const r = record!;
  const broken = outcome.results.filter((x) => x.violations.length > 0);
  expect(broken, JSON.stringify(broken)).toEqual([]);
  const refused = r.players.filter((p) => p.status === 503 && p.errorCode === 'queue_full');
  const held = r.players.filter((p) => p.status === 200);
  expect(refused.length).toBeGreaterThan(0);
  expect(held.length).toBe(r.limits.queueMax);
  expect(refused.length + held.length).toBe(30);
  // The held ones got media once the outage ended.
  for (const p of held) expect(p.firstMediaAt, `player ${p.id}`).not.toBeNull();
  expect(outcome.results.find((x) => x.id === 13)!.checks).toBe(r.limits.queueMax);
}, 180_000);
