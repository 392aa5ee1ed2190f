/**
 * Pass-through parameters over the wire: a bounded size (400 invalid_parameter past it, before
 * any session exists), and a long session key journaled whole once per session, not per entry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CONTENT, bytes, eventually, getJson, play, startStack, type Stack } from '../../support/stack.ts';
import { PASS_THROUGH_MAX_BYTES } from '../../../src/core/stream-request.ts';
import { KEY_FACT_MAX } from '../../../src/core/inspection-hub.ts';
import type { JournalEntry } from '../../../src/domain/journal.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { minReplicas: 2, maxReplicas: 4 } });
});
afterAll(async () => {
  await stack?.close();
});

/** `x=aaa…` of exactly `n` bytes URL-encoded. */
const param = (n: number) => `x=${'a'.repeat(n - 2)}`;

describe('the size of the pass-through parameters', () => {
  test('~16 KB of them: 400 invalid_parameter before any session or journal entry', async () => {
    const seqBefore = stack.acerelay.hub.nextSeq();
    const url = `${stack.url}/ace/getstream?id=${CONTENT[0]}&transcode=${'a'.repeat(15_000)}`;
    const res = await getJson(url);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_parameter');
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(400);
    expect(stack.acerelay.registry.sessionCount).toBe(0);
    // Nothing was journaled: the next entry number follows the one taken above.
    expect(stack.acerelay.hub.nextSeq()).toBe(seqBefore + 1);
  });

  test(`${PASS_THROUGH_MAX_BYTES} bytes URL-encoded are accepted, one more is refused; acerelay's own parameters do not count`, async () => {
    const at = `${stack.url}/ace/getstream?id=${CONTENT[1]}&pid=${'7'.repeat(200)}&${param(PASS_THROUGH_MAX_BYTES)}`;
    expect((await fetch(at, { method: 'HEAD' })).status).toBe(200);
    const over = await getJson(`${stack.url}/ace/getstream?id=${CONTENT[1]}&${param(PASS_THROUGH_MAX_BYTES + 1)}`);
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('invalid_parameter');
    // Measured encoded: 700 "✓" are 2100 bytes as %E2%9C%93… (and 700 characters decoded).
    const encoded = await getJson(`${stack.url}/ace/getstream?id=${CONTENT[1]}&y=${'%E2%9C%93'.repeat(700)}`);
    expect(encoded.status).toBe(400);
    expect(encoded.body.error.code).toBe('invalid_parameter');
  });
});

test('a long session key is journaled whole once (the created entry), clipped in every other entry', async () => {
  const big = param(PASS_THROUGH_MAX_BYTES - 100);
  const cap = await play(`${stack.url}/ace/getstream?id=${CONTENT[2]}&${big}`, { until: bytes(300_000), maxMs: 20_000 });
  expect(cap.status).toBe(200);
  const session = await eventually(() => stack.acerelay.hub.finishedSessions()[0] ?? null, 15_000);
  stack.acerelay.journal!.flush();
  const res = await getJson(`${stack.url}/api/sessions/${session.actor}/events`);
  expect(res.status).toBe(200);
  const entries = res.body.entries as JournalEntry[];
  const sessionEntries = entries.filter((e) => e.machine === 'session');
  expect(sessionEntries.length).toBeGreaterThan(4);
  const holding = entries.filter((e) => JSON.stringify(e).includes(big));
  expect(holding.map((e) => [e.actor, e.type])).toEqual([[session.actor, 'created']]);
  for (const e of sessionEntries) {
    const key = e.facts.key as string;
    expect(key.length).toBeLessThanOrEqual(KEY_FACT_MAX);
    expect(key.startsWith(`id:${CONTENT[2]}?x=aaa`)).toBe(true);
  }
}, 60_000);
