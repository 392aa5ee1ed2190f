/**
 * `acerelay [serve] | demo | sim | chaos | bench | --help`. One process: every command runs
 * here, so a signal sent to this PID reaches the server itself.
 */
import { configHelp } from './config.ts';
import { createLogger } from './log.ts';
import { createAcerelay } from './runtime.ts';
import { configOrExit, handleSignals } from './cli-support.ts';

const USAGE = `acerelay — a streaming proxy for AceStream engines managed by acestream-orchestrator

Usage:
  acerelay [serve] [--flag value …]   serve players (production)
  acerelay demo [--flag value …]      acerelay on :8080 with the simulator on loopback
  acerelay sim [--help]               the simulator alone
  acerelay chaos --runs N --seed S [--max-commands K]
                                      the property-based recovery harness
  acerelay bench [--full]             the benchmark suite
  acerelay --help                     this text
`;

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${USAGE}\n${configHelp(process.env)}\n`);
    return;
  }
  switch (first) {
    case undefined:
      return serve([]);
    case 'serve':
      return serve(rest);
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      return runDemo(rest);
    }
    case 'sim': {
      const { runSim } = await import('./sim/main.ts');
      return runSim(rest);
    }
    case 'chaos': {
      const { runChaosCli } = await import('./chaos/main.ts');
      return runChaosCli(rest);
    }
    case 'bench': {
      const { runBench } = await import('../bench/main.ts');
      return runBench(rest);
    }
    default:
      if (first.startsWith('--')) return serve(argv);
      process.stderr.write(`acerelay: unknown command "${first}"\n\n${USAGE}`);
      process.exit(2);
  }
}

async function serve(argv: string[]): Promise<void> {
  const { config, warnings } = configOrExit(argv, process.env);
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);
  const acerelay = await createAcerelay(config, { logger: log });
  handleSignals(acerelay, log);
  const url = await acerelay.listen();
  log.info(
    { url, instance: config.instance, orchestrator: config.orchUrl ?? null, engine: config.orchUrl ? (config.engineUrl ?? null) : config.engineUrl },
    config.orchUrl ? 'acerelay serving (orchestrator mode)' : 'acerelay serving (single-engine mode)',
  );
}

await main(process.argv.slice(2));
