/**
 * `acerelay demo`: the simulator (a fake orchestrator with fake engines) on loopback and
 * acerelay in front of it, in this one process. Needs nothing installed: any 40-hex id plays
 * a decodable test stream.
 */
import { startSimulator } from './sim/index.ts';
import { configOrExit, handleSignals } from './cli-support.ts';
import { createLogger } from './log.ts';
import { createAcerelay } from './runtime.ts';

export const DEMO_ID = '0a48f1c2b3d4e5f60718293a4b5c6d7e8f901234';

export async function runDemo(argv: string[]): Promise<void> {
  const sim = await startSimulator({ port: 0, minReplicas: 1, maxReplicas: 4, apiKey: 'demo-secret' });
  const env = { ...process.env, ACERELAY_DATA_DIR: process.env.ACERELAY_DATA_DIR ?? './data/demo' };
  const { config, warnings } = configOrExit(argv, env, { orchUrl: sim.url, orchApiKey: 'demo-secret' });
  const log = createLogger(config.logLevel);
  for (const w of warnings) log.warn(w);
  const acerelay = await createAcerelay(config, { logger: log, simControlUrl: sim.controlUrl });
  handleSignals(acerelay, log, () => sim.close());
  let url: string;
  try {
    url = await acerelay.listen();
  } catch (err) {
    process.stderr.write(`acerelay demo: cannot listen on ${config.listen.host ?? ''}:${config.listen.port}: ${(err as Error).message}\n` +
      'Pick another port, e.g. npm run demo -- --listen :8081\n');
    await sim.close();
    process.exit(1);
  }
  const base = url.replace('0.0.0.0', '127.0.0.1');
  const c = sim.controlUrl;
  const engine = sim.state().engines[0]?.container_id ?? '<container_id>';
  process.stdout.write(`
acerelay demo — a simulated acestream-orchestrator with engines on loopback, acerelay in front.

  Play a channel (any 40-hex id plays; ids starting with "dead" fail to load):
    ffplay '${base}/ace/getstream?id=${DEMO_ID}'
    vlc    '${base}/ace/getstream?id=${DEMO_ID}'
    ffmpeg -i '${base}/ace/getstream?id=${DEMO_ID}' -t 10 -f null -

  Look inside:
    inspector  ${base}/inspector
    status     ${base}/ace/status   metrics ${base}/metrics   readiness ${base}/readyz

  Fault switches (the simulator's control API, ${c}):
    VPN down / up        curl -XPOST ${c}/__sim/vpn -d '{"connected":false}'   (then true)
    breaker open 30 s    curl -XPOST ${c}/__sim/circuit -d '{"state":"open","eta":30}'
    capacity at 1        curl -XPOST ${c}/__sim/capacity -d '{"max_replicas":1}'
    provisioning fails   curl -XPOST ${c}/__sim/provision -d '{"fail":2,"code":"general_error"}'
    orchestrator down    curl -XPOST ${c}/__sim/orchestrator -d '{"mode":"down","ms":20000}'
    engine restarts      curl -XPOST ${c}/__sim/engines/${engine} -d '{"mode":"restart","ms":3000}'
    everything           curl ${c}/__sim/state

  Ctrl-C stops both.
`);
}
