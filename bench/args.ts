/** `acerelay bench` flags. */
import { parseBitrate, parseDuration, parseSize, UnitError } from '../src/units.ts';

export const BENCH_USAGE = `Usage: acerelay bench [flags]   (npm run bench -- [flags])

Runs the simulator's engine as the source, acerelay, a bare Node pipe proxy and nginx
(proxy_buffering off; skipped when /usr/sbin/nginx is absent) in separate processes, and
the players in a separate load-client process. Writes bench/results/<timestamp>.json, prints
a markdown table, and writes it to docs/benchmarks.md.

Flags:
  --full              add 500 and 1000 players on one channel (longer windows)
  --bitrate RATE      bit rate of the paced scenarios (default 4M)
  --window D          measured window per run (default 3s quick, 5s full)
  --warmup D          time after the players' first bytes before the window (default 5s: what
                      joining costs settles first; it is reported apart, as join CPU per player)
  --targets LIST      comma list of engine,acerelay,nginx,pipe (default all)
  --scenarios LIST    comma list of unpaced,fanout,multi,join,hls (default all)
  --players LIST      fan-out sizes, e.g. 1,10,100 (overrides the default list)
  --chunk LIST        the engine's write sizes for the paced scenarios, each its own phase
                      (default 1316,16KiB,64KiB; "due" = whatever is due every 20 ms)
  --load-clients N    load-client processes sharing the players (default 2)
  --rounds N          rounds of each goal row (one channel at 100+ players, 50 × 4): acerelay
                      and nginx measured in turn N times, each keeping its lowest CPU per GB
                      (default 1 quick, 2 full); the other targets and rows run once
  --hls-clients LIST  HLS clients polling one channel through acerelay (default 100,1000),
                      in the first write size's phase; each size also gets
                      acerelay's TS fan-out row for comparison
  --cpu-prof          also profile acerelay under the largest fan-out (V8 --cpu-prof)
                      and summarise where its time goes (within the measured window)
  --cpu-prof-on S     profile under "fanout" (default), "multi" (50 channels × 4) or
                      "unpaced" (one stream as fast as it goes)
  --docs PATH|none    where the markdown goes besides stdout (default docs/benchmarks.md)
  --render FILE       run nothing: write the page again from a results file (bench/results/*.json)
  --keep-logs         keep the temporary directory with every process's log
  --help              this text
`;

export type ScenarioName = 'unpaced' | 'fanout' | 'multi' | 'join' | 'hls';
export type TargetName = 'engine' | 'acerelay' | 'nginx' | 'pipe';

export interface BenchArgs {
  help: boolean;
  full: boolean;
  bitrate: number;
  windowMs: number;
  warmupMs: number;
  targets: TargetName[];
  scenarios: ScenarioName[];
  players: number[];
  /** Engine write sizes of the paced phases (0: whatever is due every 20 ms). */
  chunks: number[];
  loadClients: number;
  /** Interleaved rounds of acerelay and nginx in each goal row (0 until parsed: 1 quick, 2 full). */
  rounds: number;
  hlsClients: number[];
  cpuProf: boolean;
  cpuProfOn: 'fanout' | 'multi' | 'unpaced';
  docs: string | null;
  /** A results file to render instead of running. */
  render: string | null;
  keepLogs: boolean;
}

export class BenchUsageError extends Error {
  override name = 'BenchUsageError';
}

const TARGETS: TargetName[] = ['engine', 'acerelay', 'nginx', 'pipe'];
const SCENARIOS: ScenarioName[] = ['unpaced', 'fanout', 'multi', 'join', 'hls'];

function list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const i of items) if (!allowed.includes(i as T)) throw new BenchUsageError(`${flag}: "${i}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function unit<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof UnitError) throw new BenchUsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

function counts(flag: string, value: string): number[] {
  return value.split(',').map((s) => {
    if (!/^\d+$/.test(s.trim()) || Number(s) < 1) throw new BenchUsageError(`${flag}: "${s}" is not a whole number ≥ 1`);
    return Number(s);
  });
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = {
    help: false,
    full: false,
    bitrate: 4_000_000,
    windowMs: -1,
    warmupMs: 5_000,
    targets: TARGETS,
    scenarios: SCENARIOS,
    players: [],
    chunks: [1316, 16 * 1024, 64 * 1024],
    loadClients: 2,
    rounds: 0,
    hlsClients: [100, 1000],
    cpuProf: false,
    cpuProfOn: 'fanout',
    docs: 'docs/benchmarks.md',
    render: null,
    keepLogs: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new BenchUsageError(`${name}: needs a value`);
      return v;
    };
    switch (name) {
      case '--help':
      case '-h':
        out.help = true;
        break;
      case '--full':
        out.full = true;
        break;
      case '--keep-logs':
        out.keepLogs = true;
        break;
      case '--cpu-prof':
        out.cpuProf = true;
        break;
      case '--cpu-prof-on': {
        const v = value();
        if (v !== 'fanout' && v !== 'multi' && v !== 'unpaced') throw new BenchUsageError('--cpu-prof-on: "fanout", "multi" or "unpaced"');
        out.cpuProf = true;
        out.cpuProfOn = v;
        break;
      }
      case '--bitrate':
        out.bitrate = unit(name, value(), parseBitrate);
        if (out.bitrate <= 0) throw new BenchUsageError('--bitrate: the paced scenarios need a rate above 0 (the unpaced one always runs at 0)');
        break;
      case '--window':
        out.windowMs = unit(name, value(), parseDuration);
        break;
      case '--warmup':
        out.warmupMs = unit(name, value(), parseDuration);
        break;
      case '--targets':
        out.targets = list(name, value(), TARGETS);
        break;
      case '--scenarios':
        out.scenarios = list(name, value(), SCENARIOS);
        break;
      case '--players':
        out.players = counts(name, value());
        break;
      case '--hls-clients':
        out.hlsClients = counts(name, value());
        break;
      case '--chunk':
        out.chunks = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .map((s) => {
            if (s === 'due') return 0;
            const n = unit(name, s, parseSize);
            if (n < 1 || n > 1024 * 1024) throw new BenchUsageError(`--chunk: "${s}" must be 1 byte to 1MiB, or "due"`);
            return n;
          });
        if (out.chunks.length === 0) throw new BenchUsageError('--chunk: needs at least one size');
        break;
      case '--load-clients': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 8) throw new BenchUsageError(`--load-clients: "${v}" is not a whole number from 1 to 8`);
        out.loadClients = Number(v);
        break;
      }
      case '--rounds': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 5) throw new BenchUsageError(`--rounds: "${v}" is not a whole number from 1 to 5`);
        out.rounds = Number(v);
        break;
      }
      case '--render':
        out.render = value();
        break;
      case '--docs': {
        const v = value();
        out.docs = v === 'none' ? null : v;
        break;
      }
      default:
        throw new BenchUsageError(`${name}: unknown flag (see --help)`);
    }
  }
  if (out.windowMs < 0) out.windowMs = out.full ? 5_000 : 3_000;
  if (out.players.length === 0) out.players = out.full ? [1, 10, 100, 500, 1000] : [1, 10, 100];
  if (out.rounds === 0) out.rounds = out.full ? 2 : 1;
  return out;
}
