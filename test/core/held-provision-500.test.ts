/**
 * The orchestrator's own 500 on provisioning (text 500, general_error) after a player has its
 * 200: an orchestrator problem, waited out like an unreachable orchestrator (held in
 * waiting_orchestrator, the next call after the probe interval) until HOLD_MAX; before any 200
 * it stays a clean 502. The 24 h soak (seed 1830, hour 10, error500 mode) found held players
 * reset 1–2 s after their 200: a session queued behind another's call (held) was then granted
 * its own, which the orchestrator's text 500 failed for good. Virtual time.
 */
import { describe, expect, test } from 'vitest';
import { PureWorld, engineInfo } from '../support/pure-world.ts';
import { ProvisionError } from '../../src/adapters/orchestrator/errors.ts';

const ID = 'a'.repeat(40);
const ID2 = 'b'.repeat(40);

/** What the simulator's error500 mode (and a real orchestrator whose Docker is gone) answers. */
function text500(): ProvisionError {
  return new ProvisionError(500, 'failed', 'internal', 'Internal Server Error', null, false, false);
}

describe("the orchestrator's 500 on provisioning", () => {
  test('a player held behind another session\'s call is not reset by its own call\'s fast text 500: waiting_orchestrator, one call per probe interval, then streams', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])], provisionConcurrency: 1 });
    w.provisionScript = [{ delayMs: 3_000 }, { delayMs: 50, fail: text500() }, { delayMs: 500 }];
    const a = w.player(`id=${ID}`);
    await w.advance(500);
    const b = w.player(`id=${ID2}`);
    await w.advance(100);
    // Queued behind the call in flight: held at once.
    expect(w.state(b)).toBe('queued_capacity');
    await w.advance(3_000);
    expect(w.provisionCalls).toHaveLength(2);
    expect(b.events).toEqual(['hold']);
    expect(w.state(b)).toBe('waiting_orchestrator');
    await w.advance(25_000);
    expect(w.provisionCalls).toHaveLength(2);
    expect(b.events).toEqual(['hold']);
    await w.advance(10_000);
    expect(w.provisionCalls).toHaveLength(3);
    expect(w.provisionCalls[2]! - w.provisionCalls[1]!).toBeGreaterThanOrEqual(30_000);
    expect(w.state(b)).toBe('streaming');
    expect(w.state(a)).toBe('streaming');
  });

  test('a text 500 after PROVISION_PATIENCE_MS (the player already has its 200) keeps it held until HOLD_MAX, then aborts it', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])], holdMaxMs: 40_000 });
    w.provisionScript = [{ delayMs: 2_500, fail: text500() }, { delayMs: 50, fail: text500() }];
    const p = w.player(`id=${ID}`);
    await w.advance(2_100);
    expect(p.events).toEqual(['hold']);
    await w.advance(1_000);
    expect(w.state(p)).toBe('waiting_orchestrator');
    await w.advance(31_000);
    // The probe failed fast too: still held, no storm.
    expect(w.provisionCalls).toHaveLength(2);
    expect(p.events).toEqual(['hold']);
    // HOLD_MAX runs from the 200 (at 2 s).
    await w.advance(7_800);
    expect(p.events).toEqual(['hold']);
    await w.advance(300);
    expect(p.events).toEqual(['hold', 'unhold', 'finish:aborted']);
    expect(w.provisionCalls).toHaveLength(2);
  });

  test('a fast text 500 before any 200 is still a clean 502 provisioning_failed, one call', async () => {
    const w = new PureWorld({ engines: [engineInfo('e1', 6001, ['someone-else'])] });
    w.provisionScript = [{ delayMs: 300, fail: text500() }];
    const p = w.player(`id=${ID}`);
    await w.advance(5_000);
    expect(p.events).toEqual(['finish:failed']);
    expect(p.error?.code).toBe('provisioning_failed');
    expect(w.provisionCalls).toHaveLength(1);
  });
});
