/**
 * Several acerelays in this process sharing one simulated orchestrator, each with its own
 * instance name and data dir, configuration scaled down as in stack.ts. `crash()` is a kill -9
 * inside the process (no goodbyes, nothing more journaled); an instance started again on the
 * same data dir is a restart.
 */
import { afterEach } from 'vitest';
import type { Simulator } from '../../src/sim/index.ts';
import { parseStreamId } from '../../src/core/ids.ts';
import type { ReconnectingPlayer } from '../deploy/reconnecting-player.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createAcerelay, type Acerelay } from '../../src/runtime.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { SCALED_ENV, tempDataDir } from './stack.ts';

export interface Instance {
  name: string;
  dataDir: string;
  acerelay: Acerelay;
  url: string;
  config: Config;
}

export async function startInstance(
  sim: Simulator,
  name: string,
  opts: { env?: Record<string, string>; dataDir?: string; /** Collects this instance's log lines (parsed JSON), at info level. */ logs?: Array<Record<string, unknown>> } = {},
): Promise<Instance> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const env = { ...SCALED_ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_INSTANCE: name, ACERELAY_DATA_DIR: dataDir, ...opts.env };
  const { config } = loadConfig([], env);
  const logs = opts.logs;
  const log = logs ? createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) }) : silentLogger;
  const acerelay = await createAcerelay(config, { logger: log });
  const url = await acerelay.listen();
  return { name, dataDir, acerelay, url, config };
}

/**
 * What a several-instance test file starts, closed after each test in the order that leaves
 * nothing behind: players first (no reconnects into closing instances), then the instances,
 * then the simulator.
 */
export interface InstanceBed {
  sim: Simulator | null;
  running: Instance[];
  players: ReconnectingPlayer[];
}

export function instanceBed(): InstanceBed {
  const bed: InstanceBed = { sim: null, running: [], players: [] };
  afterEach(async () => {
    for (const p of bed.players.splice(0)) p.stop();
    for (const i of bed.running.splice(0)) await i.acerelay.close();
    await bed.sim?.close();
    bed.sim = null;
  });
  return bed;
}

/** The streams the orchestrator lists as started under one instance's ids. */
export function startedBy(sim: Simulator, instance: string): ReturnType<Simulator['state']>['streams'] {
  return sim.state().streams.filter((x) => x.status === 'started' && parseStreamId(x.id)?.instance === instance);
}
