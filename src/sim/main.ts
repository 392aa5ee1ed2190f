import { SIM_USAGE, SimUsageError, parseSimArgs } from './cli-args.ts';
import { startSimulator, type Simulator } from './simulator.ts';

/**
 * `acerelay sim`: the simulator alone. The first stdout line is JSON with its URLs (so a
 * caller using --port 0 learns the port); SIGINT/SIGTERM close everything and exit 0.
 */
export async function runSim(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseSimArgs(argv);
  } catch (err) {
    if (!(err instanceof SimUsageError)) throw err;
    process.stderr.write(`acerelay sim: ${err.message}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(SIM_USAGE);
    return;
  }
  let sim: Simulator | null = null;
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(0), 5_000);
    force.unref();
    void (sim ? sim.close() : Promise.resolve()).finally(() => process.exit(0));
  };
  // Handlers go in before the first line is printed: a caller may signal as soon as it reads it.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    sim = await startSimulator(parsed.options);
  } catch (err) {
    process.stderr.write(`acerelay sim: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ orchestrator: sim.url, control: sim.controlUrl })}\n`);
}
