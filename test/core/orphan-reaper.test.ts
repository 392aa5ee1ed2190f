/**
 * The orphan reaper's decisions with scripted ports: an `acerelay-` stream that is not ours is
 * ended only after its stat said `gone` twice at least `confirmMs` apart; anything that
 * proves less — a live stat, no answer, one `gone` — leaves it alone.
 */
import { expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { silentLogger } from '../../src/log.ts';
import { OrphanReaper, engineOrigin, type ListedStream, type StatVerdict } from '../../src/core/orphan-reaper.ts';

const A = 'acerelay-relay-a-0191e0f4-5c1a-7b7e-9d3c-2f1e0a9b8c7d';
const B = 'acerelay-relay-b-0191e0f4-5c1b-7b7e-9d3c-2f1e0a9b8c7d';
const FOREIGN = `${'a'.repeat(40)}|${'b'.repeat(40)}`;

function world(listing: ListedStream[], opts: { ours?: string[] } = {}) {
  const clock = new ManualClock(1_000_000);
  const verdicts = new Map<string, StatVerdict>();
  const statted: string[] = [];
  const ended: string[] = [];
  let listFails = false;
  const reaper = new OrphanReaper({
    engines: () => [{ host: 'e', port: 1 }],
    list: async () => {
      if (listFails) throw new Error('orchestrator down');
      return listing;
    },
    stat: async (url) => {
      statted.push(url);
      const v = verdicts.get(url);
      if (!v) throw new Error('no answer');
      return v;
    },
    isOurs: (id) => (opts.ours ?? []).includes(id),
    end: (s) => ended.push(s.id),
    clock,
    logger: silentLogger,
    confirmMs: 1_000,
  });
  return {
    clock,
    verdicts,
    statted,
    ended,
    reaper,
    failList: (v: boolean) => (listFails = v),
  };
}

const listed = (id: string, statUrl: string | null = `http://e:1/ace/stat/x/${id.slice(-4)}`): ListedStream => ({ id, containerId: 'c1', statUrl });

test('gone twice, confirmMs apart: ended; once, or twice too close: not yet', async () => {
  const s = listed(A);
  const w = world([s]);
  w.verdicts.set(s.statUrl!, 'gone');
  expect(await w.reaper.check()).toEqual([]);
  w.clock.advance(999);
  expect(await w.reaper.check()).toEqual([]);
  w.clock.advance(1);
  expect(await w.reaper.check()).toEqual([A]);
  expect(w.ended).toEqual([A]);
});

test('alive, or a stat that cannot be read, in between starts the count again', async () => {
  const s = listed(A);
  const w = world([s]);
  for (const between of ['alive', undefined] as const) {
    w.verdicts.set(s.statUrl!, 'gone');
    await w.reaper.check();
    w.clock.advance(1_000);
    if (between) w.verdicts.set(s.statUrl!, between);
    else w.verdicts.delete(s.statUrl!);
    await w.reaper.check();
    w.clock.advance(1_000);
    w.verdicts.set(s.statUrl!, 'gone');
    expect(await w.reaper.check()).toEqual([]);
    w.clock.advance(1_000);
  }
  expect(await w.reaper.check()).toEqual([A]);
});

test('ours, other clients’ streams, and streams without a stat URL are never looked at', async () => {
  const w = world([listed(A), listed(B), listed(FOREIGN), listed('acerelay-relay-c-x', null)], { ours: [A] });
  for (const s of [listed(A), listed(B), listed(FOREIGN)]) w.verdicts.set(s.statUrl!, 'gone');
  await w.reaper.check();
  w.clock.advance(1_000);
  expect(await w.reaper.check()).toEqual([B]);
  expect(w.statted).toEqual([listed(B).statUrl, listed(B).statUrl]);
});

test('a stat URL on no engine /engines lists is never fetched (anyone may post a stream_started)', async () => {
  const elsewhere = listed(B, 'http://169.254.169.254:80/latest/meta-data');
  const otherPort = listed(A, 'http://e:2/ace/stat/x/y');
  const w = world([elsewhere, otherPort]);
  w.verdicts.set(elsewhere.statUrl!, 'gone');
  w.verdicts.set(otherPort.statUrl!, 'gone');
  await w.reaper.check();
  w.clock.advance(1_000);
  expect(await w.reaper.check()).toEqual([]);
  expect(w.statted).toEqual([]);
  expect(engineOrigin('::1', 6878)).toBe('http://[::1]:6878');
});

test('a stream that became ours (or left the listing) between the two checks is not ended', async () => {
  const s = listed(B);
  const ours: string[] = [];
  const listing = [s];
  const w = world(listing, { ours });
  w.verdicts.set(s.statUrl!, 'gone');
  await w.reaper.check();
  listing.length = 0;
  w.clock.advance(1_000);
  await w.reaper.check();
  listing.push(s);
  w.clock.advance(1_000);
  // Forgotten while unlisted: the count starts again.
  expect(await w.reaper.check()).toEqual([]);
  ours.push(B);
  w.clock.advance(1_000);
  expect(await w.reaper.check()).toEqual([]);
  expect(w.ended).toEqual([]);
});

test('an orchestrator that cannot be read: nothing happens, no throw; the stat URL’s trailing slash is dropped', async () => {
  const s = listed(B, 'http://e:1/ace/stat/x/y/');
  const w = world([s]);
  w.failList(true);
  await expect(w.reaper.check()).resolves.toEqual([]);
  w.failList(false);
  w.verdicts.set('http://e:1/ace/stat/x/y', 'gone');
  await w.reaper.check();
  w.clock.advance(1_000);
  expect(await w.reaper.check()).toEqual([B]);
});
