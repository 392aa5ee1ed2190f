/** The harness is sharp (part 2 of 2). */
import { test } from 'vitest';
import { expectCaught } from '../support/chaos.ts';

test('serving the engine queue out of order is caught by invariant 5', () => expectCaught('queue-out-of-order', 5), 600_000);

test('ending an id the orchestrator never accepted is caught by invariant 7', () => expectCaught('end-unknown-id', 7), 600_000);
