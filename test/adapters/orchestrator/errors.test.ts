/**
 * The orchestrator adapter's decisions, one table: for each error it raises, whether a
 * provisioning failure means wait, whether a call is worth trying again, whether the API key
 * was refused, and what block a failed provisioning call leaves. An error read back from the
 * journal (a replay) is decided as the live one was.
 */
import { expect, test } from 'vitest';
import {
  OrchestratorAuthError,
  OrchestratorBadResponseError,
  type OrchestratorError,
  OrchestratorHttpError,
  OrchestratorTimeoutError,
  OrchestratorUnreachableError,
  ProvisionError,
  blockAfterProvisioning,
  isAuthRefusal,
  isTransient,
  shouldWait,
} from '../../../src/adapters/orchestrator/errors.ts';
import { serializeEvent } from '../../../src/core/inspection-hub.ts';

const journaled = (err: Error): unknown => JSON.parse(JSON.stringify(serializeEvent({ type: 'xstate.error.actor', error: err }))).error;

const TABLE: Array<[string, OrchestratorError, { wait: boolean; transient: boolean; auth: boolean; block: string | null }]> = [
  ['refused connection', new OrchestratorUnreachableError('ECONNREFUSED'), { wait: true, transient: true, auth: false, block: 'orchestrator_unreachable' }],
  ['no answer in time', new OrchestratorTimeoutError('slow'), { wait: true, transient: true, auth: false, block: 'orchestrator_unreachable' }],
  ['garbage', new OrchestratorBadResponseError('not JSON'), { wait: true, transient: true, auth: false, block: 'orchestrator_unreachable' }],
  ['5xx text', new OrchestratorHttpError(502, 'bad gateway'), { wait: true, transient: true, auth: false, block: 'orchestrator_unreachable' }],
  ['422', new OrchestratorHttpError(422, 'validation'), { wait: false, transient: false, auth: false, block: null }],
  ['403 invalid token', new OrchestratorAuthError(403, 'invalid token'), { wait: false, transient: false, auth: true, block: null }],
  ['VPN down', new ProvisionError(503, 'blocked', 'vpn_disconnected', 'VPN', 60, true, true), { wait: true, transient: true, auth: false, block: 'vpn_disconnected' }],
  ['breaker open', new ProvisionError(503, 'blocked', 'circuit_breaker', 'open', 120, false, true), { wait: true, transient: true, auth: false, block: 'circuit_breaker' }],
  ['blocked, should not wait', new ProvisionError(503, 'blocked', 'unavailable', 'no', null, false, false), { wait: false, transient: true, auth: false, block: 'unavailable' }],
  ['general_error', new ProvisionError(500, 'failed', 'general_error', 'docker', null, false, false), { wait: false, transient: true, auth: false, block: null }],
];

for (const [name, err, want] of TABLE) {
  test(`${name} (${err.code})`, () => {
    expect({ wait: shouldWait(err), transient: isTransient(err), auth: isAuthRefusal(err), block: blockAfterProvisioning(err)?.code ?? null }).toEqual(want);
    // Read back from the journal: the session machine's replay decides alike.
    expect({ wait: shouldWait(journaled(err)), auth: isAuthRefusal(journaled(err)) }).toEqual({ wait: want.wait, auth: want.auth });
  });
}

test('anything that is not an orchestrator error: no wait, worth another try, no block', () => {
  for (const err of [new Error('boom'), null, undefined, 'text']) {
    expect([shouldWait(err), isTransient(err), isAuthRefusal(err), blockAfterProvisioning(err)]).toEqual([false, true, false, null]);
  }
});
