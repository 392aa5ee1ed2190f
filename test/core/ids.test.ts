/** Stream ids of one instance among several: they name it, and order by the time they were made. */
import { expect, test } from 'vitest';
import { instanceIds, parseStreamId, uuidV7 } from '../../src/core/ids.ts';

test('an instance’s stream ids: acerelay-<instance>-<UUID v7>, read back by parseStreamId', () => {
  const id = instanceIds('relay-1.eu').stream();
  expect(id).toMatch(/^acerelay-relay-1\.eu-[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(parseStreamId(id)).toEqual({ instance: 'relay-1.eu', uuid: id.slice(-36) });
  expect(instanceIds('relay-1.eu').stream()).not.toBe(id);
});

test('parseStreamId: ids of a version without instances, and anything else', () => {
  const uuid = '0191e0f4-5c1a-4b7e-9d3c-2f1e0a9b8c7d';
  expect(parseStreamId(`acerelay-${uuid}`)).toEqual({ instance: null, uuid });
  expect(parseStreamId(`acerelay-a-b-${uuid}`)).toEqual({ instance: 'a-b', uuid });
  expect(parseStreamId(`${'a'.repeat(40)}|${'b'.repeat(40)}`)).toBeNull();
  expect(parseStreamId('acerelay-7')).toBeNull();
  expect(parseStreamId(`acerelay-x${uuid}`)).toBeNull();
  expect(parseStreamId(`other-${uuid}`)).toBeNull();
});

test('UUID v7: a later millisecond sorts after an earlier one, whatever the random bits', () => {
  for (let i = 0; i < 200; i++) {
    const t = 1_700_000_000_000 + Math.floor(Math.random() * 1e10);
    expect(uuidV7(t) < uuidV7(t + 1)).toBe(true);
  }
  expect(uuidV7(0x0191e0f45c1a).slice(0, 13)).toBe('0191e0f4-5c1a');
});
