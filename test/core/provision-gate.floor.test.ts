/**
 * The floor of a low breaker ETA (0 while still open) runs from when *this* opening first
 * showed it. A status in between that says something else — max_capacity, or a half-open
 * breaker — ends the opening, so the next one is floored afresh (the chaos soak found a probe
 * 1 s after a new opening's first status, floored from an opening half a minute older).
 */
import { describe, expect, test } from 'vitest';
import { ProvisionGate } from '../../src/core/provision-gate.ts';
import type { BlockedDetails, OrchestratorStatus } from '../../src/adapters/orchestrator/types.ts';
import { healthyStatus } from '../support/pure-world.ts';

const blocked = (details: BlockedDetails): OrchestratorStatus => ({ ...healthyStatus({ canProvision: false, blockedReason: details.message, blocked: details }), status: 'degraded' });
const open0 = blocked({ code: 'circuit_breaker', message: 'circuit breaker open', etaSeconds: 0, canRetry: false, shouldWait: true });
const between: Record<string, OrchestratorStatus> = {
  max_capacity: blocked({ code: 'max_capacity', message: 'at capacity', etaSeconds: null, canRetry: false, shouldWait: true }),
  'a half-open breaker': blocked({ code: 'circuit_breaker', message: 'circuit breaker half open', etaSeconds: null, canRetry: true, shouldWait: true }),
};

describe('the breaker ETA floor', () => {
  for (const [name, status] of Object.entries(between)) {
    test(`starts again for an opening after ${name}`, () => {
      const gate = new ProvisionGate(2, 8_000);
      expect(gate.check(0, open0, 0).allowed).toBe(false);
      const probe = gate.check(5_000, open0, 5_000);
      expect(probe).toMatchObject({ allowed: true, probe: true });
      gate.begin();
      gate.end(5_100, { ok: false, block: open0.provisioning.blocked, probe: true });
      gate.check(10_000, status, 10_000);
      // A new opening, long after the last failed probe: floored from its own first status.
      expect(gate.check(30_000, open0, 30_000)).toMatchObject({ allowed: false, probeAt: 35_000 });
      expect(gate.check(34_900, open0, 34_000).allowed).toBe(false);
      expect(gate.check(35_000, open0, 34_000)).toMatchObject({ allowed: true, probe: true });
    });
  }
});
