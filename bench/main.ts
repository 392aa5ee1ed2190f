/**
 * `acerelay bench` (npm run bench): acerelay side by side with the engine itself, nginx and a
 * bare Node pipe, all fed by the simulator's engine and driven by a separate load-client
 * process. The figures only mean something next to the references of the same run.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchArgs } from './args.ts';
import { describeMachine } from './machine.ts';
import { LoadClient, LoadPool } from './load/driver.ts';
import type { StreamsResult } from './measure.ts';
import { ROOT, startLoadClient } from './processes.ts';
import { chunkLabel, normalizeResults, renderMarkdown, type BenchResults } from './report.ts';
import { BASELINE_FILE, FANOUT_PLAYERS } from './goals.ts';
import { Run, START_DELAY_MS, UNPACED_ROUNDS, UNPACED_WINDOW_MS, WARM_MS, log, type Bound } from './run.ts';
import { joins } from './join-latency.ts';
import { profile } from './profile-run.ts';
import { measureChannelMemory } from './channel-memory.ts';
import { best, cpuByRound, lowCpu, measureInRounds } from './rounds.ts';

export async function runBench(argv: string[]): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    process.stderr.write(`acerelay bench: ${err.message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(BENCH_USAGE);
    return;
  }
  if (args.render) {
    const md = renderMarkdown(normalizeResults(JSON.parse(readFileSync(args.render, 'utf8'))), baseline(), analysis());
    process.stdout.write(md);
    if (args.docs) writeFileSync(join(ROOT, args.docs), md);
    return;
  }

  const startedAt = Date.now();
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'acerelay-bench-'));
  const results: BenchResults = {
    machine: describeMachine(),
    config: {
      mode: args.full ? 'full' : 'quick',
      bitrate: args.bitrate,
      windowMs: args.windowMs,
      warmupMs: args.warmupMs,
      engineStartDelayMs: START_DELAY_MS,
      targets: args.targets,
      chunks: args.chunks,
      loadClients: args.loadClients,
      warmMs: WARM_MS,
      rounds: args.rounds,
    },
    durationS: 0,
    unpaced: [],
    unpacedRounds: {},
    fanout: [],
    hls: [],
    multi: [],
    channelMemory: [],
    join: null,
    profile: null,
    idleCores: {},
    notes: [],
  };
  const run = new Run(dir, args, results);
  const interrupt = () => {
    log('interrupted: stopping every process this run started');
    void run.stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const clientChildren = Array.from({ length: args.loadClients }, (_, i) => startLoadClient(dir, i));
  run.pool = new LoadPool(clientChildren.map((c) => new LoadClient(c)));
  const rate = args.bitrate / 8;
  try {
    if (args.scenarios.includes('unpaced')) {
      log(`one unpaced stream, best of ${UNPACED_ROUNDS} interleaved rounds`);
      await run.phase(0, 0, async (sim, targets) => {
        const all = await measureInRounds(targets, UNPACED_ROUNDS, () => true, (t) => run.streams(sim, t, 1, 1, 0, UNPACED_WINDOW_MS));
        // Throughput under a shared machine is a floor: each target's fastest round.
        results.unpaced.push(...targets.map((t) => best(all.get(t.name)!, (r) => r.mbPerS)));
        for (const [name, rounds] of all) results.unpacedRounds[name] = rounds.map((r) => r.mbPerS);
        results.unpacedCpuRounds = cpuByRound(all);
      });
    }
    const paced = args.scenarios.filter((s) => s !== 'unpaced');
    for (const [i, chunkBytes] of (paced.length > 0 ? args.chunks : []).entries()) {
      await run.phase(args.bitrate, chunkBytes, async (sim, targets) => {
        const writes = `engine writes of ${chunkLabel(chunkBytes)}`;
        if (args.scenarios.includes('fanout')) {
          for (const n of args.players) {
            log(`one channel at ${args.bitrate / 1e6} Mbit/s to ${n} player(s), ${writes}`);
            const rounds = FANOUT_PLAYERS.includes(n) ? args.rounds : 1;
            results.fanout.push({ chunkBytes, players: n, ...(await inRounds(targets, rounds, (t) => run.streams(sim, t, 1, n, rate, args.windowMs))) });
          }
        }
        if (args.scenarios.includes('multi')) {
          log(`50 channels × 4 players, ${writes}`);
          results.multi.push({ chunkBytes, channels: 50, perChannel: 4, ...(await inRounds(targets, args.rounds, (t) => run.streams(sim, t, 50, 4, rate, args.windowMs))) });
        }
        // Time to first byte and HLS do not depend on the write size: once, in the first phase.
        if (i === 0 && args.scenarios.includes('join')) await joins(run, targets);
        const relay = targets.find((t) => t.name === 'acerelay');
        if (i === 0 && args.scenarios.includes('hls') && relay) {
          for (const n of args.hlsClients) {
            log(`one channel at ${args.bitrate / 1e6} Mbit/s to ${n} HLS client(s) through acerelay, ${writes}`);
            const hls = await run.hls(sim, relay, n);
            // The TS fan-out of the same size and write size beside it (measured above, or now).
            let ts = results.fanout.find((r) => r.players === n && r.chunkBytes === chunkBytes)?.results.find((r) => r.target === 'acerelay') ?? null;
            if (!ts) {
              log(`  (acerelay's TS fan-out to ${n} for comparison)`);
              ts = await run.streams(sim, relay, 1, n, rate, args.windowMs);
            }
            (results.hls ??= []).push({ chunkBytes, clients: n, hls, ts });
          }
        }
      });
    }
    if (args.cpuProf) await profile(run, stamp);
    if (args.scenarios.includes('fanout')) {
      log('per-channel memory against the replay window (in this process, after the runs)');
      results.channelMemory = await measureChannelMemory(args.bitrate, args.chunks);
    }
  } catch (err) {
    log(`failed; every process's log is kept in ${dir}`);
    throw err;
  } finally {
    await run.stopAll();
    for (const c of clientChildren) c.disconnect();
  }

  results.durationS = Math.round((Date.now() - startedAt) / 1000);
  const md = renderMarkdown(results, baseline(), analysis());
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonPath = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(md);
  if (args.docs) writeFileSync(join(ROOT, args.docs), md);
  log(`results: ${jsonPath}${args.docs ? `, table: ${args.docs}` : ''} (${results.durationS} s)`);
  if (args.keepLogs) log(`logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** The targets a goal's ratio compares: they get the extra rounds. */
