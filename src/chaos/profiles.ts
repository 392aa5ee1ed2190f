/**
 * What a run is made of: the weight of each kind of command, the largest crowd, and how much
 * virtual time a run may cover. The single-player commands' arbitraries come first and in
 * their old order, so the classic profile generates exactly what the harness did before
 * crowds (same seed, same runs).
 */
import type fc from 'fast-check';
import { CLASSIC_WEIGHTS, classicArbitraries, type ClassicWeights, type Cmd } from './commands.ts';
import { crowdArbitraries } from './crowd-commands.ts';
import { orchestratorWayArbitraries } from './orchestrator-ways.ts';
import { longArbitraries } from './long-commands.ts';
import { hlsArbitraries } from './hls-commands.ts';

export interface ScaleWeights {
  crowd: number;
  crowdLeave: number;
  crowdOutage: number;
  quirk: number;
  activeReplicas: number;
  idleFullHouse: number;
  wrongKey: number;
  lateAnswers: number;
  restartWhileStarting: number;
  longWait: number;
  outage: number;
  hlsJoin: number;
  hlsCrowd: number;
  hlsLeave: number;
}

export type Weights = ClassicWeights & ScaleWeights;

export type ProfileName = 'classic' | 'short' | 'long' | 'soak';

export interface Profile {
  name: ProfileName;
  weights: Weights;
  /** Largest crowd (players joining at once). */
  maxCrowd: number;
  /** No command starts once a run has covered this much virtual time. */
  capMs: number;
}

const MINUTE = 60_000;

const NO_SCALE: ScaleWeights = {
  crowd: 0,
  crowdLeave: 0,
  crowdOutage: 0,
  quirk: 0,
  activeReplicas: 0,
  idleFullHouse: 0,
  wrongKey: 0,
  lateAnswers: 0,
  restartWhileStarting: 0,
  longWait: 0,
  outage: 0,
  hlsJoin: 0,
  hlsCrowd: 0,
  hlsLeave: 0,
};

const SCALE: ScaleWeights = {
  crowd: 3,
  crowdLeave: 2,
  crowdOutage: 3,
  quirk: 1,
  activeReplicas: 1,
  idleFullHouse: 1,
  wrongKey: 1,
  lateAnswers: 1,
  restartWhileStarting: 2,
  longWait: 0,
  outage: 0,
  hlsJoin: 2,
  hlsCrowd: 1,
  hlsLeave: 1,
};

export const PROFILES: Record<ProfileName, Profile> = {
  /** The harness before crowds: at most a handful of players per run. */
  classic: { name: 'classic', weights: { ...CLASSIC_WEIGHTS, ...NO_SCALE }, maxCrowd: 0, capMs: 30 * MINUTE },
  /** Runs of a few simulated minutes: crowds and the real orchestrator's ways among the classic faults. */
  short: { name: 'short', weights: { ...CLASSIC_WEIGHTS, ...SCALE }, maxCrowd: 200, capMs: 30 * MINUTE },
  /** Up to 30 simulated minutes: minutes of waiting and several outages lasting minutes. */
  long: { name: 'long', weights: { ...CLASSIC_WEIGHTS, wait: 2, ...SCALE, longWait: 10, outage: 6 }, maxCrowd: 200, capMs: 30 * MINUTE },
  /**
   * The soak's steady mix: players come and go, small crowds, every fault but acerelay's own
   * restart (memory is judged over one acerelay's life). No HLS viewers yet: the day's soak
   * in docs/recovery.md was run without them.
   */
  soak: {
    name: 'soak',
    weights: { ...CLASSIC_WEIGHTS, join: 6, leave: 8, restart: 0, capacity: 0, ...SCALE, crowd: 1, crowdOutage: 1, crowdLeave: 4, longWait: 2, outage: 1, hlsJoin: 0, hlsCrowd: 0, hlsLeave: 0 },
    maxCrowd: 20,
    capMs: Infinity,
  },
};

export function commandArbitraries(profile: Profile, weights: Weights = profile.weights): Array<fc.Arbitrary<Cmd>> {
  const w = (arb: fc.Arbitrary<Cmd>, n: number) => Array.from({ length: n }, () => arb);
  const crowds = crowdArbitraries(profile.maxCrowd);
  const ways = orchestratorWayArbitraries();
  const long = longArbitraries();
  const hls = hlsArbitraries();
  return [
    ...classicArbitraries(weights),
    ...w(crowds.crowd, weights.crowd),
    ...w(crowds.crowdLeave, weights.crowdLeave),
    ...w(crowds.crowdOutage, weights.crowdOutage),
    ...w(ways.quirk, weights.quirk),
    ...w(ways.activeReplicas, weights.activeReplicas),
    ...w(ways.idleFullHouse, weights.idleFullHouse),
    ...w(ways.wrongKey, weights.wrongKey),
    ...w(ways.lateAnswers, weights.lateAnswers),
    ...w(ways.restartWhileStarting, weights.restartWhileStarting),
    ...w(long.longWait, weights.longWait),
    ...w(long.outage, weights.outage),
    ...w(hls.hlsJoin, weights.hlsJoin),
    ...w(hls.hlsCrowd, weights.hlsCrowd),
    ...w(hls.hlsLeave, weights.hlsLeave),
  ];
}
