import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { SimUsageError, parseSimArgs } from '../../src/sim/cli-args.ts';
import { get } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Runs src/sim/main.ts the way `acerelay sim` does: one node process with tsx's loader.
const SCRIPT = "const { runSim } = await import('./src/sim/main.ts'); await runSim(process.argv.slice(1));";

function spawnSim(args: string[], viaBin = false): ChildProcess {
  const argv = viaBin ? ['bin/acerelay.js', 'sim', ...args] : ['--import', 'tsx', '--input-type=module', '-e', SCRIPT, '--', ...args];
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => {
      rl.close();
      resolve(line);
    });
    child.once('close', (code) => reject(new Error(`exited ${code} before printing`)));
  });
}

describe('acerelay sim (runSim in a child process)', () => {
  it('prints the URLs as JSON first, serves, and exits 0 on SIGTERM', async () => {
    const child = spawnSim(['--port', '0', '--min-replicas', '2', '--bitrate', '800k', '--provision-delay=0', '--idle-expiry', '5s']);
    const line = JSON.parse(await firstLine(child)) as { orchestrator: string; control: string };
    expect(line.orchestrator).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(line.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = (await get(`${line.orchestrator}/orchestrator/status`)).json as { engines: { running: number } };
    expect(status.engines.running).toBe(2);
    expect((await get(`${line.control}/__sim/state`)).status).toBe(200);
    const done = exited(child);
    child.kill('SIGTERM');
    const { code, stdout } = await done;
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(''); // nothing after the first line
  });

  it('runs as `node bin/acerelay.js sim --port 0`', async () => {
    const child = spawnSim(['--port', '0'], true);
    const line = JSON.parse(await firstLine(child)) as { orchestrator: string };
    expect((await get(`${line.orchestrator}/engines`)).status).toBe(200);
    const done = exited(child);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });

  it('exits 0 on SIGINT too', async () => {
    const child = spawnSim(['--port', '0']);
    await firstLine(child);
    const done = exited(child);
    child.kill('SIGINT');
    expect((await done).code).toBe(0);
  });

  it('--help prints usage and exits 0', async () => {
    const { code, stdout } = await exited(spawnSim(['--help']));
    expect(code).toBe(0);
    expect(stdout).toContain('--idle-expiry');
    expect(stdout).toContain('--fail-delay');
    for (const flag of ['--max-active-replicas', '--full-house', '--unknown-container', '--engines-forwarded', '--restart-engines', 'quirks']) expect(stdout).toContain(flag);
  });

  it('flags reach the running simulator: --max-active-replicas and a quirk show in /__sim/state', async () => {
    const child = spawnSim(['--port', '0', '--max-active-replicas', '7', '--engines-forwarded', '--full-house', 'max_capacity']);
    const line = JSON.parse(await firstLine(child)) as { orchestrator: string; control: string };
    const state = (await get(`${line.control}/__sim/state`)).json as { capacity: { max_active_replicas: number }; quirks: Record<string, unknown> };
    expect(state.capacity.max_active_replicas).toBe(7);
    expect(state.quirks).toMatchObject({ engines_forwarded: true, full_house: 'max_capacity', strict_urls: true });
    const [engine] = (await get(`${line.orchestrator}/engines`)).json as Array<Record<string, unknown>>;
    expect(engine).toHaveProperty('forwarded', true);
    const done = exited(child);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });

  it('an invalid value or an unknown flag exits 2 naming the flag', async () => {
    const bad = await exited(spawnSim(['--port', '0', '--bitrate', 'fast']));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--bitrate');
    expect(bad.stdout).toBe('');
    const unknown = await exited(spawnSim(['--bogus', '1']));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--bogus');
  });
});

describe('parseSimArgs', () => {
  it('parses every flag with units', () => {
    const { options, help } = parseSimArgs([
      'sim',
      '--port=0',
      '--min-replicas',
      '3',
      '--max-replicas',
      '5',
      '--api-key',
      'k',
      '--bitrate',
      '2.5M',
      '--provision-delay',
      '1.5s',
      '--engine-ready-delay',
      '100ms',
      '--start-delay',
      '0',
      '--idle-expiry',
      '1m',
      '--fail-delay',
      '4s',
      '--no-vpn',
      '--auto-delete',
      '--grace-period',
      '45s',
    ]);
    expect(help).toBe(false);
    expect(options).toEqual({
      port: 0,
      minReplicas: 3,
      maxReplicas: 5,
      apiKey: 'k',
      bitrate: 2_500_000,
      provisionDelayMs: 1_500,
      engineReadyDelayMs: 100,
      startDelayMs: 0,
      idleExpiryMs: 60_000,
      failDelayMs: 4_000,
      vpnEnabled: false,
      autoDelete: true,
      gracePeriodS: 45,
    });
    expect(parseSimArgs(['--bitrate', '0']).options.bitrate).toBe(0);
  });

  it('parses --chunk as bytes, sizes or whole packets, and refuses sizes out of range', () => {
    expect(parseSimArgs(['--chunk', '1316']).options.chunkBytes).toBe(1316);
    expect(parseSimArgs(['--chunk=16KiB']).options.chunkBytes).toBe(16_384);
    expect(parseSimArgs(['--chunk', '64KiB']).options.chunkBytes).toBe(65_536);
    expect(parseSimArgs(['--chunk', '7p']).options.chunkBytes).toBe(1316);
    for (const bad of ['0', '0p', '2MiB', 'big', '-5', '1.5p']) {
      expect(() => parseSimArgs(['--chunk', bad])).toThrow(SimUsageError);
    }
  });

  it('parses the pool, breaker and quirk flags into options (quirks as the control API names them)', () => {
    const { options } = parseSimArgs([
      '--max-active-replicas',
      '12',
      '--provision-fail-delay',
      '50ms',
      '--breaker-threshold=3',
      '--breaker-recovery',
      '3m',
      '--full-house',
      'max_capacity',
      '--no-leak-failed-creates',
      '--unknown-container',
      'sweep',
      '--no-strict-urls',
      '--no-merge-labels',
      '--engines-forwarded',
      '--restart-engines=new_ports',
      '--no-breaker-counts-autoscaler',
    ]);
    expect(options).toEqual({
      maxActiveReplicas: 12,
      provisionFailDelayMs: 50,
      breakerFailureThreshold: 3,
      breakerRecoveryS: 180,
      quirks: {
        full_house: 'max_capacity',
        leak_failed_creates: false,
        unknown_container: 'sweep',
        strict_urls: false,
        merge_labels: false,
        engines_forwarded: true,
        restart_engines: 'new_ports',
        breaker_counts_autoscaler: false,
      },
    });
    for (const args of [['--full-house', '503'], ['--unknown-container', 'drop'], ['--restart-engines', 'x'], ['--breaker-threshold', '0'], ['--max-active-replicas', 'lots']]) {
      expect(() => parseSimArgs(args)).toThrow(SimUsageError);
    }
  });

  it('throws SimUsageError naming the flag', () => {
    for (const args of [['--port', 'x'], ['--port', '70000'], ['--min-replicas', '-1'], ['--start-delay', 'soon'], ['--bitrate'], ['--wat'], ['--no-vpn=1']]) {
      expect(() => parseSimArgs(args)).toThrow(SimUsageError);
      try {
        parseSimArgs(args);
      } catch (err) {
        expect((err as Error).message).toContain(args[0]!.split('=')[0]);
      }
    }
  });
});
