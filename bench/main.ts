/**
 * `acerelay bench` (npm run bench): acerelay side by side with the engine itself, nginx and a
 * bare Node pipe, all fed by the simulator's engine and driven by a separate load-client
 * process. The figures only mean something next to the references of the same run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_USAGE, BenchUsageError, parseBenchArgs, type BenchArgs } from './args.ts';
import { describeMachine } from './machine.ts';
import { LoadClient } from './load/driver.ts';
import type { StreamsResult } from './measure.ts';
import { ROOT, startLoadClient } from './processes.ts';
import { renderMarkdown, type BenchResults } from './report.ts';
import { Run, START_DELAY_MS, UNPACED_ROUNDS, UNPACED_WINDOW_MS, log } from './run.ts';
import { joins } from './join-latency.ts';
import { profile } from './profile-run.ts';

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
    },
    durationS: 0,
    unpaced: [],
    unpacedRounds: {},
    fanout: [],
    hls: [],
    multi: null,
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

  const clientChild = startLoadClient(dir);
  run.client = new LoadClient(clientChild);
  const rate = args.bitrate / 8;
  try {
    if (args.scenarios.includes('unpaced')) {
      log(`one unpaced stream, best of ${UNPACED_ROUNDS} interleaved rounds`);
      await run.phase(0, async (sim, targets) => {
        const best = new Map<string, StreamsResult>();
        for (let round = 0; round < UNPACED_ROUNDS; round++) {
          for (const t of targets) {
            const r = await run.streams(sim, t, 1, 1, 0, UNPACED_WINDOW_MS);
            (results.unpacedRounds[t.name] ??= []).push(r.mbPerS);
            const prev = best.get(t.name);
            if (!prev || r.mbPerS > prev.mbPerS) best.set(t.name, r);
          }
        }
        results.unpaced.push(...best.values());
      });
    }
    const paced = args.scenarios.filter((s) => s !== 'unpaced');
    if (paced.length > 0) {
      await run.phase(args.bitrate, async (sim, targets) => {
        if (args.scenarios.includes('fanout')) {
          for (const n of args.players) {
            log(`one channel at ${args.bitrate / 1e6} Mbit/s to ${n} player(s)`);
            const row = { players: n, results: [] as StreamsResult[] };
            for (const t of targets) row.results.push(await run.streams(sim, t, 1, n, rate, args.windowMs));
            results.fanout.push(row);
          }
        }
        if (args.scenarios.includes('multi')) {
          log('50 channels × 4 players');
          results.multi = { channels: 50, perChannel: 4, results: [] };
          for (const t of targets) results.multi.results.push(await run.streams(sim, t, 50, 4, rate, args.windowMs));
        }
        if (args.scenarios.includes('join')) await joins(run, targets);
        const relay = targets.find((t) => t.name === 'acerelay');
        if (args.scenarios.includes('hls') && relay) {
          for (const n of args.hlsClients) {
            log(`one channel at ${args.bitrate / 1e6} Mbit/s to ${n} HLS client(s) through acerelay`);
            const hls = await run.hls(sim, relay, n);
            // The TS fan-out of the same size beside it (measured above, or now).
            let ts = results.fanout.find((r) => r.players === n)?.results.find((r) => r.target === 'acerelay') ?? null;
            if (!ts) {
              log(`  (acerelay's TS fan-out to ${n} for comparison)`);
              ts = await run.streams(sim, relay, 1, n, rate, args.windowMs);
            }
            results.hls.push({ clients: n, hls, ts });
          }
        }
      });
    }
    if (args.cpuProf) await profile(run, stamp);
  } catch (err) {
    log(`failed; every process's log is kept in ${dir}`);
    throw err;
  } finally {
    await run.stopAll();
    clientChild.disconnect();
  }

  results.durationS = Math.round((Date.now() - startedAt) / 1000);
  const md = renderMarkdown(results);
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
