/**
 * The property: for random command sequences, no invariant breaks. fast-check generates the
 * sequences, and on a failure shrinks to the shortest one that still breaks an invariant;
 * `seed` + `path` replay that exact run.
 */
import fc from 'fast-check';
import { commandArbitraries, PROFILES, type Profile, type ProfileName, type Weights } from './profiles.ts';
import { runOnce, type RunOutcome } from './run.ts';
import { INVARIANTS } from './invariants.ts';
import type { PlantedFault } from './planted-faults.ts';

export interface ChaosOptions {
  runs: number;
  seed: number;
  maxCommands: number;
  path?: string;
  /** fast-check's replay path of the commands themselves (from a report). */
  replayPath?: string;
  /** A deliberate bug planted in every acerelay of these runs (and in no other). */
  plant?: PlantedFault | null;
  /** What runs are made of (default `short`: crowds and the real orchestrator's ways among the classic faults). */
  profile?: ProfileName | Profile;
  /** The profile's weights, changed. */
  weights?: Weights;
  /** Measure acerelay's memory in every run (invariant 12; default true). */
  measure?: boolean;
  /** Told after every executed run (the first runs and every shrinking step). */
  onRun?: (outcome: RunOutcome, index: number) => void;
}

export interface InvariantTally {
  id: number;
  name: string;
  checks: number;
  violations: number;
}

export interface ChaosReport {
  ok: boolean;
  seed: number;
  runs: number;
  executions: number;
  commands: number;
  virtualMs: number;
  /** Players over every execution, and the most connected at once in one run. */
  players: number;
  peakPlayers: number;
  profile: ProfileName;
  realMs: number;
  tallies: InvariantTally[];
  /** The shrunk failing run, when one broke an invariant. */
  failure: RunOutcome | null;
  path: string | null;
  replay: string | null;
  error: string | null;
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const tallies: InvariantTally[] = INVARIANTS.map((i) => ({ id: i.id, name: i.name, checks: 0, violations: 0 }));
  const failing = new Map<string, RunOutcome>();
  let executions = 0;
  let commands = 0;
  let virtualMs = 0;
  let players = 0;
  let peakPlayers = 0;
  const profile = typeof opts.profile === 'object' ? opts.profile : PROFILES[opts.profile ?? 'short'];
  const arbitraries = commandArbitraries(profile, opts.weights ?? profile.weights);
  const property = fc.asyncProperty(fc.commands(arbitraries, { maxCommands: opts.maxCommands, size: 'max', replayPath: opts.replayPath }), async (cmds) => {
    const outcome = await runOnce(cmds, { plant: opts.plant ?? null, capMs: profile.capMs, measure: opts.measure ?? true });
    executions++;
    commands += outcome.commands.length;
    virtualMs += outcome.virtualMs;
    players += outcome.players;
    peakPlayers = Math.max(peakPlayers, outcome.peakPlayers);
    for (const r of outcome.results) {
      const tally = tallies.find((x) => x.id === r.id)!;
      tally.checks += r.checks;
      tally.violations += r.violations.length;
    }
    opts.onRun?.(outcome, executions);
    const broken = outcome.results.some((r) => r.violations.length > 0);
    if (broken) failing.set(outcome.commands.join(' '), outcome);
    return !broken;
  });
  // A replay path starts with the index of its run: enough runs must be asked for to reach it.
  const first = opts.path ? Number(opts.path.split(':')[0]) + 1 : 0;
  const details = await fc.check(property, { numRuns: Math.max(opts.runs, first), seed: opts.seed, path: opts.path, endOnFailure: false });
  let failure: RunOutcome | null = null;
  let replay: string | null = null;
  if (details.failed && details.counterexample) {
    const cmds = details.counterexample[0] as Iterable<{ toString(): string }>;
    const shrunk = [...cmds].map((c) => c.toString()).join(' ');
    failure = failing.get(shrunk) ?? [...failing.values()].at(-1) ?? null;
    const replayPath = /replayPath="([^"]*)"/.exec(String(cmds))?.[1];
    replay =
      `acerelay chaos --runs 1 --seed ${details.seed} --path ${details.counterexamplePath} --max-commands ${opts.maxCommands}` +
      `${profile.name !== 'short' ? ` --profile ${profile.name}` : ''}` +
      `${replayPath ? ` --replay-path ${replayPath}` : ''}${opts.plant ? ` --plant ${opts.plant}` : ''}`;
  }
  return {
    ok: !details.failed,
    seed: details.seed,
    runs: details.numRuns,
    executions,
    commands,
    virtualMs,
    players,
    peakPlayers,
    profile: profile.name,
    realMs: Date.now() - started,
    tallies,
    failure,
    path: details.counterexamplePath ?? null,
    replay,
    error: details.failed && !failure ? String(details.errorInstance ?? 'the property failed') : null,
  };
}
