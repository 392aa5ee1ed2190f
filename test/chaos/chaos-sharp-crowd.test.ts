/**
 * The harness is sharp where users are: a bug only a crowd finds is caught and shrunk (fewer
 * commands, fewer players); the bug behind the night 130 held players were reset — "Maximum
 * active replicas" taken as a final failure when an outage ended — breaks invariant 2 (the old
 * invariant 2 excused any provisioning 500 around); a leak per session breaks invariant 12.
 */
import { describe, expect, test } from 'vitest';
import { PROFILES, type Weights } from '../../src/chaos/profiles.ts';
import { runOnce, type RunOutcome } from '../../src/chaos/run.ts';
import { Crowd, CrowdOutage, MIN_CROWD } from '../../src/chaos/crowd-commands.ts';
import { expectCaught } from '../support/chaos.ts';

const broken = (o: RunOutcome) => o.results.filter((r) => r.violations.length > 0).map((r) => r.id);

describe('crowds', () => {
  test('a provisioning bound that grows with the queue is caught by invariant 4 and the crowd shrunk', async () => {
    // Crowds and time passing only, so the search reaches a crowd at once (the bound cannot
    // grow with fewer than six sessions waiting: the classic mix's five channels never do it).
    const weights: Weights = { ...PROFILES.short.weights };
    for (const k of Object.keys(weights) as Array<keyof Weights>) weights[k] = 0;
    Object.assign(weights, { crowd: 4, crowdLeave: 1, wait: 1, join: 1 });
    const { first, shrunk } = await expectCaught('provision-bound-grows-with-queue', 4, { profile: 'short', weights, runs: 10, maxCommands: 4 });
    expect(shrunk.commands.filter((c) => c.startsWith('crowd('))).toEqual([expect.stringMatching(new RegExp(`^crowd\\(${MIN_CROWD} on channels`))]);
    expect(shrunk.players).toBeLessThanOrEqual(first.players);
    expect(shrunk.commands.length).toBeLessThanOrEqual(first.commands.length);
    expect(shrunk.players + shrunk.commands.length).toBeLessThan(first.players + first.commands.length);
  }, 600_000);

  // A crowd on 20 channels held through a VPN outage; when it ends the pool of active replicas
  // has room for no engine: every provisioning call answers 500 "Maximum active replicas".
  const incident = () => [new CrowdOutage('vpn', 20, true, 20, true, 8_000, 0, 0)];

  test('“Maximum active replicas” taken as final after an outage resets held players: invariant 2', async () => {
    const planted = await runOnce(incident(), { plant: 'full-house-fails-held-players' });
    expect(broken(planted)).toContain(2);
    const clean = await runOnce(incident());
    expect(broken(clean), JSON.stringify(clean.results.filter((r) => r.violations.length))).toEqual([]);
  }, 300_000);

  test('256 KiB kept per session is caught by invariant 12 after a crowd on 40 channels', async () => {
    const crowd = () => [new Crowd(40, true, 40)];
    const planted = await runOnce(crowd(), { plant: 'leak-per-session' });
    expect(broken(planted)).toEqual([12]);
    const clean = await runOnce(crowd());
    expect(broken(clean)).toEqual([]);
    expect(clean.memory!.end - clean.memory!.start).toBeLessThan(planted.memory!.end - planted.memory!.start);
  }, 300_000);
});
