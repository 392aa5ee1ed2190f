/**
 * `acerelay chaos --runs N --seed S [--max-commands K] [--profile P | --long] [--path P] [--plant FAULT]`
 * and `acerelay chaos --soak 24h [--seed S]`: exit 0 clean, 1 broken, 2 bad arguments.
 */
import { runChaos } from './harness.ts';
import { formatReport } from './report.ts';
import { PLANTED_FAULTS, type PlantedFault } from './planted-faults.ts';
import { PROFILES, type ProfileName } from './profiles.ts';
import { formatSoakLine, formatSoakReport, runSoak } from './soak.ts';
import { parseDuration } from '../units.ts';

const USAGE = `Usage: acerelay chaos --runs N --seed S [--max-commands K] [--profile P | --long] [--path P] [--plant FAULT]
       acerelay chaos --soak 24h [--seed S] [--plant FAULT]

Throws random fault scenarios at a real acerelay and simulator (in this process, on virtual
time), checks the fourteen invariants after every run, and shrinks a failing run to the
shortest one that still fails (fewer commands, smaller crowds). Exit 0: no invariant broke;
1: one did (the report shows the run and the command that replays it); 2: bad arguments.

  --runs N           runs to generate (default 20)
  --seed S           fast-check seed (default: random, printed)
  --max-commands K   commands per run at most (default 12; 40 with --long)
  --profile P        what runs are made of:
                       short (default): crowds of 10–200 players, HLS viewers and the real
                         orchestrator's ways among the classic faults, a few simulated minutes
                         per run
                       long: minutes of waiting and outages lasting minutes, up to 30
                         simulated minutes per run
                       classic: single players only (the harness before crowds)
  --long             the same as --profile long
  --soak DURATION    one acerelay through a steady mix of players and faults for DURATION of
                     simulated time (e.g. 24h); prints heap, external memory, timers and
                     handles every simulated hour; fails when any grows without bound or an
                     invariant breaks
  --path P           replay one run (with --replay-path, from a report's replay command)
  --plant FAULT      switch on a deliberate bug, to see the harness catch it:
${Object.entries(PLANTED_FAULTS)
  .map(([k, v]) => `                       ${k}: ${v}`)
  .join('\n')}
`;

export async function chaosCommand(argv: string[]): Promise<number> {
  const opts = {
    runs: 20,
    seed: Math.floor(Math.random() * 2 ** 31),
    maxCommands: null as number | null,
    profile: 'short' as ProfileName,
    soakMs: null as number | null,
    path: undefined as string | undefined,
    replayPath: undefined as string | undefined,
    plant: null as PlantedFault | null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const int = (name: string, min: number) => {
      if (value === undefined || !/^-?\d+$/.test(value) || Number(value) < min) throw new Error(`${name} needs a whole number ≥ ${min}`);
      i++;
      return Number(value);
    };
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else if (flag === '--runs') opts.runs = int('--runs', 1);
    else if (flag === '--seed') opts.seed = int('--seed', -(2 ** 31));
    else if (flag === '--max-commands') opts.maxCommands = int('--max-commands', 1);
    else if (flag === '--long') opts.profile = 'long';
    else if (flag === '--profile') {
      if (!value || !(value in PROFILES) || value === 'soak') throw new Error('--profile needs one of: short, long, classic');
      opts.profile = value as ProfileName;
      i++;
    } else if (flag === '--soak') {
      let ms: number;
      try {
        ms = parseDuration(value ?? '');
      } catch {
        throw new Error('--soak needs a duration such as 24h or 90m');
      }
      if (ms < 3_600_000) throw new Error('--soak needs at least 1h (memory is sampled every simulated hour)');
      opts.soakMs = ms;
      i++;
    } else if (flag === '--path') {
      if (!value || !/^[\d:]+$/.test(value)) throw new Error('--path needs a path like 3:0:1 from a report');
      opts.path = value;
      i++;
    } else if (flag === '--replay-path') {
      if (!value) throw new Error('--replay-path needs the value from a report');
      opts.replayPath = value;
      i++;
    } else if (flag === '--plant') {
      if (!value || !(value in PLANTED_FAULTS)) throw new Error(`--plant needs one of: ${Object.keys(PLANTED_FAULTS).join(', ')}`);
      opts.plant = value as PlantedFault;
      i++;
    } else throw new Error(`unknown argument ${flag}`);
  }
  if (opts.soakMs !== null) return soak(opts.soakMs, opts.seed, opts.plant);
  const maxCommands = opts.maxCommands ?? (opts.profile === 'long' ? 40 : 12);
  process.stderr.write(
    `acerelay chaos: ${opts.runs} runs (${opts.profile}), seed ${opts.seed}, at most ${maxCommands} commands each${opts.plant ? `, planted fault ${opts.plant}` : ''}\n`,
  );
  const report = await runChaos({
    ...opts,
    maxCommands,
    onRun: (o, n) => {
      const broken = o.results.filter((r) => r.violations.length).map((r) => r.id);
      process.stderr.write(
        `  run ${n}: ${o.commands.length} commands, ${o.players} players (at most ${o.peakPlayers} at once), ${(o.virtualMs / 1000).toFixed(0)} s simulated` +
          `${broken.length ? ` — broke ${broken.join(', ')}` : ''}\n`,
      );
    },
  });
  process.stdout.write(`${formatReport(report)}\n`);
  return report.ok ? 0 : 1;
}

async function soak(durationMs: number, seed: number, plant: PlantedFault | null): Promise<number> {
  process.stderr.write(`acerelay chaos --soak: ${durationMs / 3_600_000} simulated hours, seed ${seed}${plant ? `, planted fault ${plant}` : ''}\n`);
  const report = await runSoak({ durationMs, seed, plant, onHour: (s) => process.stdout.write(`${formatSoakLine(s)}\n`) });
  process.stdout.write(`\n${formatSoakReport(report)}\n`);
  return report.ok ? 0 : 1;
}

export async function runChaosCli(argv: string[]): Promise<void> {
  let code: number;
  try {
    code = await chaosCommand(argv);
  } catch (err) {
    process.stderr.write(`acerelay chaos: ${(err as Error).message}\n\n${USAGE}`);
    code = 2;
  }
  process.exit(code);
}
