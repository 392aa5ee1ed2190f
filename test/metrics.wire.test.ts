/** /metrics: every name the spec lists, with values that move. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CONTENT, bytes, play, startStack, type Stack } from './support/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { ACERELAY_ADMIN_TOKEN: 'metrics-token' } });
});
afterAll(async () => {
  await stack?.close();
});

const NAMES = [
  'orchestrator_status',
  'provisioning_can_provision',
  'circuit_breaker_state',
  'capacity_used',
  'capacity_total',
  'acerelay_sessions',
  'acerelay_clients',
  'acerelay_queue_depth',
  'acerelay_provision_total',
  'acerelay_provisioning_blocked_total',
  'acerelay_failovers_total',
  'acerelay_slow_client_drops_total',
  'acerelay_bytes_in_total',
  'acerelay_bytes_out_total',
  'acerelay_engine_reads_paced_total',
  'acerelay_time_to_first_byte_seconds',
  'acerelay_orchestrator_events_total',
  'acerelay_journal_errors_total',
];

test('every metric the spec names is exposed, behind the admin token', async () => {
  expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
  await play(`${stack.url}/ace/getstream?id=${CONTENT[0]}`, { until: bytes(500_000) });
  const res = await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer metrics-token' } });
  expect(res.status).toBe(200);
  const text = await res.text();
  for (const name of NAMES) expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
  expect(text).toMatch(/^orchestrator_status\{status="healthy"\} 1$/m);
  expect(text).toMatch(/^circuit_breaker_state\{type="general",state="closed"\} 1$/m);
  expect(Number(/^acerelay_bytes_out_total (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(500_000);
  expect(Number(/^acerelay_time_to_first_byte_seconds_count (\d+)/m.exec(text)?.[1])).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/^acerelay_orchestrator_events_total\{type="stream_started",result="ok"\} 1$/m);
});

test("a live channel's engine reads wait for the read tick (the runtime paces its engine client)", async () => {
  // Past the engine's start burst: the stream at its bit rate, a few ticks' worth at a time.
  await play(`${stack.url}/ace/getstream?id=${CONTENT[1]}`, { until: bytes(1_500_000) });
  const res = await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer metrics-token' } });
  expect(Number(/^acerelay_engine_reads_paced_total (\d+)/m.exec(await res.text())?.[1])).toBeGreaterThan(0);
});
