/**
 * The harness is sharp: with a deliberate bug switched on, it finds a run that breaks the
 * invariant that bug violates, and shrinks it to a short sequence. (Part 1 of 2: the files
 * run in parallel.)
 */
import { test } from 'vitest';
import { expectCaught } from '../support/chaos.ts';

test('provisioning that ignores the breaker’s ETA is caught by invariant 3', () => expectCaught('provision-ignores-breaker-eta', 3), 600_000);

test('a provisioning retry per waiting player is caught by invariant 4', () => expectCaught('retry-per-waiting-player', 4), 600_000);

test('skipping stream_ended after the linger is caught by invariant 7', () => expectCaught('skip-stream-ended-on-linger', 7), 600_000);
