/** The --cpu-prof run: acerelay alone under V8's sampling profiler, summarised over the measured window. */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startAcerelay, startSim } from './processes.ts';
import { chunkLabel } from './report.ts';
import { summariseProfile } from './profile-summary.ts';
import { START_DELAY_MS, log, type Bound, type Run } from './run.ts';

/** acerelay alone under the largest fan-out (or 50 × 4) with V8's sampling profiler on. */
export async function profile(run: Run, stamp: string): Promise<void> {
  const on = run.args.cpuProfOn;
  const [channels, perChannel] = on === 'multi' ? [50, 4] : on === 'unpaced' ? [1, 1] : [1, Math.max(...run.args.players)];
  const bitrate = on === 'unpaced' ? 0 : run.args.bitrate;
  const label = on === 'unpaced' ? 'one unpaced stream' : `${channels} channel${channels > 1 ? 's' : ''} × ${perChannel} players, engine writes of ${chunkLabel(run.args.chunks[0] ?? 0)}`;
  log(`profiling acerelay under ${label}`);
  const profDir = join(run.dir, 'prof');
  mkdirSync(profDir, { recursive: true });
  const chunkBytes = on === 'unpaced' ? 0 : (run.args.chunks[0] ?? 0);
  const sim = await startSim(run.dir, { bitrate, chunkBytes, startDelayMs: START_DELAY_MS, name: 'sim-prof' });
  run.services.push(sim);
  const relay = await startAcerelay(run.dir, { engineUrl: sim.engineUrl, cpuProfDir: profDir });
  run.services.push(relay);
  const bound: Bound = { name: 'acerelay', target: { name: 'acerelay', base: relay.url, mode: 'relay' }, proxy: relay };
  // Profiled warm, as it is measured (see WARM_MS): a fresh process's profile is mostly V8 compiling.
  await run.warm([bound], bitrate / 8);
  const r = await run.streams(sim, bound, channels, perChannel, bitrate / 8, Math.max(run.args.windowMs, 5_000));
  await run.stopAll();
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) {
    run.note('profile: acerelay wrote no .cpuprofile');
    return;
  }
  const kept = join(ROOT, 'bench', 'results', `${stamp}.cpuprofile`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  copyFileSync(join(profDir, file), kept);
  run.results.profile = { label, run: r, file: kept, summary: summariseProfile(join(profDir, file), r.proxy?.windowMonoUs ?? null) };
}