const GOAL_TARGETS = new Set(['acerelay', 'nginx']);

/**
 * A goal row: acerelay and nginx `rounds` times over (the others once), each keeping its
 * round with the lowest CPU per GB: the same rule for both sides of a ratio, so a round that
 * another process disturbed weighs on neither. Every round's figure stays in `rounds`.
 */
async function inRounds(
  targets: Bound[],
  rounds: number,
  measure: (t: Bound) => Promise<StreamsResult>,
): Promise<{ results: StreamsResult[]; rounds?: Record<string, number[]> }> {
  const all = await measureInRounds(targets, rounds, (t) => GOAL_TARGETS.has(t.name), measure);
  const results = targets.map((t) => best(all.get(t.name)!, lowCpu));
  return rounds > 1 ? { results, rounds: cpuByRound(all) } : { results };
}

/** The figures before issue 16, for the goals table (null when the file is gone). */
function baseline(): BenchResults | null {
  const file = join(ROOT, BASELINE_FILE);
  return existsSync(file) ? normalizeResults(JSON.parse(readFileSync(file, 'utf8'))) : null;
}

/** The hand-written analysis of the latest full run (bench/analysis.md), when there is one. */
function analysis(): string | null {
  const file = join(ROOT, 'bench', 'analysis.md');
  return existsSync(file) ? readFileSync(file, 'utf8') : null;
}
